"""Track headers left of the tracks (V2, V1 above A1, A2) and the playhead timecode in the corner.

A click on the right end of a video header (its on/off label) shows or hides the track through an undoable
command, as the eye button does in Premiere and Resolve. An audio header has M (mute) and S (solo) buttons
and its volume in dB: the mouse wheel over the volume changes it by 1 dB (Shift: 0.1 dB), a double-click
sets it back to 0 dB; each is an undoable edit. The padlock at the top right of every header locks the
track (its clips refuse every edit and are drawn hatched), also an undoable edit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPaintEvent, QPen, QWheelEvent
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
MUTE_ON = QColor(214, 80, 70)
SOLO_ON = QColor(226, 190, 60)
BUTTON_OFF = QColor(64, 74, 70)
LOCK_ON = QColor(240, 170, 70)


def lock_button(rect: QRectF) -> QRectF:
    """Where a header's padlock is (header coordinates): its top right corner, on every track."""
    return QRectF(rect.right() - 20, rect.top() + 4, 16, 16)


def paint_padlock(painter: QPainter, spot: QRectF, locked: bool) -> None:
    """A padlock: closed and lit when locked, open and dim when not."""
    painter.save()
    colour = LOCK_ON if locked else DIM_TEXT
    body = QRectF(spot.left() + 3, spot.top() + 7, spot.width() - 6, spot.height() - 8)
    shackle = QRectF(body.left() + 2, spot.top() + 1, body.width() - 4, 10)
    if not locked:
        shackle.translate(3, -1)  # swung open
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(QPen(colour, 1.6))
    painter.drawArc(shackle, 0, 180 * 16)
    painter.drawLine(shackle.left(), shackle.center().y(), shackle.left(), body.top())
    if locked:
        painter.drawLine(shackle.right(), shackle.center().y(), shackle.right(), body.top())
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    painter.drawRoundedRect(body, 1.5, 1.5)
    painter.restore()


def audio_buttons(rect: QRectF) -> dict[str, QRectF]:
    """Where an audio header's M and S buttons and volume readout are (header coordinates)."""
    y = rect.bottom() - 20
    return {
        "mute": QRectF(rect.left() + 6, y, 16, 15),
        "solo": QRectF(rect.left() + 25, y, 16, 15),
        "volume": QRectF(rect.left() + 43, y, rect.width() - 45, 15),
    }


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
            paint_padlock(painter, lock_button(rect), row.locked)
            painter.setPen(TEXT if row.enabled else DIM_TEXT)
            if not row.is_video:
                self._paint_audio(painter, rect, row, font)
                continue
            painter.drawText(
                rect.adjusted(8, 0, 0, 0),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                row.name,
            )
            state = "on" if row.enabled else "off"
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

    def _paint_audio(self, painter: QPainter, rect: QRectF, row, font: QFont) -> None:
        try:
            info = self._view.document().track_info(row.track_id)
        except Exception:  # noqa: BLE001 - a track removed meanwhile: the next repaint drops it
            return
        painter.drawText(
            rect.adjusted(8, 4, 0, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, row.name
        )
        small = QFont(font)
        small.setPixelSize(10)
        painter.setFont(small)
        spots = audio_buttons(rect)
        for key, label, on, colour in (
            ("mute", "M", info.mute or not info.enabled, MUTE_ON),
            ("solo", "S", info.solo, SOLO_ON),
        ):
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour if on else BUTTON_OFF)
            painter.drawRoundedRect(spots[key], 2, 2)
            painter.setPen(QColor(20, 20, 20) if on else TEXT)
            painter.drawText(spots[key], Qt.AlignmentFlag.AlignCenter, label)
        painter.setPen(TEXT)
        db = info.volume_db
        volume = "0 dB" if db == 0 else (f"{db:+.0f} dB" if db == round(db) else f"{db:+.1f}")
        painter.drawText(spots["volume"], Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, volume)
        painter.setFont(font)

    def _hit(self, pos) -> tuple[object, QRectF] | None:
        y = pos.y() - self._ruler_height
        for row in self._view.rows():
            top = self._view.scene_y_to_viewport_y(row.top)
            if top <= y < top + row.height:
                return row, QRectF(2, top + self._ruler_height, self.width() - 4, row.height)
        return None

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        hit = self._hit(event.position())
        if hit is not None and lock_button(hit[1]).contains(event.position()):
            self._view.toggle_lock(hit[0].track_id)
        elif hit is not None:
            row, rect = hit
            if row.is_video:
                if event.position().x() >= self.width() - 40:
                    self._view.toggle_track(row.track_id)
            else:
                spots = audio_buttons(rect)
                if spots["mute"].contains(event.position()):
                    self._view.toggle_mute(row.track_id)
                elif spots["solo"].contains(event.position()):
                    self._view.toggle_solo(row.track_id)
        self.update()
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        hit = self._hit(event.position())
        if (
            hit is not None
            and not hit[0].is_video
            and audio_buttons(hit[1])["volume"].contains(event.position())
        ):
            self._view.set_track_volume(hit[0].track_id, 0.0)
            self.update()
        event.accept()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 (Qt override)
        hit = self._hit(event.position())
        if hit is None or hit[0].is_video:
            return super().wheelEvent(event)
        step = 0.1 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1.0
        notches = event.angleDelta().y() / 120
        if notches:
            info = self._view.document().track_info(hit[0].track_id)
            self._view.set_track_volume(hit[0].track_id, info.volume_db + step * notches)
            self.update()
        event.accept()
