"""Timeline gestures beyond a single clip: rubber band, multi-clip moves, marker drags, dissolve selection.

Gestures are real Qt mouse events sent to the view's viewport or to the ruler; the checks read the document,
the undo stack and the view's selection, so a gesture that stops working fails here.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QContextMenuEvent, QMouseEvent, QUndoStack
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu
from timeline_helpers import PPF, RATE, fake_media, frames, make_view, point, rt, span, track_id

from app.commands import push_edit
from app.document import TimelineDocument, TrackKind
from app.errors import EditError
from ui.timeline.ruler import RULER_HEIGHT, RulerWidget
from ui.timeline.track_headers import HEADER_WIDTH
from ui.timeline_view import TimelineView

FLAG_Y = 22  # a marker's flag on the ruler (the timecode labels are above y 13)
LEFT = Qt.MouseButton.LeftButton
NONE = Qt.KeyboardModifier.NoModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


def place(stack, doc, name: str, track: str, at: int, length: int = 48, audio: bool = False) -> list[str]:
    """Overwrite `length` frames of a fresh 240-frame media (with handles: source from 24) at `at`."""
    media = fake_media(doc, name, audio=audio)
    tid = track_id(doc, track)
    return push_edit(
        stack, doc, name, lambda d: d.overwrite(media, tid, rt(at), source_range=span(24, length))
    )


def starts(doc: TimelineDocument, *ids: str) -> list[int]:
    return [frames(doc.clip(c).start) for c in ids]


@pytest.fixture
def doc() -> TimelineDocument:
    document = TimelineDocument(name="test", rate=RATE)
    document.add_track(TrackKind.VIDEO)
    return document


@pytest.fixture
def stack() -> QUndoStack:
    return QUndoStack()


@pytest.fixture
def view(qtbot, doc, stack) -> TimelineView:
    return make_view(qtbot, doc, stack, (1200, 360))


def send(widget, kind, pos: QPoint, modifiers=NONE) -> None:
    button = Qt.MouseButton.NoButton if kind == QMouseEvent.Type.MouseMove else LEFT
    held = Qt.MouseButton.NoButton if kind == QMouseEvent.Type.MouseButtonRelease else LEFT
    event = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), button, held, modifiers)
    QApplication.sendEvent(widget, event)


def drag(widget, start: QPoint, end: QPoint, modifiers=NONE, steps: int = 6) -> None:
    send(widget, QMouseEvent.Type.MouseButtonPress, start, modifiers)
    for i in range(1, steps + 1):
        x = start.x() + (end.x() - start.x()) * i // steps
        y = start.y() + (end.y() - start.y()) * i // steps
        send(widget, QMouseEvent.Type.MouseMove, QPoint(x, y), modifiers)
    send(widget, QMouseEvent.Type.MouseButtonRelease, end, modifiers)


def click(view: TimelineView, pos: QPoint, modifiers=NONE) -> None:
    QTest.mouseClick(view.viewport(), LEFT, modifiers, pos)


def ruler_x(view: TimelineView, frame: float) -> int:
    return int(round(view.frame_to_viewport_x(frame)))


# ----------------------------------------------------------------------------------------- rubber band
@pytest.fixture
def spread(view, doc, stack):
    """V2: C at 200-248. V1: A at 0-48, B at 100-148. Empty V2 space from 0 to 200."""
    (a,) = place(stack, doc, "a", "V1", 0)
    (b,) = place(stack, doc, "b", "V1", 100)
    (c,) = place(stack, doc, "c", "V2", 200)
    stack.clear()
    return a, b, c


def test_rubber_band_selects_the_clips_it_touches_and_shift_adds(view, doc, stack, spread):
    a, b, c = spread
    seen = []
    view.selection_changed.connect(seen.append)
    drag(view.viewport(), point(view, 70, "V2"), point(view, 104, "V1"))  # down-right onto B's head
    assert view.selected_clip_ids() == [b]
    assert view.clip_item(b).selected and not view.clip_item(a).selected
    drag(view.viewport(), point(view, 90, "V2"), point(view, 40, "V1"))  # a new band replaces the selection
    assert view.selected_clip_ids() == [a]
    drag(view.viewport(), point(view, 150, "V2"), point(view, 210, "V2"), modifiers=SHIFT)  # Shift adds C
    assert sorted(view.selected_clip_ids()) == sorted([a, c])
    drag(view.viewport(), point(view, 10, "V2", -20), point(view, 230, "V1"))  # wide: catches all three
    assert sorted(view.selected_clip_ids()) == sorted([a, b, c])
    click(view, point(view, 70, "V1"))  # a plain click on empty space clears
    assert view.selected_clip_ids() == []
    assert seen[-1] == [] and stack.count() == 0  # selecting is not an edit


def test_rubber_band_brings_linked_partners_along(view, doc, stack):
    video, audio = place(stack, doc, "av", "V1", 60, audio=True)
    drag(view.viewport(), point(view, 10, "V2"), point(view, 70, "V1"))  # touches the video only
    assert sorted(view.selected_clip_ids()) == sorted([video, audio])


def test_band_that_touches_nothing_selects_nothing(view, doc, stack, spread):
    a, _, _ = spread
    view.select([a])
    drag(view.viewport(), point(view, 60, "V2"), point(view, 90, "V1"))  # between A and B, above C
    assert view.selected_clip_ids() == []


# -------------------------------------------------------------------------------------- group moves
def test_dragging_one_of_several_selected_clips_moves_all_as_one_undo_step(view, doc, stack, spread):
    a, b, c = spread
    view.set_snapping(False)
    view.select([a, b, c])
    drag(view.viewport(), point(view, 124, "V1"), point(view, 124 + 30, "V1"))
    assert starts(doc, a, b, c) == [30, 130, 230]
    assert [frames(doc.clip(x).duration) for x in (a, b, c)] == [48, 48, 48]
    assert stack.count() == 1 and stack.undoText() == "Move clips"
    assert view.clip_item(a).pos().x() == pytest.approx(30 * PPF)
    assert sorted(view.selected_clip_ids()) == sorted([a, b, c])  # still selected for the next drag
    stack.undo()
    assert starts(doc, a, b, c) == [0, 100, 200]


@pytest.mark.parametrize("offset", [20, -30])
def test_adjacent_clips_of_a_group_do_not_overwrite_each_other(view, doc, stack, offset):
    (a,) = place(stack, doc, "a", "V1", 50)
    (b,) = place(stack, doc, "b", "V1", 98)  # touching: A ends where B starts
    view.set_snapping(False)
    view.select([a, b])
    drag(view.viewport(), point(view, 74, "V1"), point(view, 74 + offset, "V1"))
    v1 = track_id(doc, "V1")
    layout = [(c.id, frames(c.start), frames(c.duration)) for c in doc.clips(v1)]
    assert layout == [(a, 50 + offset, 48), (b, 98 + offset, 48)]


def test_group_move_keeps_a_dissolve_between_two_moved_clips(view, doc, stack):
    (a,) = place(stack, doc, "a", "V1", 0)
    (b,) = place(stack, doc, "b", "V1", 48)
    v1 = track_id(doc, "V1")
    push_edit(stack, doc, "dissolve", lambda d: d.add_dissolve(a, rt(8)))
    stack.clear()
    view.set_snapping(False)
    view.select([a, b])
    drag(view.viewport(), point(view, 10, "V1", -28), point(view, 30, "V1", -28))  # grab A by its title
    assert starts(doc, a, b) == [20, 68]
    (dissolve,) = doc.dissolves(v1)
    assert (dissolve.left_id, dissolve.right_id, frames(dissolve.duration)) == (a, b, 8)
    assert stack.count() == 1 and stack.undoText() == "Move clips"


def test_group_move_takes_linked_partners_and_stays_on_its_tracks(view, doc, stack, spread):
    a, b, c = spread
    video, audio = place(stack, doc, "av", "V1", 300, audio=True)
    view.set_snapping(False)
    view.select([b, video])  # the audio is not selected: it comes along as the video's partner
    drag(view.viewport(), point(view, 124, "V1"), point(view, 124 + 20, "V2"))  # the vertical part is ignored
    assert starts(doc, b, video, audio) == [120, 320, 320]
    assert doc.clip(b).track_id == track_id(doc, "V1") and doc.clip(video).track_id == track_id(doc, "V1")
    assert starts(doc, a, c) == [0, 200]  # not selected: not moved


def test_group_move_snaps_on_the_grabbed_clips_edges(view, doc, stack, spread):
    a, b, c = spread
    view.select([a, b])
    send(view.viewport(), QMouseEvent.Type.MouseButtonPress, point(view, 124, "V1"))
    for step in range(1, 11):
        send(view.viewport(), QMouseEvent.Type.MouseMove, point(view, 124 + 5 * step, "V1"))
    assert view.snap_line_frame() == 200  # B's tail (198 unsnapped) meets C's head
    send(view.viewport(), QMouseEvent.Type.MouseButtonRelease, point(view, 174, "V1"))
    assert starts(doc, a, b) == [52, 152]
    assert view.snap_line_frame() is None


def test_a_group_move_that_fails_half_way_changes_nothing(view, doc, stack, spread, monkeypatch):
    a, b, c = spread
    before = doc.snapshot()
    original = doc.move_clip
    calls = []

    def failing_move(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 2:
            raise EditError("That clip cannot move there.")
        return original(*args, **kwargs)

    monkeypatch.setattr(doc, "move_clip", failing_move)
    messages = []
    view.message.connect(messages.append)
    view.set_snapping(False)
    view.select([a, b])
    drag(view.viewport(), point(view, 124, "V1"), point(view, 144, "V1"))
    assert len(calls) == 2  # the first clip had moved when the second failed
    assert messages == ["That clip cannot move there."]
    assert doc.snapshot() == before and stack.count() == 0
    assert view.clip_item(a).pos().x() == pytest.approx(0) and view.clip_item(b).pos().x() == pytest.approx(
        400
    )


def test_ctrl_drag_of_a_group_is_refused_with_a_message(view, doc, stack, spread):
    a, b, c = spread
    messages = []
    view.message.connect(messages.append)
    view.select([a, b])
    drag(view.viewport(), point(view, 124, "V1"), point(view, 10, "V1"), Qt.KeyboardModifier.ControlModifier)
    assert len(messages) == 1 and stack.count() == 0
    assert starts(doc, a, b) == [0, 100]
    assert view.clip_item(b).pos().x() == pytest.approx(100 * PPF)


def test_group_cannot_be_dragged_before_the_start(view, doc, stack, spread):
    a, b, c = spread
    view.set_snapping(False)
    view.select([a, b])
    drag(view.viewport(), point(view, 124, "V1"), point(view, 124 - 60, "V1"))  # A would start at -60
    assert starts(doc, a, b) == [0, 100] and stack.count() == 0  # held at 0: nothing to do


def test_a_click_on_one_clip_of_a_group_narrows_the_selection(view, doc, spread):
    a, b, c = spread
    view.select([a, b, c])
    click(view, point(view, 120, "V1"))
    assert view.selected_clip_ids() == [b]


# ------------------------------------------------------------------------------------------- markers
@pytest.fixture
def ruler(view) -> RulerWidget:
    return view.findChild(RulerWidget)


def test_dragging_a_marker_moves_it_as_one_undo_step(view, doc, stack, ruler):
    marker = doc.add_marker(rt(40), name="beat")
    view.set_snapping(False)
    moved = []
    view.playhead_changed.connect(moved.append)
    drag(ruler, QPoint(ruler_x(view, 40), FLAG_Y), QPoint(ruler_x(view, 70), FLAG_Y))
    assert [(m.id, frames(m.time)) for m in doc.markers()] == [(marker, 70)]
    assert view.marker_frames() == [(70, "beat", "RED")]
    assert stack.count() == 1 and stack.undoText() == "Move marker"
    assert moved == [] and view.playhead() == 0  # grabbing a marker does not scrub
    stack.undo()
    assert frames(doc.markers()[0].time) == 40


def test_a_dragged_marker_snaps_to_clip_edges_and_the_playhead(view, doc, stack, ruler, spread):
    doc.add_marker(rt(20))
    drag(ruler, QPoint(ruler_x(view, 20), FLAG_Y), QPoint(ruler_x(view, 49.5), FLAG_Y))
    assert frames(doc.markers()[0].time) == 48  # A's end
    view.set_playhead(160)
    send(ruler, QMouseEvent.Type.MouseButtonPress, QPoint(ruler_x(view, 48), FLAG_Y))
    send(ruler, QMouseEvent.Type.MouseMove, QPoint(ruler_x(view, 100), FLAG_Y))
    send(ruler, QMouseEvent.Type.MouseMove, QPoint(ruler_x(view, 161.5), FLAG_Y))
    assert view.snap_line_frame() == 160
    send(ruler, QMouseEvent.Type.MouseButtonRelease, QPoint(ruler_x(view, 161.5), FLAG_Y))
    assert frames(doc.markers()[0].time) == 160
    assert stack.count() == 2


def test_pressing_the_timecode_strip_over_a_marker_scrubs(view, doc, ruler):
    doc.add_marker(rt(40))
    drag(ruler, QPoint(ruler_x(view, 40), 5), QPoint(ruler_x(view, 70), 5))
    assert view.playhead() == 70
    assert frames(doc.markers()[0].time) == 40


def test_double_clicking_a_marker_puts_the_playhead_on_it(view, doc, ruler):
    doc.add_marker(rt(40))
    moved = []
    view.playhead_changed.connect(moved.append)
    QTest.mouseDClick(ruler, LEFT, NONE, QPoint(ruler_x(view, 40) + 3, FLAG_Y))  # a scrub would say 41
    assert view.playhead() == 40 and moved == [40]
    assert frames(doc.markers()[0].time) == 40


def test_ruler_context_actions_remove_a_marker(view, doc, stack, ruler):
    marker = doc.add_marker(rt(40))
    doc.add_marker(rt(90))
    on_marker = dict(view.ruler_context_actions(ruler_x(view, 40) + 2))
    assert "Remove Marker" in on_marker and "Add Marker Here" not in on_marker
    on_marker["Remove Marker"]()
    assert [frames(m.time) for m in doc.markers()] == [90]
    assert stack.count() == 1 and stack.undoText() == "Remove marker"
    elsewhere = dict(view.ruler_context_actions(ruler_x(view, 60)))
    assert "Remove Marker" not in elsewhere
    elsewhere["Add Marker Here"]()
    assert [frames(m.time) for m in doc.markers()] == [60, 90]
    stack.undo()
    stack.undo()
    assert [m.id for m in doc.markers()][0] == marker


def test_right_clicking_the_ruler_pops_up_the_marker_menu(view, doc, ruler):
    doc.add_marker(rt(40))
    pos = QPoint(ruler_x(view, 40), FLAG_Y)
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, ruler.mapToGlobal(pos))
    QApplication.sendEvent(ruler, event)
    menus = [m for m in ruler.findChildren(QMenu) if m.isVisible()]
    assert len(menus) == 1
    assert [a.text() for a in menus[0].actions()] == ["Go to Marker", "Edit Marker...", "Remove Marker"]
    menus[0].close()


# ----------------------------------------------------------------------------------------- dissolves
@pytest.fixture
def dissolved(view, doc, stack):
    """V1: A 0-24 and B 24-48 with an 8-frame dissolve on the cut at 24."""
    (a,) = place(stack, doc, "a", "V1", 0, length=24)
    (b,) = place(stack, doc, "b", "V1", 24, length=24)
    dissolve = push_edit(stack, doc, "dissolve", lambda d: d.add_dissolve(a, rt(8)))
    stack.clear()
    view.clip_item("")
    return a, b, dissolve


def test_clicking_a_dissolve_selects_it_and_delete_removes_only_the_dissolve(view, doc, stack, dissolved):
    a, b, dissolve = dissolved
    view.select([a])
    click(view, point(view, 24, "V1", 10))
    assert view.selected_dissolve_id() == dissolve
    assert view.selected_clip_ids() == []  # clips or a dissolve, never both
    view.lift_selection()  # what Delete does
    v1 = track_id(doc, "V1")
    assert doc.dissolves(v1) == []
    assert [(c.id, frames(c.start), frames(c.duration)) for c in doc.clips(v1)] == [(a, 0, 24), (b, 24, 24)]
    assert stack.count() == 1 and stack.undoText() == "Remove dissolve"
    assert view.selected_dissolve_id() is None
    stack.undo()
    assert [d.id for d in doc.dissolves(v1)] == [dissolve]


def test_ripple_delete_with_a_dissolve_selected_removes_the_dissolve(view, doc, stack, dissolved):
    a, b, _ = dissolved
    click(view, point(view, 24, "V1", 10))
    view.ripple_delete_selection()
    v1 = track_id(doc, "V1")
    assert doc.dissolves(v1) == [] and [c.id for c in doc.clips(v1)] == [a, b]
    assert stack.count() == 1


def test_a_selected_dissolve_is_drawn_highlighted_and_a_clip_click_deselects_it(view, doc, dissolved):
    a, _, dissolve = dissolved
    spot = point(view, 21, "V1", 8) + QPoint(HEADER_WIDTH, RULER_HEIGHT)  # inside the box, off its diagonals
    plain = view.grab().toImage().pixelColor(spot)
    click(view, point(view, 24, "V1", 10))
    highlighted = view.grab().toImage().pixelColor(spot)
    assert highlighted != plain
    click(view, point(view, 10, "V1", -28))  # A's title strip, outside the dissolve box
    assert view.selected_dissolve_id() is None and view.selected_clip_ids() == [a]
    assert view.grab().toImage().pixelColor(spot) == plain
