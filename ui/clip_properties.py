"""Inspector fields for a clip's transform (picture clips), gain and fades (sound clips) and text (titles).

Every change is one undoable ``push_edit`` of the document's setter; changes to the same field of the same
clip in a row (spin-box steps, typing) share a merge key, so they are one undo step. A value the core refuses
is shown with its message and the fields go back to what the clip holds. Follows the document (undo).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.commands import push_edit
from app.document import TimelineDocument, TrackKind
from app.errors import AppError
from app.media.title import FONTS, TitleSpec
from app.media.transform import ClipTransform

MODES = {"Fit": "fit", "Fill": "fill", "Stretch": "stretch"}


def _spin(
    lo: float, hi: float, step: float, suffix: str, decimals: int = 1, name: str = ""
) -> QDoubleSpinBox:
    box = QDoubleSpinBox(objectName=name)
    box.setRange(lo, hi)
    box.setSingleStep(step)
    box.setDecimals(decimals)
    box.setSuffix(suffix)
    box.setKeyboardTracking(False)  # one edit per finished value, not per keystroke
    return box


class ClipPropertiesPanel(QWidget):
    def __init__(self, doc: TimelineDocument, stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("clipProperties")
        self._doc, self._stack = doc, stack
        self.clip_id: str | None = None
        self._loading = False
        self.message = QLabel(objectName="clipPropertiesMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #e07060;")

        # picture
        self.picture = QGroupBox("Transform", objectName="transformGroup")
        self.mode = QComboBox(objectName="transformMode")
        self.mode.addItems(list(MODES))
        self.scale = _spin(5, 1000, 5, " %", 0, "transformScale")
        self.pos_x = _spin(-20000, 20000, 1, " px", 0, "transformX")
        self.pos_y = _spin(-20000, 20000, 1, " px", 0, "transformY")
        self.crops = [_spin(0, 45, 1, " %", 0, f"crop{side}") for side in ("Left", "Top", "Right", "Bottom")]
        form = QFormLayout(self.picture)
        form.addRow("Mode", self.mode)
        form.addRow("Scale", self.scale)
        form.addRow("Position X", self.pos_x)
        form.addRow("Position Y", self.pos_y)
        for label, box in zip(
            ("Crop left", "Crop top", "Crop right", "Crop bottom"), self.crops, strict=True
        ):
            form.addRow(label, box)
        self.mode.currentIndexChanged.connect(lambda _i: self._apply_transform("mode"))
        for name, box in (("scale", self.scale), ("x", self.pos_x), ("y", self.pos_y)):
            box.valueChanged.connect(lambda _v, n=name: self._apply_transform(n))
        for i, box in enumerate(self.crops):
            box.valueChanged.connect(lambda _v, n=f"crop{i}": self._apply_transform(n))

        # sound
        self.sound = QGroupBox("Sound", objectName="soundGroup")
        self.gain = _spin(-60, 24, 0.5, " dB", 1, "clipGain")
        self.fade_in = QSpinBox(objectName="fadeIn")
        self.fade_out = QSpinBox(objectName="fadeOut")
        for box in (self.fade_in, self.fade_out):
            box.setRange(0, 100000)
            box.setSuffix(" fr")
            box.setKeyboardTracking(False)
        form = QFormLayout(self.sound)
        form.addRow("Gain", self.gain)
        form.addRow("Fade in", self.fade_in)
        form.addRow("Fade out", self.fade_out)
        self.gain.valueChanged.connect(
            lambda _v: self._edit("gain", "Clip gain", lambda d, c: d.set_clip_gain(c, self.gain.value()))
        )
        for box in (self.fade_in, self.fade_out):
            box.valueChanged.connect(
                lambda _v: self._edit(
                    "fades",
                    "Clip fades",
                    lambda d, c: d.set_clip_fades(c, self.fade_in.value(), self.fade_out.value()),
                )
            )

        # title
        self.title = QGroupBox("Title", objectName="titleGroup")
        self.text = QLineEdit(objectName="titleText")
        self.font_box = QComboBox(objectName="titleFont")
        self.font_box.addItems(list(FONTS))
        self.size = QSpinBox(objectName="titleSize")
        self.size.setRange(4, 600)
        self.size.setKeyboardTracking(False)
        self.color = QLineEdit(objectName="titleColor")
        self.title_x = _spin(0, 100, 1, " %", 0, "titleX")
        self.title_y = _spin(0, 100, 1, " %", 0, "titleY")
        self.box = QCheckBox("Background box", objectName="titleBox")
        self.box_color = QLineEdit(objectName="titleBoxColor")
        self.title_fade_in = _spin(0, 60, 0.1, " s", 1, "titleFadeIn")
        self.title_fade_out = _spin(0, 60, 0.1, " s", 1, "titleFadeOut")
        form = QFormLayout(self.title)
        for label, widget in (
            ("Text", self.text),
            ("Font", self.font_box),
            ("Size", self.size),
            ("Colour", self.color),
            ("Centre X", self.title_x),
            ("Centre Y", self.title_y),
            ("", self.box),
            ("Box colour", self.box_color),
            ("Fade in", self.title_fade_in),
            ("Fade out", self.title_fade_out),
        ):
            form.addRow(label, widget)
        for widget in (self.text, self.color, self.box_color):
            widget.editingFinished.connect(self._apply_title)
        for widget in (self.size, self.title_x, self.title_y, self.title_fade_in, self.title_fade_out):
            widget.valueChanged.connect(lambda _v: self._apply_title())
        self.font_box.currentIndexChanged.connect(lambda _i: self._apply_title())
        self.box.toggled.connect(lambda _on: self._apply_title())

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.picture, self.title, self.sound, self.message):
            layout.addWidget(widget)
        self._unsubscribe = doc.subscribe(self._on_changed)
        self.destroyed.connect(lambda *_: self._unsubscribe())
        self.set_clip(None)

    # ------------------------------------------------------------------------------------ showing
    def set_clip(self, clip_id: str | None) -> None:
        self.clip_id = clip_id
        self.message.setText("")
        self._load()

    def _load(self) -> None:
        clip = None
        if self.clip_id is not None:
            try:
                clip = self._doc.clip(self.clip_id)
            except AppError:
                self.clip_id = None
        if clip is None:
            for group in (self.picture, self.sound, self.title):
                group.setVisible(False)
            return
        kind = self._doc.track_info(clip.track_id).kind
        is_title = clip.title is not None
        self.picture.setVisible(kind is TrackKind.VIDEO and not is_title)
        self.title.setVisible(is_title)
        self.sound.setVisible(kind is TrackKind.AUDIO)
        self._loading = True
        try:
            t = ClipTransform.from_dict(clip.transform)
            self.mode.setCurrentText(next(k for k, v in MODES.items() if v == t.mode))
            self.scale.setValue(t.scale * 100)
            self.pos_x.setValue(t.x)
            self.pos_y.setValue(t.y)
            for box, value in zip(self.crops, t.crop, strict=True):
                box.setValue(value * 100)
            self.gain.setValue(clip.gain_db)
            self.fade_in.setValue(clip.fade_in)
            self.fade_out.setValue(clip.fade_out)
            if is_title:
                spec = TitleSpec.from_dict(clip.title)
                self.text.setText(spec.text)
                self.font_box.setCurrentText(spec.font)
                self.size.setValue(spec.size)
                self.color.setText(spec.color)
                self.title_x.setValue(spec.x * 100)
                self.title_y.setValue(spec.y * 100)
                self.box.setChecked(spec.box)
                self.box_color.setText(spec.box_color)
                self.title_fade_in.setValue(spec.fade_in)
                self.title_fade_out.setValue(spec.fade_out)
        except AppError as exc:
            self.message.setText(str(exc))
        finally:
            self._loading = False

    def _on_changed(self, change) -> None:
        if change.kind != "markers" and not self._loading:
            self._load()

    # ------------------------------------------------------------------------------------ edits
    def _edit(self, field: str, text: str, apply: Callable[[TimelineDocument, str], object]) -> None:
        if self._loading or self.clip_id is None:
            return
        clip_id = self.clip_id
        try:
            push_edit(
                self._stack, self._doc, text, lambda d: apply(d, clip_id), merge_key=f"{field}:{clip_id}"
            )
            self.message.setText("")
        except AppError as exc:
            self.message.setText(str(exc))
            self._load()

    def transform_value(self) -> dict:
        return {
            "mode": MODES[self.mode.currentText()],
            "scale": self.scale.value() / 100,
            "x": self.pos_x.value(),
            "y": self.pos_y.value(),
            "crop": [box.value() / 100 for box in self.crops],
        }

    def _apply_transform(self, field: str) -> None:
        value = self.transform_value()
        self._edit(f"transform-{field}", "Clip transform", lambda d, c: d.set_clip_transform(c, value))

    def title_value(self) -> dict:
        return {
            "text": self.text.text(),
            "font": self.font_box.currentText(),
            "size": self.size.value(),
            "color": self.color.text().strip(),
            "x": self.title_x.value() / 100,
            "y": self.title_y.value() / 100,
            "box": self.box.isChecked(),
            "box_color": self.box_color.text().strip(),
            "fade_in": self.title_fade_in.value(),
            "fade_out": self.title_fade_out.value(),
        }

    def _apply_title(self) -> None:
        if self._loading or self.clip_id is None:
            return
        try:
            current = self._doc.clip(self.clip_id).title
        except AppError:
            return
        value = {**(current or {}), **self.title_value()}
        if current is not None and value == current:
            return
        self._edit("title", "Edit title", lambda d, c: d.set_clip_title(c, value))
