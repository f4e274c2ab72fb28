"""Issue 13, done-when: a project mixing a 1080p 29.97 H.264 clip with sound, a 4:3 ProRes clip, a PNG still,
a title, a WAV music bed ducked by 12 dB under the dialogue with fades, and a generated clip exports at the
sequence settings with the viewer's picture and the meters' levels. Both are measured: the compositor's
frame (what the viewer shows) against the decoded export frame, and the peak meter fed the way the player
feeds it against the export's decoded sound."""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from opentimelineio.opentime import RationalTime, TimeRange

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from media_builders import make_audio, make_image, make_video  # noqa: E402

from app.document import MediaItem, TimelineDocument, TrackKind, placement  # noqa: E402
from app.document.sequence import SequenceSettings  # noqa: E402
from app.export import probe, render_timeline  # noqa: E402
from app.export.yuv import yuv_planes_to_rgb  # noqa: E402
from app.media.compositor import TimelineCompositor  # noqa: E402
from app.media.importer import import_files  # noqa: E402
from app.media.levels import PeakMeter  # noqa: E402
from app.media.probe import probe_media  # noqa: E402

NTSC = 30000 / 1001
BLOCK = 1024  # the player's audio block


def rt(frame: int) -> RationalTime:
    return RationalTime(frame, NTSC)


def _decoded_frames(path: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    out: dict[int, np.ndarray] = {}
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in wanted:
                planes = []
                for plane in frame.planes:
                    buf = np.frombuffer(plane, np.uint8, count=plane.height * plane.line_size)
                    planes.append(buf.reshape(plane.height, plane.line_size)[:, : plane.width])
                out[index] = yuv_planes_to_rgb(*planes, (2, 2), bits=8)
    return out


def _decoded_sound(path: Path) -> np.ndarray:
    chunks = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            chunks.append(frame.to_ndarray().reshape(2, -1) if frame.format.is_planar else frame.to_ndarray())
    return np.concatenate(chunks, axis=1).astype(np.float32)


def _peak_db(samples: np.ndarray) -> float:
    return 20 * np.log10(max(float(np.abs(samples).max()), 1e-9))


def test_mixed_project_exports_what_the_viewer_shows_and_the_meter_reads(tmp_path):
    dialogue = make_video(tmp_path / "dialogue.mp4", frames=30, fps=Fraction(30000, 1001), size=(1920, 1080))
    prores = make_video(tmp_path / "archive.mov", frames=24, codec="prores_ks", size=(640, 480), audio=False)
    still = make_image(tmp_path / "card.png", size=(400, 300))
    music = make_audio(tmp_path / "music.wav", seconds=4.0)
    generated = make_video(tmp_path / "gen.mkv", frames=24, codec="ffv1", size=(256, 160), audio=False)

    doc = TimelineDocument(name="Daily", sequence=SequenceSettings(1920, 1080, NTSC, 48000))
    ids, errors = import_files(doc, [dialogue, prores, still, music])
    assert not errors
    d_id, p_id, s_id, m_id = ids
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    placement.append(doc, [d_id, p_id], v1)  # 0..30, 30..59 (24 frames at 24 fps: 1 s is 29 frames here)
    (still_clip,) = placement.append(doc, [s_id], v1)
    doc.trim_out(still_clip, rt(-(doc.clip(still_clip).duration.value - 15)))  # a half-second card
    gen_item = MediaItem(
        "gen", str(generated), "gen.mkv", probe_media(generated), {"prompt": "fox"}, kind="generated"
    )
    doc.add_bin_item(gen_item)
    (gen_clip,) = placement.place_generated(doc, "gen", v1)  # after the last clip, never over a shot
    assert doc.clip(gen_clip).start == doc.clip(still_clip).end == rt(74)
    v2 = doc.add_track(TrackKind.VIDEO)
    doc.insert_title(
        v2,
        rt(36),
        {"text": "ARCHIVE 1987", "size": 96, "y": 0.85, "box": True, "fade_in": 0.2, "fade_out": 0.2},
        rt(20),
    )
    # the music bed on A2: full level, ducked 12 dB under the dialogue, fading in and out
    a2 = doc.add_track(TrackKind.AUDIO)
    (bed,) = doc.insert(m_id, a2, rt(0), TimeRange(rt(0), rt(105)))
    (after,) = doc.split(bed, rt(30))
    doc.set_clip_gain(bed, -12.0)
    doc.set_clip_fades(bed, 6, 0)
    doc.set_clip_fades(after, 0, 15)
    end = int(doc.duration().value)
    assert end == 105

    # the viewer: pictures from the compositor, levels from the meter fed block by block
    compositor = TimelineCompositor(doc)
    checks = {10: "dialogue", 33: "prores", 45: "prores + title", 67: "still", 90: "generated"}
    viewer = {frame: compositor.frame_at(rt(frame)).astype(np.float32) / 255 for frame in checks}
    assert viewer[33][:, :200].max() < 0.02 and viewer[33][:, 300:1600].mean() > 0.05  # 4:3 pillarboxed
    title_band = viewer[45][860:980]
    assert (title_band > 0.99).sum() > 1000  # white text (the clips' brightest grey is 235/255)
    assert (viewer[33][860:980] > 0.99).sum() == 0  # before the title starts
    meters = {"duck": PeakMeter(), "full": PeakMeter()}
    seconds = end / NTSC
    for first in range(0, round(seconds * 48000), BLOCK):
        t0 = first / 48000
        block = compositor.audio(t0, t0 + BLOCK / 48000)
        if 0.3 <= t0 <= 0.9:
            meters["duck"].feed(block)  # dialogue with the music ducked under it
        elif 1.2 <= t0 <= 2.5:
            meters["full"].feed(block)  # the music alone at full level
    compositor.close()

    out = tmp_path / "daily.mp4"
    report = render_timeline(doc, "h264_high", out)
    info = probe(out)
    assert (info["width"], info["height"]) == (1920, 1080) and abs(info["fps"] - NTSC) < 1e-3
    assert report.frames == end and info["sample_rate"] == 48000

    decoded = _decoded_frames(out, set(checks))
    for frame, what in checks.items():
        diff = np.abs(decoded[frame] - viewer[frame])
        assert diff.mean() < 3 / 255, f"{what}: export differs from the viewer by {diff.mean() * 255:.2f}/255"

    sound = _decoded_sound(out)
    duck = sound[:, round(0.3 * 48000) : round(0.9 * 48000 + BLOCK)]
    full = sound[:, round(1.2 * 48000) : round(2.5 * 48000 + BLOCK)]
    for name, part in (("duck", duck), ("full", full)):
        meter_db = meters[name].max_seen[0]
        assert abs(_peak_db(part) - meter_db) < 0.5, (
            f"{name}: meter {meter_db:.2f} dB, export {_peak_db(part):.2f}"
        )
    # dialogue 0.5 + music 0.5 ducked by 12 dB (in phase) vs the music alone at 0.5
    assert abs(meters["duck"].max_seen[0] - 20 * np.log10(0.5 + 0.5 * 10 ** (-12 / 20))) < 0.3
    assert abs(meters["full"].max_seen[0] - 20 * np.log10(0.5)) < 0.3
    # the bed fades out over its last 15 frames (0.5 s) to the end at 3.503 s: about half way at 3.25 s
    assert 0.2 < np.abs(sound[:, round(3.24 * 48000) : round(3.26 * 48000)]).max() < 0.3
    assert np.abs(sound[:, round(3.48 * 48000) : round(3.5 * 48000)]).max() < 0.05
