"""'Extend clip...': how much to add, which way, and what happens; Queue returns an ExtendSpec.

The dialog only collects. The main window queues the job and, when it finishes, joins the new clip to the
original on the timeline as one undoable edit (app.jobs.extend.apply_extend_result).
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.errors import JobError
from app.jobs.extend import MAX_EXTEND_SECONDS, ExtendSpec
from app.jobs.spec import MODEL_LTX2, MODEL_TINY
from ui.generation_options import RECIPE_CHOICES


class ExtendDialog(QDialog):
    def __init__(
        self,
        clip_id: str,
        media_id: str | None,
        source_path: str,
        generation: dict | None,
        *,
        model: str = MODEL_LTX2,
        quantization: str = "none",
        seed: int = 0,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Extend clip")
        self.setObjectName("extendDialog")
        self._clip_id, self._media_id, self._source = clip_id, media_id, source_path
        self._generation = dict(generation or {})
        recorded = str(self._generation.get("model") or "")
        self._model = MODEL_TINY if recorded == MODEL_TINY else model
        self._quantization = quantization
        self.seconds_spin = QDoubleSpinBox(objectName="extendSeconds", suffix=" s", decimals=1)
        self.seconds_spin.setRange(0.1, MAX_EXTEND_SECONDS)
        self.seconds_spin.setValue(2.0)
        self.direction_combo = QComboBox(objectName="extendDirection")
        self.direction_combo.addItem("Forward: continue after the last frame", "forward")
        self.direction_combo.addItem("Backward: lead into the first frame", "backward")
        prompt = str(self._generation.get("prompt") or "")
        self.prompt_edit = QPlainTextEdit(prompt, objectName="extendPrompt")
        self.prompt_edit.setPlaceholderText("What happens in the extension")
        self.recipe_combo = QComboBox(objectName="extendRecipe")
        for label, recipe in RECIPE_CHOICES:
            self.recipe_combo.addItem(label, recipe)
        self.recipe_combo.setCurrentIndex(max(0, self.recipe_combo.findData(self._generation.get("recipe"))))
        self.seed_spin = QSpinBox(objectName="extendSeed")
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setValue(int(seed) % (2**31))
        self.message = QLabel(objectName="extendMessage")
        self.message.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Add", self.seconds_spin)
        form.addRow("Direction", self.direction_combo)
        form.addRow("Prompt", self.prompt_edit)
        form.addRow("Recipe", self.recipe_combo)
        form.addRow("Seed", self.seed_spin)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.queue_button = buttons.addButton("Queue", QDialogButtonBox.ButtonRole.AcceptRole)
        self.queue_button.setObjectName("extendQueue")
        buttons.accepted.connect(self._accept_if_valid)
        buttons.rejected.connect(self.reject)
        note = QLabel(
            "The new clip is conditioned on the clip's last frames (first frame going backward) and joins "
            "it on the timeline; one Undo removes it.",
            wordWrap=True,
        )
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.message)
        layout.addWidget(buttons)

    def spec(self) -> ExtendSpec:
        loras = tuple(
            (str(lora["path"]), float(lora.get("strength", 1.0)))
            for lora in self._generation.get("loras") or ()
            if isinstance(lora, dict) and lora.get("path")
        )
        return ExtendSpec(
            source_path=self._source,
            seconds=float(self.seconds_spin.value()),
            direction=self.direction_combo.currentData(),
            clip_id=self._clip_id,
            media_id=self._media_id,
            prompt=self.prompt_edit.toPlainText().strip(),
            seed=int(self.seed_spin.value()),
            recipe=self.recipe_combo.currentData(),
            loras=loras,
            model=self._model,
            quantization=self._quantization,
            source_generation=self._generation or None,
        )

    def _accept_if_valid(self) -> None:
        try:
            self.spec().validate()
        except JobError as exc:
            self.message.setText(str(exc))
            return
        self.accept()
