"""The viewer: the timeline's picture, its timecode, transport controls and in/out marks.

Everything it shows comes from a `TimelinePlayer` (app.media.workers): the player decodes, grades (on the
CPU, the export's values) and composites off the UI thread and hands over finished QImages; the viewer only
shows them through the project's display/view transform, letterboxed. Two display paths:
- GPU: `ui.gl_frame_view.GLFrameView`, OCIO's GLSL shader in a QOpenGLWidget, where OpenGL 3.3 / ES 3.0 works;
- CPU: `FrameView` with `GradePipeline.display` applied to the image (skipped when the view is the identity,
  the default for Rec.709/sRGB video on an sRGB monitor).
A/B compare: "ungraded" asks the player for ungraded frames; "split" shows the left half ungraded (from a
second, silent player that follows the playhead) and the right half graded, with a thin divider.
The only document read is the project's colour settings (for the display transform).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QEvent, QObject, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.color import ColorSettings, GradePipeline
from app.errors import ColorError
from ui.gl_frame_view import GLFrameView, opengl_available

if TYPE_CHECKING:  # only for the annotation: the bin and inspector import format_timecode from here
    from app.media.workers import TimelinePlayer

_SHUTTLE_SPEEDS = (1, 2, 4)  # J / L pressed again go faster, like every NLE
COMPARE_MODES = ("graded", "ungraded", "split")


def format_timecode(frame: int, rate: float) -> str:
    """HH:MM:SS:FF, non-drop, counting frames at the nominal rate (23.976 counts as 24, like an NLE)."""
    fps = max(1, round(rate))
    sign = "-" if frame < 0 else ""
    frame = abs(int(frame))
    seconds, ff = divmod(frame, fps)
    minutes, ss = divmod(seconds, 60)
    hh, mm = divmod(minutes, 60)
    return f"{sign}{hh:02d}:{mm:02d}:{ss:02d}:{ff:02d}"


def array_to_qimage(rgb: np.ndarray) -> QImage:
    """An owned QImage copy of an RGB uint8 [H, W, 3] array."""
    rgb = np.ascontiguousarray(rgb)
    height, width = rgb.shape[:2]
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


def split_image(ungraded: QImage, graded: QImage) -> QImage:
    """Left half `ungraded`, right half `graded`, a thin light divider between (A/B split compare)."""
    out = graded.convertToFormat(QImage.Format.Format_RGB888)
    if ungraded.size() != graded.size():
        return out
    middle = out.width() // 2
    painter = QPainter(out)
    painter.drawImage(QRect(0, 0, middle, out.height()), ungraded, QRect(0, 0, middle, out.height()))
    painter.fillRect(QRect(middle - 1 if middle > 0 else 0, 0, 1, out.height()), QColor(230, 230, 230))
    painter.end()
    return out


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


class DisplayTransform:
    """The project's display/view transform for the viewer, rebuilt when the colour settings change.

    Unusable settings (a config file that went missing) show the picture unchanged and say why, rather than
    leaving the viewer black."""

    def __init__(self) -> None:
        self.settings: dict | None = None
        self.pipeline: GradePipeline | None = None
        self.processor = None  # PyOpenColorIO.Processor | None
        self.identity = True
        self.error: str | None = None
        self.description = "(identity)"

    def update(self, settings: dict) -> bool:
        """Adopt `settings` (ColorSettings.to_dict()); True when anything changed."""
        if settings == self.settings:
            return False
        self.settings = dict(settings)
        try:
            pipeline = GradePipeline(ColorSettings.from_dict(settings))
            identity = pipeline.display_is_identity()
            # The identity shows the player's values as they are on both paths (bit-exact, no shader work).
            processor = None if identity else pipeline.display_processor()
        except ColorError as exc:
            self.pipeline, self.processor, self.identity, self.error = None, None, True, str(exc)
            self.description = "(identity)"
            return True
        self.pipeline, self.processor, self.identity, self.error = pipeline, processor, identity, None
        self.description = f"{pipeline.spaces.display} / {pipeline.spaces.view}"
        return True

    def apply(self, image: QImage) -> QImage:
        """`image` through the display transform on the CPU (unchanged when it is the identity)."""
        if self.identity or self.pipeline is None:
            return image
        rgb = qimage_to_array(image).astype(np.float32) / 255.0
        shown = self.pipeline.display(rgb)
        return array_to_qimage(np.clip(np.rint(shown * 255.0), 0, 255).astype(np.uint8))


class Viewer(QWidget):
    """Picture + timecode + transport. The main window's J/K/L, arrows, I/O shortcuts call the methods."""

    position_changed = Signal(int)
    marks_changed = Signal(object, object)  # in frame | None, out frame | None

    compare_changed = Signal(str)  # one of COMPARE_MODES
    picture_changed = Signal()  # a new picture is shown (overlays that depend on its size repaint)

    def __init__(
        self, player: TimelinePlayer, parent: QWidget | None = None, gpu: bool | None = None
    ) -> None:
        """`gpu`: None picks the GPU path where OpenGL works; False forces the CPU path; True insists."""
        super().__init__(parent)
        self.setObjectName("viewer")
        self._player = player
        self._frame = 0
        self._shown_frame: int | None = None  # the frame the picture belongs to
        self.in_point: int | None = None
        self.out_point: int | None = None
        self._picture = QImage()  # the player's last frame: export values, before the display transform
        self._ungraded = QImage()  # split compare: the same frame ungraded
        self._compare = "graded"
        self._split_player: TimelinePlayer | None = None
        self._split_cleanup = None
        self._display = DisplayTransform()
        self._gpu_error: str | None = None
        self._overlay: QWidget | None = None

        use_gpu = opengl_available() if gpu is None else gpu
        self.frame_view: FrameView | GLFrameView = GLFrameView(self) if use_gpu else FrameView(self)
        if isinstance(self.frame_view, GLFrameView):
            self.frame_view.failed.connect(self._gpu_failed)
        self.path_label = QLabel(objectName="viewerPath")
        self.compare_button = QToolButton(self, text="A/B", checkable=True, autoRaise=True)
        self.compare_button.setToolTip("Compare: show the clips ungraded while pressed")
        self.split_button = QToolButton(self, text="Split", checkable=True, autoRaise=True)
        self.split_button.setToolTip("Compare: left half ungraded, right half graded")
        compare_group = QButtonGroup(self)
        compare_group.setExclusive(False)  # both may be up (graded); clicking one releases the other
        compare_group.addButton(self.compare_button)
        compare_group.addButton(self.split_button)
        self.compare_button.toggled.connect(lambda on: self.set_compare("ungraded" if on else "graded"))
        self.split_button.toggled.connect(lambda on: self.set_compare("split" if on else "graded"))
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
        # Compare and the display path sit beside the scrub bar, which can shrink: the viewer's minimum
        # width (and so the window's) stays what the transport row needs.
        scrub = QHBoxLayout()
        scrub.setContentsMargins(0, 0, 6, 0)
        scrub.addWidget(self.slider, 1)
        scrub.addWidget(self.compare_button)
        scrub.addWidget(self.split_button)
        scrub.addWidget(self.path_label)
        layout.addLayout(scrub)
        layout.addLayout(transport)

        player.frame_ready.connect(self._on_frame)
        player.position_changed.connect(self._on_position)
        player.playing_changed.connect(self._on_playing_changed)
        self._update_range()
        self._on_position(player.position)
        self._update_marks()
        self._update_display_settings()
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
        """The player's picture as uint8 [H, W, 3] RGB (a start image for a generation), or None.

        These are the export's values (graded, unless the A/B toggle shows the clips ungraded), before the
        display transform and without the split divider."""
        return None if self._picture.isNull() else qimage_to_array(self._picture)

    def displayed_image(self) -> QImage:
        """What the frame view was handed (split composed; on the CPU path also display-transformed)."""
        return self.frame_view.image()

    def picture_rect(self) -> QRect:
        """Where the picture lands in the frame view (and so in a hosted overlay), letterboxed; empty before
        the first picture."""
        return self.frame_view.image_rect()

    def picture_size(self) -> QSize:
        """The picture's own size in pixels (the project's frame size); empty before the first picture."""
        return self._picture.size()

    # ---------------------------------------------------------------------------------------- overlays
    def set_overlay(self, widget: QWidget | None) -> None:
        """Host `widget` over the picture (the mask painter): a child of the frame view kept at its size, so
        its coordinates are the frame view's and `picture_rect()` applies; it moves along if the GPU path
        gives way to the CPU one. None removes the current overlay (it is hidden, not deleted)."""
        if self._overlay is not None and self._overlay is not widget:
            self._overlay.hide()
            self._overlay.setParent(None)
        self._overlay = widget
        if widget is not None:
            self._host_overlay()

    def overlay(self) -> QWidget | None:
        return self._overlay

    def _host_overlay(self) -> None:
        widget = self._overlay
        if widget is None:
            return
        visible = not widget.isHidden()  # setParent hides a widget: keep what its owner chose
        widget.setParent(self.frame_view)
        widget.setGeometry(self.frame_view.rect())
        widget.setVisible(visible)
        widget.raise_()
        self.frame_view.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.frame_view and event.type() == QEvent.Type.Resize and self._overlay is not None:
            self._overlay.setGeometry(self.frame_view.rect())
        return super().eventFilter(watched, event)

    @property
    def display_path(self) -> str:
        """Where the display transform runs: "gpu" (OCIO GLSL in OpenGL) or "cpu" (OCIO's CPU processor)."""
        return "gpu" if isinstance(self.frame_view, GLFrameView) else "cpu"

    @property
    def compare_mode(self) -> str:
        return self._compare

    def set_compare(self, mode: str) -> None:
        """Show "graded" (what the export has), "ungraded" (the A/B toggle) or "split" (left ungraded)."""
        if mode not in COMPARE_MODES:
            raise ValueError(f"compare mode must be one of {COMPARE_MODES}, not {mode!r}")
        if mode == self._compare:
            return
        self._compare = mode
        for button, its_mode in ((self.compare_button, "ungraded"), (self.split_button, "split")):
            button.blockSignals(True)
            button.setChecked(mode == its_mode)
            button.blockSignals(False)
        if mode == "split":
            self._start_split()
        else:
            self._stop_split()
        self._player.set_graded(mode != "ungraded")  # re-renders the current frame when it changes
        self._present()
        self.compare_changed.emit(mode)

    def shutdown(self) -> None:
        """Stop the split compare's player (the main player belongs to whoever made this viewer)."""
        self._stop_split()

    def _on_frame(self, frame: int, image: QImage) -> None:
        self._shown_frame = int(frame)
        self._picture = image
        self._update_display_settings()
        self._present()
        self._update_range()  # the player re-renders after every edit: the timeline may have grown

    def _present(self) -> None:
        image = self._picture
        if image.isNull():
            return
        if self._compare == "split" and not self._ungraded.isNull():
            image = split_image(self._ungraded, image)
        if isinstance(self.frame_view, FrameView):
            image = self._display.apply(image)
        self.frame_view.set_image(image)
        self.picture_changed.emit()

    def _update_display_settings(self) -> None:
        # The settings live in the document and an edit there re-renders the frame, which lands here: a dict
        # comparison per frame keeps the display transform current without a second subscription.
        if not self._display.update(self._player.doc.color_settings()):
            return
        if isinstance(self.frame_view, GLFrameView):
            self.frame_view.set_processor(self._display.processor)
        self._update_path_label()

    def _update_path_label(self) -> None:
        gpu = self.display_path == "gpu"
        self.path_label.setText("GPU" if gpu else "CPU")
        where = "on the GPU (OpenColorIO GLSL, OpenGL)" if gpu else "on the CPU (OpenColorIO)"
        tip = f"Display transform {self._display.description} {where}"
        if self._gpu_error:
            tip += f"\nThe GPU path stopped: {self._gpu_error}"
        if self._display.error:
            tip += f"\nColour settings unusable, showing the picture unchanged: {self._display.error}"
        self.path_label.setToolTip(tip)

    def _gpu_failed(self, message: str) -> None:
        """The driver could not run the shader: swap in the CPU view, keep showing the picture."""
        self._gpu_error = message
        old = self.frame_view
        self.frame_view = FrameView(self)
        self.layout().replaceWidget(old, self.frame_view)
        old.hide()
        self._host_overlay()  # before the old view goes: the overlay is its child
        old.deleteLater()
        self._present()
        self._update_path_label()

    # ------------------------------------------------------------------------------------ split compare
    def _start_split(self) -> None:
        if self._split_player is not None:
            return
        from app.media.workers import TimelinePlayer  # runtime import: app.media imports nothing from ui

        follower = TimelinePlayer(self._player.doc, audio=False)
        follower.set_graded(False)
        follower.frame_ready.connect(self._on_ungraded_frame)
        # If the viewer goes first, its follower's decode thread must still be stopped (the lambda holds
        # the player, not the viewer).
        self._split_cleanup = self.destroyed.connect(lambda *_: follower.shutdown())
        self._split_player = follower
        follower.seek(self._player.position)

    def _stop_split(self) -> None:
        follower, self._split_player = self._split_player, None
        self._ungraded = QImage()
        if follower is None:
            return
        self.destroyed.disconnect(self._split_cleanup)
        self._split_cleanup = None
        follower.frame_ready.disconnect(self._on_ungraded_frame)
        follower.shutdown()
        follower.deleteLater()

    def _on_ungraded_frame(self, frame: int, image: QImage) -> None:
        if self._split_player is None:
            return
        self._ungraded = image
        self._present()

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
        if self._split_player is not None and self._split_player.position != frame:
            self._split_player.seek(frame)
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
