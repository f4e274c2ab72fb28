"""Undo/redo of document edits: EditCommand, push_edit, merging drags, and undo-redo identity (hypothesis)."""

from __future__ import annotations

from fractions import Fraction

import opentimelineio as otio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtGui import QUndoStack

from app.commands import EditCommand, push_edit
from app.document import MediaItem, TimelineDocument, TrackKind
from app.errors import EditError
from app.media.info import MediaInfo

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange


def f(frames: int) -> otio.opentime.RationalTime:
    return RT(frames, 24)


def media(media_id: str, frames: int = 120, **extra) -> MediaItem:
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
    return MediaItem(media_id, info.path, media_id, info, **extra)


def make_doc() -> TimelineDocument:
    doc = TimelineDocument(rate=24)
    for mid in "abc":
        doc.add_bin_item(media(mid))
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    for i, mid in enumerate("abc"):
        doc.overwrite(mid, v1, f(24 * i), TR(f(10), f(24)))
    return doc


def all_clip_ids(doc: TimelineDocument) -> list[str]:
    return [c.id for t in doc.tracks() for c in doc.clips(t.id)]


@pytest.fixture
def stack(qapp) -> QUndoStack:
    return QUndoStack()


def test_push_edit_undo_redo(stack: QUndoStack) -> None:
    doc = make_doc()
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    before = doc.snapshot()
    first = doc.clips(v1)[0].id
    right = push_edit(stack, doc, "Split", lambda d: d.split(first, f(12)))
    after = doc.snapshot()
    assert stack.count() == 1 and stack.undoText() == "Split"
    stack.undo()
    assert doc.snapshot() == before
    stack.redo()
    assert doc.snapshot() == after
    assert doc.clip(right[0]).start == f(12)  # the right half has the same id after redo


def test_failed_edit_pushes_nothing(stack: QUndoStack) -> None:
    doc = make_doc()
    before = doc.snapshot()
    with pytest.raises(EditError):
        push_edit(stack, doc, "Split", lambda d: d.split("nope", f(3)))
    assert stack.count() == 0 and doc.snapshot() == before


def test_no_op_edit_pushes_nothing(stack: QUndoStack) -> None:
    doc = make_doc()
    clip = doc.clips(doc.tracks()[0].id)[0].id
    push_edit(stack, doc, "Reorder", lambda d: d.reorder_clip(clip, 0))
    assert stack.count() == 0


def test_edit_command_pushed_directly(stack: QUndoStack) -> None:
    doc = make_doc()
    before = doc.snapshot()
    command = EditCommand(doc, "Marker", lambda d: d.add_marker(f(3)))
    stack.push(command)  # QUndoStack.push runs redo, which makes the edit the first time
    assert len(doc.markers()) == 1 and doc.markers()[0].id == command.result
    stack.undo()
    assert doc.snapshot() == before


def test_a_drag_merges_into_one_undo_step(stack: QUndoStack) -> None:
    doc = make_doc()
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    before = doc.snapshot()
    clip = doc.clips(v1)[2].id
    for frame in (50, 55, 60, 70):
        push_edit(
            stack,
            doc,
            "Move clip",
            lambda d, at=frame: d.move_clip(clip, v1, f(at)),
            merge_key=f"drag:{clip}",
        )
    after = doc.snapshot()
    assert stack.count() == 1
    assert doc.clip(clip).start == f(70)
    push_edit(stack, doc, "Trim", lambda d: d.trim_out(clip, f(-2)), merge_key=f"trim:{clip}")
    push_edit(stack, doc, "Trim", lambda d: d.trim_out(clip, f(-2)), merge_key=f"trim:{clip}")
    assert stack.count() == 2  # a different gesture is a different step
    stack.undo()
    assert doc.snapshot() == after
    stack.undo()
    assert doc.snapshot() == before
    stack.redo()
    assert doc.snapshot() == after


def test_applying_a_generation_result_is_undoable(stack: QUndoStack) -> None:
    doc = make_doc()
    before = doc.snapshot()
    generation = {
        "model": "ltx-2",
        "checkpoint": "sha256:abc",
        "prompt": "a boat",
        "seed": 42,
        "settings": {},
    }
    item = media("gen1", kind="generated", generation=generation)
    v1 = doc.tracks(TrackKind.VIDEO)[0].id

    def apply(d: TimelineDocument) -> list[str]:
        d.add_bin_item(item)
        return d.insert(item.id, v1, f(24))

    ids = push_edit(stack, doc, "Add generated clip", apply)
    assert doc.clip(ids[0]).generation == generation
    stack.undo()
    assert doc.snapshot() == before
    assert [i.id for i in doc.bin_items()] == ["a", "b", "c"]
    stack.redo()
    assert doc.clip(ids[0]).generation == generation


# ------------------------------------------------------------------------------ property-based
EDITS = [
    "insert",
    "overwrite",
    "move",
    "reorder",
    "trim_in",
    "trim_out",
    "ripple_trim",
    "roll",
    "slip",
    "split",
    "split_all",
    "lift",
    "ripple_delete",
    "dissolve",
    "remove_dissolve",
    "marker",
    "add_track",
]

edit_strategy = st.tuples(
    st.sampled_from(EDITS),
    st.integers(0, 50),  # which clip / media / track
    st.integers(-30, 130),  # a time or a delta
    st.booleans(),  # linked / ripple
)


def run_edit(doc: TimelineDocument, edit: tuple[str, int, int, bool]) -> None:
    name, pick, amount, flag = edit
    tracks = doc.tracks()
    clips = [c for t in tracks for c in doc.clips(t.id)]
    clip = clips[pick % len(clips)].id if clips else "none"
    track = tracks[pick % len(tracks)]
    video = doc.tracks(TrackKind.VIDEO)
    mid = "abc"[pick % 3]
    t, d = f(max(amount, 0)), f(amount - 50)
    if name == "insert":
        doc.insert(mid, video[pick % len(video)].id, t, TR(f(amount % 40), f(8)), with_audio=flag)
    elif name == "overwrite":
        doc.overwrite(mid, track.id, t, TR(f(5), f(12)), with_audio=flag)
    elif name == "move":
        kind = doc.track_info(doc.clip(clip).track_id).kind if clips else TrackKind.VIDEO
        same_kind = doc.tracks(kind)
        doc.move_clip(clip, same_kind[amount % len(same_kind)].id, t, linked=flag)
    elif name == "reorder":
        doc.reorder_clip(clip, amount % 5, linked=flag)
    elif name == "trim_in":
        doc.trim_in(clip, f(amount // 5 - 10), ripple=flag)
    elif name == "trim_out":
        doc.trim_out(clip, f(amount // 5 - 10), ripple=flag)
    elif name == "ripple_trim":
        doc.trim_out(clip, f(amount // 5 - 10), ripple=True, linked=flag)
    elif name == "roll":
        doc.roll(clip, f(amount // 5 - 10))
    elif name == "slip":
        doc.slip(clip, d, linked=flag)
    elif name == "split":
        doc.split(clip, doc.clip(clip).start + f(amount % 30) if clips else t, linked=flag)
    elif name == "split_all":
        doc.split_all(t)
    elif name == "lift":
        doc.lift([clip], linked=flag)
    elif name == "ripple_delete":
        doc.ripple_delete([clip], linked=flag)
    elif name == "dissolve":
        doc.add_dissolve(clip, f(amount % 12 + 1))
    elif name == "remove_dissolve":
        dissolves = [x for tr in tracks for x in doc.dissolves(tr.id)]
        doc.remove_dissolve(dissolves[pick % len(dissolves)].id if dissolves else "none")
    elif name == "marker":
        doc.add_marker(t, "m")
    elif name == "add_track":
        doc.add_track(TrackKind.VIDEO if flag else TrackKind.AUDIO)


def assert_consistent(doc: TimelineDocument) -> None:
    """Invariants every edit keeps: no overlaps, clips inside their media (titles have none), unique ids,
    V1.. names."""
    ids = all_clip_ids(doc)
    assert len(ids) == len(set(ids))
    for track in doc.tracks():
        end = 0
        for clip in doc.clips(track.id):
            assert clip.start.value >= end and clip.duration.value >= 1 and clip.source_start.value >= 0
            if clip.available is not None:
                used_end = clip.source_start.value + clip.duration.value
                assert used_end <= clip.available.end_time_exclusive().value
            end = clip.end.value
    for kind in TrackKind:
        names = [t.name for t in doc.tracks(kind)]
        assert names == [f"{kind.prefix}{i + 1}" for i in range(len(names))]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(edit_strategy, min_size=1, max_size=10))
def test_undo_all_then_redo_all_is_the_identity(qapp, edits) -> None:
    doc = make_doc()
    stack = QUndoStack()
    initial = doc.snapshot()
    for edit in edits:
        push_checked(stack, doc, edit[0], lambda d, e=edit: run_edit(d, e))
    assert_undo_redo_round_trip(stack, doc, initial)


def push_checked(stack: QUndoStack, doc: TimelineDocument, name: str, change) -> None:  # noqa: ANN001
    """``push_edit``; a refused edit (EditError) must change nothing, and the invariants hold either way."""
    before = doc.snapshot()
    try:
        push_edit(stack, doc, name, change)
    except EditError:
        assert doc.snapshot() == before  # a refused edit changes nothing
    assert_consistent(doc)


def assert_undo_redo_round_trip(stack: QUndoStack, doc: TimelineDocument, initial: str) -> None:
    """Undo all the way back to `initial`, redo to where `doc` is now (the same clip ids too), and that state
    survives an OTIO round trip."""
    final = doc.snapshot()
    final_ids = all_clip_ids(doc)
    while stack.canUndo():
        stack.undo()
    assert doc.snapshot() == initial
    while stack.canRedo():
        stack.redo()
    assert doc.snapshot() == final
    assert all_clip_ids(doc) == final_ids
    round_trip = TimelineDocument.from_otio(doc.to_otio())
    assert round_trip.snapshot() == final


def test_an_apply_failing_half_way_is_rolled_back(stack: QUndoStack) -> None:
    doc = make_doc()
    before = doc.snapshot()

    def apply(d: TimelineDocument) -> None:
        d.add_bin_item(media("new"))
        d.insert("new", "no-such-track", f(0))

    with pytest.raises(EditError):
        push_edit(stack, doc, "Add", apply)
    assert doc.snapshot() == before and stack.count() == 0
