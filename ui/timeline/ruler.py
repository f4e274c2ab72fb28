"""The time ruler above the tracks: timecode ticks, markers, the playhead's head.

It lives in the view's top viewport margin, so it never scrolls vertically, and asks the view for the
frame <-> x mapping, which keeps it aligned with the scene at every zoom and scroll position. Its mouse
gestures (scrub, drag or double-click a marker) live in ui.timeline.gestures.RulerGestures; its right-click
menu comes from TimelineView.ruler_context_actions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QFont,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPolygonF,
)
from PySide6.QtWidgets import QMenu, QToolTip, QWidget

from ui.timeline.geometry import tick_step, timecode
from ui.timeline.gestures import RulerGestures

if TYPE_CHECKING:
    from ui.timeline.view import TimelineView

RULER_HEIGHT = 30
PLAYHEAD_COLOR = QColor(235, 64, 52)
RULER_BACKGROUND = QColor(30, 31, 34)
TICK_COLOR = QColor(150, 152, 160)
LABEL_COLOR = QColor(205, 207, 212)
MARKER_TOP = 13  # a marker's flag fills the ruler below this y (above it, the timecode labels scrub)
MARKER_GRAB_PX = 6  # how near a marker's x a press grabs it
IN_OUT_COLOR = QColor(90, 170, 255)  # the marked range: a band under the timecodes, brackets at its ends

MARKER_COLORS = {
    "RED": QColor(230, 70, 70),
    "PINK": QColor(240, 120, 180),
    "ORANGE": QColor(240, 150, 50),
    "YELLOW": QColor(235, 210, 60),
    "GREEN": QColor(80, 200, 110),
    "CYAN": QColor(70, 210, 220),
    "BLUE": QColor(80, 140, 240),
    "PURPLE": QColor(160, 100, 230),
    "MAGENTA": QColor(220, 80, 220),
    "BLACK": QColor(20, 20, 20),
    "WHITE": QColor(240, 240, 240),
}


@dataclass(frozen=True)
class RulerMarker:
    """A timeline marker as the ruler draws it (frames at the timeline rate)."""

    marker_id: str
    frame: int
    name: str
    color: str
    note: str = ""


def marker_color(name: str) -> QColor:
    return MARKER_COLORS.get(str(name).upper(), MARKER_COLORS["RED"])


class RulerWidget(QWidget):
    """Paints the ruler for the view's current zoom and scroll and hands its mouse events to RulerGestures."""

    def __init__(self, view: TimelineView) -> None:
        super().__init__(view)
        self._view = view
        self.gestures = RulerGestures(view, self)
        self.setMouseTracking(False)
        self.setCursor(Qt.CursorShape.IBeamCursor)
        self.setToolTip(
            "Click or drag to move the playhead (Shift snaps to edit points). Drag a marker to move it, "
            "double-click it to go to it and edit its name, note and colour, right-click it to remove it."
        )

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        view = self._view
        painter = QPainter(self)
        painter.fillRect(self.rect(), RULER_BACKGROUND)
        ppf = view.pixels_per_frame()
        rate = view.rate()
        first = max(0, view.viewport_x_to_frame(0) - 1)
        last = view.viewport_x_to_frame(self.width()) + 1
        major = tick_step(ppf, rate)
        minor = max(1, major // 5) if major >= 5 else 1
        font = QFont(self.font())
        font.setPixelSize(10)
        painter.setFont(font)
        height = self.height()
        painter.setPen(QPen(TICK_COLOR, 1))
        if minor * ppf >= 4:
            frame = (first // minor) * minor
            while frame <= last:
                x = view.frame_to_viewport_x(frame)
                painter.drawLine(QPointF(x, height - 5), QPointF(x, height))
                frame += minor
        frame = (first // major) * major
        while frame <= last:
            x = view.frame_to_viewport_x(frame)
            painter.setPen(QPen(TICK_COLOR, 1))
            painter.drawLine(QPointF(x, height - 12), QPointF(x, height))
            painter.setPen(LABEL_COLOR)
            painter.drawText(QPointF(x + 3, 12), timecode(frame, rate))
            frame += major
        self._paint_in_out(painter)
        dragged = self.gestures.dragged_marker()  # (id, frame) while a marker is dragged: drawn there
        for marker in view.markers():
            frame = dragged[1] if dragged is not None and dragged[0] == marker.marker_id else marker.frame
            x = view.frame_to_viewport_x(frame)
            if -10 <= x <= self.width() + 10:
                self._paint_marker(painter, x, marker.name, marker.color)
        x = view.frame_to_viewport_x(view.playhead())
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(PLAYHEAD_COLOR)
        head = QPolygonF(
            [
                QPointF(x - 6, height - 12),
                QPointF(x + 6, height - 12),
                QPointF(x + 6, height - 6),
                QPointF(x, height),
                QPointF(x - 6, height - 6),
            ]
        )
        painter.drawPolygon(head)
        painter.setPen(QPen(QColor(60, 62, 66), 1))
        painter.drawLine(0, height - 1, self.width(), height - 1)
        painter.end()

    def _paint_in_out(self, painter: QPainter) -> None:
        """The viewer's in/out marks: a translucent band over the marked frames with [ and ] brackets."""
        view = self._view
        in_point, out_point = view.in_out()
        if in_point is None and out_point is None:
            return
        height = self.height()
        left = view.frame_to_viewport_x(in_point) if in_point is not None else 0.0
        # the out mark includes its frame: the band ends where the next frame starts
        right = view.frame_to_viewport_x(out_point + 1) if out_point is not None else float(self.width())
        band = QColor(IN_OUT_COLOR)
        band.setAlpha(60)
        painter.fillRect(QRectF(left, MARKER_TOP, max(1.0, right - left), height - MARKER_TOP), band)
        painter.setPen(QPen(IN_OUT_COLOR, 2))
        ends = [(left, 1)] if in_point is not None else []
        ends += [(right, -1)] if out_point is not None else []
        for x, inward in ends:
            painter.drawLine(QPointF(x, MARKER_TOP), QPointF(x, height))
            painter.drawLine(QPointF(x, MARKER_TOP + 1), QPointF(x + 5 * inward, MARKER_TOP + 1))
            painter.drawLine(QPointF(x, height - 1), QPointF(x + 5 * inward, height - 1))

    def _paint_marker(self, painter: QPainter, x: float, name: str, color: str) -> None:
        """A flag on a pole (the playhead is a red pentagon pointing down: never the same shape)."""
        fill = marker_color(color)
        height = self.height()
        painter.setPen(QPen(fill, 1))
        painter.drawLine(QPointF(x, 14), QPointF(x, height))
        painter.setPen(QPen(fill.darker(150), 1))
        painter.setBrush(fill)
        painter.drawPolygon(
            QPolygonF(
                [QPointF(x, 14), QPointF(x + 9, 14), QPointF(x + 6, 18), QPointF(x + 9, 22), QPointF(x, 22)]
            )
        )
        if name:
            painter.setPen(fill.lighter(120))
            painter.drawText(QRectF(x + 11, 14, 140, 12), Qt.AlignmentFlag.AlignLeft, name)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if event.button() == Qt.MouseButton.LeftButton:
            self.gestures.press(event.position(), event.modifiers())
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.gestures.move(event.position(), event.modifiers())
            event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if event.button() == Qt.MouseButton.LeftButton:
            self.gestures.release()
            event.accept()
        else:
            super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if event.button() == Qt.MouseButton.LeftButton:
            self.gestures.double_click(event.position(), event.modifiers())
            event.accept()
        else:
            super().mouseDoubleClickEvent(event)

    def marker_tip(self, x: float, y: float) -> str:
        """The tooltip over a marker's flag: its name and note (the ruler's own hint elsewhere)."""
        marker = self._view.marker_at_viewport(x, y)
        if marker is None:
            return self.toolTip()
        title = marker.name or "Marker"
        return f"{title}\n{marker.note}" if marker.note else title

    def event(self, event: QEvent) -> bool:  # noqa: D102 - Qt's
        if event.type() == QEvent.Type.ToolTip:
            pos = event.pos()
            QToolTip.showText(event.globalPos(), self.marker_tip(pos.x(), pos.y()), self)
            return True
        return super().event(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802 (Qt override)
        actions = self._view.ruler_context_actions(event.pos().x())
        if not actions:
            return super().contextMenuEvent(event)
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        for text, slot in actions:
            menu.addAction(text, slot)
        menu.popup(event.globalPos())  # popup, not exec: no nested event loop
        event.accept()
