"""Clip speed (a constant retime, OTIO's LinearTimeWarp) and four-point fit to fill: which media frame shows
at which timeline frame (app.document.resolve), the undoable setter, the checks, splits, and fit to fill
placing the record range with the whole source range."""

from __future__ import annotations

import math

import opentimelineio as otio
import pytest
from PySide6.QtGui import QUndoStack

from app.commands import push_edit
from app.document import TimelineDocument, TrackKind
from app.document.three_point import Marks, place, resolve_for
from app.errors import EditError
from tests.timeline_helpers import RATE, fake_media, fake_still, rt, span, track_id


@pytest.fixture
def doc() -> TimelineDocument:
    d = TimelineDocument()
    d.add_track(TrackKind.VIDEO)
    d.add_track(TrackKind.AUDIO)
    return d


def shown(doc: TimelineDocument, frame: int) -> int:
    """The media frame the viewer (and export) shows at timeline ``frame``."""
    sample = doc.video_at(rt(frame))
    assert sample is not None
    return round(sample.seconds * RATE)


def placed(doc: TimelineDocument, frames: int = 100, src: int = 10, dur: int = 20, audio: bool = False):
    media = fake_media(doc, "m", frames, audio=audio)
    ids = doc.insert(media, track_id(doc, "V1"), rt(5), span(src, dur))
    return media, ids


def warps(doc: TimelineDocument, clip_id: str) -> list[float]:
    clip = doc.clip_otio_copy(clip_id)
    return [e.time_scalar for e in clip.effects if isinstance(e, otio.schema.LinearTimeWarp)]


@pytest.mark.parametrize("speed", [2.0, 0.5, 1.5])
def test_a_retimed_clip_shows_source_in_plus_floor_offset_times_speed(doc, speed):
    _, (cid,) = placed(doc)
    doc.set_clip_speed(cid, speed)
    info = doc.clip(cid)
    assert info.speed == speed
    assert (info.start.to_frames(), info.duration.to_frames()) == (5, 20)  # place and length kept
    assert warps(doc, cid) == [speed]
    for k in range(20):
        assert shown(doc, 5 + k) == 10 + math.floor(k * speed)


def test_speed_two_and_a_half_by_hand(doc):
    _, (cid,) = placed(doc)
    doc.set_clip_speed(cid, 2.0)
    assert [shown(doc, f) for f in (5, 6, 7, 24)] == [10, 12, 14, 48]
    doc.set_clip_speed(cid, 0.5)
    assert [shown(doc, f) for f in (5, 6, 7, 8, 24)] == [10, 10, 11, 11, 19]
    doc.set_clip_speed(cid, 1.0)
    assert warps(doc, cid) == []  # 100% is no effect at all
    assert [shown(doc, f) for f in (5, 24)] == [10, 29]


def test_linked_sound_is_retimed_with_the_picture(doc):
    _, (video, sound) = placed(doc, audio=True)
    assert sorted(doc.set_clip_speed(video, 2.0)) == sorted([video, sound])
    assert doc.clip(sound).speed == 2.0
    (seg,) = doc.audio_segments(rt(0), rt(40))
    assert seg.speed == 2.0
    assert seg.source_seconds == pytest.approx(10 / RATE)


def test_speed_edit_undoes_and_redoes(doc):
    stack = QUndoStack()
    _, (cid,) = placed(doc)
    push_edit(stack, doc, "speed", lambda d: d.set_clip_speed(cid, 2.0))
    assert shown(doc, 6) == 12
    stack.undo()
    assert doc.clip(cid).speed == 1.0 and warps(doc, cid) == []
    assert shown(doc, 6) == 11
    stack.redo()
    assert doc.clip(cid).speed == 2.0
    assert shown(doc, 6) == 12


def test_a_speed_needing_media_past_the_end_is_refused_and_changes_nothing(doc):
    _, (cid,) = placed(doc, frames=40, src=10, dur=20)  # 30 frames of media left from the source in
    before = doc.snapshot()
    with pytest.raises(EditError, match="would need 39 frames of media.*only 30"):
        doc.set_clip_speed(cid, 2.0)
    assert doc.snapshot() == before
    doc.set_clip_speed(cid, 1.5)  # floor(19 * 1.5) + 1 = 29 frames: fits


@pytest.mark.parametrize("bad", [0, -1, 1000, float("nan"), "fast", None])
def test_bad_speeds_are_refused(doc, bad):
    _, (cid,) = placed(doc)
    before = doc.snapshot()
    with pytest.raises(EditError, match="speed"):
        doc.set_clip_speed(cid, bad)
    assert doc.snapshot() == before


def test_a_split_retimed_clip_keeps_playing_the_same_frames(doc):
    _, (cid,) = placed(doc)
    doc.set_clip_speed(cid, 2.0)
    before = [shown(doc, f) for f in range(5, 25)]
    doc.split(cid, rt(12))
    clips = doc.clips(track_id(doc, "V1"))
    assert len(clips) == 2 and all(c.speed == 2.0 for c in clips)
    assert [shown(doc, f) for f in range(5, 25)] == before


def test_a_slow_clip_may_run_past_the_media_length_at_1x(doc):
    """20 timeline frames at 50% read 10 media frames: later edits on the track must not call it too long."""
    media = fake_media(doc, "short", 15)
    v1 = track_id(doc, "V1")
    edit = resolve_for(doc, media, Marks(2, 11), Marks(0, 19), 0, four_point="fit")
    (cid,) = place(doc, media, edit, v1, overwrite=True)
    other = fake_media(doc, "other", 50)
    doc.insert(other, v1, rt(0), span(0, 5))  # ripples the slow clip: its layout is checked again
    assert doc.clip(cid).start.to_frames() == 5


# ------------------------------------------------------------------------------------ fit to fill
@pytest.mark.parametrize(("source", "record"), [((0, 29), (10, 19)), ((4, 13), (20, 39)), ((0, 19), (3, 17))])
def test_fit_to_fill_places_the_record_range_playing_the_whole_source_range(doc, source, record):
    media = fake_media(doc, "src", 100)
    v1 = track_id(doc, "V1")
    s_in, s_out = source
    r_in, r_out = record
    src_len, rec_len = s_out - s_in + 1, r_out - r_in + 1
    edit = resolve_for(doc, media, Marks(s_in, s_out), Marks(r_in, r_out), 0, four_point="fit")
    assert (edit.source_start, edit.source_frames, edit.record_start, edit.record_frames) == (
        s_in,
        src_len,
        r_in,
        rec_len,
    )
    (cid,) = place(doc, media, edit, v1, overwrite=True)
    info = doc.clip(cid)
    speed = src_len / rec_len
    assert info.speed == pytest.approx(speed)
    assert (info.start.to_frames(), info.duration.to_frames(), info.source_start.to_frames()) == (
        r_in,
        rec_len,
        s_in,
    )
    frames = [shown(doc, f) for f in range(r_in, r_out + 1)]
    assert frames == [s_in + math.floor(k * speed + 1e-6) for k in range(rec_len)]
    assert frames[0] == s_in
    assert s_out - speed < frames[-1] <= s_out  # the last shown frame is within one step of the out mark
    assert min(frames) >= s_in and max(frames) <= s_out
    if speed < 1:
        assert sorted(set(frames)) == list(range(s_in, s_out + 1))  # slow motion shows every marked frame


def test_fit_to_fill_is_one_undo_step(doc):
    stack = QUndoStack()
    media = fake_media(doc, "src", 100, audio=True)
    v1 = track_id(doc, "V1")
    before = doc.snapshot()
    edit = resolve_for(doc, media, Marks(0, 29), Marks(0, 9), 0, four_point="fit")
    video, sound = push_edit(stack, doc, "fit", lambda d: place(d, media, edit, v1, overwrite=False))
    assert doc.clip(video).speed == doc.clip(sound).speed == 3.0
    stack.undo()
    assert doc.snapshot() == before


def test_fit_to_fill_of_a_still_is_refused(doc):
    still = fake_still(doc, "still")
    before = doc.snapshot()
    edit = resolve_for(doc, still, Marks(0, 19), Marks(0, 9), 0, four_point="fit")
    with pytest.raises(EditError, match="still has no frames to fit"):
        place(doc, still, edit, track_id(doc, "V1"), overwrite=False)
    assert doc.snapshot() == before


def test_trimming_a_retimed_head_moves_the_source_at_the_speed(doc):
    _, (cid,) = placed(doc, frames=100, src=10, dur=20)
    doc.set_clip_speed(cid, 2.0)
    doc.trim_in(cid, rt(3))  # three timeline frames off the head: six media frames at 200%
    info = doc.clip(cid)
    assert (info.start.to_frames(), info.duration.to_frames(), info.source_start.to_frames()) == (8, 17, 16)
    assert shown(doc, 8) == 16 and shown(doc, 9) == 18


def test_a_retimed_tail_trim_is_clamped_to_the_media_at_the_speed(doc):
    _, (cid,) = placed(doc, frames=60, src=10, dur=10)  # 50 media frames from the source in
    doc.set_clip_speed(cid, 2.0)  # reads 19 of them
    doc.trim_out(cid, rt(100))  # as far as the media allows
    dur = doc.clip(cid).duration.to_frames()
    assert dur > 10
    assert 10 + math.floor((dur - 1) * 2.0) + 1 <= 60  # every frame it reads exists
    assert shown(doc, 5 + dur - 1) == 10 + (dur - 1) * 2 <= 59


def test_match_frame_of_a_retimed_clip_names_the_media_frame_shown(doc):
    from app.document.three_point import match_frame

    media, (cid,) = placed(doc, frames=100, src=10, dur=20)
    doc.set_clip_speed(cid, 2.0)
    found = match_frame(doc, 8)
    assert (found.media_id, found.source_frame) == (media, shown(doc, 8))
    assert (found.source_in, found.source_out) == (10, 10 + 38)


def test_a_title_cannot_be_retimed(doc):
    title = doc.insert_title(track_id(doc, "V1"), rt(0), {"text": "Hello"})
    before = doc.snapshot()
    with pytest.raises(EditError, match="title has no media"):
        doc.set_clip_speed(title, 2.0)
    assert doc.snapshot() == before


def test_a_clip_on_a_locked_track_keeps_its_speed(doc):
    _, (cid,) = placed(doc)
    doc.set_track_locked(track_id(doc, "V1"), True)
    before = doc.snapshot()
    with pytest.raises(EditError, match="locked"):
        doc.set_clip_speed(cid, 2.0)
    assert doc.snapshot() == before


def test_a_slow_clip_keeps_its_length_when_the_sequence_rate_changes(doc):
    from dataclasses import replace

    media = fake_media(doc, "short", 15)  # 15 frames at 24 fps
    edit = resolve_for(doc, media, Marks(2, 11), Marks(0, 19), 0, four_point="fit")  # 10 frames in 20
    (cid,) = place(doc, media, edit, track_id(doc, "V1"), overwrite=True)
    doc.set_sequence_settings(replace(doc.sequence_settings(), rate=48))
    info = doc.clip(cid)
    assert info.speed == 0.5
    assert (info.duration.to_frames(), info.source_start.to_frames()) == (40, 4)  # not cut to 1x's 26


def test_rolling_into_a_retimed_clip_moves_its_source_at_its_speed(doc):
    v1 = track_id(doc, "V1")
    left = fake_media(doc, "left", 100)
    right = fake_media(doc, "right", 100)
    (a,) = doc.insert(left, v1, rt(0), span(0, 10))
    (b,) = doc.insert(right, v1, rt(10), span(20, 10))
    doc.set_clip_speed(b, 2.0)
    doc.roll(a, rt(2))  # the cut two frames later: b loses two timeline frames, four media frames
    info = doc.clip(b)
    assert (info.start.to_frames(), info.duration.to_frames(), info.source_start.to_frames()) == (12, 8, 24)
    assert shown(doc, 12) == 24 and shown(doc, 13) == 26
