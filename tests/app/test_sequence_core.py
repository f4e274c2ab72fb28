"""Issue 13 core: sequence settings, per-clip transforms, stills, titles, track volume/mute/solo, clip fades,
crossfades and the peak meter -- headless, checked on the compositor (the viewer's picture) and the export."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from opentimelineio.opentime import RationalTime, TimeRange

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from media_builders import decoded_index, make_audio, make_corrupt, make_image, make_video  # noqa: E402

from app.document import TimelineDocument, TrackKind  # noqa: E402
from app.document.sequence import SequenceSettings, parse_rate, parse_size, settings_for_media  # noqa: E402
from app.errors import EditError, MediaError, ProjectError  # noqa: E402
from app.export import render_timeline  # noqa: E402
from app.export.audio_mix import TimelineAudioMix  # noqa: E402
from app.media.compositor import TimelineCompositor  # noqa: E402
from app.media.importer import import_files  # noqa: E402
from app.media.levels import PeakMeter, peak_db  # noqa: E402
from app.media.probe import probe_media  # noqa: E402
from app.media.title import TitleSpec, render_title  # noqa: E402
from app.media.transform import ClipTransform, place  # noqa: E402
from app.project import load_project, save_project  # noqa: E402

RATE = 24


def rt(frame: int, rate: float = RATE) -> RationalTime:
    return RationalTime(frame, rate)


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("seq_media")
    return {
        "a": make_video(root / "a.mp4", frames=48),  # 64x48, sine 0.5 on both channels
        "wide": make_video(root / "wide.mov", frames=24, codec="prores_ks", size=(96, 32), audio=False),
        "still": make_image(root / "still.png", size=(40, 40)),
        "tone": make_audio(root / "tone.wav", seconds=2.0),
    }


def seq_doc(width=128, height=72, rate=RATE) -> TimelineDocument:
    return TimelineDocument(name="Seq", sequence=SequenceSettings(width, height, rate, 48000))


# ------------------------------------------------------------------------------------ sequence settings
def test_settings_refuse_impossible_values_with_a_message():
    for bad, words in [
        (dict(width=0, height=1080), "width"),
        (dict(width=1921, height=1080), "even"),
        (dict(width=1920, height=1080, rate=0.0), "frame rate"),
        (dict(width=1920, height=1080, rate=float("nan")), "frame rate"),
        (dict(width=1920, height=1080, audio_rate=22050), "audio rate"),
    ]:
        with pytest.raises(EditError, match=words):
            SequenceSettings(**bad)
    assert parse_size("1080p") == (1920, 1080) and parse_size("1080x1920") == (1080, 1920)
    assert parse_rate("29.97") == 30000 / 1001 and parse_rate("24000/1001") == 24000 / 1001
    with pytest.raises(EditError, match="WIDTHxHEIGHT"):
        parse_size("big")
    offered = settings_for_media(1921, 1081, 30000 / 1001)
    assert offered.size == (1920, 1080) and offered.rate_label() == "29.97"


def test_sequence_size_drives_the_compositor_not_the_first_clip(media):
    doc = seq_doc()
    ids, _ = import_files(doc, [media["a"]])
    doc.insert(ids[0], doc.tracks(TrackKind.VIDEO)[0].id, rt(0))
    compositor = TimelineCompositor(doc)
    assert compositor.frame_size() == (128, 72)
    assert compositor.frame_at(rt(5)).shape == (72, 128, 3)
    legacy = TimelineDocument(name="Old")  # no settings: the first clip's size, as before
    legacy.insert(import_files(legacy, [media["a"]])[0][0], legacy.tracks(TrackKind.VIDEO)[0].id, rt(0))
    assert not legacy.has_sequence_settings()
    assert TimelineCompositor(legacy).frame_size() == (64, 48)


def test_changing_the_rate_keeps_clips_at_the_same_time_and_undo_restores(media):
    doc = seq_doc(rate=24)
    ids, _ = import_files(doc, [media["a"]])
    video = doc.tracks(TrackKind.VIDEO)[0].id
    doc.insert(ids[0], video, rt(0), TimeRange(rt(0), rt(24)))
    doc.insert(ids[0], video, rt(24), TimeRange(rt(12), rt(24)))
    doc.add_marker(rt(36), "m")
    before = doc.snapshot()
    doc.set_sequence_settings(SequenceSettings(128, 72, 30000 / 1001, 48000))
    assert doc.rate == 30000 / 1001
    clips = doc.clips(video)
    assert [c.start.value for c in clips] == [0, 30]  # 1 s at 29.97 fps is frame 29.97: 30
    assert abs(clips[1].start.to_seconds() - 1.0) < 1 / 29
    assert abs(doc.markers()[0].time.to_seconds() - 1.5) < 1 / 29
    # the second clip still shows its own second half (0.5 s into the file) at its start
    sample = doc.video_at(clips[1].start)
    assert abs(sample.seconds - 0.5) < 1 / 29
    doc.restore(before)  # what EditCommand's undo does
    assert doc.rate == 24 and [c.start.value for c in doc.clips(video)] == [0, 24]
    assert doc.sequence_settings().rate == 24


def test_sequence_settings_survive_save_load_and_bad_ones_are_refused(media, tmp_path):
    doc = seq_doc(1080, 1920, 25)
    folder = tmp_path / "Vert.aiprod"
    save_project(doc, folder)
    loaded = load_project(folder).doc
    assert loaded.sequence_settings() == SequenceSettings(1080, 1920, 25.0, 48000)
    project = folder / "project.otio"
    data = json.loads(project.read_text())
    data["metadata"]["aiprod"]["sequence"]["width"] = -5
    project.write_text(json.dumps(data))
    with pytest.raises(ProjectError, match="sequence settings"):
        load_project(folder)


# ------------------------------------------------------------------------------------------ transforms
def test_transform_modes_place_the_picture():
    source = np.full((10, 20, 3), 200, np.uint8)  # 2:1
    fit = place(source, 40, 40, None)
    assert fit[10:30].min() == 200 and fit[:10].max() == 0  # letterboxed
    fill = place(source, 40, 40, {"mode": "fill"})
    assert fill.min() == 200  # covers the frame
    stretch = place(source, 40, 40, {"mode": "stretch"})
    assert stretch.min() == 200
    small = place(source, 40, 40, {"mode": "stretch", "scale": 0.5, "x": 10, "y": -10})
    assert small[0:20, 20:40].min() == 200 and small[20:].max() == 0 and small[:, :20].max() == 0
    cropped = place(source, 40, 40, {"mode": "stretch", "crop": [0.25, 0, 0, 0]})
    assert cropped[:, :10].max() == 0 and cropped[:, 10:].min() == 200  # the crop masks, the rest stays
    with pytest.raises(EditError, match="mode"):
        ClipTransform.from_dict({"mode": "zoom"})
    with pytest.raises(EditError, match="scale"):
        ClipTransform.from_dict({"scale": 0})


def test_transform_is_identical_in_viewer_and_export(media, tmp_path):
    doc = seq_doc(128, 72)
    ids, _ = import_files(doc, [media["wide"]])
    video = doc.tracks(TrackKind.VIDEO)[0].id
    (clip,) = doc.insert(ids[0], video, rt(0))
    with pytest.raises(EditError):
        doc.set_clip_transform(clip, {"mode": "fill", "crop": [0.9, 0, 0, 0]})
    assert doc.clip(clip).transform is None  # a refused transform changes nothing
    transform = {"mode": "stretch", "scale": 0.5, "x": 8, "y": -4, "crop": [0.25, 0, 0, 0.1]}
    doc.set_clip_transform(clip, transform)
    compositor = TimelineCompositor(doc)
    viewer = compositor.frame_at(rt(3)).astype(np.float64) / 255
    exported = compositor.frame_at_float(rt(3)).astype(np.float64)
    compositor.close()
    assert np.abs(viewer - exported).mean() < 2 / 255
    render_timeline(doc, "png_sequence", tmp_path / "p", in_frame=3, out_frame=4)
    with av.open(str(tmp_path / "p" / "p.0000003.png")) as container:
        png = next(container.decode(video=0)).to_ndarray(format="rgba64le") / 65535.0
    assert np.abs(png[..., :3] - exported).max() < 1e-4
    # stretched to 64x36, centred then moved (+8, -4): x 40..104, y 14..50; crops mask x < 56 and y > 46
    x0, y0, x1, y1 = ClipTransform.from_dict(transform).coverage(96, 32, 128, 72)
    assert (x0, y0, x1, y1) == (56, 14, 104, 47)  # the bottom crop is 3 of 32 rows
    alpha = png[..., 3]
    assert alpha[y0:y1, x0:x1].min() == 1.0 and alpha.sum() == (x1 - x0) * (y1 - y0)
    assert exported[:, :x0].max() == 0 and exported[y1:].max() == 0


# ----------------------------------------------------------------------------------------------- stills
@pytest.mark.parametrize(
    "suffix, pix", [(".png", "rgb48be"), (".tif", "rgb48le"), (".exr", "gbrpf32le"), (".jpg", "yuvj444p")]
)
def test_stills_of_each_format_and_depth_are_clips_with_a_default_duration(tmp_path, suffix, pix):
    picture = np.zeros((30, 40, 3), np.uint16)
    picture[:, :20] = 65535
    path = tmp_path / f"s{suffix}"
    codec = {".png": "png", ".tif": "tiff", ".exr": "exr", ".jpg": "mjpeg"}[suffix]
    with av.open(str(path), "w", format="image2") as container:
        stream = container.add_stream(codec, rate=1)
        stream.width, stream.height, stream.pix_fmt = 40, 30, pix
        frame = av.VideoFrame.from_ndarray(picture, format="rgb48le").reformat(format=pix)
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    info = probe_media(path)
    assert info.still and info.has_video and not info.has_audio and (info.width, info.height) == (40, 30)
    doc = seq_doc(40, 30)
    ids, errors = import_files(doc, [path])
    assert not errors
    (clip,) = doc.insert(ids[0], doc.tracks(TrackKind.VIDEO)[0].id, rt(0))
    assert doc.clip(clip).duration.value == 5 * RATE  # five seconds until trimmed
    doc.trim_out(clip, rt(RATE * 3))  # a still can be made longer
    assert doc.clip(clip).duration.value == 8 * RATE
    frame = TimelineCompositor(doc).frame_at(rt(150))
    assert frame[:, :18].mean() > 240 and frame[:, 22:].mean() < 15


def test_a_damaged_still_is_refused_and_the_bin_keeps_the_rest(media, tmp_path):
    doc = seq_doc()
    ids, errors = import_files(doc, [make_corrupt(tmp_path / "bad.png"), media["still"]])
    assert len(ids) == 1 and len(errors) == 1 and isinstance(errors[0], MediaError)
    assert "bad.png" in str(errors[0])


# ----------------------------------------------------------------------------------------------- titles
def test_title_renders_identically_in_viewer_and_export_and_fades(media, tmp_path):
    doc = seq_doc(160, 90)
    ids, _ = import_files(doc, [media["a"]])
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    doc.insert(ids[0], v1, rt(0))
    v2 = doc.add_track(TrackKind.VIDEO)
    title = {
        "text": "Hello",
        "size": 200,
        "color": "#ff0000",
        "y": 0.5,
        "box": True,
        "box_color": "#0000ff",
        "fade_in": 0.5,
        "fade_out": 0.5,
    }
    tid = doc.insert_title(v2, rt(0), title, rt(48))
    assert doc.clip(tid).title["text"] == "Hello" and doc.clip(tid).name == "Hello"
    compositor = TimelineCompositor(doc)
    mid = compositor.frame_at(rt(24)).astype(np.float64) / 255
    assert mid[45, 80, 0] > 0.8 or mid[..., 2].max() > 0.5  # red text on a blue box over the clip
    under = compositor.frame_at(rt(0))  # first frame of the fade in: the clip shows through
    assert decoded_index(under) == 0
    exported = compositor.frame_at_float(rt(24)).astype(np.float64)
    assert np.abs(mid - exported).max() < 2 / 255
    layer_early = render_title(title, 160, 90, 0.1, 2.0)
    layer_mid = render_title(title, 160, 90, 1.0, 2.0)
    assert layer_early[..., 3].max() < 0.25 < layer_mid[..., 3].max()
    before = doc.snapshot()
    for bad, words in [
        ({"text": ""}, "text"),
        ({"text": "x", "font": "Comic"}, "font"),
        ({"text": "x", "color": "nope"}, "colour"),
        ({"text": "x", "size": 0}, "size"),
    ]:
        with pytest.raises(EditError, match=words):
            doc.set_clip_title(tid, bad)
    assert doc.snapshot() == before
    doc.set_clip_title(tid, {**title, "text": "Bye"})
    assert doc.clip(tid).name == "Bye"
    compositor.close()


def test_title_spec_round_trips_through_a_project(tmp_path):
    doc = seq_doc()
    tid = doc.insert_title(doc.tracks(TrackKind.VIDEO)[0].id, rt(0), {"text": "Saved", "box": True})
    save_project(doc, tmp_path / "T.aiprod")
    loaded = load_project(tmp_path / "T.aiprod").doc
    assert TitleSpec.from_dict(loaded.clip(tid).title).text == "Saved"
    frame = TimelineCompositor(loaded).frame_at(rt(40))
    assert frame.max() > 200  # white text on black


# ------------------------------------------------------------------------------------------------ sound
def _sound_doc(media) -> tuple[TimelineDocument, str, str]:
    doc = seq_doc()
    ids, _ = import_files(doc, [media["tone"]])
    a1 = doc.tracks(TrackKind.AUDIO)[0].id
    (clip,) = doc.insert(ids[0], a1, rt(0))
    return doc, a1, clip


def test_track_volume_mute_and_solo_reach_player_meter_and_export(media):
    doc, a1, clip = _sound_doc(media)
    a2 = doc.add_track(TrackKind.AUDIO)
    doc.insert(doc.clip(clip).media_id, a2, rt(0))
    compositor = TimelineCompositor(doc)

    def level() -> float:
        return peak_db(compositor.audio(0.5, 1.0))[0]

    both = level()
    assert abs(both - 20 * np.log10(1.0)) < 0.2  # 0.5 + 0.5 (same phase)
    doc.set_track_audio(a2, mute=True)
    assert abs(level() - 20 * np.log10(0.5)) < 0.2
    doc.set_track_audio(a2, mute=False, volume_db=-6.0)
    assert abs(level() - 20 * np.log10(0.5 + 0.5 * 10 ** (-6 / 20))) < 0.2
    doc.set_track_audio(a1, solo=True)
    assert abs(level() - 20 * np.log10(0.5)) < 0.2
    doc.set_clip_gain(clip, -12.0)
    solo_level = level()
    assert abs(solo_level - (20 * np.log10(0.5) - 12)) < 0.2
    mix = TimelineAudioMix(doc, 0.5, 1.0)
    assert abs(peak_db(mix.read(0, mix.samples))[0] - solo_level) < 0.05  # the export hears the same
    with pytest.raises(EditError, match="volume"):
        doc.set_track_audio(a1, volume_db=40.0)
    with pytest.raises(EditError, match="audio tracks"):
        doc.set_track_audio(doc.tracks(TrackKind.VIDEO)[0].id, mute=True)


def test_clip_fades_ramp_the_sound_and_are_checked(media):
    doc, _, clip = _sound_doc(media)
    doc.set_clip_fades(clip, 12, 24)
    compositor = TimelineCompositor(doc)
    start = compositor.audio(0.0, 0.5)
    assert np.abs(start[:, :100]).max() < 0.01 and np.abs(start[:, -2000:]).max() > 0.45
    end = compositor.audio(1.0, 2.0)
    assert np.abs(end[:, -100:]).max() < 0.01
    with pytest.raises(EditError, match="longer than the clip"):
        doc.set_clip_fades(clip, 40, 20)
    assert doc.clip(clip).fade_in == 12


def test_an_audio_crossfade_alone_at_a_cut(media):
    doc, a1, clip = _sound_doc(media)
    doc.trim_out(clip, rt(-24))  # 0..24 (1 s of 2)
    media_id = doc.clip(clip).media_id
    (right,) = doc.insert(media_id, a1, rt(24), TimeRange(rt(24), rt(24)))
    doc.add_dissolve(clip, rt(12), linked=False)
    segments = doc.audio_segments(rt(0), rt(48))
    assert [s.fade_out.value for s in segments][0] == 12 and segments[1].fade_in.value == 12
    around = TimelineCompositor(doc).audio(0.8, 1.2)
    assert np.abs(around).max() > 0.4  # equal-gain crossfade of two coherent sines: no dip to silence


def test_peak_meter_holds_and_falls():
    meter = PeakMeter(rate=1000, hold_seconds=1.0, fall_db_per_s=20.0)
    loud = np.full((2, 100), 0.5, np.float32)
    loud[1] *= 0.5
    reading = meter.feed(loud)
    assert (
        abs(reading.peak[0] - 20 * np.log10(0.5)) < 1e-3 and abs(reading.peak[1] - 20 * np.log10(0.25)) < 1e-3
    )
    quiet = np.zeros((2, 500), np.float32)
    reading = meter.feed(quiet)  # 0.5 s later: the bar fell 10 dB, the hold stays
    assert abs(reading.peak[0] - (20 * np.log10(0.5) - 10)) < 1e-3
    assert abs(reading.hold[0] - 20 * np.log10(0.5)) < 1e-3
    reading = meter.feed(np.zeros((2, 700), np.float32))  # past the hold time
    assert reading.hold[0] < 20 * np.log10(0.5) - 10
    assert meter.max_seen[0] == pytest.approx(20 * np.log10(0.5), abs=1e-3)
    assert meter.feed(np.ones((2, 10), np.float32)).clipped == (True, True)


def test_titles_survive_otio_and_leave_gaps_in_fcp_xml(tmp_path):
    from app.interchange import export_timeline, import_timeline

    doc = seq_doc()
    v2 = doc.add_track(TrackKind.VIDEO)
    doc.insert_title(v2, rt(5), {"text": "Chapter"})
    export_timeline(doc, tmp_path / "t.otio")
    back = import_timeline(tmp_path / "t.otio")
    titles = [c for t in back.tracks() for c in back.clips(t.id) if c.title is not None]
    assert [c.title["text"] for c in titles] == ["Chapter"]
    for name in ("t.xml", "t.fcpxml"):  # no place for a title: a gap, not a failed export
        assert export_timeline(doc, tmp_path / name)
        assert "Chapter" not in (tmp_path / name).read_text()


def test_an_old_project_without_sequence_settings_loads_as_it_showed(media, tmp_path):
    doc = TimelineDocument(name="Old", rate=25)  # as projects were saved before sequence settings
    ids, _ = import_files(doc, [media["wide"], media["a"]])
    doc.insert(ids[0], doc.tracks(TrackKind.VIDEO)[0].id, rt(0, 25))
    save_project(doc, tmp_path / "Old.aiprod")
    data = json.loads((tmp_path / "Old.aiprod" / "project.otio").read_text())
    assert "sequence" not in data["metadata"]["aiprod"]
    loaded = load_project(tmp_path / "Old.aiprod").doc
    assert not loaded.has_sequence_settings()
    assert loaded.sequence_settings() == SequenceSettings(96, 32, 25.0, 48000)  # the first clip, the rate
    assert TimelineCompositor(loaded).frame_at(rt(2, 25)).shape == (32, 96, 3)


def test_fades_follow_splits_and_trims_and_such_projects_still_load(media, tmp_path):
    doc, a1, clip = _sound_doc(media)  # 48 frames of tone
    doc.set_clip_fades(clip, 12, 12)
    (right,) = doc.split(clip, rt(24))
    assert (doc.clip(clip).fade_in, doc.clip(clip).fade_out) == (12, 0)  # no dip at the cut
    assert (doc.clip(right).fade_in, doc.clip(right).fade_out) == (0, 12)
    sound = TimelineCompositor(doc).audio(0.9, 1.1)
    assert np.abs(sound).max() > 0.45
    doc.trim_out(right, rt(-16))  # 8 frames left, shorter than its 12-frame fade out
    segment = next(s for s in doc.audio_segments(rt(0), rt(48)) if s.clip_id == right)
    assert segment.fade_out.value == 8  # limited to the clip
    save_project(doc, tmp_path / "Fades.aiprod")
    assert load_project(tmp_path / "Fades.aiprod").doc.clip(right).fade_out == 12  # loads, nothing lost
    # an edit's split changes the live clip's fades only when the edit commits (a refused edit changes none)
    before = doc.snapshot()
    layout = doc._cached_layout(a1).copy()
    assert layout.split(28) is not None  # inside the right half, which fades out
    assert doc.snapshot() == before and doc.clip(right).fade_out == 12
