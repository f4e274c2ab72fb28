"""Edit operations on TimelineDocument with exact frame assertions (no media files needed)."""

from __future__ import annotations

from fractions import Fraction

import opentimelineio as otio
import pytest

from app.document import MediaItem, TimelineDocument, TrackKind
from app.errors import EditError
from app.media.info import MediaInfo

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange


def f(frames: int) -> otio.opentime.RationalTime:
    return RT(frames, 24)


def media(media_id: str, frames: int = 120, audio: bool = True, video: bool = True) -> MediaItem:
    info = MediaInfo(
        path=f"/media/{media_id}.mkv",
        container="matroska",
        has_video=video,
        has_audio=audio,
        fps=Fraction(24) if video else None,
        frame_count=frames if video else 0,
        sample_rate=48000 if audio else 0,
        audio_samples=frames * 2000 if audio else 0,
        channels=2 if audio else 0,
    )
    return MediaItem(media_id, info.path, media_id, info)


@pytest.fixture
def doc() -> TimelineDocument:
    doc = TimelineDocument(rate=24)
    for mid in ("a", "b", "c"):
        doc.add_bin_item(media(mid))
    doc.add_bin_item(media("silent", audio=False))
    return doc


def v1(doc: TimelineDocument) -> str:
    return doc.tracks(TrackKind.VIDEO)[0].id


def a1(doc: TimelineDocument) -> str:
    return doc.tracks(TrackKind.AUDIO)[0].id


def layout(doc: TimelineDocument, track_id: str) -> list[tuple[str | None, int, int, int]]:
    """(media id, start, duration, source start) per clip, in frames."""
    return [
        (c.media_id, int(c.start.value), int(c.duration.value), int(c.source_start.value))
        for c in doc.clips(track_id)
    ]


def three_scenes(doc: TimelineDocument) -> list[str]:
    """a [0,24) b [24,48) c [48,72), each from source frame 10, video + linked audio; returns video ids."""
    ids = []
    for i, mid in enumerate("abc"):
        ids.append(doc.overwrite(mid, v1(doc), f(24 * i), TR(f(10), f(24)))[0])
    return ids


def assert_refused(doc: TimelineDocument, edit) -> None:
    before = doc.snapshot()
    seen = []
    unsubscribe = doc.subscribe(seen.append)
    with pytest.raises(EditError):
        edit()
    unsubscribe()
    assert doc.snapshot() == before
    assert seen == []


def test_insert_with_audio_makes_linked_clips(doc: TimelineDocument) -> None:
    video, audio = doc.insert("a", v1(doc), f(0))
    assert layout(doc, v1(doc)) == [("a", 0, 120, 0)]
    assert layout(doc, a1(doc)) == [("a", 0, 120, 0)]
    assert doc.clip(video).link_id == doc.clip(audio).link_id is not None
    assert doc.clip(video).available == TR(f(0), f(120))
    assert doc.duration() == f(120)


def test_insert_ripples_and_splits_the_clip_under_the_playhead(doc: TimelineDocument) -> None:
    doc.insert("a", v1(doc), f(0), TR(f(0), f(48)))
    doc.insert("b", v1(doc), f(20), TR(f(5), f(10)))
    assert layout(doc, v1(doc)) == [("a", 0, 20, 0), ("b", 20, 10, 5), ("a", 30, 28, 20)]
    assert layout(doc, a1(doc)) == layout(doc, v1(doc))
    # the two right halves are linked to each other, not to the left halves
    right_v, right_a = doc.clips(v1(doc))[2], doc.clips(a1(doc))[2]
    assert right_v.link_id == right_a.link_id != doc.clips(v1(doc))[0].link_id


def test_insert_without_audio_and_on_upper_tracks(doc: TimelineDocument) -> None:
    doc.insert("a", v1(doc), f(0), with_audio=False)
    assert doc.clips(a1(doc)) == []
    v2 = doc.add_track(TrackKind.VIDEO)
    doc.insert("b", v2, f(10), TR(f(0), f(5)))
    audio_tracks = doc.tracks(TrackKind.AUDIO)
    assert [t.name for t in audio_tracks] == ["A1", "A2"]  # A2 made for V2's sound
    assert layout(doc, audio_tracks[1].id) == [("b", 10, 5, 0)]


def test_insert_refusals(doc: TimelineDocument) -> None:
    assert_refused(doc, lambda: doc.insert("silent", a1(doc), f(0)))  # no sound for an audio track
    assert_refused(doc, lambda: doc.insert("a", v1(doc), f(0), TR(f(100), f(30))))  # past the media end
    assert_refused(doc, lambda: doc.insert("nope", v1(doc), f(0)))
    assert_refused(doc, lambda: doc.insert("a", "no-track", f(0)))
    assert_refused(doc, lambda: doc.insert("a", v1(doc), f(-5)))


def test_overwrite_trims_splits_and_removes(doc: TimelineDocument) -> None:
    three_scenes(doc)
    doc.overwrite("silent", v1(doc), f(20), TR(f(0), f(34)))  # covers end of a, all of b, start of c
    assert layout(doc, v1(doc)) == [("a", 0, 20, 10), ("silent", 20, 34, 0), ("c", 54, 18, 16)]
    assert layout(doc, a1(doc)) == [("a", 0, 24, 10), ("b", 24, 24, 10), ("c", 48, 24, 10)]
    doc.overwrite("silent", v1(doc), f(60), TR(f(0), f(4)))  # inside c: c splits around it
    assert layout(doc, v1(doc))[2:] == [("c", 54, 6, 16), ("silent", 60, 4, 0), ("c", 64, 8, 26)]


def test_move_leaves_gap_overwrites_and_takes_linked_audio(doc: TimelineDocument) -> None:
    a, b, c = three_scenes(doc)
    doc.move_clip(a, v1(doc), f(60))
    assert layout(doc, v1(doc)) == [("b", 24, 24, 10), ("c", 48, 12, 10), ("a", 60, 24, 10)]
    assert layout(doc, a1(doc)) == layout(doc, v1(doc))
    assert doc.clip(a).start == f(60)  # ids survive the move


def test_move_across_tracks_and_unlinked(doc: TimelineDocument) -> None:
    a, b, c = three_scenes(doc)
    v2 = doc.add_track(TrackKind.VIDEO)
    doc.move_clip(b, v2, f(30), linked=False)
    assert layout(doc, v2) == [("b", 30, 24, 10)]
    assert layout(doc, v1(doc)) == [("a", 0, 24, 10), ("c", 48, 24, 10)]
    assert layout(doc, a1(doc)) == [("a", 0, 24, 10), ("b", 24, 24, 10), ("c", 48, 24, 10)]
    assert_refused(doc, lambda: doc.move_clip(a, a1(doc), f(0)))  # video onto an audio track
    assert_refused(doc, lambda: doc.move_clip(c, v1(doc), f(-1)))


def test_reorder_scenes_ripples_both_tracks(doc: TimelineDocument) -> None:
    a, b, c = three_scenes(doc)
    doc.reorder_clip(c, 0)
    assert [m for m, *_ in layout(doc, v1(doc))] == ["c", "a", "b"]
    assert layout(doc, v1(doc)) == [("c", 0, 24, 10), ("a", 24, 24, 10), ("b", 48, 24, 10)]
    assert layout(doc, a1(doc)) == layout(doc, v1(doc))
    doc.reorder_clip(c, 2)
    assert layout(doc, v1(doc)) == [("a", 0, 24, 10), ("b", 24, 24, 10), ("c", 48, 24, 10)]
    assert layout(doc, a1(doc)) == layout(doc, v1(doc))


def test_reorder_closes_gaps_around_the_moved_clip(doc: TimelineDocument) -> None:
    a = doc.overwrite("a", v1(doc), f(0), TR(f(0), f(10)), with_audio=False)[0]
    doc.overwrite("b", v1(doc), f(20), TR(f(0), f(10)), with_audio=False)
    doc.reorder_clip(a, 1)
    assert layout(doc, v1(doc)) == [("b", 10, 10, 0), ("a", 20, 10, 0)]


def test_trim_in_plain_and_ripple(doc: TimelineDocument) -> None:
    a, b, c = three_scenes(doc)
    doc.trim_in(b, f(4))
    assert layout(doc, v1(doc))[1] == ("b", 28, 20, 14)
    assert layout(doc, a1(doc))[1] == ("b", 28, 20, 14)  # linked audio followed
    doc.trim_in(b, f(-100))  # clamped: back to the neighbour
    assert layout(doc, v1(doc))[1] == ("b", 24, 24, 10)
    doc.trim_in(b, f(4), ripple=True)
    assert layout(doc, v1(doc)) == [("a", 0, 24, 10), ("b", 24, 20, 14), ("c", 44, 24, 10)]
    doc.trim_in(b, f(-100), ripple=True)  # clamped by the media's first frame
    assert layout(doc, v1(doc)) == [("a", 0, 24, 10), ("b", 24, 34, 0), ("c", 58, 24, 10)]
    assert layout(doc, a1(doc)) == layout(doc, v1(doc))


def test_trim_out_plain_and_ripple(doc: TimelineDocument) -> None:
    a, b, c = three_scenes(doc)
    doc.trim_out(a, f(-4), linked=False)
    assert layout(doc, v1(doc))[0] == ("a", 0, 20, 10)
    assert layout(doc, a1(doc))[0] == ("a", 0, 24, 10)
    doc.trim_out(a, f(10), linked=False)  # clamped by b
    assert layout(doc, v1(doc))[0] == ("a", 0, 24, 10)
    doc.trim_out(c, f(1000))  # clamped by the media's end (120 frames)
    assert layout(doc, v1(doc))[2] == ("c", 48, 110, 10)
    doc.trim_out(a, f(6), ripple=True)
    assert layout(doc, v1(doc)) == [("a", 0, 30, 10), ("b", 30, 24, 10), ("c", 54, 110, 10)]
    assert layout(doc, a1(doc)) == layout(doc, v1(doc))


def test_trim_refusals(doc: TimelineDocument) -> None:
    a, b, c = three_scenes(doc)
    assert_refused(doc, lambda: doc.trim_out(a, f(1)))  # b is right there
    assert_refused(doc, lambda: doc.trim_in(b, f(-1)))  # a is right there
    assert_refused(doc, lambda: doc.trim_in("missing", f(1)))
    doc.trim_in(a, f(23))
    assert_refused(doc, lambda: doc.trim_in(a, f(1)))  # one frame left


def test_roll_moves_the_cut_on_linked_tracks(doc: TimelineDocument) -> None:
    a, b, c = three_scenes(doc)
    doc.roll(a, f(5))
    assert layout(doc, v1(doc)) == [("a", 0, 29, 10), ("b", 29, 19, 15), ("c", 48, 24, 10)]
    assert layout(doc, a1(doc)) == layout(doc, v1(doc))
    doc.roll(a, f(-100))  # clamped by b's media: b can start 15 frames earlier in its source
    assert layout(doc, v1(doc))[:2] == [("a", 0, 14, 10), ("b", 14, 34, 0)]
    doc.roll(a, f(100))  # clamped: b keeps one frame
    assert layout(doc, v1(doc))[:2] == [("a", 0, 47, 10), ("b", 47, 1, 33)]
    assert layout(doc, a1(doc)) == layout(doc, v1(doc))


def test_roll_refused_without_adjacent_clip(doc: TimelineDocument) -> None:
    a, b, c = three_scenes(doc)
    assert_refused(doc, lambda: doc.roll(c, f(2)))


def test_slip_changes_source_only(doc: TimelineDocument) -> None:
    a, b, c = three_scenes(doc)
    doc.slip(b, f(7))
    assert layout(doc, v1(doc))[1] == ("b", 24, 24, 17)
    assert layout(doc, a1(doc))[1] == ("b", 24, 24, 17)
    doc.slip(b, f(-1000))
    assert layout(doc, v1(doc))[1] == ("b", 24, 24, 0)
    assert_refused(doc, lambda: doc.slip(b, f(-1)))


def test_split_keeps_left_id_and_links_right_halves(doc: TimelineDocument) -> None:
    a, b, c = three_scenes(doc)
    audio_b = doc.clips(a1(doc))[1].id
    right = doc.split(b, f(30))
    assert len(right) == 2
    assert layout(doc, v1(doc))[1:3] == [("b", 24, 6, 10), ("b", 30, 18, 16)]
    assert layout(doc, a1(doc)) == layout(doc, v1(doc))
    assert doc.clip(b).duration == f(6) and doc.clip(audio_b).duration == f(6)
    assert doc.clip(right[0]).link_id == doc.clip(right[1]).link_id != doc.clip(b).link_id
    assert_refused(doc, lambda: doc.split(b, f(24)))  # on the first frame: nothing to split
    assert_refused(doc, lambda: doc.split(b, f(30)))  # at its end


def test_split_all_cuts_every_track(doc: TimelineDocument) -> None:
    three_scenes(doc)
    v2 = doc.add_track(TrackKind.VIDEO)
    doc.overwrite("silent", v2, f(0), TR(f(0), f(40)))
    assert len(doc.split_all(f(36))) == 3
    assert [c[1] for c in layout(doc, v2)] == [0, 36]
    assert_refused(doc, lambda: doc.split_all(f(500)))


def test_lift_and_ripple_delete(doc: TimelineDocument) -> None:
    a, b, c = three_scenes(doc)
    doc.lift([b])
    assert layout(doc, v1(doc)) == [("a", 0, 24, 10), ("c", 48, 24, 10)]
    assert layout(doc, a1(doc)) == layout(doc, v1(doc))
    doc.ripple_delete([a])
    assert layout(doc, v1(doc)) == [("c", 24, 24, 10)]  # only a's length closes, not b's old gap
    assert layout(doc, a1(doc)) == layout(doc, v1(doc))
    assert_refused(doc, lambda: doc.lift([a]))


def test_ripple_delete_several(doc: TimelineDocument) -> None:
    a, b, c = three_scenes(doc)
    doc.ripple_delete([a, b], linked=False)
    assert layout(doc, v1(doc)) == [("c", 0, 24, 10)]
    assert len(doc.clips(a1(doc))) == 3


def test_failed_edit_emits_nothing_and_successful_edit_emits_clips(doc: TimelineDocument) -> None:
    seen = []
    doc.subscribe(seen.append)
    ids = doc.insert("a", v1(doc), f(0))
    assert seen[-1].kind == "clips" and set(ids) <= set(seen[-1].ids)


def test_large_document_edits(doc: TimelineDocument) -> None:
    for i in range(150):
        doc.overwrite("abc"[i % 3], v1(doc), f(i * 10), TR(f(0), f(10)))
    first = doc.clips(v1(doc))[0].id
    doc.ripple_delete([first])
    clips = doc.clips(v1(doc))
    assert len(clips) == 149 and clips[0].start == f(0) and clips[-1].end == f(1490)


def test_ntsc_rate_edits_in_whole_frames() -> None:
    rate = 24000 / 1001
    doc = TimelineDocument(rate=rate)
    doc.add_bin_item(media("m", frames=240))  # 240 frames at 24 fps = 10 s = floor(10 * 23.976) = 239 frames
    v = doc.tracks(TrackKind.VIDEO)[0].id
    cid = doc.insert("m", v, RT(0, rate))[0]
    assert doc.clip(cid).duration == RT(239, rate)
    right = doc.split(cid, RT(100, rate))[0]
    assert doc.clip(right).source_start == RT(100, rate)
    assert doc.clip(right).start.rate == rate
