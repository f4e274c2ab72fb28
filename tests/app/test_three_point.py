"""Three-point and four-point editing (app.document.three_point): the resolution rules and the edits they
make on a document (insert ripples, overwrite replaces, linked sound follows, errors change nothing)."""

from __future__ import annotations

import pytest

from app.document import TimelineDocument, TrackKind
from app.document.three_point import (
    Marks,
    ThreePointEdit,
    match_frame,
    needs_four_point_choice,
    place,
    resolve,
    resolve_for,
)
from app.errors import EditError
from tests.timeline_helpers import fake_media, fake_still, frames, rt, span, track_id

NONE = Marks()


def r(
    source: Marks, record: Marks = NONE, playhead: int = 0, media: int | None = 100, **kw
) -> ThreePointEdit:
    return resolve(source, record, playhead=playhead, media_frames=media, **kw)


def spans(edit: ThreePointEdit) -> tuple[int, int, int, int]:
    return edit.source_start, edit.source_frames, edit.record_start, edit.record_frames


# ------------------------------------------------------------------------------------------ rules
def test_source_in_and_out_at_the_playhead():
    assert spans(r(Marks(10, 19), playhead=50)) == (10, 10, 50, 10)


def test_source_in_and_out_at_the_timeline_in():
    assert spans(r(Marks(10, 19), Marks(30, None), playhead=50)) == (10, 10, 30, 10)


def test_source_range_backtimed_from_the_timeline_out():
    # record out 39 included: the ten frames end on it
    assert spans(r(Marks(10, 19), Marks(None, 39), playhead=0)) == (10, 10, 30, 10)


def test_timeline_range_fixes_the_length_from_the_source_in():
    assert spans(r(Marks(5, None), Marks(20, 27))) == (5, 8, 20, 8)


def test_timeline_range_backtimes_the_source_from_its_out():
    assert spans(r(Marks(None, 49), Marks(20, 27))) == (42, 8, 20, 8)


def test_timeline_range_without_source_marks_starts_at_the_first_frame():
    assert spans(r(NONE, Marks(20, 27))) == (0, 8, 20, 8)


def test_no_marks_at_all_is_the_whole_media_at_the_playhead():
    assert spans(r(NONE, NONE, playhead=7, media=60)) == (0, 60, 7, 60)


def test_only_a_source_in_runs_to_the_end_of_the_media():
    assert spans(r(Marks(40, None), media=100)) == (40, 60, 0, 60)


def test_only_a_source_out_runs_from_the_first_frame():
    assert spans(r(Marks(None, 24), playhead=3)) == (0, 25, 3, 25)


def test_open_source_backtimed_from_the_timeline_out():
    assert spans(r(Marks(40, None), Marks(None, 99), media=100)) == (40, 60, 40, 60)


def test_single_frame_marks():
    assert spans(r(Marks(9, 9), Marks(4, None))) == (9, 1, 4, 1)


def test_four_marks_of_equal_length_need_no_choice():
    source, record = Marks(0, 9), Marks(100, 109)
    assert not needs_four_point_choice(source, record)
    assert spans(r(source, record)) == (0, 10, 100, 10)


def test_four_marks_of_different_length_ask_for_a_choice():
    source, record = Marks(0, 19), Marks(100, 109)
    assert needs_four_point_choice(source, record)
    with pytest.raises(EditError, match="fit to fill"):
        r(source, record)


def test_four_point_trim_keeps_both_ins_and_the_shorter_length():
    edit = r(Marks(0, 19), Marks(100, 109), four_point="trim")
    assert spans(edit) == (0, 10, 100, 10)
    assert "source" in edit.note and "10" in edit.note
    edit = r(Marks(0, 4), Marks(100, 109), four_point="trim")
    assert spans(edit) == (0, 5, 100, 5)
    assert "timeline" in edit.note


def test_four_point_fit_keeps_all_four_and_changes_speed():
    edit = r(Marks(0, 19), Marks(100, 109), four_point="fit")
    assert spans(edit) == (0, 20, 100, 10)
    assert edit.speed == 2.0


def test_an_unknown_four_point_mode_is_refused():
    with pytest.raises(EditError, match="'trim' or 'fit'"):
        r(Marks(0, 19), Marks(100, 109), four_point="stretch")


# ------------------------------------------------------------------------------------- edge cases
@pytest.mark.parametrize("marks", [Marks(100, None), Marks(None, 100), Marks(95, 120)])
def test_source_marks_beyond_the_media_are_refused(marks):
    with pytest.raises(EditError, match="past the end of the media"):
        r(marks, media=100)


def test_a_timeline_range_longer_than_the_media_after_the_source_in_is_refused():
    with pytest.raises(EditError, match="has only 10 from there"):
        r(Marks(90, None), Marks(0, 19), media=100)


def test_backtiming_before_the_first_source_frame_is_refused():
    with pytest.raises(EditError, match="only 5 before it"):
        r(Marks(None, 4), Marks(0, 19))


def test_backtiming_before_the_start_of_the_timeline_is_refused():
    with pytest.raises(EditError, match="before the timeline"):
        r(Marks(0, 19), Marks(None, 9))


@pytest.mark.parametrize("side", ["source", "timeline"])
def test_an_out_before_its_in_is_refused(side):
    backwards = Marks(20, 10)
    with pytest.raises(EditError, match=f"{side} out mark is before its in"):
        r(backwards, NONE) if side == "source" else r(NONE, backwards)


def test_negative_marks_and_playhead_are_refused():
    with pytest.raises(EditError, match="before the first frame"):
        r(Marks(-1, 5))
    with pytest.raises(EditError, match="playhead"):
        r(Marks(0, 5), playhead=-3)


def test_unknown_media_length_needs_an_out_mark_or_a_timeline_range():
    with pytest.raises(EditError, match="length is unknown"):
        r(Marks(3, None), media=None)
    assert spans(r(Marks(3, None), Marks(0, 9), media=None)) == (3, 10, 0, 10)
    assert spans(r(Marks(3, None), media=None, default_frames=120)) == (3, 120, 0, 120)


# ---------------------------------------------------------------------------------- on a document
@pytest.fixture
def doc() -> TimelineDocument:
    return TimelineDocument(rate=24)


def v1_clips(doc: TimelineDocument) -> list[tuple[str, int, int, int]]:
    """(media id, start, duration, source start) of every V1 clip."""
    return [
        (c.media_id, frames(c.start), frames(c.duration), frames(c.source_start))
        for c in doc.clips(track_id(doc, "V1"))
    ]


def test_insert_at_the_playhead_ripples_later_clips(doc):
    a, b = fake_media(doc, "a", 48), fake_media(doc, "b", 100)
    v1 = track_id(doc, "V1")
    doc.insert(a, v1, rt(0))
    doc.insert(a, v1, rt(48))
    edit = resolve_for(doc, b, Marks(10, 19), NONE, playhead=48)
    created = place(doc, b, edit, v1, overwrite=False)
    assert len(created) == 1
    assert v1_clips(doc) == [(a, 0, 48, 0), (b, 48, 10, 10), (a, 58, 48, 0)]


def test_insert_inside_a_clip_splits_it(doc):
    a, b = fake_media(doc, "a", 48), fake_media(doc, "b", 100)
    v1 = track_id(doc, "V1")
    doc.insert(a, v1, rt(0))
    place(doc, b, resolve_for(doc, b, Marks(0, 3), Marks(20, None), playhead=0), v1, overwrite=False)
    assert v1_clips(doc) == [(a, 0, 20, 0), (b, 20, 4, 0), (a, 24, 28, 20)]


def test_overwrite_across_several_clips_replaces_only_the_record_range(doc):
    a, b, c = fake_media(doc, "a", 48), fake_media(doc, "b", 48), fake_media(doc, "x", 200)
    v1 = track_id(doc, "V1")
    for media, at in ((a, 0), (b, 20), (a, 40)):
        doc.overwrite(media, v1, rt(at), span(0, 20))
    edit = resolve_for(doc, c, Marks(100, None), Marks(10, 49), playhead=0)  # record 10..49: 40 frames
    place(doc, c, edit, v1, overwrite=True)
    assert v1_clips(doc) == [(a, 0, 10, 0), (c, 10, 40, 100), (a, 50, 10, 10)]
    assert frames(doc.duration()) == 60  # an overwrite never moves anything


def test_insert_into_a_gap_moves_the_clips_after_it(doc):
    a, b = fake_media(doc, "a", 48), fake_media(doc, "b", 48)
    v1 = track_id(doc, "V1")
    doc.overwrite(a, v1, rt(0), span(0, 10))
    doc.overwrite(a, v1, rt(30), span(0, 10))
    place(doc, b, resolve_for(doc, b, Marks(0, 4), NONE, playhead=15), v1, overwrite=False)
    assert v1_clips(doc) == [(a, 0, 10, 0), (b, 15, 5, 0), (a, 35, 10, 0)]


def test_overwrite_into_a_gap_leaves_the_rest_alone(doc):
    a, b = fake_media(doc, "a", 48), fake_media(doc, "b", 48)
    v1 = track_id(doc, "V1")
    doc.overwrite(a, v1, rt(0), span(0, 10))
    doc.overwrite(a, v1, rt(30), span(0, 10))
    place(doc, b, resolve_for(doc, b, Marks(0, 4), Marks(None, 29), playhead=0), v1, overwrite=True)
    assert v1_clips(doc) == [(a, 0, 10, 0), (b, 25, 5, 0), (a, 30, 10, 0)]


def test_linked_sound_goes_to_the_matching_audio_track_and_ripples_with_the_picture(doc):
    a = fake_media(doc, "a", 48, audio=True)
    talk = fake_media(doc, "talk", 100, audio=True)
    v1, a1 = track_id(doc, "V1"), track_id(doc, "A1")
    doc.insert(a, v1, rt(0))
    video, sound = place(doc, talk, resolve_for(doc, talk, Marks(10, 29), NONE, 24), v1, overwrite=False)
    assert doc.clip(sound).track_id == a1
    assert doc.linked_clips(video) == [video, sound]
    assert [(frames(c.start), frames(c.duration)) for c in doc.clips(a1)] == [(0, 24), (24, 20), (44, 24)]
    assert frames(doc.clip(sound).source_start) == 10


def test_without_sound_only_the_video_track_changes(doc):
    a = fake_media(doc, "a", 48, audio=True)
    talk = fake_media(doc, "talk", 100, audio=True)
    v1, a1 = track_id(doc, "V1"), track_id(doc, "A1")
    doc.insert(a, v1, rt(0))
    before = [(frames(c.start), frames(c.duration)) for c in doc.clips(a1)]
    created = place(
        doc, talk, resolve_for(doc, talk, Marks(0, 9), NONE, 10), v1, overwrite=False, with_audio=False
    )
    assert len(created) == 1
    assert [(frames(c.start), frames(c.duration)) for c in doc.clips(a1)] == before


def test_sound_only_media_goes_to_the_audio_track_of_the_target_number(doc):
    tone = fake_media(doc, "tone", 100, audio=True, video=False)
    v2 = doc.add_track(TrackKind.VIDEO)
    [sound] = place(doc, tone, resolve_for(doc, tone, Marks(0, 9), NONE, 4), v2, overwrite=False)
    assert doc.track_info(doc.clip(sound).track_id).name == "A2"
    assert doc.clips(v2) == []


def test_sound_only_media_with_its_sound_patched_off_is_refused(doc):
    tone = fake_media(doc, "tone", 100, audio=True, video=False)
    before = doc.snapshot()
    edit = resolve_for(doc, tone, Marks(0, 9), NONE, 0)
    with pytest.raises(EditError, match="only sound.*patched off"):
        place(doc, tone, edit, track_id(doc, "V1"), overwrite=False, with_audio=False)
    assert doc.snapshot() == before


def test_a_v2_target_sends_sound_to_a2(doc):
    talk = fake_media(doc, "talk", 100, audio=True)
    v2 = doc.add_track(TrackKind.VIDEO)
    video, sound = place(doc, talk, resolve_for(doc, talk, Marks(0, 9), NONE, 0), v2, overwrite=True)
    assert doc.clip(video).track_id == v2
    assert doc.track_info(doc.clip(sound).track_id).name == "A2"


def test_a_fit_to_fill_places_the_record_length_at_the_speed(doc):
    # more in tests/app/test_clip_speed.py
    b = fake_media(doc, "b", 100)
    v1 = track_id(doc, "V1")
    edit = resolve_for(doc, b, Marks(0, 19), Marks(0, 9), 0, four_point="fit")
    (cid,) = place(doc, b, edit, v1, overwrite=False)
    assert (frames(doc.clip(cid).duration), doc.clip(cid).speed) == (10, 2.0)


def test_a_still_without_marks_lasts_the_still_length(doc):
    from app.document.properties import still_frames

    still = fake_still(doc, "still")
    edit = resolve_for(doc, still, NONE, NONE, playhead=5)
    assert spans(edit) == (0, still_frames(24), 5, still_frames(24))


# ---------------------------------------------------------------------------------- match frame
def test_match_frame_finds_the_source_frame_of_the_top_clip(doc):
    a, b = fake_media(doc, "a", 100), fake_media(doc, "b", 100)
    v1 = track_id(doc, "V1")
    v2 = doc.add_track(TrackKind.VIDEO)
    doc.overwrite(a, v1, rt(0), span(10, 50))
    doc.overwrite(b, v2, rt(20), span(30, 10))
    found = match_frame(doc, 25)
    assert (found.media_id, found.source_frame, found.source_in, found.source_out) == (b, 35, 30, 39)
    found = match_frame(doc, 5)
    assert (found.media_id, found.source_frame, found.source_in, found.source_out) == (a, 15, 10, 59)


def test_match_frame_prefers_the_selected_clip_and_skips_hidden_tracks(doc):
    a, b = fake_media(doc, "a", 100), fake_media(doc, "b", 100)
    v1 = track_id(doc, "V1")
    v2 = doc.add_track(TrackKind.VIDEO)
    low = doc.overwrite(a, v1, rt(0), span(0, 50))[0]
    doc.overwrite(b, v2, rt(0), span(0, 50))
    assert match_frame(doc, 10, prefer=[low]).media_id == a
    doc.set_track_enabled(v2, False)
    assert match_frame(doc, 10).media_id == a


def test_match_frame_falls_back_to_sound_and_refuses_an_empty_frame(doc):
    tone = fake_media(doc, "tone", 100, audio=True, video=False)
    doc.insert(tone, track_id(doc, "A1"), rt(0), span(20, 30))
    assert match_frame(doc, 4).source_frame == 24
    with pytest.raises(EditError, match="no clip under the playhead"):
        match_frame(doc, 30)
