"""The Generate panel's Presets menu: the user's style snippets (app.jobs.prompt_presets), each added to
the prompt with one click; "Save Prompt as Preset…" keeps the prompt's text (or its selected part) under a
name; "Remove" forgets one. Presets are the user's, not the project's: every project sees them."""

from __future__ import annotations

from PySide6.QtWidgets import QInputDialog, QMenu, QPlainTextEdit, QToolButton, QWidget

from app.errors import JobError
from app.jobs.prompt_presets import PromptPresets, add_to_prompt


class PromptPresetsButton(QToolButton):
    """A "Presets ▾" button for `prompt_edit`; `set_store(PromptPresets)` gives it the user's presets."""

    def __init__(self, prompt_edit: QPlainTextEdit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("promptPresetsButton")
        self.setText("Presets")
        self.setToolTip("Add a saved style snippet to the prompt, or save this prompt as one")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self._prompt = prompt_edit
        self._store: PromptPresets | None = None
        self.menu_ = QMenu(self, objectName="promptPresetsMenu")
        self.menu_.aboutToShow.connect(self.fill_menu)
        self.setMenu(self.menu_)
        self.message = ""  # the last refusal, shown in the tooltip
        self.fill_menu()

    def set_store(self, store: PromptPresets) -> None:
        self._store = store
        store.changed.connect(self.fill_menu)
        self.fill_menu()

    def presets(self) -> list[str]:
        return [p.name for p in self._store.presets()] if self._store is not None else []

    def insert(self, name: str) -> bool:
        """Add preset `name`'s text to the prompt (as another clause at the end)."""
        preset = self._store.get(name) if self._store is not None else None
        if preset is None:
            return False
        self._prompt.setPlainText(add_to_prompt(self._prompt.toPlainText(), preset.text))
        cursor = self._prompt.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        self._prompt.setTextCursor(cursor)
        return True

    def save_current(self, name: str) -> str | None:
        """Save the prompt's selected text (or all of it) as `name`; the refusal's reason, or None."""
        if self._store is None:
            return "presets are not available"
        selected = self._prompt.textCursor().selectedText().replace("\u2029", "\n")
        try:
            self._store.save(name, selected or self._prompt.toPlainText())
        except JobError as exc:
            self.message = str(exc)
            self.setToolTip(f"Presets — {exc}")
            return str(exc)
        return None

    def fill_menu(self) -> None:
        menu = self.menu_
        menu.clear()
        names = self.presets()
        for name in names:
            text = self._store.get(name).text if self._store is not None else ""
            action = menu.addAction(name, lambda n=name: self.insert(n))
            action.setObjectName("promptPresetAction")
            action.setToolTip(text)
        if not names:
            empty = menu.addAction("No presets yet: write a style, then save it")
            empty.setEnabled(False)
        menu.setToolTipsVisible(True)
        menu.addSeparator()
        save = menu.addAction("Save Prompt as Preset…", self._ask_name)
        save.setObjectName("savePromptPresetAction")
        save.setEnabled(self._store is not None)
        if names:
            remove = menu.addMenu("Remove Preset")
            remove.setObjectName("removePromptPresetMenu")
            for name in names:
                remove.addAction(name, lambda n=name: self._store.remove(n))

    def _ask_name(self) -> None:
        # open(), not exec(): no nested event loop
        dialog = QInputDialog(self.window())
        dialog.setObjectName("promptPresetNameDialog")
        dialog.setWindowTitle("Save Prompt Preset")
        dialog.setLabelText("Name of the preset (the selected text, or the whole prompt, is saved):")
        dialog.textValueSelected.connect(self.save_current)
        dialog.open()
