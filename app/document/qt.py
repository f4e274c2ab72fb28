"""Qt bridge: DocumentSignals re-emits the document's change notifications as a Qt signal."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.document.document import TimelineDocument
from app.document.model import DocumentChange


class DocumentSignals(QObject):
    """``changed(DocumentChange)`` after every mutation of ``doc``; views connect to this, not to the doc.

    ``detach()`` stops forwarding (e.g. when a project is closed and its document replaced).
    """

    changed = Signal(object)

    def __init__(self, doc: TimelineDocument, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self._unsubscribe = doc.subscribe(self._forward)

    def _forward(self, change: DocumentChange) -> None:
        self.changed.emit(change)

    def detach(self) -> None:
        self._unsubscribe()
