"""Mask painting over the viewer's picture: brush, eraser, rectangle, ellipse, invert, clear.

`MaskPainter` is a transparent widget the viewer hosts over its picture (`Viewer.set_overlay`). It paints
one clip's inpainting mask (app.masks: uint8 at the clip's media size, 0 keep .. 255 regenerate) as a
semi-transparent red tint. Widget positions map to media pixels through the viewer's letterboxed picture
rect and then through the compositor's letterbox of the media inside the project frame, so a clip whose size
differs from the project's is painted where it is shown.

A stroke paints into a working copy live; on release the mask is written through the `MaskStore` (a new
content-addressed file) and ONE `push_edit` points the clip at it (`doc.set_clip_mask`), so every stroke is
one undo step. The working copy is reloaded from the document after every change, which is how undo shows
the previous mask. An empty mask is stored as no mask. The right mouse button erases with any tool.

`MaskToolBar` (`painter.toolbar`) holds the controls: a "Paint mask" toggle (off: the overlay is hidden and
the viewer behaves as always), the tools, size and feather in media pixels, invert and clear.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QUndoStack
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.commands import push_edit
from app.document import ClipInfo, DocumentChange, TimelineDocument
from app.errors import AppError
from app.masks import MaskStore, clear, invert, paint_ellipse, paint_rect, paint_stroke
from ui.viewer import Viewer

TOOLS = ("brush", "eraser", "rect", "ellipse")
TINT = (230, 40, 40)  # the overlay's colour; its opacity follows the mask value
TINT_OPACITY = 0.45  # at mask 255: the picture stays readable under the tint

StoreProvider = Callable[[], MaskStore]


# ------------------------------------------------------------------------------------ pure mapping helpers
def fitted_rect(outer: QRectF, inner: QSize) -> QRectF:
    """Where a picture of size `inner` lands when letterboxed into `outer` (app.media.compositor.letterbox's
    arithmetic: scaled size rounded, offset floored), in `outer`'s units."""
    if inner.isEmpty() or outer.isEmpty():
        return QRectF()
    scale = min(outer.width() / inner.width(), outer.height() / inner.height())
    width, height = max(1, round(inner.width() * scale)), max(1, round(inner.height() * scale))
    x0 = (round(outer.width()) - width) // 2
    y0 = (round(outer.height()) - height) // 2
    return QRectF(outer.x() + x0, outer.y() + y0, width, height)


def media_rect_in_widget(picture_rect: QRect, frame_size: QSize, media_size: QSize) -> QRectF:
    """The clip's media as shown: inside the viewer's picture rect (widget pixels), letterboxed into the
    project frame the way the compositor does it."""
    if picture_rect.isEmpty() or frame_size.isEmpty() or media_size.isEmpty():
        return QRectF()
    in_frame = fitted_rect(QRectF(0, 0, frame_size.width(), frame_size.height()), media_size)
    sx = picture_rect.width() / frame_size.width()
    sy = picture_rect.height() / frame_size.height()
    return QRectF(
        picture_rect.x() + in_frame.x() * sx,
        picture_rect.y() + in_frame.y() * sy,
        in_frame.width() * sx,
        in_frame.height() * sy,
    )


def widget_to_media(
    pos: QPointF, picture_rect: QRect, frame_size: QSize, media_size: QSize
) -> QPointF | None:
    """A widget position as media pixel coordinates (continuous: pixel (i, j) spans i..i+1), None when the
    picture is not known yet. Positions off the picture map outside 0..size (a stroke may start off it)."""
    shown = media_rect_in_widget(picture_rect, frame_size, media_size)
    if shown.isEmpty():
        return None
    return QPointF(
        (pos.x() - shown.x()) * media_size.width() / shown.width(),
        (pos.y() - shown.y()) * media_size.height() / shown.height(),
    )


def clip_source_range(
    clip: ClipInfo,
    rate: float,
    in_point: int | None,
    out_point: int | None,
    file_fps: float | None = None,
    file_frames: int | None = None,
) -> tuple[int, int] | None:
    """The viewer's in/out marks (timeline frames, out inclusive) as the frames of the clip's media file
    `(first, end_exclusive)` -- what a mask's "in"/"out" and an inpaint's range count -- clipped to the clip;
    no marks: the whole clip; None when they miss it. Source positions are timeline-rate frames; a file at
    another rate maps each shown frame to the file frame playback shows (floor(seconds * fps)). `file_fps`
    None means the file runs at the timeline rate."""

    def frames(t) -> int:  # noqa: ANN001 - an OTIO RationalTime
        return int(round(t.rescaled_to(rate).value))

    start, end, source = frames(clip.start), frames(clip.end), frames(clip.source_start)
    first = start if in_point is None else max(start, int(in_point))
    last = end if out_point is None else min(end, int(out_point) + 1)
    if last <= first:
        return None
    first, last = source + first - start, source + last - start  # timeline-rate source frames
    if file_fps is not None and abs(float(file_fps) - float(rate)) > 1e-6:
        ratio = float(file_fps) / float(rate)
        first = int(np.floor(first * ratio + 1e-9))
        last = int(np.floor((last - 1) * ratio + 1e-9)) + 1
    if file_frames is not None:
        last = min(last, int(file_frames))
        if last <= first:
            return None
    return first, last


def mask_range_for(
    doc: TimelineDocument, clip_id: str, in_point: int | None, out_point: int | None
) -> tuple[int, int] | None:
    """`clip_source_range` for a clip of `doc`, with its media file's rate and length."""
    clip = doc.clip(clip_id)
    info = doc.bin_item(clip.media_id).info if clip.media_id else None
    fps = float(info.fps) if info is not None and info.fps else None
    count = int(info.frame_count) if info is not None and info.frame_count else None
    return clip_source_range(clip, doc.rate, in_point, out_point, fps, count)


def overlay_image(
    mask: np.ndarray, color: tuple[int, int, int] = TINT, opacity: float = TINT_OPACITY
) -> QImage:
    """The mask as a premultiplied ARGB image: `color` with alpha = mask * opacity."""
    height, width = mask.shape
    alpha = (mask.astype(np.uint16) * int(round(opacity * 256)) >> 8).astype(np.uint8)
    argb = np.empty((height, width, 4), np.uint8)  # ARGB32 is B, G, R, A in memory (little endian)
    for channel, value in zip((2, 1, 0), color, strict=True):
        argb[..., channel] = (alpha.astype(np.uint16) * value // 255).astype(np.uint8)
    argb[..., 3] = alpha
    return QImage(argb.data, width, height, 4 * width, QImage.Format.Format_ARGB32_Premultiplied).copy()


# ------------------------------------------------------------------------------------------------ toolbar
class MaskToolBar(QWidget):
    """The mask painter's controls; the painter reads them and listens to their signals."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("maskToolBar")
        # The app's style sheet leaves checked tool buttons looking unchecked: the active tool must show.
        self.setStyleSheet(
            "QToolButton:checked { background: rgb(64, 140, 230); color: white; border-radius: 3px; }"
        )
        self.paint_button = QToolButton(self, text="Paint mask", checkable=True, objectName="paintMaskButton")
        self.paint_button.setToolTip(
            "Paint the region to regenerate on the picture (the viewer's clicks paint)"
        )
        self.tool_buttons: dict[str, QToolButton] = {}
        self.tool_group = QButtonGroup(self)
        for tool, text, tip in (
            ("brush", "Brush", "Paint the region to regenerate (right button erases)"),
            ("eraser", "Eraser", "Remove from the region"),
            ("rect", "Rectangle", "Drag a rectangle (right button cuts one out)"),
            ("ellipse", "Ellipse", "Drag an ellipse (right button cuts one out)"),
        ):
            button = QToolButton(self, text=text, checkable=True, objectName=f"mask{tool.capitalize()}Button")
            button.setToolTip(tip)
            self.tool_group.addButton(button)
            self.tool_buttons[tool] = button
        self.tool_buttons["brush"].setChecked(True)
        self.size_spin = QSpinBox(self, objectName="maskSizeSpin", suffix=" px")
        self.size_spin.setRange(1, 1024)
        self.size_spin.setValue(48)
        self.size_spin.setToolTip("Brush diameter in pixels of the clip")
        self.feather_spin = QSpinBox(self, objectName="maskFeatherSpin", suffix=" px")
        self.feather_spin.setRange(0, 512)
        self.feather_spin.setValue(8)
        self.feather_spin.setToolTip("Soft edge width: the result blends into the original over it")
        self.invert_button = QToolButton(self, text="Invert", objectName="maskInvertButton")
        self.clear_button = QToolButton(self, text="Clear", objectName="maskClearButton")
        self.status_label = QLabel(self, objectName="maskStatus")
        self.status_label.setWordWrap(True)

        # Three short rows rather than two long ones: the Inpaint form must fit the Generate dock's width on
        # a 1366-pixel laptop screen (tests/ui/test_small_screen.py).
        buttons = [self.paint_button, *self.tool_buttons.values(), self.invert_button, self.clear_button]
        rows = (buttons[:3], buttons[3:])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for row in rows:
            line = QHBoxLayout()
            line.setContentsMargins(0, 0, 0, 0)
            for button in row:
                line.addWidget(button)
            line.addStretch(1)
            layout.addLayout(line)
        options = QHBoxLayout()
        options.setContentsMargins(0, 0, 0, 0)
        options.addWidget(QLabel("Size", self))
        options.addWidget(self.size_spin)
        options.addWidget(QLabel("Feather", self))
        options.addWidget(self.feather_spin)
        options.addStretch(1)
        layout.addLayout(options)
        layout.addWidget(self.status_label)

    def tool(self) -> str:
        return next(tool for tool, button in self.tool_buttons.items() if button.isChecked())

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"tool must be one of {TOOLS}, not {tool!r}")
        self.tool_buttons[tool].setChecked(True)


# ------------------------------------------------------------------------------------------------ painter
class MaskPainter(QWidget):
    """The overlay that paints one clip's mask. `set_clip(clip_id)` picks the clip (None: nothing to paint);
    `set_painting(True)` shows the overlay and lets it take the mouse."""

    mask_changed = Signal(object)  # the shown clip's mask dict ({"id", "in", "out"}) or None, when it changes
    painting_changed = Signal(bool)

    def __init__(
        self,
        viewer: Viewer,
        doc: TimelineDocument,
        undo_stack: QUndoStack,
        store_provider: StoreProvider,
        parent: QWidget | None = None,
    ) -> None:
        """`store_provider` returns the project's MaskStore now (its folder moves when a project is saved)."""
        super().__init__(parent)
        self.setObjectName("maskPainter")
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setMouseTracking(True)  # the brush outline follows the pointer
        self._viewer = viewer
        self._doc = doc
        self._stack = undo_stack
        self._store_provider = store_provider
        self._clip_id: str | None = None
        self._loaded: dict | None = None  # the document's mask dict the working copy came from
        self._mask: np.ndarray | None = None  # working copy, uint8 [H, W] at the media size
        self._overlay = QImage()
        self._stroke: tuple[str, bool] | None = None  # (tool, erase) while a button is held
        self._last: QPointF | None = None  # media position of the last brush stamp
        self._drag_start: QPointF | None = None  # widget positions of a rectangle/ellipse drag
        self._drag_end: QPointF | None = None
        self._hover: QPointF | None = None

        self.toolbar = MaskToolBar()
        self.toolbar.paint_button.toggled.connect(self.set_painting)
        self.toolbar.invert_button.clicked.connect(self.invert)
        self.toolbar.clear_button.clicked.connect(self.clear)
        self.toolbar.size_spin.valueChanged.connect(lambda _v: self.update())

        self.hide()
        viewer.set_overlay(self)
        viewer.picture_changed.connect(self.update)
        # The document outlives views: unsubscribe when this widget goes (the lambda holds no `self`).
        unsubscribe = doc.subscribe(self._on_document_changed)
        self.destroyed.connect(lambda *_: unsubscribe())
        self._update_state()

    # ------------------------------------------------------------------------------------------- public
    @property
    def clip_id(self) -> str | None:
        return self._clip_id

    def set_clip(self, clip_id: str | None) -> None:
        """Paint `clip_id`'s mask from now on (None or a clip without a picture: nothing to paint)."""
        self._clip_id = clip_id
        self._cancel_stroke()
        self._reload(force=True)

    def store(self) -> MaskStore:
        """The project's mask store now."""
        return self._store_provider()

    def mask_id(self) -> str | None:
        """The id of the clip's mask file in the document (None: no mask)."""
        mask = self._doc_mask()
        return None if mask is None else mask.get("id")

    def mask_info(self) -> dict | None:
        """The clip's mask dict in the document ({"id", "in", "out"}) or None."""
        return self._doc_mask()

    def mask_array(self) -> np.ndarray | None:
        """A copy of the working mask (uint8 [H, W] at the clip's media size), None without a clip."""
        return None if self._mask is None else self._mask.copy()

    @property
    def painting(self) -> bool:
        return self.toolbar.paint_button.isChecked()

    def set_painting(self, on: bool) -> None:
        """Show the overlay and take the viewer's mouse (on), or hide it (off: the viewer as always)."""
        if self.toolbar.paint_button.isChecked() != on:
            self.toolbar.paint_button.setChecked(on)  # comes back here through `toggled`
            return
        self._cancel_stroke()
        self.setVisible(on)
        if on:
            self.raise_()
        self.painting_changed.emit(on)

    def tool(self) -> str:
        return self.toolbar.tool()

    def set_tool(self, tool: str) -> None:
        self.toolbar.set_tool(tool)

    def invert(self) -> None:
        """Swap what is kept and what is regenerated (an empty mask becomes the whole frame: a retake)."""
        if self._mask is not None:
            self._commit(invert(self._mask), "Invert mask")

    def clear(self) -> None:
        if self._mask is not None:
            self._commit(clear(self._mask), "Clear mask")

    def media_size(self) -> QSize:
        """The clip's picture size in pixels (the mask's size); empty when there is no clip or no picture."""
        if self._clip_id is None:
            return QSize()
        try:
            clip = self._doc.clip(self._clip_id)
            info = self._doc.bin_item(clip.media_id).info if clip.media_id else None
        except AppError:
            return QSize()
        if info is None or not info.has_video or not info.width or not info.height:
            return QSize()
        return QSize(int(info.width), int(info.height))

    def to_media(self, pos: QPointF) -> QPointF | None:
        """A position in this widget (the viewer's frame view) in the clip's media pixels."""
        return widget_to_media(
            pos, self._viewer.picture_rect(), self._viewer.picture_size(), self.media_size()
        )

    def media_rect(self) -> QRectF:
        """Where the clip's media is shown in this widget."""
        return media_rect_in_widget(
            self._viewer.picture_rect(), self._viewer.picture_size(), self.media_size()
        )

    # ------------------------------------------------------------------------------------------- events
    def mousePressEvent(self, event: QMouseEvent) -> None:
        button = event.button()
        if self._mask is None or button not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            event.ignore()
            return
        tool = self.tool()
        erase = tool == "eraser" or button == Qt.MouseButton.RightButton
        self._stroke = (tool, erase)
        pos = event.position()
        if tool in ("brush", "eraser"):
            self._last = None
            self._stamp_to(pos)
        else:
            self._drag_start = self._drag_end = QPointF(pos)
        self.update()
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        self._hover = QPointF(pos)
        if self._stroke is not None:
            if self._stroke[0] in ("brush", "eraser"):
                self._stamp_to(pos)
            else:
                self._drag_end = QPointF(pos)
        self.update()
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._stroke is None:
            event.ignore()
            return
        tool, erase = self._stroke
        pos = event.position()
        if tool in ("brush", "eraser"):
            self._stamp_to(pos)
            text = "Erase mask" if erase else "Paint mask"
            self._stroke, self._last = None, None
            self._commit(self._mask, text)
        else:
            self._drag_end = QPointF(pos)
            shape = self._drag_shape(tool, erase)
            self._stroke = self._drag_start = self._drag_end = None
            if shape is not None:
                self._commit(
                    shape, f"{'Cut' if erase else 'Mask'} {'rectangle' if tool == 'rect' else 'ellipse'}"
                )
        self.update()
        event.accept()

    def leaveEvent(self, event) -> None:  # noqa: ANN001 - QEvent
        self._hover = None
        self.update()
        super().leaveEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        shown = self.media_rect()
        if shown.isEmpty():
            return
        painter = QPainter(self)
        if not self._overlay.isNull():
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(shown, self._overlay)
        pen = QPen(QColor(255, 255, 255, 200), 1, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if self._drag_start is not None and self._drag_end is not None:
            box = QRectF(self._drag_start, self._drag_end).normalized()
            if self._stroke is not None and self._stroke[0] == "ellipse":
                painter.drawEllipse(box)
            else:
                painter.drawRect(box)
        elif self._hover is not None and self.tool() in ("brush", "eraser"):
            media = self.media_size()
            radius = self.toolbar.size_spin.value() / 2 * shown.width() / max(1, media.width())
            painter.drawEllipse(self._hover, radius, radius)
        painter.end()

    # -------------------------------------------------------------------------------------------- inside
    def _doc_mask(self) -> dict | None:
        if self._clip_id is None:
            return None
        try:
            return self._doc.clip(self._clip_id).mask
        except AppError:
            return None

    def _on_document_changed(self, change: DocumentChange) -> None:
        if change.kind in ("reset", "clips", "bin"):
            self._reload()

    def _reload(self, force: bool = False) -> None:
        """Make the working copy the document's mask again (after an undo, a redo, another clip)."""
        if self._clip_id is not None:
            try:
                self._doc.clip(self._clip_id)
            except AppError:  # the clip left the timeline (an undo of its insert, a delete)
                self._clip_id = None
        doc_mask = self._doc_mask()
        size = self.media_size()
        if not force and doc_mask == self._loaded and self._mask is not None and self._same_size(size):
            return
        self._cancel_stroke()
        changed = doc_mask != self._loaded
        self._loaded = doc_mask
        self._mask = None
        message = ""
        if not size.isEmpty():
            blank = np.zeros((size.height(), size.width()), np.uint8)
            self._mask = blank
            if doc_mask is not None and doc_mask.get("id"):
                try:
                    loaded = self._store_provider().load(doc_mask["id"])
                except AppError as exc:
                    message = (
                        f"The clip's mask could not be read ({exc}); painting starts from an empty mask."
                    )
                else:
                    if loaded.shape == blank.shape:
                        self._mask = loaded
                    else:
                        message = (
                            f"The clip's mask is {loaded.shape[1]}x{loaded.shape[0]} but its picture is "
                            f"{size.width()}x{size.height()}; painting starts from an empty mask."
                        )
        self._overlay = QImage() if self._mask is None else overlay_image(self._mask)
        self._update_state(message)
        self.update()
        if changed:
            self.mask_changed.emit(doc_mask)

    def _same_size(self, size: QSize) -> bool:
        return self._mask is not None and self._mask.shape == (size.height(), size.width())

    def _update_state(self, message: str = "") -> None:
        enabled = self._mask is not None
        for widget in (self.toolbar.invert_button, self.toolbar.clear_button):
            widget.setEnabled(enabled)
        if not message:
            if self._clip_id is None:
                message = "Select a video clip to paint its mask."
            elif self._mask is None:
                message = "This clip has no picture to paint on (its media is missing or has no video)."
            else:
                info = self._loaded
                message = (
                    "No mask yet: paint the region to regenerate."
                    if info is None
                    else f"Mask on source frames {info.get('in')}–{int(info.get('out', 0)) - 1}."
                )
        self.toolbar.status_label.setText(message)

    def _cancel_stroke(self) -> None:
        self._stroke = None
        self._last = self._drag_start = self._drag_end = None

    def _stamp_to(self, pos: QPointF) -> None:
        """Paint brush stamps from the last stamp to `pos` (media pixels), close enough to read as a line."""
        point = self.to_media(pos)
        if point is None or self._mask is None or self._stroke is None:
            return
        radius = self.toolbar.size_spin.value() / 2
        points = [(point.x(), point.y())] if self._last is None else [(self._last.x(), self._last.y())]
        points.append((point.x(), point.y()))
        mask = paint_stroke(
            self._mask, points, radius, self.toolbar.feather_spin.value(), erase=self._stroke[1]
        )
        self._mask = mask
        self._last = point
        self._overlay = overlay_image(mask)

    def _drag_shape(self, tool: str, erase: bool) -> np.ndarray | None:
        if self._drag_start is None or self._drag_end is None or self._mask is None:
            return None
        a, b = self.to_media(self._drag_start), self.to_media(self._drag_end)
        if a is None or b is None:
            return None
        rect = (min(a.x(), b.x()), min(a.y(), b.y()), abs(b.x() - a.x()), abs(b.y() - a.y()))
        if rect[2] < 1 or rect[3] < 1:
            return None  # a click, not a drag
        paint = paint_rect if tool == "rect" else paint_ellipse
        return paint(self._mask, rect, self.toolbar.feather_spin.value(), erase=erase)

    def _mask_range(self) -> tuple[int, int] | None:
        """The source frames a new mask applies to: the viewer's marks on the clip, else the range the clip's
        mask already has, else the whole clip."""
        marks = (self._viewer.in_point, self._viewer.out_point)
        if marks == (None, None) and self._loaded is not None:
            return int(self._loaded["in"]), int(self._loaded["out"])
        return mask_range_for(self._doc, self._clip_id, *marks)

    def _commit(self, mask: np.ndarray | None, text: str) -> None:
        """Store `mask` and point the clip at it as one undo step (an empty mask: the clip has no mask)."""
        if mask is None or self._clip_id is None:
            return
        clip_id = self._clip_id
        try:
            if not mask.any():
                value = None
            else:
                span = self._mask_range()
                if span is None:
                    self._reload(force=True)
                    self._update_state(
                        "The in/out marks do not cover this clip: move them onto it or clear them."
                    )
                    return
                mask_id = self._store_provider().save(mask)
                value = {"id": mask_id, "in": span[0], "out": span[1]}
            if value == self._loaded:
                self._reload(force=True)
                return
            push_edit(self._stack, self._doc, text, lambda doc: doc.set_clip_mask(clip_id, value))
        except AppError as exc:
            self._reload(force=True)  # the document is unchanged: show its mask again
            self._update_state(str(exc))
            return
        self._reload(force=True)
