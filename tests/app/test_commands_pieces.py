"""Undo that stores what changed (app.document.pieces): exact undo/redo over every kind of edit, merged drags,
failed edits, untouched clips kept, narrow change notifications, and a step's size following the edit."""

from __future__ import annotations

import opentimelineio as otio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtGui import QUndoStack

from app.commands import Delta, EditCommand, Splice, push_edit
from app.document import TimelineDocument, TrackKind
from app.document.layout import meta
from app.document.pieces import PieceTracker, capture, tracker_of
from app.document.sequence import SequenceSettings
from app.errors import EditError
from tests.app.test_commands import (
    TR,
    assert_undo_redo_round_trip,
    f,
    make_doc,
    media,
    push_checked,
    run_edit,
)
from tests.app.test_commands import edit_strategy as timeline_edit

MORE_EDITS = [
    "gain",
    "grade",
    "fades",
    "transform",
    "clip_enable",
    "set_media",
    "track_enable",
    "track_audio",
    "track_lock",
    "remove_track",
    "bin_add",
    "bin_remove",
    "relink",
    "marker_move",
    "marker_remove",
    "marker_edit",
    "sequence_rate",
    "colour",
    "rename",
    "title",
]


def assert_records_fresh(doc: TimelineDocument) -> None:
    """The clip records the document keeps between changes are what a freshly read document says."""
    fresh = TimelineDocument.from_otio(doc.to_otio())
    assert [doc.clips(t.id) for t in doc.tracks()] == [fresh.clips(t.id) for t in fresh.tracks()]


@pytest.fixture(autouse=True)
def verify_pieces(monkeypatch):
    """Every settle is checked against a full capture: an edit that changes what it did not report fails."""
    monkeypatch.setattr(PieceTracker, "verify", True)


def run_more(doc: TimelineDocument, edit: tuple[str, int, int, bool]) -> None:
    name, pick, amount, flag = edit
    tracks = doc.tracks()
    track = tracks[pick % len(tracks)]
    clips = [c for t in tracks for c in doc.clips(t.id)]
    clip = clips[pick % len(clips)].id if clips else "none"
    markers = doc.markers()
    marker = markers[pick % len(markers)].id if markers else "none"
    items = doc.bin_items()
    if name == "gain":
        doc.set_clip_gain(clip, float(amount % 30 - 20))
    elif name == "grade":
        doc.set_clip_grade(clip, None if flag else {"exposure": amount / 100, "saturation": 1.0})
    elif name == "fades":
        doc.set_clip_fades(clip, amount % 4, pick % 3)
    elif name == "transform":
        doc.set_clip_transform(clip, None if flag else {"scale": 1 + amount % 5 / 10, "x": 0.0, "y": 0.0})
    elif name == "clip_enable":
        doc.set_clips_enabled([clip], flag)
    elif name == "set_media":
        doc.set_clip_media(clip, items[amount % len(items)].id, linked=flag)
    elif name == "track_enable":
        doc.set_track_enabled(track.id, flag)
    elif name == "track_audio":
        doc.set_track_audio(track.id, volume_db=float(amount % 20 - 10), mute=flag)
    elif name == "track_lock":
        doc.set_track_locked(track.id, flag and amount % 3 == 0)
    elif name == "remove_track":
        doc.remove_track(track.id)
    elif name == "bin_add":
        doc.add_bin_item(media(f"n{pick}", frames=60 + amount % 90))
    elif name == "bin_remove":
        doc.remove_bin_item(items[pick % len(items)].id)
    elif name == "relink":
        item = items[pick % len(items)]
        doc.relink(item.id, f"/moved/{item.id}-{amount}.mkv", item.info)
    elif name == "marker_move":
        doc.move_marker(marker, f(max(amount, 0)))
    elif name == "marker_remove":
        doc.remove_marker(marker)
    elif name == "marker_edit":
        colour = "GREEN" if flag else "RED"
        doc.edit_marker(marker, name=f"m{amount}", note="note" if flag else "", color=colour)
    elif name == "sequence_rate":
        rate = (24.0, 25.0, 30.0)[amount % 3]
        size = (1280, 720) if flag else (1920, 1080)
        doc.set_sequence_settings(SequenceSettings(*size, rate, 48000))
    elif name == "colour":
        doc.set_color_settings({"working_space": "ACEScct" if flag else "Linear Rec.709 (sRGB)"})
    elif name == "rename":
        doc.name = f"Film {amount}"
    elif name == "title":
        video = doc.tracks(TrackKind.VIDEO)
        doc.insert_title(video[pick % len(video)].id, f(max(amount, 0)), {"text": f"T{amount}"}, ripple=flag)


any_edit = st.one_of(
    timeline_edit.map(lambda e: ("t",) + e),
    st.tuples(
        st.just("m"), st.sampled_from(MORE_EDITS), st.integers(0, 50), st.integers(-30, 130), st.booleans()
    ),
)


def apply_edit(doc: TimelineDocument, edit: tuple) -> None:
    (run_edit if edit[0] == "t" else run_more)(doc, edit[1:])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    edits=st.lists(st.tuples(any_edit, st.integers(0, 2), st.booleans()), min_size=1, max_size=12),
)
def test_any_edits_with_undos_in_between_undo_to_the_start_and_redo_to_the_end(qapp, edits) -> None:
    doc = make_doc()
    doc.add_marker(f(30), "start")
    stack = QUndoStack()
    initial = doc.snapshot()
    for edit, undos, redo in edits:
        push_checked(stack, doc, edit[1], lambda d, e=edit: apply_edit(d, e))
        assert_records_fresh(doc)
        states = [doc.snapshot()]
        for _ in range(min(undos, stack.index())):  # step back and forward through the history
            stack.undo()
            states.append(doc.snapshot())
            assert_records_fresh(doc)
        if redo:
            for state in reversed(states[:-1]):
                stack.redo()
                assert doc.snapshot() == state
    while stack.canRedo():  # what was undone and not overwritten by a later edit
        stack.redo()
    assert_undo_redo_round_trip(stack, doc, initial)


def test_a_merged_drag_undoes_to_before_the_first_move_and_redoes_to_after_the_last(qapp) -> None:
    doc, stack = make_doc(), QUndoStack()
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    clip = doc.clips(v1)[0].id
    before = doc.snapshot()
    for frame in (100, 130, 90, 160):
        push_edit(stack, doc, "Move", lambda d, at=frame: d.move_clip(clip, v1, f(at)), merge_key="drag")
    push_edit(stack, doc, "Gain", lambda d: d.set_clip_gain(clip, -6.0), merge_key="drag")  # same gesture key
    after = doc.snapshot()
    assert stack.count() == 1 and doc.clip(clip).start == f(160)
    stack.undo()
    assert doc.snapshot() == before and doc.clip(clip).start == f(0)
    stack.redo()
    assert doc.snapshot() == after and doc.clip(clip).gain_db == -6.0


def test_a_drag_back_to_where_it_started_merges_into_a_step_that_changes_nothing(qapp) -> None:
    doc, stack = make_doc(), QUndoStack()
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    clip = doc.clips(v1)[2].id
    before = doc.snapshot()
    for frame in (80, 100, 48):
        push_edit(stack, doc, "Move", lambda d, at=frame: d.move_clip(clip, v1, f(at)), merge_key="drag")
    assert stack.count() == 1 and not stack.command(0).delta
    stack.undo()
    assert doc.snapshot() == before
    stack.redo()
    assert doc.snapshot() == before


def test_an_apply_failing_after_bin_track_and_clip_changes_leaves_the_document_as_it_was(qapp) -> None:
    doc, stack = make_doc(), QUndoStack()
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    clip = doc.clips(v1)[1].id
    before = doc.snapshot()
    objects = [s.clip for s in doc._cached_layout(v1).segs]

    def apply(d: TimelineDocument) -> None:
        d.add_bin_item(media("new"))
        d.add_track(TrackKind.AUDIO)
        d.set_clip_gain(clip, 3.0)
        d.add_marker(f(5))
        d.trim_out(clip, f(-4))
        d.move_clip("no-such-clip", v1, f(0))

    with pytest.raises(EditError):
        push_edit(stack, doc, "Many", apply)
    assert doc.snapshot() == before and stack.count() == 0
    assert [s.clip for s in doc._cached_layout(v1).segs][::2] == objects[::2]  # untouched clips kept
    push_edit(stack, doc, "Gain", lambda d: d.set_clip_gain(clip, 2.0))  # and it still edits normally
    stack.undo()
    assert doc.snapshot() == before


def test_undo_keeps_the_objects_of_clips_the_edit_did_not_touch_and_swaps_only_the_touched(qapp) -> None:
    doc, stack = make_doc(), QUndoStack()
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    first, middle, last = (s.clip for s in doc._cached_layout(v1).segs)
    clip = doc.clips(v1)[1].id
    push_edit(stack, doc, "Gain", lambda d: d.set_clip_gain(clip, 4.0))
    stack.undo()
    segs = doc._cached_layout(v1).segs
    assert segs[0].clip is first and segs[2].clip is last
    assert segs[1].clip is not middle and meta(segs[1].clip).get("gain_db") in (None, 0.0)


def test_undo_and_redo_tell_the_views_what_changed(qapp) -> None:
    doc, stack = make_doc(), QUndoStack()
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    clip = doc.clips(v1)[0].id
    seen: list = []
    doc.subscribe(seen.append)
    push_edit(stack, doc, "Trim", lambda d: d.trim_out(clip, f(-3)))
    seen.clear()
    stack.undo()
    assert [c.kind for c in seen] == ["clips"] and clip in seen[0].ids
    push_edit(stack, doc, "Marker", lambda d: d.add_marker(f(3)))
    seen.clear()
    stack.undo()
    assert [c.kind for c in seen] == ["markers"]
    push_edit(stack, doc, "Import", lambda d: d.add_bin_item(media("z")))
    seen.clear()
    stack.undo()
    assert [c.kind for c in seen] == ["bin"] and seen[0].ids == ("z",)
    push_edit(stack, doc, "Track", lambda d: d.add_track(TrackKind.VIDEO))
    seen.clear()
    stack.undo()
    assert seen[0].kind == "tracks" and "reset" not in [c.kind for c in seen]
    small = SequenceSettings(640, 360, 30.0, 48000)
    push_edit(stack, doc, "Settings", lambda d: d.set_sequence_settings(small))
    seen.clear()
    stack.undo()
    assert [c.kind for c in seen] == ["reset"] and doc.rate == 24.0


def test_an_edit_that_changes_what_it_did_not_report_is_caught_by_the_check(qapp) -> None:
    doc = make_doc()
    tracker = tracker_of(doc)
    tracker.settle()
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    meta(doc._cached_layout(v1).segs[0].clip)["gain_db"] = 5.0  # behind the document's back, no _emit
    with pytest.raises(AssertionError, match="clip:"):
        tracker.settle()


def _long_doc(clips: int) -> TimelineDocument:
    doc = TimelineDocument(rate=24)
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    for i in range(clips):
        doc.add_bin_item(media(f"m{i}", frames=96))
        doc.overwrite(f"m{i}", v1, f(i * 30), TR(f(0), f(24)))
    return doc


def test_an_undo_step_holds_what_the_edit_changed_not_the_project(qapp, monkeypatch) -> None:
    monkeypatch.setattr(PieceTracker, "verify", False)  # (the check captures everything; not needed here)
    sizes = {}
    for clips in (10, 150):
        doc, stack = _long_doc(clips), QUndoStack()
        v1 = doc.tracks(TrackKind.VIDEO)[0].id
        clip = doc.clips(v1)[clips // 2].id
        push_edit(stack, doc, "Trim", lambda d, c=clip: d.trim_out(c, f(-3)))
        push_edit(stack, doc, "Move", lambda d, c=clip, t=v1: d.move_clip(c, t, d.clip(c).start + f(2)))
        sizes[clips] = [stack.command(i).nbytes() for i in range(stack.count())]
        whole = len(doc.snapshot())
        assert all(0 < size < whole / 4 for size in sizes[clips])
    # 15 times the clips: the same edits hold about the same (a clip, a few gaps), never 15 times as much
    for small, large in zip(sizes[10], sizes[150], strict=True):
        assert large < 2 * small


def test_splice_keeps_only_the_run_that_differs() -> None:
    old, new = tuple("abcdefgh"), tuple("abcXYfgh")
    splice = Splice.of(old, new)
    assert (splice.head, splice.tail, splice.old, splice.new) == (3, 3, ("d", "e"), ("X", "Y"))
    assert splice.old_from(new) == old and splice.new_from(old) == new
    same = Splice.of(old, old)
    assert same.old == same.new == () and same.old_from(old) == old
    grow = Splice.of(("a",), ("a", "a", "a"))
    assert grow.old_from(("a", "a", "a")) == ("a",) and grow.new_from(("a",)) == ("a", "a", "a")


def test_merging_deltas_composes_them() -> None:
    first = Delta({"k": (("a", "b"), ("a", "c")), "x": (None, "1")})
    second = Delta({"k": (("a", "c"), ("a", "c", "d")), "x": ("1", None), "y": ("p", "q")})
    current = {"k": ("a", "c", "d"), "y": "q"}
    merged = first.then(second, current)
    assert merged.before(current) == {"k": ("a", "b"), "y": "p"}  # "x" came and went: not in the step
    assert merged.after({"k": ("a", "b"), "y": "p"}) == {"k": ("a", "c", "d"), "y": "q"}


def test_a_command_pushed_directly_and_a_whole_snapshot_restore_keep_working(qapp) -> None:
    doc, stack = make_doc(), QUndoStack()
    before = doc.snapshot()
    stack.push(EditCommand(doc, "Marker", lambda d: d.add_marker(f(3))))
    middle = doc.snapshot()
    doc.restore(before)  # (a recovery or reload path): the pieces follow
    assert doc.snapshot() == before
    push_edit(stack, doc, "Marker", lambda d: d.add_marker(f(9)))
    stack.undo()
    assert doc.snapshot() == before
    assert capture(doc) == tracker_of(doc).pieces
    assert middle != before


def test_a_view_that_edits_from_its_change_handler_is_still_recorded(qapp) -> None:
    doc, stack = make_doc(), QUndoStack()
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    clip = doc.clips(v1)[0].id
    push_edit(stack, doc, "Gain", lambda d: d.set_clip_gain(clip, 1.0))

    def rename_on_reset(change) -> None:
        if change.kind == "clips" and doc.name != "Renamed":
            doc.name = "Renamed"  # a session renaming its document, say

    doc.subscribe(rename_on_reset)
    stack.undo()
    assert doc.name == "Renamed"
    changes = tracker_of(doc).settle()  # the rename made inside the undo's notification is noted
    assert "head" in changes and capture(doc) == tracker_of(doc).pieces


def test_clip_objects_move_between_tracks_on_undo(qapp) -> None:
    doc, stack = make_doc(), QUndoStack()
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    v2 = doc.add_track(TrackKind.VIDEO)
    clip = doc.clips(v1)[1].id
    obj = doc._cached_layout(v1).seg(clip).clip
    push_edit(stack, doc, "Move", lambda d: d.move_clip(clip, v2, f(200), linked=False))
    assert doc.clip(clip).track_id == v2
    stack.undo()
    assert doc.clip(clip).track_id == v1 and doc._cached_layout(v1).seg(clip).clip is obj
    stack.redo()
    assert doc.clip(clip).track_id == v2 and doc.clip(clip).start == f(200)
    assert isinstance(obj, otio.schema.Clip)


def test_a_foreign_timeline_undoes_exactly_with_its_own_metadata_named_gaps_and_nested_items(qapp) -> None:
    rt, tr = otio.opentime.RationalTime, otio.opentime.TimeRange
    timeline = otio.schema.Timeline(name="foreign", metadata={"vendor": {"list": [1, 2.5, {"t": rt(3, 24)}]}})
    timeline.tracks.metadata["stack_note"] = {"a": 1}
    track = otio.schema.Track(kind="Video", metadata={"vendor": {"x": 1}})
    track.append(otio.schema.Gap(source_range=tr(rt(0, 24), rt(10, 24)), name="named gap"))
    reference = otio.schema.ExternalReference(target_url="/x.mov", available_range=tr(rt(0, 24), rt(100, 24)))
    used = tr(rt(5, 24), rt(20, 24))
    track.append(otio.schema.Clip(name="c", media_reference=reference, source_range=used))
    track.append(otio.schema.Stack(name="nested"))
    track.append(otio.schema.Clip(name="d", source_range=tr(rt(0, 25), rt(25, 25))))
    track.markers.append(otio.schema.Marker(name="on the track"))
    timeline.tracks.append(track)
    doc, stack = TimelineDocument.from_otio(timeline), QUndoStack()
    start = doc.snapshot()
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    clip = doc.clips(v1)[0].id
    push_edit(stack, doc, "Colour", lambda d: d.set_color_settings({"working_space": "ACEScct"}))
    push_edit(stack, doc, "Gain", lambda d: d.set_clip_gain(clip, 2.0))
    push_edit(stack, doc, "Hide", lambda d: d.set_track_enabled(v1, False))
    push_edit(stack, doc, "Move", lambda d: d.move_clip(clip, v1, f(50)))
    end = doc.snapshot()
    while stack.canUndo():
        stack.undo()
    assert doc.snapshot() == start
    while stack.canRedo():
        stack.redo()
    assert doc.snapshot() == end
