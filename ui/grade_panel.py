"""The grade editor for one clip: look picker, LUT file + mix, CDL, exposure, input colour space, reset.

Every change is one undoable `push_edit` of `doc.set_clip_grade`; while a slider is held the changes share
a merge key (clip + control + drag number), so a whole drag is one undo step and the next drag is another.
Spin boxes commit on Enter / focus-out (no keyboard tracking), one step each. A grade that cannot be
applied (a malformed or missing LUT, an unknown space) is checked with `GradePipeline.validate` first: the
panel shows why and the document stays as it was.

Look thumbnails are a small picture (the clip's middle frame, else a built-in test card) rendered through
each look with the project's `GradePipeline` on a Python thread (OCIO releases the GIL) and collected on the
UI thread by a timer; results are cached per picture, look and colour settings.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QPixmap, QUndoStack
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from app.color import CDL, ColorSettings, Grade, GradePipeline, looks
from app.commands import push_edit
from app.document import TimelineDocument
from app.errors import AppError, ColorError
from app.media.workers import to_qimage

THUMB_SIZE = QSize(96, 54)
LUT_FILTER = (
    "LUT files (*.cube *.3dl *.csp *.spi1d *.spi3d *.spimtx *.lut *.cc *.ccc *.cdl *.clf *.ctf *.vf *.mga);;"
    "All files (*)"
)
_NO_LOOK = ""  # the first item of the look picker: no look
_thumb_cache: dict[tuple, np.ndarray] = {}  # (picture key, look, settings) -> uint8 thumbnail
_thumb_lock = threading.Lock()


def test_card(width: int = THUMB_SIZE.width(), height: int = THUMB_SIZE.height()) -> np.ndarray:
    """A built-in picture for look thumbnails: a sky gradient, skin-like and foliage patches, a grey ramp."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = x / max(width - 1, 1), y / max(height - 1, 1)
    rgb = np.empty((height, width, 3), np.float32)
    rgb[..., 0] = 0.35 + 0.3 * v
    rgb[..., 1] = 0.55 + 0.2 * v
    rgb[..., 2] = 0.85 - 0.2 * v
    band = v > 0.55
    rgb[band] = np.stack([0.2 + 0.1 * u[band], 0.45 - 0.1 * u[band], 0.15 + 0 * u[band]], -1)
    patch = (u > 0.15) & (u < 0.45) & (v > 0.25) & (v < 0.75)
    rgb[patch] = (0.85, 0.62, 0.5)  # skin-like
    ramp = v > 0.85
    rgb[ramp] = np.repeat(u[ramp, None], 3, axis=1)
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


class SliderField(QWidget):
    """A slider with a spin box beside it for one float value; `changed(value, dragging)`."""

    changed = Signal(float, bool)
    released = Signal()

    def __init__(self, minimum: float, maximum: float, step: float, decimals: int, parent=None) -> None:
        super().__init__(parent)
        self._scale = 1.0 / step
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(round(minimum * self._scale), round(maximum * self._scale))
        self.spin = QDoubleSpinBox()
        self.spin.setRange(minimum, maximum)
        self.spin.setSingleStep(step)
        self.spin.setDecimals(decimals)
        self.spin.setKeyboardTracking(False)
        self.spin.setFixedWidth(72)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        self.slider.valueChanged.connect(self._slider_changed)
        self.slider.sliderReleased.connect(self.released)
        self.spin.valueChanged.connect(self._spin_changed)

    def value(self) -> float:
        return float(self.spin.value())

    def set_value(self, value: float) -> None:
        """Show `value` without emitting `changed` (the document changed, not the user)."""
        for widget in (self.slider, self.spin):
            widget.blockSignals(True)
        self.slider.setValue(round(value * self._scale))
        self.spin.setValue(value)
        for widget in (self.slider, self.spin):
            widget.blockSignals(False)

    def _slider_changed(self, position: int) -> None:
        value = position / self._scale
        self.spin.blockSignals(True)
        self.spin.setValue(value)
        self.spin.blockSignals(False)
        self.changed.emit(value, self.slider.isSliderDown())

    def _spin_changed(self, value: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(round(value * self._scale))
        self.slider.blockSignals(False)
        self.changed.emit(float(value), False)


class GradePanel(QWidget):
    """Edits the grade of one video clip (`set_clip`); follows the document through undo and redo."""

    def __init__(
        self, doc: TimelineDocument, undo_stack: QUndoStack | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("gradePanel")
        self._doc = doc
        self._stack = undo_stack if undo_stack is not None else QUndoStack(self)
        self._clip_id: str | None = None
        self._lut_path: str | None = None
        self._drag = 0  # bumped when a slider is released: the next drag is a new undo step
        self._pipeline_key: dict | None = None
        self._pipeline: GradePipeline | None = None
        self._settings: ColorSettings | None = None
        self._thumb_results: queue.Queue = queue.Queue()
        self._thumb_pending = 0
        self._thumb_picture: tuple | None = None

        heading = QLabel("Grade", objectName="inspectorSection")
        self.error_label = QLabel(objectName="gradeError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #ff6b6b;")
        self.error_label.hide()

        self.look_list = QListWidget(objectName="lookPicker")
        self.look_list.setViewMode(QListView.ViewMode.IconMode)
        self.look_list.setIconSize(THUMB_SIZE)
        self.look_list.setGridSize(QSize(THUMB_SIZE.width() + 14, THUMB_SIZE.height() + 30))
        self.look_list.setResizeMode(QListView.ResizeMode.Adjust)
        self.look_list.setMovement(QListView.Movement.Static)
        self.look_list.setWordWrap(True)
        self.look_list.setMinimumHeight(THUMB_SIZE.height() + 40)
        self.look_list.setMaximumHeight(2 * (THUMB_SIZE.height() + 30) + 8)
        self.look_list.currentItemChanged.connect(self._look_picked)

        self.lut_edit = QLineEdit(objectName="lutPath", readOnly=True, placeholderText="No LUT file")
        self.lut_browse = QPushButton("Browse…")
        self.lut_browse.clicked.connect(self.choose_lut_file)
        self.lut_clear = QPushButton("Clear")
        self.lut_clear.clicked.connect(lambda: self.set_lut_file(None))
        self.mix = SliderField(0.0, 1.0, 0.01, 2)
        self.exposure = SliderField(-4.0, 4.0, 0.01, 2)
        self.saturation = SliderField(0.0, 2.0, 0.01, 2)
        self.cdl_spins: dict[str, list[QDoubleSpinBox]] = {}
        ranges = {
            "slope": (0.0, 4.0, 0.01, 1.0),
            "offset": (-1.0, 1.0, 0.005, 0.0),
            "power": (0.1, 4.0, 0.01, 1.0),
        }
        cdl_grid = QGridLayout()
        cdl_grid.setContentsMargins(0, 0, 0, 0)
        for column, channel in enumerate(("R", "G", "B"), start=1):
            cdl_grid.addWidget(QLabel(channel, alignment=Qt.AlignmentFlag.AlignCenter), 0, column)
        for row, (name, (low, high, step, _neutral)) in enumerate(ranges.items(), start=1):
            cdl_grid.addWidget(QLabel(name.capitalize()), row, 0)
            spins = []
            for column in range(3):
                spin = QDoubleSpinBox(objectName=f"cdl_{name}_{'rgb'[column]}")
                spin.setRange(low, high)
                spin.setSingleStep(step)
                spin.setDecimals(3)
                spin.setKeyboardTracking(False)
                spin.valueChanged.connect(lambda _v, n=name: self._commit(f"cdl_{n}"))
                cdl_grid.addWidget(spin, row, column + 1)
                spins.append(spin)
            self.cdl_spins[name] = spins
        self.input_space = QComboBox(objectName="inputSpace")
        self.input_space.currentIndexChanged.connect(lambda _i: self._commit("input_space"))
        self.reset_button = QPushButton("Reset grade", objectName="resetGrade")
        self.reset_button.clicked.connect(self.reset)

        for name, field in (("mix", self.mix), ("exposure", self.exposure), ("saturation", self.saturation)):
            field.changed.connect(lambda _v, dragging, n=name: self._commit(n, dragging))
            field.released.connect(self._drag_ended)

        lut_row = QHBoxLayout()
        lut_row.addWidget(self.lut_edit, 1)
        lut_row.addWidget(self.lut_browse)
        lut_row.addWidget(self.lut_clear)
        form = QGridLayout()
        form.setContentsMargins(0, 0, 0, 0)
        rows: list[tuple[str, object]] = [
            ("LUT file", lut_row),
            ("LUT mix", self.mix),
            ("Exposure", self.exposure),
            ("Saturation", self.saturation),
            ("CDL", cdl_grid),
            ("Input space", self.input_space),
        ]
        for row, (label, item) in enumerate(rows):
            form.addWidget(QLabel(label, objectName="inspectorLabel"), row, 0, Qt.AlignmentFlag.AlignRight)
            if isinstance(item, QWidget):
                form.addWidget(item, row, 1)
            else:
                form.addLayout(item, row, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(heading)
        layout.addWidget(QLabel("Look", objectName="inspectorLabel"))
        layout.addWidget(self.look_list)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.reset_button, 0, Qt.AlignmentFlag.AlignLeft)

        self._thumb_timer = QTimer(self)
        self._thumb_timer.setInterval(30)
        self._thumb_timer.timeout.connect(self._collect_thumbnails)
        self._fill_looks()
        unsubscribe = doc.subscribe(self._on_document_changed)
        self.destroyed.connect(lambda *_: unsubscribe())
        self.set_clip(None)

    # ------------------------------------------------------------------------------------------ public
    @property
    def clip_id(self) -> str | None:
        return self._clip_id

    @property
    def undo_stack(self) -> QUndoStack:
        return self._stack

    def set_clip(self, clip_id: str | None) -> None:
        """Edit `clip_id`'s grade (None or an unknown id: nothing to edit, controls disabled)."""
        if clip_id is not None:
            try:
                self._doc.clip(clip_id)
            except AppError:
                clip_id = None
        if clip_id != self._clip_id:
            self._drag += 1
            self.show_error("")
        self._clip_id = clip_id
        self._refresh()

    def grade(self) -> Grade:
        """The shown clip's grade as stored in the document (the identity grade when it has none)."""
        if self._clip_id is None:
            return Grade()
        try:
            return Grade.coerce(self._doc.clip(self._clip_id).grade)
        except (AppError, ColorError):
            return Grade()

    def error_text(self) -> str:
        return self.error_label.text() if self.error_label.isVisibleTo(self) else ""

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))

    def choose_lut_file(self) -> None:
        """Open a (non-blocking) file dialog; the chosen file goes to `set_lut_file`."""
        start = str(Path(self._lut_path).parent) if self._lut_path else str(looks.luts_dir())
        dialog = QFileDialog(self, "Choose a LUT", start, LUT_FILTER)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(self.set_lut_file)
        dialog.open()

    def set_lut_file(self, path: str | None) -> None:
        """Use the LUT at `path` (None: none). A file OCIO cannot read is refused with a message."""
        self._apply(lambda grade: _replace(grade, lut_path=path or None), None)

    def set_look(self, name: str | None) -> None:
        """Use the shipped look `name` (None: no look)."""
        self._apply(lambda grade: _replace(grade, look=name or None), None)

    def reset(self) -> None:
        """Remove the clip's grade (one undo step)."""
        if self._clip_id is None:
            return
        clip_id = self._clip_id
        self.show_error("")
        self._push(lambda d: d.set_clip_grade(clip_id, None), None)

    def thumbnails_done(self) -> bool:
        """True when every look in the picker has its thumbnail."""
        return self._thumb_pending == 0 and all(
            not self.look_list.item(i).icon().isNull() for i in range(self.look_list.count())
        )

    # --------------------------------------------------------------------------------------- editing
    def _grade_from_controls(self) -> Grade:
        current = self.grade()
        cdl = CDL(
            slope=tuple(s.value() for s in self.cdl_spins["slope"]),
            offset=tuple(s.value() for s in self.cdl_spins["offset"]),
            power=tuple(s.value() for s in self.cdl_spins["power"]),
            saturation=self.saturation.value(),
        )
        space = self.input_space.currentData()
        return Grade(
            look=current.look,
            lut_path=current.lut_path,
            lut_mix=self.mix.value(),
            cdl=cdl,
            exposure=self.exposure.value(),
            input_space=space or None,
        )

    def _commit(self, control: str, dragging: bool = False) -> None:
        """A control changed: store the grade it describes (merging a held slider into one step)."""
        self._apply(lambda _grade: self._grade_from_controls(), control if dragging else None)

    def _apply(self, change: Callable[[Grade], Grade], control: str | None) -> None:
        if self._clip_id is None:
            return
        clip_id = self._clip_id
        try:
            grade = change(self.grade())
            self._pipeline_for_doc().validate(grade)
        except ColorError as exc:
            self.show_error(str(exc))
            self._refresh()  # put the controls back to what the document holds
            return
        self.show_error("")
        stored = None if grade.is_identity() else grade.to_dict()
        key = f"grade:{clip_id}:{control}:{self._drag}" if control else None
        self._push(lambda d: d.set_clip_grade(clip_id, stored), key)

    def _push(self, apply: Callable[[TimelineDocument], object], key: str | None) -> None:
        name = self._clip_name()
        try:
            push_edit(self._stack, self._doc, f"Grade {name}", apply, merge_key=key)
        except AppError as exc:
            self.show_error(str(exc))
            self._refresh()

    def _drag_ended(self) -> None:
        self._drag += 1

    def _clip_name(self) -> str:
        try:
            return self._doc.clip(self._clip_id).name if self._clip_id else ""
        except AppError:
            return ""

    # -------------------------------------------------------------------------------------- showing
    def _pipeline_for_doc(self) -> GradePipeline:
        settings = self._doc.color_settings()
        if self._pipeline is None or settings != self._pipeline_key:
            self._settings = ColorSettings.from_dict(settings)
            self._pipeline = GradePipeline(self._settings)
            self._pipeline_key = settings
            self._fill_spaces()
        return self._pipeline

    def _refresh(self) -> None:
        enabled = self._clip_id is not None
        for widget in self.findChildren(QWidget):
            if widget is not self.error_label:
                widget.setEnabled(enabled)
        grade = self.grade()
        try:
            self._pipeline_for_doc()
        except ColorError as exc:
            self.show_error(str(exc))
        self._lut_path = grade.lut_path
        self.lut_edit.setText(grade.lut_path or "")
        self.lut_edit.setToolTip(grade.lut_path or "")
        self.mix.set_value(grade.lut_mix)
        self.exposure.set_value(grade.exposure)
        self.saturation.set_value(grade.cdl.saturation)
        for name in ("slope", "offset", "power"):
            for spin, value in zip(self.cdl_spins[name], getattr(grade.cdl, name), strict=True):
                spin.blockSignals(True)
                spin.setValue(value)
                spin.blockSignals(False)
        self.input_space.blockSignals(True)
        index = self.input_space.findData(grade.input_space or "")
        if index < 0 and grade.input_space:  # a space this config lacks: show it, the error says why
            self.input_space.addItem(grade.input_space, grade.input_space)
            index = self.input_space.count() - 1
        self.input_space.setCurrentIndex(max(index, 0))
        self.input_space.blockSignals(False)
        self.look_list.blockSignals(True)
        for row in range(self.look_list.count()):
            if self.look_list.item(row).data(Qt.ItemDataRole.UserRole) == (grade.look or _NO_LOOK):
                self.look_list.setCurrentRow(row)
                break
        self.look_list.blockSignals(False)
        self._request_thumbnails()

    def _fill_spaces(self) -> None:
        self.input_space.blockSignals(True)
        self.input_space.clear()
        self.input_space.addItem("Project default", "")
        try:
            for name in self._settings.color_spaces() if self._settings else []:
                self.input_space.addItem(name, name)
        except ColorError:
            pass  # the config is unusable: the error label says so, "Project default" stays
        self.input_space.blockSignals(False)

    def _fill_looks(self) -> None:
        self.look_list.blockSignals(True)
        self.look_list.clear()
        none = QListWidgetItem("None")
        none.setData(Qt.ItemDataRole.UserRole, _NO_LOOK)
        none.setToolTip("No look")
        self.look_list.addItem(none)
        for look in looks.available():
            item = QListWidgetItem(look.title)
            item.setData(Qt.ItemDataRole.UserRole, look.name)
            item.setToolTip(look.description or look.title)
            self.look_list.addItem(item)
        self.look_list.blockSignals(False)

    def _look_picked(self, item: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if item is not None:
            self.set_look(item.data(Qt.ItemDataRole.UserRole) or None)

    def _on_document_changed(self, change) -> None:
        if change.kind in ("clips", "reset", "tracks") and self._clip_id is not None:
            self.set_clip(self._clip_id)  # re-read: an undo may have changed or removed the grade

    # ------------------------------------------------------------------------------------ thumbnails
    def _picture(self) -> tuple[tuple, np.ndarray | None]:
        """(key, picture or None = use the test card) for the look thumbnails: the clip's middle frame."""
        if self._clip_id is None:
            return ("card",), None
        try:
            clip = self._doc.clip(self._clip_id)
            media = self._doc.bin_item(clip.media_id)
        except (AppError, KeyError):
            return ("card",), None
        info = media.info
        if info is None or not info.has_video or not info.fps:
            return ("card",), None
        seconds = (clip.source_start.value + clip.duration.value / 2) / self._doc.rate
        index = min(max(math.floor(seconds * float(info.fps) + 1e-9), 0), max(info.frame_count - 1, 0))
        return (media.path, index), None

    def _request_thumbnails(self) -> None:
        if self.look_list.count() == 0:
            return
        picture_key, _ = self._picture()
        settings = self._pipeline_key if self._pipeline_key is not None else self._doc.color_settings()
        key = (picture_key, repr(sorted(settings.items())))
        if key == self._thumb_picture:
            return
        self._thumb_picture = key
        names = [self.look_list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.look_list.count())]
        todo = []
        for row, name in enumerate(names):
            with _thumb_lock:
                cached = _thumb_cache.get((key, name))
            if cached is not None:
                self.look_list.item(row).setIcon(_icon(cached))
            else:
                todo.append(name)
        if not todo:
            return
        try:
            pipeline = self._pipeline_for_doc()
        except ColorError:
            return
        self._thumb_pending += 1
        results = self._thumb_results
        thread = threading.Thread(
            target=_render_thumbnails, args=(pipeline, picture_key, key, todo, results), daemon=True
        )
        thread.start()
        self._thumb_timer.start()

    def _collect_thumbnails(self) -> None:
        while True:
            try:
                key, name, rgb = self._thumb_results.get_nowait()
            except queue.Empty:
                break
            if name is None:
                self._thumb_pending -= 1
                continue
            if key != self._thumb_picture or rgb is None:
                continue
            for row in range(self.look_list.count()):
                item = self.look_list.item(row)
                if item.data(Qt.ItemDataRole.UserRole) == name:
                    item.setIcon(_icon(rgb))
        if self._thumb_pending <= 0:
            self._thumb_timer.stop()


def _icon(rgb: np.ndarray) -> QIcon:
    # The same pixmap when selected: the style's selection tint would hide the look's colours.
    pixmap = QPixmap.fromImage(to_qimage(rgb))
    icon = QIcon(pixmap)
    icon.addPixmap(pixmap, QIcon.Mode.Selected)
    return icon


def _replace(grade: Grade, **changes: object) -> Grade:
    data = grade.to_dict()
    data.update(changes)
    return Grade.from_dict(data)


def _render_thumbnails(
    pipeline: GradePipeline, picture_key: tuple, key: tuple, names: list, out: queue.Queue
) -> None:
    """Worker thread: the picture through each look; results (and a final None marker) go to `out`."""
    try:
        base = _thumbnail_source(picture_key)
        source = base.astype(np.float32) / 255.0
        for name in names:
            try:
                graded = pipeline.render(source, Grade(look=name or None))
                rgb = np.clip(np.rint(graded * 255.0), 0, 255).astype(np.uint8)
            except Exception:  # noqa: BLE001 - one broken look shows no thumbnail; the others still do
                rgb = None
            if rgb is not None:
                with _thumb_lock:
                    _thumb_cache[(key, name)] = rgb
            out.put((key, name, rgb))
    finally:
        out.put((key, None, None))


def _thumbnail_source(picture_key: tuple) -> np.ndarray:
    if picture_key[0] == "card":
        return test_card()
    from app.media.thumbnails import thumbnail

    path, index = picture_key
    try:
        frame = thumbnail(path, index, THUMB_SIZE.height())
    except AppError:
        return test_card()
    height, width = frame.shape[:2]
    if width > THUMB_SIZE.width():  # wider than 16:9: keep the middle
        x0 = (width - THUMB_SIZE.width()) // 2
        frame = frame[:, x0 : x0 + THUMB_SIZE.width()]
    return np.ascontiguousarray(frame)
