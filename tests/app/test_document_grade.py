"""Per-clip grade and gain, project colour settings: stored in the OTIO document, undoable, kept through
save/load round trips, and handed to the renderer (ClipInfo.grade, VideoSample.mix_clip_id,
AudioSegment.gain_db)."""

from __future__ import annotations

from fractions import Fraction

import opentimelineio as otio
import pytest
from PySide6.QtGui import QUndoStack

from app.commands import push_edit
from app.document import MediaItem, TimelineDocument, TrackKind
from app.errors import EditError
from app.media.info import MediaInfo

GRADE = {"look": "teal_orange", "lut_mix": 0.8, "exposure": 0.5, "cdl": {"slope": [1.1, 1.0, 0.9]}}


def f(frames: int) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(frames, 24)


@pytest.fixture
def doc() -> TimelineDocument:
    doc = TimelineDocument(rate=24)
    for name in ("a", "b"):
        info = MediaInfo(path=f"/m/{name}.mov", container="mov", has_video=True, has_audio=True, width=64,
                         height=48, fps=Fraction(24), frame_count=120, sample_rate=48000, channels=2,
                         audio_samples=240000)  # fmt: skip
        doc.add_bin_item(MediaItem(id=name, path=f"/m/{name}.mov", name=name, info=info))
    return doc


def test_grade_is_set_undone_and_survives_a_round_trip(doc):
    video = doc.tracks(TrackKind.VIDEO)[0].id
    (clip, _audio) = doc.insert("a", video, f(0))
    stack = QUndoStack()
    push_edit(stack, doc, "Grade", lambda d: d.set_clip_grade(clip, GRADE))
    assert doc.clip(clip).grade == GRADE
    again = TimelineDocument.from_otio(doc.to_otio())
    assert again.clip(clip).grade == GRADE
    stack.undo()
    assert doc.clip(clip).grade is None
    stack.redo()
    assert doc.clip(clip).grade == GRADE
    push_edit(stack, doc, "Ungrade", lambda d: d.set_clip_grade(clip, None))
    assert doc.clip(clip).grade is None


def test_gain_reaches_the_audio_segments_and_is_bounded(doc):
    video = doc.tracks(TrackKind.VIDEO)[0].id
    _video_clip, audio_clip = doc.insert("a", video, f(0))
    doc.set_clip_gain(audio_clip, -6.0)
    assert doc.clip(audio_clip).gain_db == -6.0
    [segment] = doc.audio_segments(f(0), f(48))
    assert segment.clip_id == audio_clip and segment.gain_db == -6.0
    before = doc.snapshot()
    with pytest.raises(EditError, match="between -60 dB and \\+24 dB"):
        doc.set_clip_gain(audio_clip, 40)
    assert doc.snapshot() == before


def test_a_dissolve_names_the_other_clip_so_its_grade_can_be_applied(doc):
    video = doc.tracks(TrackKind.VIDEO)[0].id
    src = otio.opentime.TimeRange(f(24), f(48))
    left = doc.insert("a", video, f(0), source_range=src, with_audio=False)[0]
    right = doc.insert("b", video, f(48), source_range=src, with_audio=False)[0]
    doc.add_dissolve(left, f(8))
    sample = doc.video_at(f(46))
    assert {sample.clip_id, sample.mix_clip_id} == {left, right}
    assert doc.video_at(f(10)).mix_clip_id is None


def test_project_colour_settings_round_trip(doc):
    assert doc.color_settings() == {}
    settings = {"config": "ocio://studio-config-latest", "display": "sRGB - Display"}
    doc.set_color_settings(settings)
    assert TimelineDocument.from_otio(doc.to_otio()).color_settings() == settings


def test_switching_takes_keeps_timing_and_moves_linked_sound(doc):
    video = doc.tracks(TrackKind.VIDEO)[0].id
    clip, audio = doc.insert("a", video, f(10), source_range=otio.opentime.TimeRange(f(4), f(40)))
    info = MediaInfo(path="/m/a_take1.mkv", container="mkv", has_video=True, has_audio=True, width=64,
                     height=48, fps=Fraction(24), frame_count=120, sample_rate=48000, channels=2,
                     audio_samples=240000)  # fmt: skip
    doc.add_bin_item(MediaItem(id="t1", path=info.path, name="a_take1", info=info, take_of="a", take=1))
    stack = QUndoStack()
    switched = push_edit(stack, doc, "Use take 1", lambda d: d.set_clip_media(clip, "t1"))
    assert set(switched) == {clip, audio}
    for cid in (clip, audio):
        c = doc.clip(cid)
        assert (c.media_id, c.start.value, c.duration.value, c.source_start.value) == ("t1", 10, 40, 4)
    assert doc.video_at(f(12)).path == "/m/a_take1.mkv"
    stack.undo()
    assert doc.clip(clip).media_id == "a" and doc.video_at(f(12)).path == "/m/a.mov"


def test_a_shorter_take_is_refused_and_masks_are_stored(doc):
    video = doc.tracks(TrackKind.VIDEO)[0].id
    clip = doc.insert("a", video, f(0), with_audio=False)[0]
    short = MediaInfo(path="/m/s.mkv", container="mkv", has_video=True, has_audio=False, width=64, height=48,
                      fps=Fraction(24), frame_count=30)  # fmt: skip
    doc.add_bin_item(MediaItem(id="s", path=short.path, name="s", info=short, take_of="a", take=1))
    before = doc.snapshot()
    with pytest.raises(EditError, match="30 frames long"):
        doc.set_clip_media(clip, "s")
    assert doc.snapshot() == before
    doc.set_clip_mask(clip, {"id": "abc123", "in": 5, "out": 20})
    assert TimelineDocument.from_otio(doc.to_otio()).clip(clip).mask == {"id": "abc123", "in": 5, "out": 20}
    doc.set_clip_mask(clip, None)
    assert doc.clip(clip).mask is None
