"""Settings: where the LTX-2 checkpoint and the Gemma root are, quantization, developer mode.

The dialog checks the paths as they are typed (file headers only, no loading), says what it found
("LTX-2.3 dev, Gemma 3 root OK, spatial upscaler x2 found, no LoRAs") and names each missing companion file,
so a user learns that the model cannot load before pressing Generate, not minutes after.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.jobs import QUANTIZATION_LABELS, QUANTIZATION_MODES, EngineSettings


def _path_row(edit: QLineEdit, *buttons: QPushButton) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    for button in buttons:
        layout.addWidget(button)
    return row


class SettingsDialog(QDialog):
    """Edits EngineSettings; on OK saves them to `store` (the app's QSettings; tests pass a temporary one)."""

    settings_changed = Signal(object)  # EngineSettings, after OK

    def __init__(
        self, settings: EngineSettings, store: QSettings | None = None, parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.setWindowTitle("Generation settings")
        self.setObjectName("settingsDialog")
        self._store = store
        self.checkpoint_edit = QLineEdit(settings.checkpoint, objectName="checkpointEdit")
        self.checkpoint_edit.setPlaceholderText(
            "ltx-2.3-22b-dev.safetensors, an LTX-2.5 release folder or a diffusers folder"
        )
        self.gemma_edit = QLineEdit(settings.gemma_root, objectName="gemmaEdit")
        self.gemma_edit.setPlaceholderText(
            "found beside the checkpoint or inside an LTX-2.5 folder; else the Gemma-3 folder"
        )
        file_button = QPushButton("File...", objectName="checkpointFileButton")
        folder_button = QPushButton("Folder...", objectName="checkpointFolderButton")
        gemma_button = QPushButton("Folder...", objectName="gemmaFolderButton")
        file_button.clicked.connect(self._pick_checkpoint_file)
        folder_button.clicked.connect(self._pick_checkpoint_folder)
        gemma_button.clicked.connect(self._pick_gemma)

        self.quantization_combo = QComboBox(objectName="quantizationCombo")
        for mode in QUANTIZATION_MODES:
            self.quantization_combo.addItem(QUANTIZATION_LABELS[mode], mode)
        self.quantization_combo.setCurrentIndex(
            max(0, self.quantization_combo.findData(settings.quantization))
        )
        self.developer_check = QCheckBox(
            "Developer mode: offer the tiny test model (random weights: it generates noise)",
            objectName="developerCheck",
        )
        self.developer_check.setChecked(settings.developer_tiny)
        self.lora_edit = QLineEdit(settings.lora_folder, objectName="loraFolderEdit")
        self.lora_edit.setPlaceholderText("a folder of LoRA .safetensors files (optional)")
        lora_button = QPushButton("Folder...", objectName="loraFolderButton")
        lora_button.clicked.connect(self._pick_lora_folder)
        # Render nodes (app.cluster): this machine, or a Ray cluster of the studio's machines
        self.nodes_combo = QComboBox(objectName="renderNodesCombo")
        self.nodes_combo.addItem("This machine", "local")
        self.nodes_combo.addItem("Ray cluster at", "cluster")
        self.nodes_edit = QLineEdit(settings.render_nodes, objectName="renderNodesAddress")
        self.nodes_edit.setPlaceholderText("HOST:PORT of the head node, e.g. 192.168.1.20:6379")
        self.nodes_edit.setToolTip(
            "`ray start --head --node-ip-address=<private IP>` on one machine, "
            "`ray start --address=HOST:PORT` on the others. A Ray cluster trusts every machine in it: keep "
            "it on a private network, never on the internet."
        )
        self.nodes_combo.setCurrentIndex(1 if settings.render_nodes.strip() else 0)
        self.nodes_combo.currentIndexChanged.connect(self._nodes_changed)
        self._nodes_changed()
        self.status_label = QLabel(objectName="settingsStatus")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        form = QFormLayout()
        self.models_button = QPushButton("Model manager...", objectName="modelManagerButton")
        self.models_button.setToolTip("See what the models folder holds and download what is missing")
        self.models_button.clicked.connect(self.open_model_manager)
        form.addRow("Models", self.models_button)
        form.addRow("LTX-2 checkpoint", _path_row(self.checkpoint_edit, file_button, folder_button))
        form.addRow("Gemma text encoder", _path_row(self.gemma_edit, gemma_button))
        form.addRow("Quantization", self.quantization_combo)
        form.addRow("LoRA library", _path_row(self.lora_edit, lora_button))
        form.addRow("", self.developer_check)
        nodes_row = QWidget()
        nodes_layout = QHBoxLayout(nodes_row)
        nodes_layout.setContentsMargins(0, 0, 0, 0)
        nodes_layout.addWidget(self.nodes_combo)
        nodes_layout.addWidget(self.nodes_edit, 1)
        form.addRow("Render nodes", nodes_row)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status_label)
        layout.addWidget(buttons)
        self.checkpoint_edit.textChanged.connect(self.refresh_status)
        self.gemma_edit.textChanged.connect(self.refresh_status)
        self.refresh_status()

    def settings(self) -> EngineSettings:
        return EngineSettings(
            checkpoint=self.checkpoint_edit.text().strip(),
            gemma_root=self.gemma_edit.text().strip(),
            quantization=self.quantization_combo.currentData(),
            developer_tiny=self.developer_check.isChecked(),
            lora_folder=self.lora_edit.text().strip(),
            render_nodes=self.nodes_edit.text().strip() if self._on_cluster() else "",
        )

    def _on_cluster(self) -> bool:
        return self.nodes_combo.currentData() == "cluster"

    def _nodes_changed(self) -> None:
        cluster = self._on_cluster()
        self.nodes_edit.setEnabled(cluster)
        if cluster:
            self.nodes_edit.setFocus()

    def open_model_manager(self):
        """The model manager over this dialog; its "Use this model" fills the paths here."""
        from ui.model_manager import ModelManagerDialog

        dialog = ModelManagerDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.use_model.connect(self._use_model)
        dialog.open()
        return dialog

    def _use_model(self, changes: dict) -> None:
        self.checkpoint_edit.setText(changes.get("checkpoint", ""))
        self.gemma_edit.setText(changes.get("gemma_root", ""))
        if changes.get("lora_folder"):
            self.lora_edit.setText(changes["lora_folder"])

    def _pick_lora_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "LoRA library folder", self.lora_edit.text())
        if folder:
            self.lora_edit.setText(folder)

    def refresh_status(self) -> list[str]:
        settings = self.settings()
        problems = settings.detect()
        summary = settings.summary()
        lines = [f"Found: {summary}."] if summary else []
        if problems:
            lines += [f"\u2022 {p}" for p in problems]
            self.status_label.setProperty("state", "problem")
        else:
            lines.append("The checkpoint and the text encoder were found; the model can load.")
            self.status_label.setProperty("state", "ok")
        self.status_label.setText("\n".join(lines))
        return problems

    def accept(self) -> None:
        chosen = self.settings()
        if self._store is not None:
            chosen.save(self._store)
        self.settings_changed.emit(chosen)
        super().accept()

    def _pick_checkpoint_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "LTX-2 checkpoint", self.checkpoint_edit.text(), "Safetensors (*.safetensors)"
        )
        if path:
            self.checkpoint_edit.setText(path)

    def _pick_checkpoint_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self, "LTX-2.5 release folder or diffusers folder", self.checkpoint_edit.text()
        )
        if path:
            self.checkpoint_edit.setText(path)

    def _pick_gemma(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Gemma-3 text encoder folder", self.gemma_edit.text())
        if path:
            self.gemma_edit.setText(path)
