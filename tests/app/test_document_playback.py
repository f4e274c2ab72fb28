"""Dissolves on the document and playback resolution: video_at (top track wins) and audio_segments."""

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


def media(media_id: str, frames: int = 120) -> MediaItem:
    info = MediaInfo(
        path=f"/media/{media_id}.mkv",
        container="matroska",
        has_video=True,
        has_audio=True,
        fps=Fraction(24),
        frame_count=frames,
        sample_rate=48000,
        audio_samples=frames * 2000,
    )
    return MediaItem(media_id, info.path, media_id, info)


@pytest.fixture
def doc() -> TimelineDocument:
    doc = TimelineDocument(rate=24)
    for mid in "abc":
        doc.add_bin_item(media(mid))
    return doc


def tracks(doc: TimelineDocument) -> tuple[str, str]:
    return doc.tracks(TrackKind.VIDEO)[0].id, doc.tracks(TrackKind.AUDIO)[0].id


def scenes(doc: TimelineDocument) -> list[str]:
    """a [0,24) b [24,48) c [48,72), each from source frame 10; returns the video clip ids."""
    v1, _ = tracks(doc)
    return [doc.overwrite(mid, v1, f(24 * i), TR(f(10), f(24)))[0] for i, mid in enumerate("abc")]


def assert_refused(doc: TimelineDocument, edit, match: str | None = None) -> None:
    before = doc.snapshot()
    with pytest.raises(EditError, match=match):
        edit()
    assert doc.snapshot() == before


def test_add_dissolve_is_a_centred_otio_transition(doc: TimelineDocument) -> None:
    a, b, _ = scenes(doc)
    v1, _ = tracks(doc)
    dis = doc.add_dissolve(a, f(6))
    [info] = doc.dissolves(v1)
    assert (info.id, info.left_id, info.right_id, info.cut, info.duration) == (dis, a, b, f(24), f(6))
    track = doc.timeline.tracks[0]
    transition = [t for t in track if isinstance(t, otio.schema.Transition)][0]
    assert transition.transition_type == otio.schema.TransitionTypes.SMPTE_Dissolve
    assert (transition.in_offset, transition.out_offset) == (f(3), f(3))
    assert doc.duration() == f(72)  # a transition takes no time on the track
    assert doc.add_dissolve(a, f(8)) == dis  # replacing keeps the id
    assert doc.dissolves(v1)[0].duration == f(8)
    doc.remove_dissolve(dis)
    assert doc.dissolves(v1) == []


def test_dissolve_needs_handles_and_says_how_many_frames_fit(doc: TimelineDocument) -> None:
    a, b, c = scenes(doc)
    # b's media has 10 frames before its source start: at most 2 * 10 + 1 frames centred on the cut
    assert_refused(doc, lambda: doc.add_dissolve(a, f(22)), match="at most 21 frames")
    assert doc.add_dissolve(a, f(21))
    assert_refused(doc, lambda: doc.add_dissolve(c, f(4)))  # nothing after c
    doc.slip(b, f(-10))  # b now starts at its media's first frame: no head handle
    assert doc.dissolves(tracks(doc)[0]) == []  # the slip removed the dissolve that no longer fits
    assert_refused(doc, lambda: doc.add_dissolve(a, f(2)), match="at most 1 frame is possible")
    doc.slip(a, f(86))  # and a now ends on its media's last frame: no tail handle either
    assert_refused(doc, lambda: doc.add_dissolve(a, f(1)), match="No dissolve fits")
    assert_refused(doc, lambda: doc.add_dissolve(a, f(0)))


def test_dissolve_needs_adjacent_clips(doc: TimelineDocument) -> None:
    a, b, _ = scenes(doc)
    doc.trim_out(a, f(-2), linked=False)
    assert_refused(doc, lambda: doc.add_dissolve(a, f(4)), match="directly after")


def test_dissolves_may_not_overlap_on_a_short_clip(doc: TimelineDocument) -> None:
    a, b, c = scenes(doc)
    doc.add_dissolve(a, f(20))  # takes 10 frames of b's 24 from its head
    assert_refused(doc, lambda: doc.add_dissolve(b, f(30)), match="at most")
    doc.add_dissolve(b, f(20))  # 10 frames from b's tail: fits exactly beside the first one
    assert len(doc.dissolves(tracks(doc)[0])) == 2


def test_edits_remove_dissolves_they_break(doc: TimelineDocument) -> None:
    a, b, c = scenes(doc)
    v1, _ = tracks(doc)
    doc.add_dissolve(a, f(6))
    doc.add_dissolve(b, f(6))
    doc.trim_out(a, f(-1), linked=False)  # a gap opens at the a|b cut
    assert [(d.left_id, d.right_id) for d in doc.dissolves(v1)] == [(b, c)]
    doc.ripple_delete([c])
    assert doc.dissolves(v1) == []


def test_split_moves_the_dissolve_to_the_right_half(doc: TimelineDocument) -> None:
    a, b, _ = scenes(doc)
    v1, _ = tracks(doc)
    doc.add_dissolve(a, f(6))
    [right_half, _] = doc.split(a, f(12))
    [info] = doc.dissolves(v1)
    assert (info.left_id, info.right_id, info.cut) == (right_half, b, f(24))


def test_roll_keeps_a_dissolve_that_still_fits(doc: TimelineDocument) -> None:
    a, b, _ = scenes(doc)
    v1, _ = tracks(doc)
    doc.add_dissolve(a, f(6))
    doc.roll(a, f(2))
    assert doc.dissolves(v1)[0].cut == f(26)


def test_video_at_plain_and_top_track_wins(doc: TimelineDocument) -> None:
    a, b, c = scenes(doc)
    sample = doc.video_at(f(30))
    assert (sample.clip_id, sample.path, sample.seconds, sample.mix) == (b, "/media/b.mkv", 16 / 24, None)
    assert doc.video_at(f(72)) is None
    v2 = doc.add_track(TrackKind.VIDEO)
    top = doc.overwrite("c", v2, f(25), TR(f(0), f(10)), with_audio=False)[0]
    assert doc.video_at(f(30)).clip_id == top
    assert doc.video_at(f(30)).seconds == 5 / 24
    assert doc.video_at(f(35)).clip_id == b  # past the top clip: the track below shows through
    doc.set_track_enabled(v2, False)
    assert doc.video_at(f(30)).clip_id == b
    doc.set_track_enabled(tracks(doc)[0], False)
    assert doc.video_at(f(30)) is None


def test_video_at_dissolve_mix_weights(doc: TimelineDocument) -> None:
    a, b, _ = scenes(doc)
    doc.add_dissolve(a, f(6))  # frames 21..26 mix; b's weight (k + 1) / 7
    assert doc.video_at(f(20)).mix is None
    first = doc.video_at(f(21))
    assert first.clip_id == a and first.seconds == 31 / 24
    assert first.mix == ("/media/b.mkv", 7 / 24, pytest.approx(1 / 7))
    at_cut = doc.video_at(f(24))
    assert at_cut.clip_id == b and at_cut.seconds == 10 / 24
    assert at_cut.mix == ("/media/a.mkv", 34 / 24, pytest.approx(3 / 7))  # a's weight = 1 - 4/7
    last = doc.video_at(f(26))
    assert last.mix[2] == pytest.approx(1 / 7)  # a's weight at b's 6/7
    assert doc.video_at(f(27)).mix is None
    weights_b = []
    for frame in range(21, 27):
        s = doc.video_at(f(frame))
        weights_b.append(s.mix[2] if s.clip_id == a else 1 - s.mix[2])
    assert weights_b == pytest.approx([k / 7 for k in range(1, 7)])


def test_audio_segments_with_crossfade_and_mute(doc: TimelineDocument) -> None:
    scenes(doc)
    _, a1 = tracks(doc)
    audio = doc.clips(a1)
    plain = doc.audio_segments(f(0), f(100))
    assert [(s.clip_id, s.timeline_start, s.duration, s.source_seconds) for s in plain] == [
        (audio[0].id, f(0), f(24), 10 / 24),
        (audio[1].id, f(24), f(24), 10 / 24),
        (audio[2].id, f(48), f(24), 10 / 24),
    ]
    assert all(s.fade_in == f(0) and s.fade_out == f(0) for s in plain)
    assert [s.clip_id for s in doc.audio_segments(f(30), f(40))] == [audio[1].id]
    doc.add_dissolve(audio[0].id, f(6))
    first, second = doc.audio_segments(f(0), f(30))
    assert (first.timeline_start, first.duration, first.fade_in, first.fade_out) == (f(0), f(27), f(0), f(6))
    assert (second.timeline_start, second.duration, second.fade_in, second.fade_out) == (
        f(21),
        f(27),
        f(6),
        f(0),
    )
    assert second.source_seconds == 7 / 24
    doc.set_track_enabled(a1, False)
    assert doc.audio_segments(f(0), f(100)) == []


def test_a_linked_dissolve_crossfades_the_sound_too(doc: TimelineDocument) -> None:
    a, b, _ = scenes(doc)
    v1, a1 = tracks(doc)
    doc.add_dissolve(a, f(6))
    audio = doc.clips(a1)
    [crossfade] = doc.dissolves(a1)
    assert (crossfade.left_id, crossfade.right_id, crossfade.duration) == (audio[0].id, audio[1].id, f(6))
    doc.add_dissolve(b, f(4), linked=False)
    assert len(doc.dissolves(v1)) == 2 and len(doc.dissolves(a1)) == 1
