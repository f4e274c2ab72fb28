"""app.document.placement: generated clips appended in queue order, never cutting a shot; drops outside the
tracks make a track; several items one after another; group moves (issue 13 items 2 and 3)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from opentimelineio.opentime import RationalTime

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from media_builders import make_audio, make_video  # noqa: E402

from app.document import TimelineDocument, TrackKind, placement  # noqa: E402
from app.errors import EditError  # noqa: E402
from app.media.importer import import_files  # noqa: E402


def rt(frame: int) -> RationalTime:
    return RationalTime(frame, 24)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("placement")
    return {
        "a": make_video(root / "a.mp4", frames=24),
        "b": make_video(root / "b.mp4", frames=12),
        "c": make_video(root / "c.mp4", frames=6),
        "music": make_audio(root / "music.wav", seconds=1.0),
    }


@pytest.fixture
def doc(files) -> TimelineDocument:
    document = TimelineDocument(name="P", rate=24)
    ids, errors = import_files(document, [files["a"], files["b"], files["c"], files["music"]])
    assert not errors
    document.ids = ids  # type: ignore[attr-defined]
    return document


def starts(doc: TimelineDocument, track_id: str) -> list[tuple[str, int, int]]:
    return [(c.name, int(c.start.value), int(c.duration.value)) for c in doc.clips(track_id)]


def test_generated_clips_append_in_queue_order_and_never_cut_a_shot(doc):
    a, b, c, _ = doc.ids
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    doc.insert(a, v1, rt(0))
    for media in (b, c):  # two queued generations finishing in order
        placement.place_generated(doc, media, v1)
    assert starts(doc, v1) == [("a.mp4", 0, 24), ("b.mp4", 24, 12), ("c.mp4", 36, 6)]
    created = placement.place_generated(doc, c, v1, playhead=10)  # playhead inside a.mp4
    assert starts(doc, v1)[:2] == [("a.mp4", 0, 24), ("c.mp4", 24, 6)]  # after the shot, not inside it
    assert placement.end_of(doc, created) == 30  # where the playhead goes next
    a1 = doc.tracks(TrackKind.AUDIO)[0].id
    assert [n for n, _, _ in starts(doc, a1)] == ["a.mp4", "c.mp4", "b.mp4", "c.mp4"]  # sound follows


def test_a_drop_outside_the_tracks_makes_a_track_and_never_overwrites_a1(doc):
    a, b, _, music = doc.ids
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    a1 = doc.tracks(TrackKind.AUDIO)[0].id
    doc.insert(a, v1, rt(0))
    before = starts(doc, a1)
    placement.drop(doc, [music], None, 0, overwrite=True)  # below the last track, Ctrl held
    assert starts(doc, a1) == before
    assert len(doc.tracks(TrackKind.AUDIO)) == 2 and starts(doc, doc.tracks(TrackKind.AUDIO)[1].id)
    placement.drop(doc, [b], None, 0, overwrite=True)  # a picture: a new video track, its sound on A2+
    assert len(doc.tracks(TrackKind.VIDEO)) == 2
    assert starts(doc, v1) == [("a.mp4", 0, 24)] and starts(doc, a1) == before


def test_several_items_go_one_after_another_and_a_failure_is_reported(doc):
    a, b, c, music = doc.ids
    created = placement.place_one_after_another(doc, [a, music, b], None, 0)
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    assert starts(doc, v1) == [("a.mp4", 0, 24), ("b.mp4", 48, 12)]
    assert len(created) == 5  # a + its sound, the music, b + its sound
    with pytest.raises(EditError):
        placement.drop(doc, [], v1, 0)


def test_group_move_lives_in_the_document_layer(doc):
    a, b, _, _ = doc.ids
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    first = doc.insert(a, v1, rt(0))
    second = doc.insert(b, v1, rt(24))
    moved = placement.move_clips_by(doc, first + second, 6)
    assert set(moved) == set(first + second)
    assert starts(doc, v1) == [("a.mp4", 6, 24), ("b.mp4", 30, 12)]
    with pytest.raises(EditError, match="before the beginning"):
        placement.move_clips_by(doc, first, -100)


def test_a_generated_clip_never_cuts_the_sound_under_it(doc):
    a, b, _, music = doc.ids
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    a1 = doc.tracks(TrackKind.AUDIO)[0].id
    doc.insert(b, v1, rt(0))  # 12 frames of picture with its sound on A1
    doc.insert(music, a1, rt(12))  # a music cue on A1 after it: 12..36
    placement.place_generated(doc, a, v1)  # a generated clip with sound
    assert [(n, s) for n, s, _ in starts(doc, a1)] == [("b.mp4", 0), ("music.wav", 12), ("a.mp4", 36)]
    assert starts(doc, v1)[-1][:2] == ("a.mp4", 36)
    placement.place_generated(doc, a, v1, playhead=5)  # inside b and not cutting the cue either
    assert all(d == 24 for n, _, d in starts(doc, a1) if n == "music.wav")


def test_append_never_pushes_the_sound_already_on_the_track(doc):
    a, b, _, music = doc.ids
    a1 = doc.tracks(TrackKind.AUDIO)[0].id
    placement.append(doc, [music])  # sound only: on A1
    placement.append(doc, [b, a])  # pictures with sound: after the music, never splitting it
    assert [(n, s) for n, s, _ in starts(doc, a1)] == [("music.wav", 0), ("b.mp4", 24), ("a.mp4", 36)]
