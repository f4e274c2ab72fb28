"""Snapping for the timeline's gestures: the targets (edit points, markers, the playhead) and the yellow line.

A dragged clip edge, a trim, a drop, a Shift-scrub or a dragged marker within SNAP_PX screen pixels of a
target jumps onto it, and a dashed line across the tracks shows where. The threshold is in pixels, not
frames, so snapping feels the same at every zoom.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsLineItem

from app.errors import AppError
from ui.timeline.geometry import to_frames

if TYPE_CHECKING:
    from ui.timeline.view import TimelineView

SNAP_PX = 8
SNAP_COLOR = QColor(255, 214, 64)


class SnapGuide:
    """Finds snap targets for the view and shows the snap line in its scene."""

    def __init__(self, view: TimelineView) -> None:
        self._view = view
        self._line = QGraphicsLineItem()
        self._line.setPen(QPen(SNAP_COLOR, 1, Qt.PenStyle.DashLine))
        self._line.setZValue(99)
        self._line.hide()
        view.scene().addItem(self._line)

    def targets(self, exclude_ids: Iterable[str] = ()) -> list[int]:
        """Clip edges on every track, markers, 0 and the playhead, as frames; `exclude_ids` names clips or
        markers being dragged (they must not snap to themselves)."""
        view = self._view
        rate = view.rate()
        excluded = tuple(exclude_ids)
        try:
            points = {to_frames(t, rate) for t in view.document().edit_points(exclude_ids=excluded)}
        except AppError:
            points = {0}
        points.update(m.frame for m in view.markers() if m.marker_id not in excluded)
        points.add(view.playhead())
        return sorted(points)

    def frame(self, frame: int, points: list[int]) -> int:
        """The nearest target within SNAP_PX of `frame` (the line shows it), else `frame` itself."""
        threshold = SNAP_PX / self._view.pixels_per_frame()
        best = min(points, key=lambda p: abs(p - frame), default=None)
        if best is None or abs(best - frame) > threshold:
            self.hide()
            return frame
        self.show(best)
        return best

    def span(self, start: int, duration: int, points: list[int]) -> int:
        """A moved span's start, snapped by whichever of its two ends is nearer to a target."""
        threshold = SNAP_PX / self._view.pixels_per_frame()
        best: tuple[float, int, int] | None = None
        for edge_offset in (0, duration):
            for point in points:
                distance = abs(point - (start + edge_offset))
                if distance <= threshold and (best is None or distance < best[0]):
                    best = (distance, point - edge_offset, point)
        if best is None:
            self.hide()
            return start
        self.show(best[2])
        return max(0, best[1])

    def show(self, frame: int) -> None:
        view = self._view
        x = frame * view.pixels_per_frame()
        self._line.setLine(x, 0, x, max(view.scene().sceneRect().height(), view.viewport().height()))
        self._line.show()

    def hide(self) -> None:
        self._line.hide()

    def shown_frame(self) -> int | None:
        if not self._line.isVisible():
            return None
        return int(round(self._line.line().x1() / self._view.pixels_per_frame()))
