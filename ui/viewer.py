"""The viewer: the timeline's picture, its timecode, transport controls and in/out marks.

Everything it shows comes from a `TimelinePlayer` (app.media.workers): the player decodes off the UI thread
around the playhead and hands over finished QImages; the viewer only paints them, letterboxed. It never
reads the document, so it works for anything the player plays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:  # only for the annotation: the bin and inspector import format_timecode from here
    from app.media.workers import TimelinePlayer

_SHUTTLE_SPEEDS = (1, 2, 4)  # J / L pressed again go faster, like every NLE


def format_timecode(frame: int, rate: float) -> str:
    """HH:MM:SS:FF, non-drop, counting frames at the nominal rate (23.976 counts as 24, like an NLE)."""
    fps = max(1, round(rate))
    sign = "-" if frame < 0 else ""
    frame = abs(int(frame))
    seconds, ff = divmod(frame, fps)
    minutes, ss = divmod(seconds, 60)
    hh, mm = divmod(minutes, 60)
    return f"{sign}{hh:02d}:{mm:02d}:{ss:02d}:{ff:02d}"


def qimage_to_array(image: QImage) -> np.ndarray:
    """A copy of `image` as uint8 [H, W, 3] RGB (rows de-padded)."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    height, width, stride = rgb.height(), rgb.width(), rgb.bytesPerLine()
    data = np.frombuffer(rgb.constBits(), np.uint8, count=stride * height).reshape(height, stride)
    return data[:, : width * 3].reshape(height, width, 3).copy()


class FrameView(QWidget):
    """Paints one QImage scaled to fit with its aspect kept; black bars fill the rest."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("viewerFrame")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 90)
        self._image = QImage()

    def image(self) -> QImage:
        return self._image

    def set_image(self, image: QImage) -> None:
        self._image = image
        self.update()

    def image_rect(self) -> QRect:
        """Where the picture lands in the widget (letterboxed / pillarboxed)."""
        if self._image.isNull():
            return QRect()
        size = self._image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        x = (self.width() - size.width()) // 2
        y = (self.height() - size.height()) // 2
        return QRect(x, y, size.width(), size.height())

    def sizeHint(self) -> QSize:
        return QSize(640, 360)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(0, 0, 0))
        if not self._image.isNull():
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(self.image_rect(), self._image)
        painter.end()


class ScrubSlider(QSlider):
    """The scrub bar, with the in/out range drawn along its bottom edge."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setObjectName("viewerScrub")
        self._marks: tuple[int | None, int | None] = (None, None)

    def set_marks(self, in_point: int | None, out_point: int | None) -> None:
        self._marks = (in_point, out_point)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        in_point, out_point = self._marks
        if in_point is None and out_point is None:
            return
        handle = self.style().pixelMetric(QStyle.PixelMetric.PM_SliderLength, None, self)
        span = max(1, self.width() - handle)

        def x(value: int) -> int:
            pos = QStyle.sliderPositionFromValue(self.minimum(), self.maximum(), value, span)
            return pos + handle // 2

        left = x(in_point if in_point is not None else self.minimum())
        right = x(out_point if out_point is not None else self.maximum())
        painter = QPainter(self)
        painter.fillRect(QRect(left, self.height() - 4, max(2, right - left), 3), QColor(240, 192, 90))
        painter.end()


class Viewer(QWidget):
    """Picture + timecode + transport. The main window's J/K/L, arrows, I/O shortcuts call the methods."""

    position_changed = Signal(int)
    marks_changed = Signal(object, object)  # in frame | None, out frame | None

    def __init__(self, player: TimelinePlayer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("viewer")
        self._player = player
        self._frame = 0
        self._shown_frame: int | None = None  # the frame the picture belongs to
        self.in_point: int | None = None
        self.out_point: int | None = None

        self.frame_view = FrameView(self)
        self.timecode_label = QLabel(objectName="viewerTimecode")
        self.timecode_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.marks_label = QLabel(objectName="viewerMarks")
        self.speed_label = QLabel(objectName="viewerSpeed")
        self.slider = ScrubSlider(self)
        self.slider.setRange(0, 0)
        self.slider.setPageStep(max(1, round(self.rate)))
        self.slider.valueChanged.connect(self._slider_moved)

        style = self.style()
        pix = QStyle.StandardPixmap
        self.start_button = self._button(style.standardIcon(pix.SP_MediaSkipBackward), "Go to start (Home)")
        self.back_button = self._button(style.standardIcon(pix.SP_MediaSeekBackward), "Step back (Left)")
        self.play_button = self._button(style.standardIcon(pix.SP_MediaPlay), "Play / pause (Space)")
        self.forward_button = self._button(
            style.standardIcon(pix.SP_MediaSeekForward), "Step forward (Right)"
        )
        self.end_button = self._button(style.standardIcon(pix.SP_MediaSkipForward), "Go to end (End)")
        self.start_button.clicked.connect(lambda: self.seek(0))
        self.back_button.clicked.connect(lambda: self.step(-1))
        self.play_button.clicked.connect(self.toggle_play)
        self.forward_button.clicked.connect(lambda: self.step(1))
        self.end_button.clicked.connect(lambda: self.seek(self._last_frame()))

        transport = QHBoxLayout()
        transport.setContentsMargins(6, 2, 6, 4)
        transport.addWidget(self.timecode_label)
        transport.addStretch(1)
        for button in (self.start_button, self.back_button, self.play_button, self.forward_button):
            transport.addWidget(button)
        transport.addWidget(self.end_button)
        transport.addStretch(1)
        transport.addWidget(self.speed_label)
        transport.addWidget(self.marks_label)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.frame_view, 1)
        layout.addWidget(self.slider)
        layout.addLayout(transport)

        player.frame_ready.connect(self._on_frame)
        player.position_changed.connect(self._on_position)
        player.playing_changed.connect(self._on_playing_changed)
        self._update_range()
        self._on_position(player.position)
        self._update_marks()
        if not player.is_playing:
            player.seek(player.position)  # the player renders on demand: ask for the picture to start with

    # ----------------------------------------------------------------------------------------- state
    @property
    def rate(self) -> float:
        return float(self._player.doc.rate)

    @property
    def frame(self) -> int:
        return self._frame

    @property
    def shown_frame(self) -> int | None:
        """The timeline frame the displayed picture belongs to (None before the first one arrives)."""
        return self._shown_frame

    def timecode_text(self) -> str:
        return self.timecode_label.text()

    def _last_frame(self) -> int:
        return self._player.last_frame()

    # -------------------------------------------------------------------------------------- transport
    def seek(self, frame: int) -> None:
        """Show timeline frame `frame` (clamped); the picture follows when the player has decoded it."""
        self._update_range()
        self._player.seek(min(max(0, int(frame)), self._player.end_frame()))
        self._on_position(self._player.position)

    def step(self, n: int) -> None:
        """Move `n` frames (negative: back); pauses playback first, like every editor."""
        self._player.step(int(n))
        self._on_position(self._player.position)

    def toggle_play(self) -> None:
        self._player.toggle()

    def stop(self) -> None:
        """K: stop shuttling / playing, stay on the current frame."""
        self._player.pause()

    def shuttle_forward(self) -> None:
        """L: play forward; pressing again doubles the speed up to 4x (from reverse, it first goes 1x)."""
        self._set_shuttle(self._next_speed(1))

    def shuttle_backward(self) -> None:
        """J: play backward, doubling like L."""
        self._set_shuttle(self._next_speed(-1))

    def _next_speed(self, direction: int) -> int:
        current = self._player.speed
        speed = abs(current) if current * direction > 0 else 0
        faster = next((s for s in _SHUTTLE_SPEEDS if s > speed), _SHUTTLE_SPEEDS[-1])
        return faster * direction

    def _set_shuttle(self, speed: int) -> None:
        self._player.shuttle(speed)
        self._update_play_icon()

    # ------------------------------------------------------------------------------------------ marks
    def mark_in(self) -> None:
        self.in_point = self._frame
        if self.out_point is not None and self.out_point < self.in_point:
            self.out_point = None
        self._update_marks()

    def mark_out(self) -> None:
        self.out_point = self._frame
        if self.in_point is not None and self.in_point > self.out_point:
            self.in_point = None
        self._update_marks()

    def clear_marks(self) -> None:
        self.in_point = self.out_point = None
        self._update_marks()

    def _update_marks(self) -> None:
        rate = self.rate
        parts = []
        if self.in_point is not None:
            parts.append(f"In {format_timecode(self.in_point, rate)}")
        if self.out_point is not None:
            parts.append(f"Out {format_timecode(self.out_point, rate)}")
        self.marks_label.setText("   ".join(parts))
        self.slider.set_marks(self.in_point, self.out_point)
        self.marks_changed.emit(self.in_point, self.out_point)

    # --------------------------------------------------------------------------------------- pictures
    def current_frame_array(self) -> np.ndarray | None:
        """The shown picture as uint8 [H, W, 3] RGB (a start image for a generation), or None."""
        image = self.frame_view.image()
        return None if image.isNull() else qimage_to_array(image)

    def _on_frame(self, frame: int, image: QImage) -> None:
        self._shown_frame = int(frame)
        self.frame_view.set_image(image)
        self._update_range()  # the player re-renders after every edit: the timeline may have grown

    def _on_playing_changed(self, _playing: bool) -> None:
        self._update_play_icon()

    def _on_position(self, frame: int) -> None:
        frame = int(frame)
        changed = frame != self._frame
        self._frame = frame
        self.slider.blockSignals(True)
        self.slider.setValue(frame)
        self.slider.blockSignals(False)
        self.timecode_label.setText(f"{format_timecode(frame, self.rate)}   #{frame}")
        if changed:
            self.position_changed.emit(frame)

    def _update_range(self) -> None:
        last = self._last_frame()
        if self.slider.maximum() != last:
            self.slider.blockSignals(True)
            self.slider.setRange(0, last)
            self.slider.setValue(self._frame)
            self.slider.blockSignals(False)
        self.slider.setPageStep(max(1, round(self.rate)))

    def _slider_moved(self, value: int) -> None:
        if value != self._frame:
            if self._player.is_playing:
                self._player.pause()
            self.seek(value)

    # ----------------------------------------------------------------------------------------- chrome
    def _button(self, icon, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setIcon(icon)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        return button

    def _update_play_icon(self) -> None:
        playing = self._player.is_playing
        pix = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(pix))
        speed = self._player.speed
        self.speed_label.setText(f"{speed:+d}×" if speed not in (0, 1) else "")
