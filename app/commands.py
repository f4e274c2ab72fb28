"""Undo: one QUndoCommand per document edit, storing only the pieces of the document the edit changed.

A command runs its edit once (the first ``redo``, done by ``push_edit`` before the push so a failing edit
never reaches the stack) and records, for every piece of the document that differs (a clip, a track's
order of children, a bin entry, the markers, the sequence settings; see ``app.document.pieces``), its
state before and after. Undo and redo put those pieces back, so they cost what the edit touched, not the
size of the project, and undo-then-redo is the identity (clip ids and objects of untouched clips survive).
A track's order of children is stored as the one run that differs (``Splice``), not the whole track.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtGui import QUndoCommand, QUndoStack

from app.document import TimelineDocument
from app.document.pieces import Changes, PieceTracker, common_ends, deep_size, tracker_of

_MERGE_IDS: dict[str, int] = {}


def _merge_id(merge_key: str | None) -> int:
    """Qt merges by an int id; each distinct merge_key gets its own (stable for the process)."""
    if merge_key is None:
        return -1
    return _MERGE_IDS.setdefault(merge_key, 1000 + len(_MERGE_IDS))


@dataclass(frozen=True)
class Splice:
    """Two tuples that share a head of ``head`` and a tail of ``tail`` entries: only the middles are kept."""

    head: int
    tail: int
    old: tuple
    new: tuple

    @classmethod
    def of(cls, old: tuple, new: tuple) -> Splice:
        head, tail = common_ends(old, new)
        return cls(head, tail, old[head : len(old) - tail], new[head : len(new) - tail])

    def old_from(self, new: tuple) -> tuple:
        return new[: self.head] + self.old + new[len(new) - self.tail :]

    def new_from(self, old: tuple) -> tuple:
        return old[: self.head] + self.new + old[len(old) - self.tail :]


class Delta:
    """The pieces one undo step changed: ``{key: (before, after)}``, long tuples kept as ``Splice``s."""

    def __init__(self, changes: Changes) -> None:
        self.changes: dict[str, tuple[Any, Any] | Splice] = {
            key: Splice.of(old, new) if isinstance(old, tuple) and isinstance(new, tuple) else (old, new)
            for key, (old, new) in changes.items()
        }

    def __bool__(self) -> bool:
        return bool(self.changes)

    def before(self, current: dict[str, Any]) -> dict[str, Any]:
        """The pieces before the step, given ``current`` (the pieces after it)."""
        return {
            key: change.old_from(current[key]) if isinstance(change, Splice) else change[0]
            for key, change in self.changes.items()
        }

    def after(self, current: dict[str, Any]) -> dict[str, Any]:
        """The pieces after the step, given ``current`` (the pieces before it)."""
        return {
            key: change.new_from(current[key]) if isinstance(change, Splice) else change[1]
            for key, change in self.changes.items()
        }

    def then(self, later: Delta, current: dict[str, Any]) -> Delta:
        """This step followed by ``later`` as one step; ``current`` are the pieces after ``later``."""
        after = {key: current.get(key) for key in self.changes.keys() | later.changes.keys()}
        middle = dict(after)
        middle.update(later.before(current))
        before = dict(middle)
        before.update(self.before(middle))
        return Delta({key: (before[key], after[key]) for key in after if before[key] != after[key]})

    def nbytes(self) -> int:
        """Bytes this step holds (an estimate: Python objects counted once; pieces shared with the
        document's current state are counted too)."""
        return deep_size(self.changes)


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
        self.delta: Delta | None = None
        self.result: Any = None
        self._done = False  # the document is in the state after this command (its first run)

    @property
    def _pieces(self) -> PieceTracker:
        return tracker_of(self.doc)

    def run(self) -> Any:
        """Make the edit the first time and record what it changed; on error the document is put back."""
        pieces = self._pieces
        pieces.settle()  # whatever changed outside an undo step is not this step's
        try:
            self.result = self._apply(self.doc)
        except BaseException:
            # an apply made of several document calls may fail half way: put the first ones back
            partial = pieces.settle()
            if partial:
                pieces.apply({key: old for key, (old, _new) in partial.items()})
            raise
        self.delta = Delta(pieces.settle())
        self._done = True
        return self.result

    def redo(self) -> None:
        if self.delta is None:
            self.run()
        elif self._done:
            self._done = False  # QUndoStack.push calls redo right after the edit was made
        else:
            pieces = self._pieces
            pieces.settle()
            pieces.apply(self.delta.after(pieces.pieces))

    def undo(self) -> None:
        self._done = False
        if self.delta:
            pieces = self._pieces
            pieces.settle()
            pieces.apply(self.delta.before(pieces.pieces))

    def nbytes(self) -> int:
        """Bytes the undo step holds (see ``Delta.nbytes``)."""
        return 0 if self.delta is None else self.delta.nbytes()

    def id(self) -> int:
        return _merge_id(self.merge_key)

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if not isinstance(other, EditCommand) or self.merge_key is None or other.merge_key != self.merge_key:
            return False
        if other.doc is not self.doc or self.delta is None or other.delta is None:
            return False
        pieces = self._pieces
        pieces.settle()
        self.delta = self.delta.then(other.delta, pieces.pieces)
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
    if not command.delta:
        return result  # a no-op edit is not worth an undo step
    stack.push(command)
    return result
