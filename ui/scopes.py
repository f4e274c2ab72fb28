"""Scopes beside the viewer: waveform, RGB parade, vectorscope and histogram of the frame under the playhead.

The pixels are the export's, not the viewer's: when the player rests on a frame, the panel reads what the
export needs of the document here (``FrameRequest.read``, microseconds) and a worker thread renders that
frame through the export's renderer (``app.color.scopes.ExportFrameRenderer``: 16-bit decode, the CPU
OpenColorIO grade, dissolves, titles) and computes the scope at full resolution. While playing, the panel
takes the player's frames instead (the same compositor and CPU grade, from an 8-bit decode; never the GL
viewer's display transform) at 1/4 resolution per axis, so the scopes keep up without a second decoder
competing with playback. The UI thread only posts requests and paints the finished picture; requests are
latest-wins, so a slow frame never queues behind stale ones. Nothing is computed while the panel is hidden.
"""

from __future__ import annotations

import math
import time

import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, QSize, Qt, QThread, Signal, Slot
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.color import scopes
from app.color.scopes import ExportFrameRenderer, FrameRequest, Scope
from app.errors import AppError

MODE_LABELS = {
    "waveform": "Waveform",
    "parade": "RGB Parade",
    "vectorscope": "Vectorscope",
    "histogram": "Histogram",
}
PLAYING_STEP = 4  # every 4th row and column while playing: 1/16 of the pixels
BACKGROUND = QColor(14, 15, 17)
GRID = QColor(120, 124, 130, 150)
GRID_FAINT = QColor(120, 124, 130, 70)
LABEL = QColor(170, 174, 180)
TARGET = QColor(230, 200, 90, 210)


def rgb_qimage(rgb: np.ndarray) -> QImage:
    """An owned QImage copy of a uint8 RGB [H, W, 3] array."""
    rgb = np.ascontiguousarray(rgb)
    height, width = rgb.shape[:2]
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


def qimage_rgb(image: QImage, step: int = 1) -> np.ndarray:
    """Every ``step``-th row and column of ``image`` as uint8 RGB [H, W, 3] (a copy)."""
    rgb = (
        image
        if image.format() == QImage.Format.Format_RGB888
        else image.convertToFormat(QImage.Format.Format_RGB888)
    )
    height, width, stride = rgb.height(), rgb.width(), rgb.bytesPerLine()
    data = np.frombuffer(rgb.constBits(), np.uint8, count=stride * height).reshape(height, stride)
    return data[::step, : width * 3].reshape(-1, width, 3)[:, ::step].copy()


class _Latest:
    """The newest request's number; the worker drops anything older (int reads are atomic)."""

    def __init__(self) -> None:
        self.generation = 0


class _ScopeWorker(QObject):
    """Lives on the panel's thread: renders export frames and computes scopes."""

    ready = Signal(int, object, object)  # generation, Scope, info dict
    failed = Signal(int, str)

    def __init__(self, latest: _Latest) -> None:
        super().__init__()
        self._latest = latest
        self._renderer = ExportFrameRenderer()
        self._frame: np.ndarray | None = None  # the last frame, kept for a change of mode
        self._info: dict = {}

    @Slot(int, object, str)
    def export_frame(self, generation: int, request: object, mode: str) -> None:
        if generation != self._latest.generation:
            return
        started = time.perf_counter()
        try:
            frame = self._renderer.render(request)  # type: ignore[arg-type]
        except AppError as exc:
            self.failed.emit(
                generation, f"Frame {request.frame} cannot be rendered as the export would: {exc}"
            )  # type: ignore[attr-defined]
            return
        render_ms = (time.perf_counter() - started) * 1000
        self._frame = frame
        self._info = {"frame": request.frame, "source": "export", "step": 1, "render_ms": render_ms}  # type: ignore[attr-defined]
        self._compute(generation, mode)

    @Slot(int, int, QImage, str)
    def player_frame(self, generation: int, frame: int, image: QImage, mode: str) -> None:
        if generation != self._latest.generation:
            return
        self._frame = qimage_rgb(image, PLAYING_STEP)
        self._info = {"frame": frame, "source": "player", "step": PLAYING_STEP, "render_ms": 0.0}
        self._compute(generation, mode)

    @Slot(int, str)
    def recompute(self, generation: int, mode: str) -> None:
        if generation == self._latest.generation and self._frame is not None:
            self._compute(generation, mode)

    @Slot()
    def close(self) -> None:
        self._renderer.close()
        self._frame = None

    def _compute(self, generation: int, mode: str) -> None:
        started = time.perf_counter()
        scope = scopes.compute(self._frame, mode)  # the player's frames arrive already sub-sampled
        info = dict(self._info, scope_ms=(time.perf_counter() - started) * 1000)
        if info["source"] == "player":
            scope = Scope(scope.mode, scope.counts, scope.image, scope.width, scope.height, PLAYING_STEP, 0.0)
        self.ready.emit(generation, scope, info)


class ScopeView(QWidget):
    """Paints a scope picture with its graticule (IRE / percent lines, the vectorscope's 75 % targets)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("scopeView")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 140)
        self.scope: Scope | None = None
        self._image = QImage()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(360, 260)

    def set_scope(self, scope: Scope | None) -> None:
        self.scope = scope
        self._image = QImage() if scope is None else rgb_qimage(scope.image)
        self.update()

    def plot_rect(self) -> QRectF:
        """Where the picture goes: a margin on the left for the scale; the vectorscope square."""
        area = QRectF(self.rect()).adjusted(30, 8, -8, -18)
        if self.scope is not None and self.scope.mode == "vectorscope":
            side = min(area.width(), area.height())
            return QRectF(area.center().x() - side / 2, area.center().y() - side / 2, side, side)
        return area

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        painter.setFont(QFont(self.font().family(), 7))
        rect = self.plot_rect()
        mode = self.scope.mode if self.scope is not None else "waveform"
        if not self._image.isNull():
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(rect, self._image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if mode in ("waveform", "parade"):
            self._paint_levels(painter, rect)
        elif mode == "vectorscope":
            self._paint_vectorscope(painter, rect)
        else:
            self._paint_histogram(painter, rect)
        painter.end()

    def _paint_levels(self, painter: QPainter, rect: QRectF) -> None:
        for percent in range(0, 101, 10):
            y = rect.bottom() - percent / 100 * rect.height()
            major = percent % 50 == 0 or percent in (25, 75)
            painter.setPen(QPen(GRID if major else GRID_FAINT, 1))
            painter.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))
            if major:
                painter.setPen(LABEL)
                painter.drawText(QRectF(0, y - 6, 26, 12), Qt.AlignmentFlag.AlignRight, str(percent))
        if self.scope is not None and self.scope.mode == "parade":
            columns = self.scope.counts.shape[2]
            total = self.scope.image.shape[1]
            painter.setPen(LABEL)
            for index, name in enumerate("RGB"):
                x = rect.left() + (index * (columns + 4) + columns / 2) / total * rect.width()
                painter.drawText(
                    QRectF(x - 10, rect.bottom() + 2, 20, 14), Qt.AlignmentFlag.AlignCenter, name
                )

    def _paint_vectorscope(self, painter: QPainter, rect: QRectF) -> None:
        centre = rect.center()

        def point(cb: float, cr: float) -> QPointF:
            return QPointF(centre.x() + cb * rect.width(), centre.y() - cr * rect.height())

        painter.setPen(QPen(GRID_FAINT, 1))
        painter.drawLine(point(-0.5, 0), point(0.5, 0))
        painter.drawLine(point(0, -0.5), point(0, 0.5))
        painter.setPen(QPen(GRID, 1))
        painter.drawEllipse(centre, rect.width() / 2, rect.height() / 2)
        # The skin-tone line (the I axis, 123 degrees): faces of every complexion fall near it.
        angle = math.radians(123)
        painter.setPen(QPen(GRID_FAINT, 1, Qt.PenStyle.DashLine))
        painter.drawLine(centre, point(0.5 * math.cos(angle), 0.5 * math.sin(angle)))
        box = rect.width() * 0.035
        for name, (cb, cr) in scopes.BAR_TARGETS_75.items():
            target = point(cb, cr)
            painter.setPen(QPen(TARGET, 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(target.x() - box / 2, target.y() - box / 2, box, box))
            painter.setPen(LABEL)
            outward = QPointF(target.x() - centre.x(), target.y() - centre.y())
            length = max(math.hypot(outward.x(), outward.y()), 1.0)
            label = QPointF(target.x() + outward.x() / length * 14, target.y() + outward.y() / length * 14)
            painter.drawText(
                QRectF(label.x() - 10, label.y() - 6, 20, 12), Qt.AlignmentFlag.AlignCenter, name
            )

    def _paint_histogram(self, painter: QPainter, rect: QRectF) -> None:
        for percent in (0, 25, 50, 75, 100):
            x = rect.left() + percent / 100 * rect.width()
            painter.setPen(QPen(GRID if percent in (0, 100) else GRID_FAINT, 1))
            painter.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
            painter.setPen(LABEL)
            painter.drawText(
                QRectF(x - 14, rect.bottom() + 2, 28, 14), Qt.AlignmentFlag.AlignCenter, str(percent)
            )


class ScopesPanel(QWidget):
    """The scopes dock's widget: a mode selector, the scope, and what it was computed from.

    ``bind(player, doc)`` follows a session's player; ``shutdown()`` stops the worker thread (the panel
    outlives sessions; the main window calls it when it closes)."""

    updated = Signal()  # a new scope is shown
    failed = Signal(str)

    _export = Signal(int, object, str)
    _player_frame = Signal(int, int, QImage, str)
    _recompute = Signal(int, str)
    _close = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("scopesPanel")
        self._player = None
        self._doc = None
        self._latest = _Latest()
        self._thread: QThread | None = None
        self._worker: _ScopeWorker | None = None
        self.info: dict = {}
        self.ui_thread_ms = 0.0  # the longest time a scope request or result took on the UI thread

        self.mode_box = QComboBox(self, objectName="scopeMode")
        for mode in scopes.MODES:
            self.mode_box.addItem(MODE_LABELS[mode], mode)
        self.mode_box.setToolTip("Which scope to show")
        self.mode_box.currentIndexChanged.connect(self._mode_changed)
        self.view = ScopeView(self)
        self.info_label = QLabel(self, objectName="scopeInfo")
        self.info_label.setWordWrap(True)
        self.info_label.setToolTip(
            "Scopes read the export's pixels: the graded frame in the output colour space, before the "
            "viewer's display transform, with BT.709 luma and chroma. Full resolution when paused, 1/4 "
            "while playing."
        )
        top = QHBoxLayout()
        top.setContentsMargins(4, 4, 4, 0)
        top.addWidget(self.mode_box)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.info_label)

    # -------------------------------------------------------------------------------------- public
    @property
    def mode(self) -> str:
        return self.mode_box.currentData()

    def set_mode(self, mode: str) -> None:
        if mode not in scopes.MODES:
            raise ValueError(f"scope mode must be one of {', '.join(scopes.MODES)}, not {mode!r}")
        self.mode_box.setCurrentIndex(scopes.MODES.index(mode))

    def scope(self) -> Scope | None:
        """The scope on screen (None before the first)."""
        return self.view.scope

    def bind(self, player, doc) -> None:  # noqa: ANN001 - a TimelinePlayer and its TimelineDocument
        """Follow ``player`` (a session's) from now on."""
        self.unbind()
        self._player, self._doc = player, doc
        player.frame_ready.connect(self._on_player_frame)
        player.playing_changed.connect(self._on_playing_changed)
        self.view.set_scope(None)
        self.refresh()

    def unbind(self) -> None:
        player, self._player, self._doc = self._player, None, None
        self._latest.generation += 1  # drop whatever the old session still has queued
        if player is None:
            return
        try:
            player.frame_ready.disconnect(self._on_player_frame)
            player.playing_changed.disconnect(self._on_playing_changed)
        except (RuntimeError, TypeError):  # the player is gone already
            pass

    def refresh(self) -> None:
        """Recompute for the frame under the playhead (from the export's renderer)."""
        if self._player is None or not self.isVisible():
            return
        self._request_export(self._player.position)

    def shutdown(self) -> None:
        """Stop the worker thread (waits for the frame in hand). Safe to call twice."""
        self.unbind()
        thread, self._thread = self._thread, None
        if thread is not None and thread.isRunning():
            self._close.emit()
            thread.quit()
            thread.wait()

    # ------------------------------------------------------------------------------------- internals
    def showEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt override)
        super().showEvent(event)
        self.refresh()

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        self._thread = QThread(self)
        self._thread.setObjectName("Scopes")
        self._worker = _ScopeWorker(self._latest)
        self._worker.moveToThread(self._thread)
        self._export.connect(self._worker.export_frame)
        self._player_frame.connect(self._worker.player_frame)
        self._recompute.connect(self._worker.recompute)
        self._close.connect(self._worker.close)
        self._worker.ready.connect(self._on_ready)
        self._worker.failed.connect(self._on_failed)
        self._thread.finished.connect(self._worker.deleteLater)
        self._thread.start()

    def _next(self) -> int:
        self._ensure_thread()
        self._latest.generation += 1
        return self._latest.generation

    def _request_export(self, frame: int) -> None:
        started = time.perf_counter()
        request = FrameRequest.read(self._doc, frame)  # the document is read here, on its thread
        self._export.emit(self._next(), request, self.mode)
        self._note_ui_time(started)

    def _on_player_frame(self, frame: int, image: QImage) -> None:
        if not self.isVisible() or self._player is None:
            return
        if not self._player.is_playing:
            self._request_export(frame)  # resting on a frame: the export's pixels at full resolution
        elif self._player.graded:  # playing: the player's graded frames (not while A/B shows them ungraded)
            started = time.perf_counter()
            self._player_frame.emit(self._next(), int(frame), image, self.mode)
            self._note_ui_time(started)

    def _on_playing_changed(self, playing: bool) -> None:
        if not playing:
            self.refresh()

    def _mode_changed(self, _index: int) -> None:
        if self._thread is None:
            return
        if self._player is not None and not self._player.is_playing and self.info.get("source") != "export":
            self.refresh()
            return
        self._recompute.emit(self._next(), self.mode)

    @Slot(int, object, object)
    def _on_ready(self, generation: int, scope: Scope, info: dict) -> None:
        if generation != self._latest.generation:
            return
        started = time.perf_counter()
        self.info = info
        self.view.set_scope(scope)
        where = "export frame" if info["source"] == "export" else "playing, player frame"
        size = f"{scope.width}×{scope.height}"
        detail = "full resolution" if scope.step == 1 else f"1/{scope.step} resolution"
        text = f"{where} {info['frame']} · {size} ({detail}) · {info['scope_ms']:.0f} ms"
        if scope.clipped > 0:
            text += f" · {scope.clipped * 100:.1f} % of pixels clipped by the export"
        self.info_label.setText(text)
        self._note_ui_time(started)
        self.updated.emit()

    @Slot(int, str)
    def _on_failed(self, generation: int, message: str) -> None:
        if generation != self._latest.generation:
            return
        self.view.set_scope(None)
        self.info = {}
        self.info_label.setText(message)
        self.failed.emit(message)

    def _note_ui_time(self, started: float) -> None:
        self.ui_thread_ms = max(self.ui_thread_ms, (time.perf_counter() - started) * 1000)
