"""render_timeline: every preset renders a small timeline (two clips with a dissolve, sound) and the output is
probed; colour accuracy against what the viewer shows; alpha; in/out ranges; the audio mix with gain;
provenance tags."""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from opentimelineio.opentime import RationalTime, TimeRange

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from media_builders import decoded_index, make_video  # noqa: E402

from app.document import TimelineDocument, TrackKind  # noqa: E402
from app.export import presets, probe, render_timeline  # noqa: E402
from app.export.audio_mix import TimelineAudioMix  # noqa: E402
from app.export.yuv import yuv_planes_to_rgb  # noqa: E402
from app.media.compositor import TimelineCompositor  # noqa: E402
from app.media.importer import import_files  # noqa: E402

RATE = 24
FRAMES = 76  # clip A 0..36, clip B 36..76 with an 8-frame dissolve centred on 36
SR = 48_000
VIDEO_PRESETS = [p.name for p in presets.available() if not p.is_sequence]
SEQUENCE_PRESETS = [p.name for p in presets.available() if p.is_sequence]
EXPECTED = {  # preset -> (codec, profile, decoded pix_fmt, codec tag, audio codec)
    "prores_422_proxy": ("prores", "Proxy", "yuv422p10le", "apco", "pcm_s24le"),
    "prores_422_lt": ("prores", "LT", "yuv422p10le", "apcs", "pcm_s24le"),
    "prores_422": ("prores", "Standard", "yuv422p10le", "apcn", "pcm_s24le"),
    "prores_422_hq": ("prores", "HQ", "yuv422p10le", "apch", "pcm_s24le"),
    "prores_4444": ("prores", "4444", "yuva444p12le", "ap4h", "pcm_s24le"),
    "h265_main10": ("hevc", "Main 10", "yuv420p10le", "hvc1", "aac"),
    "h264_high": ("h264", "High", "yuv420p", "avc1", "aac"),
    "dnxhr_hqx": ("dnxhd", "DNXHR HQX", "yuv422p10le", "AVdh", "pcm_s24le"),
}
SIZES = {"dnxhr_hqx": (256, 192)}  # DNxHR needs at least 256x120


def rt(frame: int) -> RationalTime:
    return RationalTime(frame, RATE)


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("export_media")
    return {
        "a": make_video(root / "a.mp4", frames=48),
        "b": make_video(root / "b.mov", frames=48, codec="prores_ks"),
    }


def two_clip_doc(media: dict[str, Path]) -> tuple[TimelineDocument, list[str]]:
    doc = TimelineDocument(name="Cut", rate=RATE)
    ids, errors = import_files(doc, [media["a"], media["b"]])
    assert not errors
    video = doc.tracks(TrackKind.VIDEO)[0].id
    first = doc.insert(ids[0], video, rt(0))
    doc.trim_out(first[0], rt(-12))
    second = doc.insert(ids[1], video, rt(36), source_range=TimeRange(rt(8), rt(40)))
    doc.add_dissolve(first[0], rt(8))
    return doc, first + second


@pytest.fixture(scope="module")
def doc(media) -> TimelineDocument:
    return two_clip_doc(media)[0]


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_presets_are_data_files_with_the_required_names():
    names = {p.name for p in presets.available()}
    assert names == set(EXPECTED) | {"png_sequence", "dpx_sequence", "exr_sequence"}
    hq = presets.get("prores_422_hq").delivery_format()
    assert (hq.video_codec, hq.pix_fmt, hq.chroma_subsampling, hq.audio_codec) == (
        "prores_ks", "yuv422p10le", (2, 1), "pcm_s24le",
    )  # fmt: skip
    assert presets.get("h264_high").delivery_format().bit_depth == 8
    assert presets.get("prores_4444").alpha and not presets.get("prores_422_hq").alpha
    with pytest.raises(Exception, match="no export preset called 'nope'.*prores_422_hq"):
        presets.get("nope")


@pytest.mark.parametrize("name", VIDEO_PRESETS)
def test_each_video_preset_renders_and_probes_right(doc, tmp_path, name):
    preset = presets.get(name)
    out = tmp_path / f"cut{preset.extension}"
    seen: list[tuple[int, int, float]] = []
    report = render_timeline(doc, preset, out, size=SIZES.get(name), on_progress=lambda *a: seen.append(a))
    assert report.path == out and report.frames == FRAMES and report.has_audio
    codec, profile, pix_fmt, tag, acodec = EXPECTED[name]
    info = probe(out)
    assert (info["video_codec"], info["profile"], info["pix_fmt"], info["codec_tag"]) == (
        codec, profile, pix_fmt, tag,
    )  # fmt: skip
    assert (info["width"], info["height"]) == SIZES.get(name, (64, 48))
    assert (info["color_primaries"], info["color_trc"], info["colorspace"], info["color_range"]) == (
        "bt709", "bt709", "bt709", "tv",
    )  # fmt: skip
    assert info["frame_count"] == FRAMES
    assert info["fps_fraction"] == "24/1"
    assert info["video_duration"] == pytest.approx(FRAMES / RATE, abs=1e-6)
    assert (info["audio_codec"], info["sample_rate"], info["channels"]) == (acodec, SR, 2)
    if acodec == "pcm_s24le":
        assert info["audio_samples"] == FRAMES * SR // RATE
    else:  # AAC pads its last frame
        assert abs(info["audio_duration"] - FRAMES / RATE) < 1024 / SR + 1e-3
    tags = info["metadata"]
    assert tags["ai_generated"] == "true" and "AI-generated" in tags["comment"]
    assert tags["title"] == "Cut"
    assert seen[-1][:2] == (FRAMES, FRAMES) and [s[0] for s in seen] == list(range(1, FRAMES + 1))
    assert all(eta >= 0 for _d, _t, eta in seen)
    assert listing(tmp_path) == [out.name]


def _decode_images(files: list[Path]) -> list[av.VideoFrame]:
    frames = []
    for file in files:
        with av.open(str(file)) as container:
            frames.append(next(container.decode(video=0)))
    return frames


@pytest.mark.parametrize(
    ("name", "pix_fmt"),
    [("png_sequence", "rgba64be"), ("dpx_sequence", "gbrp10le"), ("exr_sequence", "gbrapf16le")],
)
def test_each_sequence_preset_writes_images_a_wav_and_provenance(doc, tmp_path, name, pix_fmt):
    preset = presets.get(name)
    out = tmp_path / "shot"
    report = render_timeline(doc, preset, out, in_frame=30, out_frame=42)
    assert report.path == out and report.frames == 12
    images = sorted(out.glob(f"shot.*{preset.extension}"))
    assert [p.name for p in images] == [f"shot.{n:07d}{preset.extension}" for n in range(30, 42)]
    assert listing(out) == sorted([p.name for p in images] + ["shot.wav", "shot.provenance.json"])
    decoded = _decode_images(images[:1])[0]
    assert decoded.format.name == pix_fmt and (decoded.width, decoded.height) == (64, 48)
    wav = probe(out / "shot.wav")
    assert (wav["audio_codec"], wav["sample_rate"], wav["channels"]) == ("pcm_s24le", SR, 2)
    assert wav["audio_samples"] == 12 * SR // RATE
    assert '"ai_generated": "true"' in (out / "shot.provenance.json").read_text()
    assert listing(tmp_path) == ["shot"]


def timeline_picture(doc: TimelineDocument, frame: int) -> np.ndarray:
    """What the export encodes at ``frame``: the compositor's float picture (uint8 before it had one)."""
    compositor = TimelineCompositor(doc)
    try:
        if hasattr(compositor, "frame_at_float"):
            return compositor.frame_at_float(rt(frame)).astype(np.float64)
        return compositor.frame_at(rt(frame)).astype(np.float64) / 255
    finally:
        compositor.close()


def test_sequence_pixels_match_the_timeline_picture(doc, tmp_path):
    """PNG is lossless: its 16-bit values are the compositor's picture, and EXR holds the same in linear."""
    expected = timeline_picture(doc, 20)
    render_timeline(doc, "png_sequence", tmp_path / "p", in_frame=20, out_frame=21)
    render_timeline(doc, "exr_sequence", tmp_path / "e", in_frame=20, out_frame=21)
    png = _decode_images([tmp_path / "p" / "p.0000020.png"])[0].to_ndarray() / 65535.0
    assert np.abs(png[..., :3] - expected).max() < 1e-4
    assert np.all(png[..., 3] == 1.0)  # the clip covers the frame
    exr = _decode_images([tmp_path / "e" / "e.0000020.exr"])[0].to_ndarray(format="gbrapf32le")
    assert np.abs(exr[..., :3] - expected**2.4).max() < 2e-3  # half float


def _planes(frame: av.VideoFrame) -> list[np.ndarray]:
    out = []
    for plane in frame.planes:
        stride = plane.line_size // 2
        buf = np.frombuffer(plane, dtype="<u2", count=plane.height * stride)
        out.append(buf.reshape(plane.height, stride)[:, : plane.width].astype(np.float32))
    return out


def test_prores_hq_colour_matches_the_viewer_within_one_code_value(tmp_path):
    """A test pattern through the whole pipeline: decoded back (raw 10-bit planes, yuv.py's inverse), the
    export equals the compositor's picture (what the viewer shows) within 1/255 on average."""
    size = (96, 64)
    pattern = np.zeros((64, 96, 3), np.uint8)
    bars = [(191, 191, 191), (191, 191, 0), (0, 191, 191), (0, 191, 0), (191, 0, 191), (191, 0, 0)]
    for i, colour in enumerate(bars):
        pattern[:40, i * 16 : (i + 1) * 16] = colour
    pattern[40:] = np.linspace(0, 255, 96).astype(np.uint8)[None, :, None]
    source = tmp_path / "pattern.mkv"
    with av.open(str(source), "w") as container:  # lossless RGB source
        stream = container.add_stream("ffv1", rate=RATE)
        stream.width, stream.height, stream.pix_fmt = *size, "bgr0"
        for i in range(6):
            frame = av.VideoFrame.from_ndarray(pattern, format="rgb24").reformat(format="bgr0")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    doc = TimelineDocument(name="Pattern", rate=RATE)
    ids, _ = import_files(doc, [source])
    doc.insert(ids[0], doc.tracks(TrackKind.VIDEO)[0].id, rt(0))
    compositor = TimelineCompositor(doc)
    viewer = compositor.frame_at(rt(2)).astype(np.float32) / 255
    compositor.close()
    assert np.array_equal(viewer * 255, pattern.astype(np.float32))  # the source decodes exactly
    out = render_timeline(doc, "prores_422_hq", tmp_path / "p.mov").path
    with av.open(str(out)) as container:
        decoded = list(container.decode(video=0))
    rgb = yuv_planes_to_rgb(*_planes(decoded[2]), (2, 1))
    flat = np.ones((64, 96), bool)
    for x in range(16, 96, 16):
        flat[:40, x - 2 : x + 2] = False  # 4:2:2 chroma blurs bar edges by design
    assert np.abs(rgb - viewer)[flat].mean() <= 1 / 255
    assert np.abs(rgb - viewer)[40:].mean() <= 0.5 / 255  # the grey ramp has no chroma to blur
    assert np.abs(rgb - viewer)[flat].max() <= 2 / 255


def test_in_out_range_frame_count_duration_and_content(doc, tmp_path):
    report = render_timeline(doc, "prores_422_proxy", tmp_path / "r.mov", in_frame=10, out_frame=30)
    assert (report.first_frame, report.frames) == (10, 20)
    info = probe(report.path)
    assert info["frame_count"] == 20 and info["audio_samples"] == 20 * SR // RATE
    with av.open(str(report.path)) as container:
        first = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert decoded_index(first) == 10  # clip A's frame 10 starts the range


def test_prores_4444_is_transparent_where_no_clip_covers_the_frame(media, tmp_path):
    doc = TimelineDocument(name="Gap", rate=RATE)
    ids, _ = import_files(doc, [media["a"]])
    video = doc.tracks(TrackKind.VIDEO)[0].id
    doc.insert(ids[0], video, rt(0), source_range=TimeRange(rt(0), rt(4)), with_audio=False)
    doc.overwrite(ids[0], video, rt(8), source_range=TimeRange(rt(4), rt(4)), with_audio=False)
    out = render_timeline(doc, "prores_4444", tmp_path / "a.mov", size=(96, 48)).path  # letterboxed 64x48
    with av.open(str(out)) as container:
        frames = [f.to_ndarray(format="yuva444p16le") for f in container.decode(video=0)]
    assert len(frames) == 12
    alpha = [f[..., 3] for f in frames]  # [H, W, 4], 16-bit
    assert alpha[5].max() == 0  # the gap (frames 4..7)
    assert alpha[1][:, 16:80].min() > 65000  # the picture
    assert alpha[1][:, :16].max() == 0 and alpha[1][:, 80:].max() == 0  # the letterbox bars


def test_audio_mix_applies_clip_gain_and_fades(media):
    doc, clip_ids = two_clip_doc(media)
    audio_clips = [c for c in doc.clips(doc.tracks(TrackKind.AUDIO)[0].id)]
    plain = TimelineAudioMix(doc, 0.0, FRAMES / RATE)
    before = plain.read(0, plain.samples)
    plain.close()
    doc.set_clip_gain(audio_clips[0].id, -6.0)
    quieter = TimelineAudioMix(doc, 0.0, FRAMES / RATE)
    after = quieter.read(0, quieter.samples)
    quieter.close()
    head = slice(0, SR)  # the first second: clip A alone
    assert np.abs(before[:, head]).max() > 0.4  # the 0.5 sine
    ratio = np.abs(after[:, head]).max() / np.abs(before[:, head]).max()
    assert ratio == pytest.approx(10 ** (-6 / 20), rel=1e-3)
    tail = slice(2 * SR, 3 * SR)  # clip B alone: unchanged
    assert np.allclose(after[:, tail], before[:, tail], atol=1e-6)
    # Reading in windows gives the same samples as reading at once.
    windows = TimelineAudioMix(doc, 0.0, FRAMES / RATE)
    pieces = np.concatenate(
        [windows.read(i, min(i + 1000, windows.samples)) for i in range(0, windows.samples, 1000)], 1
    )
    windows.close()
    assert np.allclose(pieces, after, atol=1e-6)


def test_provenance_names_the_models_of_the_clips_used(media, tmp_path):
    doc, clip_ids = two_clip_doc(media)
    doc.set_clip_generation(
        clip_ids[0],
        {"model_name": "LTX-2 19B distilled", "seed": 7, "prompt": "a fox", "checkpoint_identity": "abc"},
    )
    tags = probe(render_timeline(doc, "h264_high", tmp_path / "p.mp4").path)["metadata"]
    assert tags["model"] == "LTX-2 19B distilled" and tags["checkpoint"] == "abc"
    assert "LTX-2 19B distilled" in tags["comment"] and "AI-generated" in tags["comment"]
    assert '"seed": 7' in tags["generation"] and '"prompt": "a fox"' in tags["generation"]
    assert tags["ai_generated_clips"].startswith("1 of ")


def test_a_1080p_prores_hq_sanity_check(tmp_path):
    source = make_video(tmp_path / "hd.mov", frames=3, size=(1920, 1080), codec="prores_ks", audio=False)
    doc = TimelineDocument(name="HD", rate=RATE)
    ids, _ = import_files(doc, [source])
    doc.insert(ids[0], doc.tracks(TrackKind.VIDEO)[0].id, rt(0))
    report = render_timeline(doc, "prores_422_hq", tmp_path / "hd_out.mov")
    info = probe(report.path)
    assert (info["width"], info["height"], info["frame_count"]) == (1920, 1080, 3)
    assert info["audio_codec"] is None and not report.has_audio
    assert report.fps == Fraction(24)


def test_a_graded_clip_exports_what_the_viewer_shows(media, tmp_path):
    import app.color as color

    doc, clip_ids = two_clip_doc(media)
    ungraded = timeline_picture(doc, 5)
    grade = color.Grade(cdl=color.CDL(slope=(1.2, 1.0, 0.8), saturation=0.5), exposure=0.25)
    doc.set_clip_grade(clip_ids[0], grade.to_dict())
    graded = timeline_picture(doc, 5)
    assert np.abs(graded - ungraded).max() > 0.05  # the grade changes the picture
    report = render_timeline(doc, "png_sequence", tmp_path / "g", in_frame=5, out_frame=6)
    assert report.graded
    png = _decode_images([tmp_path / "g" / "g.0000005.png"])[0].to_ndarray() / 65535.0
    assert np.abs(png[..., :3] - np.clip(graded, 0, 1)).max() < 1e-4
