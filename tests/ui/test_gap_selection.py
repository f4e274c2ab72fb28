"""Issue 14: a click on empty track space between two clips selects the gap (drawn, reported); the
right-click menu there offers "Fill Gap with Generation..."; a click elsewhere or on a clip drops it."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QUndoStack
from PySide6.QtTest import QTest

from app.document import TimelineDocument
from app.jobs.gapfill import Gap
from tests.timeline_helpers import fake_media, make_view, point, rt, track_id


def test_clicking_between_two_clips_selects_the_gap_and_offers_gap_fill(qtbot):
    doc, stack = TimelineDocument(), QUndoStack()
    v1 = track_id(doc, "V1")
    a = doc.insert(fake_media(doc, "a", 20), v1, rt(0))[0]
    b = doc.insert(fake_media(doc, "b", 16), v1, rt(20))[0]
    doc.move_clip(b, v1, rt(30))
    view = make_view(qtbot, doc, stack, (900, 300))
    seen: list = []
    view.gap_selected.connect(seen.append)

    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     point(view, 25, "V1"))  # fmt: skip
    gap = Gap(v1, 20, 30, a, b)
    assert view.selected_gap() == gap and seen == [gap] and view.selected_clip_ids() == []
    assert view._gap_marker.isVisible()  # noqa: SLF001 -- drawn over the gap
    assert view._gap_marker.rect().width() == 10 * view.pixels_per_frame()  # noqa: SLF001

    actions = dict(view.context_actions(QPointF(point(view, 26, "V1"))))
    asked: list = []
    view.gap_fill_requested.connect(asked.append)
    actions["Fill Gap with Generation..."]()
    assert asked == [gap]
    assert "Fill Gap with Generation..." not in dict(view.context_actions(QPointF(point(view, 10, "V1"))))

    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     point(view, 5, "V1"))  # fmt: skip
    assert view.selected_gap() is None and view.selected_clip_ids() == [a] and seen[-1] is None

    view.select_gap_at(v1, 22)
    doc.move_clip(b, v1, rt(20))
    view._ensure_synced()  # noqa: SLF001
    assert view.selected_gap() is None and not view._gap_marker.isVisible()  # noqa: SLF001
    assert view.select_gap_at(v1, 60) is None  # after the last clip: no gap to fill
