"""The inpaint panel: what to put in the painted region of the selected clip, over which frames.

Prompt, negative prompt, strength, seed (random each time unless locked), steps, model, "regenerate the
sound" and "show the take in the clip". The frame range is the viewer's in/out marks mapped onto the clip's
media frames (`set_range`, fed from `Viewer.marks_changed`); without marks, the range the clip's mask was
painted for, else the whole clip. "Inpaint" checks the fields and emits an `InpaintSpec` (app.jobs) for the
window to queue; on a problem it says what to fix and emits nothing. Given the `MaskPainter`, the panel
shows its tools at the top, so painting and running sit together.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.document import DocumentChange, TimelineDocument
from app.errors import AppError, JobError
from app.jobs import MODEL_LTX2, QUANTIZATION_MODES, EngineSettings, InpaintSpec
from app.jobs.settings import model_spec_for
from ui.generate_panel import (
    MAX_SEED_UI,
    fill_model_combo,
    random_seed,
    set_steps,
    show_model_steps,
    steps_spin,
    steps_value,
)
from ui.mask_painter import MaskPainter, mask_range_for

MasksDir = Callable[[], "str | os.PathLike[str]"]


class InpaintPanel(QWidget):
    inpaint_requested = Signal(object)  # InpaintSpec
    settings_requested = Signal()  # "Open settings" from the problem message

    def __init__(
        self,
        doc: TimelineDocument,
        settings: EngineSettings,
        masks_dir: MasksDir | None = None,
        painter: MaskPainter | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """`masks_dir` returns the project's mask folder now (default: the painter's store's folder)."""
        super().__init__(parent)
        self.setObjectName("inpaintPanel")
        self._doc = doc
        self._settings = settings
        self._problems: list[str] = []
        self._painter = painter
        if masks_dir is None and painter is not None:
            masks_dir = lambda: painter.store().folder  # noqa: E731 - read at request time: it moves on save
        self._masks_dir = masks_dir
        self._clip_id: str | None = None
        self._marks: tuple[int | None, int | None] = (None, None)

        self.clip_label = QLabel(objectName="inpaintClip")
        self.clip_label.setWordWrap(True)
        self.range_label = QLabel(objectName="inpaintRange")
        self.range_label.setWordWrap(True)
        self.prompt_edit = QPlainTextEdit(objectName="inpaintPrompt")
        self.prompt_edit.setPlaceholderText("What the painted region should show...")
        self.prompt_edit.setMaximumHeight(90)
        self.negative_edit = QLineEdit(objectName="inpaintNegative")
        self.negative_edit.setPlaceholderText(
            "Model default: Lightricks' reference negative prompt (type to replace it)"
        )
        self.strength_spin = QDoubleSpinBox(objectName="inpaintStrength", decimals=2)
        self.strength_spin.setRange(0.0, 1.0)
        self.strength_spin.setSingleStep(0.05)
        self.strength_spin.setValue(1.0)
        self.strength_spin.setToolTip(
            "How much of the region to regenerate: 1 replaces it, lower values keep more of the original"
        )
        self.steps_spin = steps_spin("inpaintSteps")
        self.seed_spin = QSpinBox(objectName="inpaintSeed")
        self.seed_spin.setRange(0, MAX_SEED_UI)
        self.seed_spin.setValue(random_seed())
        self.seed_lock = QCheckBox("Lock", objectName="inpaintSeedLock")
        self.seed_lock.setToolTip(
            "Locked: every inpaint uses this seed. Unlocked: a new random seed each time."
        )
        self.model_combo = QComboBox(objectName="inpaintModel")
        self.audio_check = QCheckBox("Regenerate the sound of the range", objectName="inpaintAudio")
        self.audio_check.setToolTip("Off: the take keeps the original sound sample for sample")
        self.place_check = QCheckBox("Show the take in the clip when done", objectName="inpaintPlace")
        self.place_check.setChecked(True)
        self.message_label = QLabel(objectName="inpaintMessage")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.settings_button = QPushButton("Open settings...", objectName="inpaintSettingsButton")
        self.settings_button.clicked.connect(self.settings_requested)
        self.inpaint_button = QPushButton("Inpaint", objectName="inpaintButton")
        self.inpaint_button.clicked.connect(self.request_inpaint)

        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed_spin, 1)
        seed_row.addWidget(self.seed_lock)
        form = QFormLayout()
        form.addRow("Prompt", self.prompt_edit)
        form.addRow("Negative", self.negative_edit)
        form.addRow("Strength", self.strength_spin)
        form.addRow("Steps", self.steps_spin)
        form.addRow("Seed", seed_row)
        form.addRow("Model", self.model_combo)
        layout = QVBoxLayout(self)
        if painter is not None:
            layout.addWidget(painter.toolbar)
        layout.addWidget(self.clip_label)
        layout.addWidget(self.range_label)
        layout.addLayout(form)
        layout.addWidget(self.audio_check)
        layout.addWidget(self.place_check)
        layout.addWidget(self.message_label)
        layout.addWidget(self.settings_button)
        layout.addWidget(self.inpaint_button)
        layout.addStretch(1)

        self.model_combo.currentIndexChanged.connect(self._update_state)
        self.model_combo.currentIndexChanged.connect(self._update_model_defaults)
        # The document outlives views: unsubscribe when this widget goes (the lambda holds no `self`).
        unsubscribe = doc.subscribe(self._on_document_changed)
        self.destroyed.connect(lambda *_: unsubscribe())
        self.set_settings(settings)
        self._update_clip()

    # ------------------------------------------------------------------------------------------- public
    @property
    def clip_id(self) -> str | None:
        return self._clip_id

    def set_clip(self, clip_id: str | None) -> None:
        """Inpaint `clip_id` (None: nothing selected); the model follows the one that made the clip."""
        self._clip_id = clip_id
        if clip_id is not None:
            model = self._clip_model()
            if model is not None and self.model_combo.findData(model) >= 0:
                self.model_combo.setCurrentIndex(self.model_combo.findData(model))
        self._update_clip()

    def load_parameters(self, generation: dict) -> None:
        """Fill the fields from an inpaint take's stored parameters (seed locked), for another try."""
        self.prompt_edit.setPlainText(str(generation.get("prompt", "")))
        negative = str(generation.get("negative_prompt") or "")
        model_default = model_spec_for(self.model_combo.currentData() or MODEL_LTX2, self._settings)
        self.negative_edit.setText("" if negative == model_default.negative_prompt else negative)
        if "strength" in generation:
            self.strength_spin.setValue(float(generation["strength"]))
        if generation.get("steps") is not None:
            set_steps(self.steps_spin, int(generation["steps"]))
        if "seed" in generation:
            self.seed_spin.setValue(min(int(generation["seed"]), self.seed_spin.maximum()))
            self.seed_lock.setChecked(True)
        self.audio_check.setChecked(bool(generation.get("regenerate_audio", False)))

    def set_range(self, in_point: int | None, out_point: int | None) -> None:
        """The viewer's marks (timeline frames, out inclusive); connect `Viewer.marks_changed` here."""
        self._marks = (in_point, out_point)
        self._update_clip()

    def set_settings(self, settings: EngineSettings) -> None:
        """Re-check the model files and offer the test model only in developer mode."""
        self._settings = settings
        fill_model_combo(self.model_combo, settings)
        self._problems = settings.detect()
        self._update_model_defaults()
        self._update_state()

    def frame_range(self) -> tuple[int, int] | None:
        """The media frames the inpaint covers `(first, end_exclusive)`: the marks on the clip, else the
        mask's range, else the whole clip; None without a clip or when the marks miss it."""
        if self._clip_id is None:
            return None
        try:
            clip = self._doc.clip(self._clip_id)
        except AppError:
            return None
        if self._marks == (None, None) and clip.mask and "in" in clip.mask and "out" in clip.mask:
            return int(clip.mask["in"]), int(clip.mask["out"])
        return mask_range_for(self._doc, self._clip_id, *self._marks)

    def current_spec(self) -> InpaintSpec:
        """The inpaint the fields describe (no random seed drawn here); JobError says what is missing."""
        if self._clip_id is None:
            raise JobError("select a clip on the timeline to inpaint")
        try:
            clip = self._doc.clip(self._clip_id)
        except AppError as exc:
            raise JobError("the selected clip is no longer on the timeline; select another") from exc
        if not clip.mask or not clip.mask.get("id"):
            raise JobError("this clip has no mask: turn on Paint mask and paint the region to regenerate")
        span = self.frame_range()
        if span is None:
            raise JobError("the in/out marks do not cover this clip: move them onto it or clear them")
        if self._masks_dir is None:
            raise JobError("no mask folder is known for this project; save the project and try again")
        quantization = self._settings.quantization
        return InpaintSpec.for_clip(
            self._doc,
            self._clip_id,
            Path(self._masks_dir()),
            prompt=self.prompt_edit.toPlainText().strip(),
            mask={"id": clip.mask["id"], "in": span[0], "out": span[1]},
            negative_prompt=self.negative_edit.text().strip() or None,
            seed=int(self.seed_spin.value()),
            steps=steps_value(self.steps_spin),
            strength=round(float(self.strength_spin.value()), 4),
            regenerate_audio=self.audio_check.isChecked(),
            place=self.place_check.isChecked(),
            model=self.model_combo.currentData(),
            quantization=quantization if quantization in QUANTIZATION_MODES else "none",
        )

    def request_inpaint(self) -> InpaintSpec | None:
        """Check the fields and emit `inpaint_requested`; on a problem say what to fix and emit nothing."""
        if not self.seed_lock.isChecked():
            self.seed_spin.setValue(random_seed())
        try:
            spec = self.current_spec()
            spec.validate()
        except AppError as exc:
            self.show_message(str(exc), error=True)
            return None
        if spec.model == MODEL_LTX2 and self._problems:
            self._update_state()
            return None
        first, end = spec.frame_range
        self.show_message(f"Queued: seed {spec.seed}, frames {first}–{end - 1}, strength {spec.strength:g}.")
        self.inpaint_requested.emit(spec)
        return spec

    def show_message(self, text: str, error: bool = False) -> None:
        self.message_label.setText(text)
        self.message_label.setProperty("state", "error" if error else "info")

    # -------------------------------------------------------------------------------------------- inside
    def _update_model_defaults(self) -> None:
        show_model_steps(
            self.steps_spin, model_spec_for(self.model_combo.currentData() or MODEL_LTX2, self._settings)
        )

    def _clip_model(self) -> str | None:
        try:
            clip = self._doc.clip(self._clip_id)
            item = self._doc.bin_item(clip.media_id) if clip.media_id else None
        except AppError:
            return None
        generation = item.generation if item is not None and isinstance(item.generation, dict) else {}
        return generation.get("model")

    def _on_document_changed(self, change: DocumentChange) -> None:
        if change.kind in ("reset", "clips", "bin"):
            self._update_clip()

    def _update_clip(self) -> None:
        name, has_mask = None, False
        if self._clip_id is not None:
            try:
                clip = self._doc.clip(self._clip_id)
                name, has_mask = clip.name, bool(clip.mask)
            except AppError:
                self._clip_id = None
        if self._clip_id is None:
            self.clip_label.setText("Select a clip on the timeline, then paint the region to regenerate.")
            self.range_label.setText("")
        else:
            self.clip_label.setText(f"Clip: {name}" + ("" if has_mask else " (no mask painted yet)"))
            span = self.frame_range()
            if span is None:
                self.range_label.setText("The in/out marks do not cover this clip.")
            else:
                where = (
                    "in/out marks" if self._marks != (None, None) else ("mask" if has_mask else "whole clip")
                )
                first, end = span
                self.range_label.setText(f"Frames {first}–{end - 1} ({end - first} frames, from the {where})")
        self._update_state()

    def _update_state(self) -> None:
        blocked = self.model_combo.currentData() == MODEL_LTX2 and bool(self._problems)
        self.inpaint_button.setEnabled(not blocked and self._clip_id is not None)
        self.settings_button.setVisible(blocked)
        if blocked:
            hint = "" if self._settings.developer_tiny else "\nDeveloper mode offers the tiny test model."
            self.show_message(
                "Cannot inpaint yet:\n" + "\n".join(f"\u2022 {p}" for p in self._problems) + hint, True
            )
        elif self.message_label.text().startswith("Cannot inpaint yet"):
            self.show_message("")  # other messages (the last request's) stay until the next request
