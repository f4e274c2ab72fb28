"""Prompt presets: style snippets a user saves once ("35mm film, soft light, shallow depth of field") and
adds to any prompt from the Generate panel's Presets menu.

Kept per user in the studio's QSettings (the store the Generate panel remembers its last settings in), under
``promptPresets/items`` as JSON, so every project sees the same presets. An unreadable value starts an
empty list (and is replaced on the next save); names are unique (saving an existing name replaces its
text).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from PySide6.QtCore import QObject, QSettings, Signal

from app.errors import JobError

log = logging.getLogger(__name__)

KEY = "promptPresets/items"
MAX_NAME = 60
MAX_TEXT = 2000


@dataclass(frozen=True)
class PromptPreset:
    name: str
    text: str


def add_to_prompt(prompt: str, snippet: str) -> str:
    """`prompt` with `snippet` appended as another clause (", " between them; nothing doubled)."""
    prompt, snippet = prompt.rstrip(), snippet.strip()
    if not snippet:
        return prompt
    if not prompt:
        return snippet
    if prompt.endswith(snippet):
        return prompt
    joiner = " " if prompt.endswith((",", ";", ".")) else ", "
    return prompt + joiner + snippet


class PromptPresets(QObject):
    """The user's presets: `presets()`, `save(name, text)`, `remove(name)`; `changed` after each change."""

    changed = Signal()

    def __init__(self, store: QSettings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._presets = self._read()

    def presets(self) -> list[PromptPreset]:
        return list(self._presets)

    def get(self, name: str) -> PromptPreset | None:
        return next((p for p in self._presets if p.name == name), None)

    def save(self, name: str, text: str) -> PromptPreset:
        """Add (or replace) a preset. JobError when the name or text is empty or too long."""
        name, text = " ".join(name.split()), text.strip()
        if not name:
            raise JobError("give the preset a name")
        if len(name) > MAX_NAME:
            raise JobError(f"a preset's name may have at most {MAX_NAME} characters ({len(name)} given)")
        if not text:
            raise JobError("the preset's text is empty; write the style words to add to prompts")
        if len(text) > MAX_TEXT:
            raise JobError(f"a preset may have at most {MAX_TEXT} characters ({len(text)} given)")
        preset = PromptPreset(name, text)
        others = [p for p in self._presets if p.name != name]
        index = next((i for i, p in enumerate(self._presets) if p.name == name), len(others))
        self._presets = others[:index] + [preset] + others[index:]
        self._write()
        return preset

    def remove(self, name: str) -> bool:
        kept = [p for p in self._presets if p.name != name]
        if len(kept) == len(self._presets):
            return False
        self._presets = kept
        self._write()
        return True

    def _read(self) -> list[PromptPreset]:
        raw = self._store.value(KEY, "")
        if not raw:
            return []
        try:
            items = json.loads(str(raw))
            presets = [PromptPreset(str(i["name"]), str(i["text"])) for i in items]
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("prompt presets are unreadable (%s); starting with none", exc)
            return []
        unique = {p.name: p for p in presets if p.name and p.text}
        return list(unique.values())

    def _write(self) -> None:
        data = json.dumps([{"name": p.name, "text": p.text} for p in self._presets])
        self._store.setValue(KEY, data)
        self._store.sync()
        self.changed.emit()
