"""The variations grid: the clips of one batch side by side in the viewer's place, each at the same frame
(the playhead's frame relative to the clip on the timeline), so takes are compared picture for picture.

Cycling ([ and ], or Alt+Left/Right) moves the current variation; "One at a time" shows only the current
one, large, so cycling flips between them in place (as Krita AI Diffusion previews its results). The
applied take -- the one the timeline shows -- is marked ✓. "Apply" swaps the current one in as a take.
Pictures come from the studio's thumbnail provider (decoded off the UI thread, cached).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

APPLIED_MARK = "\u2713"


@dataclass(frozen=True)
class GridCell:
    """One clip of the batch: its file, length, caption and whether the timeline shows it."""

    entry_id: str
    path: str
    frames: int
    label: str
    applied: bool = False


class _Picture(QLabel):
    """A cell's picture, drawn as large as the cell allows (aspect kept), framed when it is the current."""

    def __init__(self, on_click) -> None:  # noqa: ANN001
        super().__init__(objectName="variationPicture")
        self._on_click = on_click
        self.current = False
        self.frame: int | None = None  # the frame of its clip the picture shows
        self.setMinimumSize(64, 40)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)

    def mousePressEvent(self, _event) -> None:  # noqa: ANN001, N802 (Qt override)
        self._on_click()

    def paintEvent(self, _event) -> None:  # noqa: ANN001, N802 (Qt override)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(17, 17, 17))
        pixmap = self.pixmap()
        inner = self.rect().adjusted(4, 4, -4, -4)
        if pixmap is not None and not pixmap.isNull():
            size = pixmap.size().scaled(inner.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, size.width(), size.height())
            target.moveCenter(inner.center())
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawPixmap(target, pixmap)
            frame = target.adjusted(-3, -3, 2, 2)
        else:
            frame = inner
        if self.current:
            painter.setPen(QPen(QColor(255, 204, 51), 3))
            painter.drawRect(frame)
        painter.end()


class VariationsGrid(QWidget):
    """`set_batch(cells)`, `set_frame(relative frame)`, `cycle(step)`; `apply_requested(entry id)`."""

    apply_requested = Signal(str)
    closed = Signal()
    current_changed = Signal(int)

    def __init__(self, thumbnails, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.setObjectName("variationsGrid")
        self.setStyleSheet(
            "QWidget#variationsGrid { background: #18191b; }"
            "QWidget#variationsGrid QCheckBox { color: #ddd; }"
        )
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)  # dark under any theme
        self._thumbnails = thumbnails
        self._cells: list[GridCell] = []
        self._current = 0
        self._frame = 0
        self._single = False
        self._pending: dict[tuple, tuple[int, int]] = {}  # thumbnail key -> (cell index, frame)
        self.title = QLabel(objectName="variationsTitle")
        self.title.setStyleSheet("color: #ddd; font-weight: bold;")
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.single_check = QCheckBox("One at a time", objectName="variationsSingle")
        self.single_check.setToolTip("Show only the current variation, large; [ and ] flip between them")
        self.single_check.toggled.connect(self.set_single)
        self.previous_button = QPushButton("\u25c0", objectName="variationsPrevious")
        self.previous_button.setToolTip("Previous variation ([ or Alt+Left)")
        self.previous_button.clicked.connect(lambda: self.cycle(-1))
        self.next_button = QPushButton("\u25b6", objectName="variationsNext")
        self.next_button.setToolTip("Next variation (] or Alt+Right)")
        self.next_button.clicked.connect(lambda: self.cycle(1))
        self.apply_button = QPushButton("Apply as Take", objectName="variationsApply")
        self.apply_button.setToolTip(
            "Show the current variation in its clip's place on the timeline (undoable)"
        )
        self.apply_button.clicked.connect(self._apply_current)
        self.close_button = QPushButton("Viewer", objectName="variationsClose")
        self.close_button.setToolTip("Back to the viewer (Ctrl+Shift+G)")
        self.close_button.clicked.connect(self.closed)
        for button in (self.previous_button, self.next_button):
            button.setFixedWidth(32)
        bar = QHBoxLayout()  # narrow enough for the middle of a crowded window
        bar.addStretch(1)
        for widget in (self.single_check, self.previous_button, self.next_button, self.apply_button,
                       self.close_button):  # fmt: skip
            bar.addWidget(widget)
        self._grid = QGridLayout()
        self._grid.setSpacing(6)
        self._pictures: list[_Picture] = []
        self._captions: list[QLabel] = []
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(bar)
        layout.addLayout(self._grid, 1)
        if thumbnails is not None:
            thumbnails.ready.connect(self._on_ready)

    # ------------------------------------------------------------------------------------------ public
    def cells(self) -> list[GridCell]:
        return list(self._cells)

    @property
    def current(self) -> int:
        return self._current

    @property
    def frame(self) -> int:
        return self._frame

    def current_cell(self) -> GridCell | None:
        return self._cells[self._current] if self._cells else None

    def pictures(self) -> list[QLabel]:
        """The picture labels on show (all cells, or the current one alone)."""
        return [p for p in self._pictures if not p.isHidden()]

    def captions(self) -> list[str]:
        return [c.text() for c in self._captions]

    def set_batch(
        self, cells: list[GridCell], title: str = "", current: int | None = None, frame: int | None = None
    ) -> None:
        keep = self.current_cell().entry_id if self.current_cell() is not None else None
        self._cells = list(cells)
        ids = [c.entry_id for c in cells]
        if current is not None:
            self._current = max(0, min(current, len(cells) - 1))
        elif keep in ids:
            self._current = ids.index(keep)
        else:
            self._current = next((i for i, c in enumerate(cells) if c.applied), 0)
        self.title.setText(title or f"{len(cells)} variations")
        if frame is not None:
            self._frame = max(0, int(frame))
        self._build()
        self.refresh()

    def set_frame(self, frame: int) -> None:
        if frame != self._frame:
            self._frame = max(0, int(frame))
            self.refresh()

    def set_single(self, single: bool) -> None:
        self._single = bool(single)
        if self.single_check.isChecked() != self._single:
            self.single_check.setChecked(self._single)
        self._show_cells()

    def cycle(self, step: int) -> None:
        if not self._cells:
            return
        self._current = (self._current + step) % len(self._cells)
        self._show_cells()
        self.current_changed.emit(self._current)

    def refresh(self) -> None:
        """Ask for every cell's picture at the current frame (cached ones show at once)."""
        self._pending.clear()
        for index, cell in enumerate(self._cells):
            if self._thumbnails is None or not cell.path:
                continue
            frame = min(self._frame, max(cell.frames - 1, 0))
            height = self._picture_height()
            image = self._thumbnails.request_thumbnail(cell.path, frame, height)
            if image is not None:
                self._set_picture(index, image, frame)
            else:
                self._pending[(cell.path, int(frame), int(height))] = (index, frame)

    # ---------------------------------------------------------------------------------------- inside
    def _build(self) -> None:
        for widget in self._pictures + self._captions:
            self._grid.removeWidget(widget)
            widget.deleteLater()
        self._pictures, self._captions = [], []
        columns = max(1, math.ceil(math.sqrt(len(self._cells))))
        for index, cell in enumerate(self._cells):
            picture = _Picture(lambda i=index: self._choose(i))
            caption = QLabel(self._caption(cell), objectName="variationCaption")
            caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            caption.setWordWrap(True)
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            caption.setStyleSheet("color: #ddd;")
            row, column = divmod(index, columns)
            self._grid.addWidget(picture, row * 2, column)
            self._grid.addWidget(caption, row * 2 + 1, column)
            self._grid.setRowStretch(row * 2, 1)
            self._grid.setRowStretch(row * 2 + 1, 0)
            self._pictures.append(picture)
            self._captions.append(caption)
        self._show_cells()

    def _caption(self, cell: GridCell) -> str:
        return f"{APPLIED_MARK} {cell.label}" if cell.applied else cell.label

    def _show_cells(self) -> None:
        for index, (picture, caption) in enumerate(zip(self._pictures, self._captions, strict=True)):
            visible = not self._single or index == self._current
            picture.setVisible(visible)
            caption.setVisible(visible)
            picture.current = index == self._current and not self._single
            picture.update()
        cell = self.current_cell()
        self.apply_button.setEnabled(cell is not None and not cell.applied)
        self.refresh()

    def _choose(self, index: int) -> None:
        self._current = index
        self._show_cells()
        self.current_changed.emit(index)

    def _apply_current(self) -> None:
        cell = self.current_cell()
        if cell is not None:
            self.apply_requested.emit(cell.entry_id)

    def _picture_height(self) -> int:
        rows = (
            1
            if self._single
            else max(1, math.ceil(len(self._cells) / max(1, math.ceil(math.sqrt(len(self._cells))))))
        )
        return max(72, min(720, (max(self.height(), 300) - 80) // rows - 24))

    def _on_ready(self, key: object, image: QImage) -> None:
        wanted = self._pending.pop(key, None) if isinstance(key, tuple) else None
        if wanted is not None and wanted[0] < len(self._pictures):
            self._set_picture(*wanted[:1], image, wanted[1])

    def _set_picture(self, index: int, image: QImage, frame: int) -> None:
        label = self._pictures[index]
        label.setPixmap(QPixmap.fromImage(image))
        label.frame = frame
