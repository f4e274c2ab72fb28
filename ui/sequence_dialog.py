"""Sequence Settings: the frame size, frame rate and audio rate a project plays and exports at.

Presets (UHD, 1080p, 720p, 9:16 vertical) or a custom size; rates 23.976-60; 44.1/48/96 kHz. "Match First
Clip" offers the first clip's format. Non-modal (``open()``); ``settings_chosen`` carries the checked
``SequenceSettings`` -- the main window applies it as one undoable edit. Impossible values are refused in the
dialog with the core's message and OK stays disabled.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.document.sequence import AUDIO_RATES, RATE_PRESETS, SIZE_PRESETS, SequenceSettings, rate_label
from app.errors import AppError

CUSTOM = "Custom"


class SequenceSettingsDialog(QDialog):
    settings_chosen = Signal(object)  # SequenceSettings

    def __init__(
        self,
        current: SequenceSettings,
        first_clip: SequenceSettings | None = None,
        parent: QWidget | None = None,
        intro: str = "",
    ) -> None:
        super().__init__(parent)
        self.setObjectName("sequenceSettingsDialog")
        self.setWindowTitle("Sequence Settings")
        self._first_clip = first_clip
        self.preset = QComboBox(objectName="sequencePreset")
        for name, (w, h) in SIZE_PRESETS.items():
            self.preset.addItem(f"{name}  ({w} × {h})", name)
        self.preset.addItem(CUSTOM, CUSTOM)
        self.width_box = QSpinBox(objectName="sequenceWidth")
        self.height_box = QSpinBox(objectName="sequenceHeight")
        for box in (self.width_box, self.height_box):
            box.setRange(2, 16384)
            box.setSingleStep(2)
            box.setSuffix(" px")
        self.rate = QComboBox(objectName="sequenceRate")
        for label, value in RATE_PRESETS.items():
            self.rate.addItem(f"{label} fps", value)
        self.audio = QComboBox(objectName="sequenceAudioRate")
        for value in AUDIO_RATES:
            self.audio.addItem(f"{value / 1000:g} kHz", value)
        self.problem = QLabel(objectName="sequenceProblem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #e07060;")
        size_row = QHBoxLayout()
        size_row.addWidget(self.width_box)
        size_row.addWidget(QLabel("×"))
        size_row.addWidget(self.height_box)
        form = QFormLayout()
        form.addRow("Frame size", self.preset)
        form.addRow("", size_row)
        form.addRow("Frame rate", self.rate)
        form.addRow("Audio", self.audio)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.match_button = QPushButton("Match First Clip", objectName="matchFirstClip")
        self.match_button.setEnabled(first_clip is not None)
        if first_clip is not None:
            self.match_button.setToolTip(f"The first clip: {first_clip.describe()}")
        self.buttons.addButton(self.match_button, QDialogButtonBox.ButtonRole.ResetRole)
        self.match_button.clicked.connect(lambda: self.set_settings(self._first_clip))
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        if intro:
            note = QLabel(intro, objectName="sequenceIntro")
            note.setWordWrap(True)
            layout.addWidget(note)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.preset.currentIndexChanged.connect(self._preset_changed)
        for box in (self.width_box, self.height_box):
            box.valueChanged.connect(self._size_changed)
        self.set_settings(current)

    # ------------------------------------------------------------------------------------ values
    def set_settings(self, settings: SequenceSettings | None) -> None:
        if settings is None:
            return
        self.width_box.setValue(settings.width)
        self.height_box.setValue(settings.height)
        index = self.rate.findText(f"{rate_label(settings.rate)} fps")
        if index < 0:
            self.rate.addItem(f"{rate_label(settings.rate)} fps", settings.rate)
            index = self.rate.count() - 1
        self.rate.setCurrentIndex(index)
        self.audio.setCurrentIndex(max(0, self.audio.findData(settings.audio_rate)))
        self._size_changed()

    def settings(self) -> SequenceSettings:
        """The chosen settings. Raises AppError (EditError) for impossible values."""
        return SequenceSettings(
            self.width_box.value(),
            self.height_box.value(),
            float(self.rate.currentData()),
            int(self.audio.currentData()),
        )

    # ------------------------------------------------------------------------------------ internals
    def _preset_changed(self) -> None:
        name = self.preset.currentData()
        if name in SIZE_PRESETS:
            w, h = SIZE_PRESETS[name]
            self.width_box.setValue(w)
            self.height_box.setValue(h)

    def _size_changed(self) -> None:
        size = (self.width_box.value(), self.height_box.value())
        match = next((n for n, s in SIZE_PRESETS.items() if s == size), CUSTOM)
        self.preset.blockSignals(True)
        self.preset.setCurrentIndex(self.preset.findData(match))
        self.preset.blockSignals(False)
        self._check()

    def _check(self) -> bool:
        try:
            self.settings()
        except AppError as exc:
            self.problem.setText(str(exc))
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
            return False
        self.problem.setText("")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True)
        return True

    def _accept(self) -> None:
        if self._check():
            self.settings_chosen.emit(self.settings())
            self.accept()
