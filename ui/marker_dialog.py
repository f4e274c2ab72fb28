"""The marker dialog: a marker's name, note and colour (double-click a marker's flag, or Edit Marker...).

OK applies the three as one undoable edit (``TimelineDocument.edit_marker``); a refused edit keeps the dialog
open with the reason under the fields. The note is OTIO's marker comment, so .otio and FCP 7 XML exports
carry it.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon, QPixmap, QUndoStack
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.commands import push_edit
from app.document.properties import MARKER_COLORS
from app.errors import AppError
from ui.timeline.ruler import marker_color

SWATCH_PX = 14


def _swatch(name: str) -> QIcon:
    pixmap = QPixmap(SWATCH_PX, SWATCH_PX)
    pixmap.fill(marker_color(name))
    return QIcon(pixmap)


class MarkerDialog(QDialog):
    """Edits one marker of ``doc``; ``marker_id`` must exist when the dialog opens."""

    def __init__(self, doc: Any, stack: QUndoStack, marker_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("markerDialog")
        self.setWindowTitle("Marker")
        self._doc, self._stack, self.marker_id = doc, stack, marker_id
        marker = next(m for m in doc.markers() if m.id == marker_id)
        self.name_edit = QLineEdit(marker.name, objectName="markerName")
        self.name_edit.setPlaceholderText("what is here (shown on the ruler)")
        self.note_edit = QPlainTextEdit(marker.note, objectName="markerNote")
        self.note_edit.setPlaceholderText("a note for later: what to fix, what to regenerate…")
        self.note_edit.setTabChangesFocus(True)
        self.color_box = QComboBox(objectName="markerColor")
        for name in MARKER_COLORS:
            self.color_box.addItem(_swatch(name), name.title(), name)
        index = self.color_box.findData(str(marker.color).upper())
        self.color_box.setCurrentIndex(max(index, 0))
        self.error_label = QLabel(objectName="markerError")
        self.error_label.setStyleSheet("color: #ff8a65;")
        self.error_label.setWordWrap(True)
        self.error_label.hide()

        form = QFormLayout()
        form.addRow("Name", self.name_edit)
        form.addRow("Colour", self.color_box)
        form.addRow("Note", self.note_edit)
        standard = QDialogButtonBox.StandardButton
        buttons = QDialogButtonBox(standard.Ok | standard.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(380, 260)

    def accept(self) -> None:  # noqa: D102 - QDialog's
        if self.apply():
            super().accept()

    def apply(self) -> bool:
        """Make the edit (one undo step); False, with the reason shown, when it was refused."""
        name, note = self.name_edit.text(), self.note_edit.toPlainText()
        color = str(self.color_box.currentData())
        marker_id = self.marker_id

        def edit(doc) -> None:  # noqa: ANN001
            doc.edit_marker(marker_id, name=name, note=note, color=color)

        try:
            push_edit(self._stack, self._doc, "Edit marker", edit)
        except AppError as exc:
            self.error_label.setText(str(exc))
            self.error_label.show()
            return False
        return True
