"""Track headers left of the tracks (V2, V1 above A1, A2) and the playhead timecode in the corner.

A click on the right end of a header (its on/off/mute label) toggles the track (hide a video track,
mute an audio track) through an undoable command, as the eye and speaker buttons do in Premiere and Resolve.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from ui.timeline.geometry import timecode

if TYPE_CHECKING:
    from ui.timeline.view import TimelineView

HEADER_WIDTH = 84
HEADER_BACKGROUND = QColor(34, 35, 38)
VIDEO_HEADER = QColor(44, 52, 66)
AUDIO_HEADER = QColor(40, 58, 50)
TEXT = QColor(222, 223, 226)
DIM_TEXT = QColor(120, 122, 128)
TIMECODE = QColor(235, 120, 110)


class TrackHeaders(QWidget):
    """Covers the view's left margin from the top (the corner shows the playhead timecode)."""

    def __init__(self, view: TimelineView, ruler_height: int) -> None:
        super().__init__(view)
        self._view = view
        self._ruler_height = ruler_height

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        view = self._view
        painter = QPainter(self)
        painter.fillRect(self.rect(), HEADER_BACKGROUND)
        font = QFont(self.font())
        font.setPixelSize(12)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(TIMECODE)
        corner = QRectF(0, 0, self.width(), self._ruler_height)
        painter.drawText(corner, Qt.AlignmentFlag.AlignCenter, timecode(view.playhead(), view.rate()))
        painter.setClipRect(QRectF(0, self._ruler_height, self.width(), self.height()))
        for row in view.rows():
            top = view.scene_y_to_viewport_y(row.top) + self._ruler_height
            rect = QRectF(2, top, self.width() - 4, row.height)
            painter.setPen(QPen(QColor(70, 72, 78), 1))
            painter.setBrush(VIDEO_HEADER if row.is_video else AUDIO_HEADER)
            painter.drawRoundedRect(rect, 3, 3)
            painter.setPen(TEXT if row.enabled else DIM_TEXT)
            painter.drawText(
                rect.adjusted(8, 0, 0, 0),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                row.name,
            )
            state = ("on" if row.enabled else "off") if row.is_video else ("" if row.enabled else "mute")
            if state:
                small = QFont(font)
                small.setPixelSize(9)
                small.setBold(False)
                painter.setFont(small)
                painter.drawText(
                    rect.adjusted(0, 0, -6, 0),
                    Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                    state,
                )
                painter.setFont(font)
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        y = event.position().y() - self._ruler_height
        for row in self._view.rows():
            top = self._view.scene_y_to_viewport_y(row.top)
            if top <= y < top + row.height and event.position().x() >= self.width() - 40:
                self._view.toggle_track(row.track_id)
                break
        event.accept()
