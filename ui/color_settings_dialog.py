"""Project colour settings: the OpenColorIO config (built-in ACES or a file), spaces, display and view.

Every change is checked through `app.color` at once (the config loads, the names exist, the display/view
builds); a problem shows inline and OK stays disabled. OK applies the settings as one undoable edit
(`doc.set_color_settings`). Open it with `open()` (non-blocking); tests drive the setters directly.
"""

from __future__ import annotations

from PySide6.QtGui import QUndoStack
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
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.color import ColorSettings, GradePipeline
from app.color.settings import BUILTIN_CONFIG
from app.commands import push_edit
from app.document import TimelineDocument
from app.errors import AppError, ColorError

CONFIG_FILTER = "OpenColorIO configs (*.ocio *.ocioz);;All files (*)"
_SPACE_FIELDS = ("working_space", "input_space", "output_space")


class ColorSettingsDialog(QDialog):
    """Edits `doc.color_settings()`; `accepted` after the edit is on `undo_stack`."""

    def __init__(self, doc: TimelineDocument, undo_stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("colorSettingsDialog")
        self.setWindowTitle("Colour settings")
        self._doc = doc
        self._stack = undo_stack
        self._filling = False
        self._settings: ColorSettings | None = None
        try:
            current = ColorSettings.from_dict(doc.color_settings())
        except ColorError:
            current = ColorSettings()  # unreadable stored settings: start from the defaults

        self.builtin_radio = QRadioButton("Built-in ACES config (studio-config-latest)")
        self.file_radio = QRadioButton("Config file")
        self.config_edit = QLineEdit(objectName="configPath", placeholderText="path/to/config.ocio")
        self.config_browse = QPushButton("Browse…")
        self.config_browse.clicked.connect(self.choose_config_file)
        self.working_space = QComboBox(objectName="workingSpace")
        self.input_space = QComboBox(objectName="inputSpaceDefault")
        self.output_space = QComboBox(objectName="outputSpace")
        self.display = QComboBox(objectName="display")
        self.view = QComboBox(objectName="view")
        self.bake = QCheckBox("Bake slow views into a 3D LUT (fast viewer and export; error about 0.02 max)")
        self.error_label = QLabel(objectName="colorSettingsError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #ff6b6b;")
        self.summary_label = QLabel(objectName="colorSettingsSummary")
        self.summary_label.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        file_row = QHBoxLayout()
        file_row.addWidget(self.file_radio)
        file_row.addWidget(self.config_edit, 1)
        file_row.addWidget(self.config_browse)
        form = QFormLayout()
        form.addRow("Config", self.builtin_radio)
        form.addRow("", file_row)
        form.addRow("Working space", self.working_space)
        form.addRow("Clips are in", self.input_space)
        form.addRow("Export writes", self.output_space)
        form.addRow("Display", self.display)
        form.addRow("View", self.view)
        form.addRow("", self.bake)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

        builtin = current.config.startswith("ocio://")
        self.builtin_radio.setChecked(builtin)
        self.file_radio.setChecked(not builtin)
        self.config_edit.setText("" if builtin else current.config)
        self.bake.setChecked(current.bake_slow_views)
        self._fill_choices(current)
        self.builtin_radio.toggled.connect(lambda _on: self._config_changed())
        self.config_edit.editingFinished.connect(self._config_changed)
        for combo in (self.working_space, self.input_space, self.output_space, self.view):
            combo.currentIndexChanged.connect(lambda _i: self._validate())
        self.display.currentIndexChanged.connect(lambda _i: self._display_changed())
        self.bake.toggled.connect(lambda _on: self._validate())
        self._validate()

    # ------------------------------------------------------------------------------------------ public
    def settings(self) -> ColorSettings | None:
        """The settings the controls describe, when they are valid (None while an error shows)."""
        return self._settings

    def error_text(self) -> str:
        return self.error_label.text()

    def choose_config_file(self) -> None:
        dialog = QFileDialog(self, "Choose an OpenColorIO config", "", CONFIG_FILTER)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(self.set_config_file)
        dialog.open()

    def set_config_file(self, path: str | None) -> None:
        """Use the config at `path` (None or "": the built-in config)."""
        self.config_edit.setText(path or "")
        (self.file_radio if path else self.builtin_radio).setChecked(True)
        self._config_changed()

    def select(self, **names: str | None) -> None:
        """Pick names by field (working_space=..., display=..., view=...; None = the default)."""
        for field, name in names.items():
            combo = self._combo(field)
            index = combo.findData(name)
            if index < 0:
                raise ValueError(f"{name!r} is not offered for {field}")
            combo.setCurrentIndex(index)

    def accept(self) -> None:
        settings = self._settings
        if settings is None:
            return  # OK is disabled then; a stray Enter must not close with an error showing
        data = settings.to_dict()
        try:
            push_edit(self._stack, self._doc, "Colour settings", lambda d: d.set_color_settings(data))
        except AppError as exc:
            self._show_error(str(exc))
            return
        super().accept()

    # --------------------------------------------------------------------------------------- internals
    def _combo(self, field: str) -> QComboBox:
        return {
            "working_space": self.working_space,
            "input_space": self.input_space,
            "output_space": self.output_space,
            "display": self.display,
            "view": self.view,
        }[field]

    def _config_name(self) -> str:
        return BUILTIN_CONFIG if self.builtin_radio.isChecked() else self.config_edit.text().strip()

    def _config_changed(self) -> None:
        try:
            settings = ColorSettings(config=self._config_name(), bake_slow_views=self.bake.isChecked())
            settings.load_config()
        except ColorError as exc:
            self._settings = None
            self._fill_choices(None)
            self._show_error(str(exc))
            return
        self._fill_choices(settings)  # names from the old config may not exist in this one: defaults
        self._validate()

    def _display_changed(self) -> None:
        if self._filling:
            return
        self._fill_views(self._picked("display"), None)
        self._validate()

    def _fill_choices(self, settings: ColorSettings | None) -> None:
        """Offer the config's spaces, displays and views, keeping `settings`' picks where it has them."""
        self._filling = True
        try:
            spaces = settings.color_spaces() if settings else []
            displays = settings.displays() if settings else []
            resolved = settings.resolve() if settings else None
        except ColorError as exc:
            spaces, displays, resolved = [], [], None
            self._settings = None
            self._show_error(str(exc))
        for field in _SPACE_FIELDS:
            default = getattr(resolved, field) if resolved else ""
            self._fill(self._combo(field), spaces, default, getattr(settings, field, None))
        self._fill(
            self.display, displays, resolved.display if resolved else "", getattr(settings, "display", None)
        )
        self._fill_views(getattr(settings, "display", None), getattr(settings, "view", None))
        self._filling = False

    def _fill_views(self, display: str | None, pick: str | None) -> None:
        try:
            base = ColorSettings(config=self._config_name())
            views = base.views(display)
            default = ColorSettings(config=self._config_name(), display=display).resolve().view
        except ColorError:
            views, default = [], ""
        self._fill(self.view, views, default, pick if pick in views else None)

    @staticmethod
    def _fill(combo: QComboBox, names: list[str], default: str, pick: str | None) -> None:
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(f"Default ({default})" if default else "Default", None)
        for name in names:
            combo.addItem(name, name)
        index = combo.findData(pick) if pick else 0
        combo.setCurrentIndex(max(index, 0))
        combo.blockSignals(False)

    def _picked(self, field: str) -> str | None:
        return self._combo(field).currentData()

    def _validate(self) -> None:
        if self._filling:
            return
        try:
            settings = ColorSettings(
                config=self._config_name(),
                bake_slow_views=self.bake.isChecked(),
                **{field: self._picked(field) for field in (*_SPACE_FIELDS, "display", "view")},
            )
            if not settings.config:
                raise ColorError("Choose an OpenColorIO config file, or use the built-in ACES config.")
            pipeline = GradePipeline(settings)
            pipeline.display_processor()  # the view must build, not only exist by name
        except ColorError as exc:
            self._settings = None
            self._show_error(str(exc))
            return
        self._settings = settings
        spaces = pipeline.spaces
        identity = "identity" if pipeline.display_is_identity() else "a transform"
        self.summary_label.setText(
            f"Clips in {spaces.input_space} are graded in {spaces.working_space} and exported as "
            f"{spaces.output_space}; the viewer shows {spaces.display} / {spaces.view} ({identity})."
        )
        self._show_error("")

    def _show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(not message and self._settings is not None)
        if message:
            self.summary_label.setText("")
