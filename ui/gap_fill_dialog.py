"""Fill Gap with Generation…: what goes into a gap between two clips.

It says what will happen -- the gap's length, the length LTX-2 really makes (8k+1 frames: the next valid
length at or above the gap's) and that the placed clip is trimmed to the gap exactly -- and asks for the
prompt and the seed. The model, size and recipe are the clip before's (its stored generation), or the
Generate panel's when it has none. Non-modal: Queue emits `queue_requested(prompt, seed)`.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.jobs.gapfill import Gap, generated_frames
from app.jobs.spec import JobSpec
from ui.generate_panel import MAX_SEED_UI


def gap_summary(gap: Gap, rate: float, before: str, after: str) -> str:
    made = generated_frames(gap.length)
    seconds = gap.length / rate
    trimmed = (
        f"LTX-2 makes clips of 8k+1 frames, so it generates {made} frames and the clip placed in the gap is "
        f"trimmed to the gap's {gap.length} exactly."
        if made != gap.length
        else f"{made} frames is a length LTX-2 makes, so the whole clip fills the gap."
    )
    return (
        f"The gap between '{before}' and '{after}' is {gap.length} frames ({seconds:.2f} s). The new clip "
        f"starts from the last frame of '{before}' and ends on the first frame of '{after}'. {trimmed}"
    )


class GapFillDialog(QDialog):
    queue_requested = Signal(str, int)  # prompt, seed

    def __init__(
        self, gap: Gap, rate: float, before: str, after: str, base: JobSpec, seed: int,
        parent: QWidget | None = None,
    ) -> None:  # fmt: skip
        super().__init__(parent)
        self.setObjectName("gapFillDialog")
        self.setWindowTitle("Fill Gap with Generation")
        self.gap = gap
        self.summary = QLabel(gap_summary(gap, rate, before, after), objectName="gapFillSummary")
        self.summary.setWordWrap(True)
        self.prompt_edit = QPlainTextEdit(base.prompt, objectName="gapFillPrompt")
        self.prompt_edit.setPlaceholderText("What happens between the two shots")
        self.prompt_edit.setMinimumHeight(70)
        self.seed_spin = QSpinBox(objectName="gapFillSeed")
        self.seed_spin.setRange(0, MAX_SEED_UI)
        self.seed_spin.setValue(min(int(seed), MAX_SEED_UI))
        recipe = base.recipe or "the model's default recipe"
        self.settings_label = QLabel(
            f"{base.width} x {base.height}, {recipe}, model {base.model}", objectName="gapFillSettings"
        )
        self.message_label = QLabel(objectName="gapFillMessage")
        self.message_label.setWordWrap(True)
        self.message_label.setStyleSheet("color: #ff8a80;")
        form = QFormLayout()
        form.addRow("Prompt", self.prompt_edit)
        form.addRow("Seed", self.seed_spin)
        form.addRow("Settings", self.settings_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.queue_button = QPushButton("Queue Gap Fill", objectName="gapFillQueue")
        self.queue_button.setDefault(True)
        buttons.addButton(self.queue_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self._queue)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(form)
        layout.addWidget(self.message_label)
        layout.addWidget(buttons)
        self.resize(480, 300)

    def show_error(self, text: str) -> None:
        """A refusal (the prompt is empty, a keyframe cannot be read...): the dialog stays open."""
        self.message_label.setText(text)

    def _queue(self) -> None:
        prompt = self.prompt_edit.toPlainText().strip()
        if not prompt:
            self.show_error("Say what happens in the gap (the prompt is empty).")
            return
        self.queue_requested.emit(prompt, self.seed_spin.value())
