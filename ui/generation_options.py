"""Recipe, quality preset (with its estimated time), LoRA picker and keyframes: the part of the Generate
panel that chooses *how* a clip is made. Every field stays editable after a preset is chosen.

It only collects: `job_fields()` gives the JobSpec's recipe, loras and keyframes; `preset_chosen` asks the
panel to set the size a preset implies.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.jobs.lora_library import LoraEntry
from app.jobs.presets import StepTimes, format_estimate, model_key, presets_for, recipe_work

RECIPE_CHOICES = (
    ("Model default", None),
    ("Full: dev model, guided steps", "full"),
    ("Distilled: 8 steps, no guidance", "distilled"),
    ("Two-stage: half size + x2 upsampler (sizes x64)", "two-stage"),
    ("Two-stage dev: guided half size + distilled-LoRA refine (sizes x64)", "two-stage-full"),
)
PATH_ROLE = Qt.ItemDataRole.UserRole
STRENGTH_ROLE = Qt.ItemDataRole.UserRole + 1
FRAME_ROLE = Qt.ItemDataRole.UserRole + 2


class GenerationOptions(QWidget):
    preset_chosen = Signal(int, int, str)  # width, height, recipe

    def __init__(self, current_frame: Callable[[], np.ndarray | None] | None = None, parent=None):
        super().__init__(parent)
        self.setObjectName("generationOptions")
        self._current_frame = current_frame
        # where frames taken from the viewer are saved as keyframe PNGs: the project's media/keyframes (or
        # the unsaved session's scratch, which recovery keeps); set by the main window
        self.keyframe_dir: Callable[[], os.PathLike | str] | None = None
        self._frames = 121
        self._model = ""
        self._spec = None
        self._key = ""
        self._times = StepTimes()

        self.preset_combo = QComboBox(objectName="presetCombo")
        self.preset_combo.activated.connect(self._choose_preset)
        self.recipe_combo = QComboBox(objectName="recipeCombo")
        for label, recipe in RECIPE_CHOICES:
            self.recipe_combo.addItem(label, recipe)

        self.decoder_combo = QComboBox(objectName="decoderCombo")
        self.decoder_combo.addItem("Conv VAE (fast)", "conv")
        self.decoder_combo.addItem("Diffusion decoder (LTX-2.5 quality option, slow)", "diffusion")
        self.upsampler_combo = QComboBox(objectName="upsamplerCombo")
        self.upsampler_combo.addItem("x2 (stage 1 at half size, sizes x64)", 2.0)
        self.upsampler_combo.addItem("x1.5 (LTX-2.3: stage 1 at 2/3 size, sizes x96)", 1.5)
        self.upsampler_combo.setToolTip("The latent upsampler of the two-stage recipes")
        self.lora_list = QListWidget(objectName="loraList")
        self.lora_list.setMaximumHeight(90)
        self.lora_list.currentItemChanged.connect(self._show_lora)
        self.lora_strength = QDoubleSpinBox(objectName="loraStrength", decimals=2, singleStep=0.1)
        self.lora_strength.setRange(-4.0, 4.0)
        self.lora_strength.setValue(1.0)
        self.lora_strength.valueChanged.connect(self._set_lora_strength)
        self.trigger_label = QLabel(objectName="loraTriggers")
        self.trigger_label.setWordWrap(True)
        self.trigger_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.keyframe_list = QListWidget(objectName="keyframeList")
        self.keyframe_list.setMaximumHeight(70)
        self.keyframe_list.currentItemChanged.connect(self._show_keyframe)
        self.add_keyframe_button = QPushButton("Image...", objectName="addKeyframeButton")
        self.add_keyframe_button.clicked.connect(self._pick_keyframe)
        self.viewer_keyframe_button = QPushButton("Viewer frame", objectName="addViewerKeyframeButton")
        self.viewer_keyframe_button.clicked.connect(self.add_viewer_keyframe)
        self.viewer_keyframe_button.setEnabled(current_frame is not None)
        self.remove_keyframe_button = QPushButton("Remove", objectName="removeKeyframeButton")
        self.remove_keyframe_button.clicked.connect(self._remove_keyframe)
        self.keyframe_frame = QSpinBox(objectName="keyframeFrame", prefix="frame ")
        self.keyframe_frame.valueChanged.connect(self._set_keyframe_fields)
        self.keyframe_strength = QDoubleSpinBox(objectName="keyframeStrength", decimals=2, singleStep=0.1)
        self.keyframe_strength.setRange(0.0, 1.0)
        self.keyframe_strength.setValue(1.0)
        self.keyframe_strength.valueChanged.connect(self._set_keyframe_fields)

        lora_row = QHBoxLayout()
        lora_row.addWidget(QLabel("Strength"))
        lora_row.addWidget(self.lora_strength)
        lora_row.addWidget(self.trigger_label, 1)
        # the buttons in a column beside the list: in a row they made the Generate panel too wide for a
        # laptop screen's dock (tests/ui/test_small_screen.py)
        key_buttons = QVBoxLayout()
        for widget in (self.add_keyframe_button, self.viewer_keyframe_button, self.remove_keyframe_button):
            key_buttons.addWidget(widget)
        key_buttons.addStretch(1)
        key_row = QHBoxLayout()
        key_row.addWidget(self.keyframe_list, 1)
        key_row.addLayout(key_buttons)
        key_fields = QHBoxLayout()
        key_fields.addWidget(self.keyframe_frame)
        key_fields.addWidget(QLabel("Strength"))
        key_fields.addWidget(self.keyframe_strength)
        form = QFormLayout()
        self.form = form
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Quality", self.preset_combo)
        form.addRow("Recipe", self.recipe_combo)
        form.addRow("Decoder", self.decoder_combo)
        form.addRow("Upsampler", self.upsampler_combo)
        form.addRow("LoRAs", self.lora_list)
        form.addRow("", lora_row)
        form.addRow("Keyframes", key_row)
        form.addRow("", key_fields)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        self._fill_presets()
        self._show_lora()
        self._show_keyframe()

    # --- public ---------------------------------------------------------------------------------------------

    def align_labels(self, width: int) -> None:
        """Give the labels the panel's label column width, so both forms line up."""
        for row in range(self.form.rowCount()):
            item = self.form.itemAt(row, QFormLayout.ItemRole.LabelRole)
            if item is not None and item.widget() is not None:
                item.widget().setMinimumWidth(width)

    def set_model(self, model: str, spec, checkpoint: str, quantization: str, device: str = "cpu") -> None:
        """The chosen model: its presets and, from this machine's measured step times, their estimates."""
        self._model, self._spec = model, spec
        self._key = model_key(model, checkpoint, quantization, device)
        diffusion = bool(getattr(spec, "has_duration_head", False)) and model != "tiny"  # LTX-2.5 releases
        self.decoder_combo.model().item(1).setEnabled(diffusion)
        if not diffusion:
            self.decoder_combo.setCurrentIndex(0)
        x15 = 1.5 in tuple(getattr(spec, "upsampler_scales", ())) and model != "tiny"  # the release has one
        self.upsampler_combo.model().item(1).setEnabled(x15)
        if not x15:
            self.upsampler_combo.setCurrentIndex(0)
        self._fill_presets()

    def set_frames(self, frames: int) -> None:
        self._frames = max(1, int(frames))
        self.keyframe_frame.setMaximum(self._frames - 1)
        self._fill_presets()

    def set_library(self, entries: list[LoraEntry]) -> None:
        """The LoRAs on offer; ticked ones stay ticked (by file) with their strengths."""
        chosen = dict(self.chosen_loras())
        self.lora_list.clear()
        for entry in entries:
            label = entry.name if entry.usable else f"{entry.name} (cannot be used: {entry.problem})"
            item = QListWidgetItem(label)
            item.setData(PATH_ROLE, str(entry.path))
            item.setData(STRENGTH_ROLE, float(chosen.get(str(entry.path), 1.0)))
            item.setToolTip(
                f"{entry.path}\nTrigger words: {', '.join(entry.trigger_words) or 'none in the file'}"
            )
            item.setData(Qt.ItemDataRole.UserRole + 3, ", ".join(entry.trigger_words))
            flags = item.flags() | Qt.ItemFlag.ItemIsUserCheckable
            if not entry.usable:
                flags &= ~Qt.ItemFlag.ItemIsEnabled
            item.setFlags(flags)
            ticked = str(entry.path) in chosen
            item.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)
            self.lora_list.addItem(item)
        self._show_lora()

    def chosen_loras(self) -> tuple[tuple[str, float], ...]:
        out = []
        for row in range(self.lora_list.count()):
            item = self.lora_list.item(row)
            if item.checkState() == Qt.CheckState.Checked:
                out.append((item.data(PATH_ROLE), float(item.data(STRENGTH_ROLE))))
        return tuple(out)

    def keyframes(self) -> tuple[tuple[str, int, float], ...]:
        out = []
        for row in range(self.keyframe_list.count()):
            item = self.keyframe_list.item(row)
            out.append((item.data(PATH_ROLE), int(item.data(FRAME_ROLE)), float(item.data(STRENGTH_ROLE))))
        return tuple(out)

    def recipe(self) -> str | None:
        return self.recipe_combo.currentData()

    def job_fields(self) -> dict:
        return {
            "recipe": self.recipe(),
            "loras": self.chosen_loras(),
            "keyframes": self.keyframes(),
            "video_decoder": self.decoder_combo.currentData(),
            "upsampler_scale": float(self.upsampler_combo.currentData()),
        }

    def load(self, spec) -> None:
        """Fill from a JobSpec (regenerate): recipe, the LoRAs it used (added when not in the library) and
        its keyframes."""
        self.recipe_combo.setCurrentIndex(max(0, self.recipe_combo.findData(spec.recipe)))
        self.decoder_combo.setCurrentIndex(max(0, self.decoder_combo.findData(spec.video_decoder)))
        scale = float(getattr(spec, "upsampler_scale", 2.0))
        self.upsampler_combo.setCurrentIndex(max(0, self.upsampler_combo.findData(scale)))
        used = dict(spec.loras)
        for row in range(self.lora_list.count()):
            item = self.lora_list.item(row)
            path = item.data(PATH_ROLE)
            item.setCheckState(Qt.CheckState.Checked if path in used else Qt.CheckState.Unchecked)
            if path in used:
                item.setData(STRENGTH_ROLE, float(used.pop(path)))
        for path, strength in used.items():  # a LoRA from the clip's record that the library lacks
            item = QListWidgetItem(os.path.basename(path))
            item.setData(PATH_ROLE, path)
            item.setData(STRENGTH_ROLE, float(strength))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.lora_list.addItem(item)
        self.keyframe_list.clear()
        for path, frame, strength in spec.keyframes:
            self.add_keyframe(path, frame, strength)
        self._show_lora()

    def add_keyframe(self, path: str, frame: int, strength: float = 1.0) -> None:
        item = QListWidgetItem()
        item.setData(PATH_ROLE, str(path))
        item.setData(FRAME_ROLE, int(frame))
        item.setData(STRENGTH_ROLE, float(strength))
        self._label_keyframe(item)
        self.keyframe_list.addItem(item)
        self.keyframe_list.setCurrentItem(item)

    def add_viewer_keyframe(self) -> str | None:
        """The viewer's current frame as a keyframe (saved as a PNG the job can read, in `keyframe_dir`: the
        project's media/keyframes, or the unsaved session's scratch), at the last frame when the list already
        has a first one, else at frame 0. Without a folder provider (a panel outside the studio) it goes to
        the system's temporary folder."""
        frame = self._current_frame() if self._current_frame is not None else None
        if frame is None:
            return None
        from PIL import Image

        if self.keyframe_dir is not None:
            folder = os.fspath(self.keyframe_dir())
        else:
            folder = os.path.join(tempfile.gettempdir(), "aiprod-keyframes")
        os.makedirs(folder, exist_ok=True)
        fd, path = tempfile.mkstemp(suffix=".png", prefix="viewer-", dir=folder)
        os.close(fd)
        array = np.asarray(frame)
        if array.dtype != np.uint8:
            array = (np.clip(array.astype(np.float32), 0, 1) * 255).round().astype(np.uint8)
        Image.fromarray(np.ascontiguousarray(array[..., :3])).save(path)
        at = self._frames - 1 if any(k[1] == 0 for k in self.keyframes()) else 0
        self.add_keyframe(path, at, 1.0)
        return path

    # --- internals ------------------------------------------------------------------------------------------

    def _fill_presets(self) -> None:
        current = self.preset_combo.currentData()
        self.preset_combo.blockSignals(True)
        self.preset_combo.clear()
        self.preset_combo.addItem("Custom (the fields below)", None)
        for preset in presets_for(self._model):
            estimate = None
            if self._spec is not None and preset.recipe in getattr(self._spec, "recipes", ()):
                work = recipe_work(self._spec, preset.recipe, preset.width, preset.height, self._frames)
                estimate = self._times.estimate(self._key, work)
            size = f"{preset.width}x{preset.height}"
            label = f"{preset.name}: {preset.note}, {size} ({format_estimate(estimate)})"
            self.preset_combo.addItem(label, preset.name)
        self.preset_combo.setCurrentIndex(max(0, self.preset_combo.findData(current)))
        self.preset_combo.blockSignals(False)

    def _choose_preset(self, _index: int) -> None:
        name = self.preset_combo.currentData()
        preset = next((p for p in presets_for(self._model) if p.name == name), None)
        if preset is None:
            return
        self.recipe_combo.setCurrentIndex(max(0, self.recipe_combo.findData(preset.recipe)))
        self.preset_chosen.emit(preset.width, preset.height, preset.recipe)

    def _show_lora(self, *_args) -> None:
        item = self.lora_list.currentItem()
        self.lora_strength.setEnabled(item is not None)
        if item is None:
            self.trigger_label.setText("")
            return
        self.lora_strength.blockSignals(True)
        self.lora_strength.setValue(float(item.data(STRENGTH_ROLE) or 1.0))
        self.lora_strength.blockSignals(False)
        words = item.data(Qt.ItemDataRole.UserRole + 3) or ""
        self.trigger_label.setText(f"Trigger: {words}" if words else "")

    def _set_lora_strength(self, value: float) -> None:
        item = self.lora_list.currentItem()
        if item is not None:
            item.setData(STRENGTH_ROLE, float(value))

    def _label_keyframe(self, item: QListWidgetItem) -> None:
        item.setText(
            f"frame {item.data(FRAME_ROLE)}: {os.path.basename(item.data(PATH_ROLE))} "
            f"(strength {float(item.data(STRENGTH_ROLE)):g})"
        )

    def _show_keyframe(self, *_args) -> None:
        item = self.keyframe_list.currentItem()
        for widget in (self.keyframe_frame, self.keyframe_strength, self.remove_keyframe_button):
            widget.setEnabled(item is not None)
        if item is None:
            return
        for widget, role in ((self.keyframe_frame, FRAME_ROLE), (self.keyframe_strength, STRENGTH_ROLE)):
            widget.blockSignals(True)
            widget.setValue(item.data(role))
            widget.blockSignals(False)

    def _set_keyframe_fields(self, *_args) -> None:
        item = self.keyframe_list.currentItem()
        if item is None:
            return
        item.setData(FRAME_ROLE, int(self.keyframe_frame.value()))
        item.setData(STRENGTH_ROLE, float(self.keyframe_strength.value()))
        self._label_keyframe(item)

    def _pick_keyframe(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Keyframe image", "", "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff)"
        )
        if path:
            at = self._frames - 1 if any(k[1] == 0 for k in self.keyframes()) else 0
            self.add_keyframe(path, at, 1.0)

    def _remove_keyframe(self) -> None:
        row = self.keyframe_list.currentRow()
        if row >= 0:
            self.keyframe_list.takeItem(row)
