"""Undo: one QUndoCommand per document edit, built on the document's snapshots.

A command runs its edit once (the first ``redo``, done by ``push_edit`` before the push so a failing edit
never reaches the stack) and from then on restores the snapshots taken before and after it. Snapshots are
exact, so undo-then-redo is the identity, and clip ids survive both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QUndoCommand, QUndoStack

from app.document import TimelineDocument

_MERGE_IDS: dict[str, int] = {}


def _merge_id(merge_key: str | None) -> int:
    """Qt merges by an int id; each distinct merge_key gets its own (stable for the process)."""
    if merge_key is None:
        return -1
    return _MERGE_IDS.setdefault(merge_key, 1000 + len(_MERGE_IDS))


class EditCommand(QUndoCommand):
    """An undoable document edit.

    ``apply(doc)`` makes the edit (and may raise EditError). Commands with the same non-None
    ``merge_key`` pushed one after another merge into one undo step (a continuous drag or trim): the merged
    step undoes to the state before the first and redoes to the state after the last.
    """

    def __init__(
        self,
        doc: TimelineDocument,
        text: str,
        apply: Callable[[TimelineDocument], Any],
        merge_key: str | None = None,
    ) -> None:
        super().__init__(text)
        self.doc = doc
        self.merge_key = merge_key
        self._apply = apply
        self.before: str | None = None
        self.after: str | None = None
        self.result: Any = None

    def run(self) -> Any:
        """Make the edit the first time and record the snapshots; on error the document is put back."""
        before = self.doc.snapshot()
        try:
            self.result = self._apply(self.doc)
        except BaseException:
            # an apply made of several document calls may fail half way: put the first ones back
            if self.doc.snapshot() != before:
                self.doc.restore(before)
            raise
        self.before, self.after = before, self.doc.snapshot()
        return self.result

    def redo(self) -> None:
        if self.after is None:
            self.run()
        elif self.doc.snapshot() != self.after:
            self.doc.restore(self.after)

    def undo(self) -> None:
        if self.before is not None:
            self.doc.restore(self.before)

    def id(self) -> int:
        return _merge_id(self.merge_key)

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if not isinstance(other, EditCommand) or self.merge_key is None or other.merge_key != self.merge_key:
            return False
        if other.doc is not self.doc:
            return False
        self.after = other.after
        self.result = other.result
        return True


def push_edit(
    stack: QUndoStack,
    doc: TimelineDocument,
    text: str,
    apply: Callable[[TimelineDocument], Any],
    merge_key: str | None = None,
) -> Any:
    """Make an edit and put it on the undo stack; returns what ``apply`` returned.

    The edit runs before the push, so an EditError propagates with nothing pushed and the document
    unchanged. (QUndoStack.push calls redo, which sees the edit already made and does nothing.)
    """
    command = EditCommand(doc, text, apply, merge_key)
    result = command.run()
    if command.before == command.after:
        return result  # a no-op edit is not worth an undo step
    stack.push(command)
    return result
