"""A stereo peak meter beside the viewer: two bars (-60..0 dBFS) with a hold mark and a clip light, fed the
player's ``levels`` (app.media.levels.MeterReading) while it plays. Paints only; the levels are computed in
the Qt-free core from the same mixed sound the player sends to the speakers."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

FLOOR_DB = -60.0
GREEN, YELLOW, RED = QColor(70, 190, 100), QColor(226, 196, 60), QColor(220, 70, 60)
BACKGROUND, TRACK = QColor(24, 25, 28), QColor(44, 46, 50)


def fraction(db: float) -> float:
    """0..1 height of a level on the meter's scale."""
    return max(0.0, min(1.0, (db - FLOOR_DB) / -FLOOR_DB))


class LevelMeter(QWidget):
    """Left and right peak bars with hold marks; ``set_levels(reading)`` updates them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("levelMeter")
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        self.setToolTip("Stereo peak level (dBFS) while playing; the line holds the highest peak")
        self.peak = (FLOOR_DB, FLOOR_DB)
        self.hold = (FLOOR_DB, FLOOR_DB)
        self.clipped = (False, False)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(34, 160)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(30, 60)

    def set_levels(self, reading) -> None:
        self.peak, self.hold, self.clipped = tuple(reading.peak), tuple(reading.hold), tuple(reading.clipped)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        top, bottom = 8.0, self.height() - 14.0
        height = max(bottom - top, 1.0)
        bar_w = (self.width() - 10) / 2
        for ch in (0, 1):
            x = 4 + ch * (bar_w + 2)
            painter.fillRect(QRectF(x, top, bar_w, height), TRACK)
            level = fraction(self.peak[ch]) * height
            for lo, hi, colour in ((FLOOR_DB, -12.0, GREEN), (-12.0, -3.0, YELLOW), (-3.0, 0.0, RED)):
                y0 = bottom - min(level, fraction(hi) * height)
                y1 = bottom - fraction(lo) * height
                if y1 > y0:
                    painter.fillRect(QRectF(x, y0, bar_w, y1 - y0), colour)
            if self.hold[ch] > FLOOR_DB:
                y = bottom - fraction(self.hold[ch]) * height
                painter.fillRect(
                    QRectF(x, y - 1, bar_w, 2), RED if self.hold[ch] > -3 else QColor(230, 230, 230)
                )
            painter.fillRect(QRectF(x, 2, bar_w, 4), RED if self.clipped[ch] else TRACK)
        font = QFont(self.font())
        font.setPixelSize(9)
        painter.setFont(font)
        painter.setPen(QColor(170, 172, 178))
        painter.drawText(QRectF(0, bottom, self.width(), 14), Qt.AlignmentFlag.AlignCenter, "L  R")
        painter.end()
