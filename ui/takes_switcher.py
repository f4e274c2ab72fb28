"""The take switcher for the inspector: the clip's original and its inpainting takes; choosing one shows it
in the clip's place (and its linked sound's) as one undoable edit. The original is never overwritten: a
take is another bin item, and switching back is another edit (or an undo).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QToolButton, QWidget

from app.commands import push_edit
from app.document import DocumentChange, MediaItem, TimelineDocument
from app.errors import AppError


def take_label(item: MediaItem) -> str:
    """How a take reads in the list: "Original" or "Take 2 · <prompt>"."""
    if item.take_of is None:
        return f"Original · {item.name}"
    prompt = str((item.generation or {}).get("prompt") or "").strip()
    if len(prompt) > 40:
        prompt = prompt[:39] + "…"
    return f"Take {item.take}" + (f" · {prompt}" if prompt else "")


def take_tooltip(item: MediaItem) -> str:
    generation = item.generation or {}
    if item.take_of is None:
        return item.path
    parts = [item.path]
    for key, label in (
        ("prompt", "Prompt"),
        ("negative_prompt", "Negative"),
        ("seed", "Seed"),
        ("steps", "Steps"),
        ("strength", "Strength"),
        ("range", "Frames"),
        ("mask_id", "Mask"),
        ("regenerate_audio", "Sound regenerated"),
    ):
        if key in generation:
            parts.append(f"{label}: {generation[key]}")
    return "\n".join(parts)


class TakesSwitcher(QWidget):
    """`set_clip(clip_id)` shows that clip's takes (None: nothing); choosing one is an undoable edit."""

    take_switched = Signal(str, str)  # clip id, media id now shown
    failed = Signal(str)  # why a switch was refused (e.g. the take is shorter than the clip uses)
    source_requested = Signal(str)  # media id: show this take in the source viewer

    def __init__(self, doc: TimelineDocument, undo_stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("takesSwitcher")
        self._doc = doc
        self._stack = undo_stack
        self._clip_id: str | None = None
        self.combo = QComboBox(self, objectName="takesCombo")
        self.combo.setToolTip("Show another take of this clip here (undoable); the original is kept")
        self.combo.activated.connect(self._chosen)  # user choices only: filling the list emits nothing
        # The list's entry in the source viewer: the combo is a popup, so "double-click a take" is this button
        # (or a double-click on the take under its original in the media bin).
        self.source_button = QToolButton(self, text="Source", objectName="takesSourceButton", autoRaise=True)
        self.source_button.setToolTip("Show the chosen take in the source viewer, to mark a range of it")
        self.source_button.clicked.connect(self._request_source)
        self.message_label = QLabel(self, objectName="takesMessage")
        self.message_label.setWordWrap(True)
        self.message_label.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.combo, 1)
        layout.addWidget(self.source_button)
        layout.addWidget(self.message_label)
        # The document outlives views: unsubscribe when this widget goes (the lambda holds no `self`).
        unsubscribe = doc.subscribe(self._on_document_changed)
        self.destroyed.connect(lambda *_: unsubscribe())
        self._refresh()

    # ------------------------------------------------------------------------------------------- public
    @property
    def clip_id(self) -> str | None:
        return self._clip_id

    def set_clip(self, clip_id: str | None) -> None:
        self._clip_id = clip_id
        self.message_label.hide()
        self._refresh()

    def takes(self) -> list[MediaItem]:
        """The clip's original and its takes, original first (empty without a clip)."""
        item_id = self._media_id()
        if item_id is None:
            return []
        try:
            return self._doc.takes(item_id)
        except AppError:
            return []

    def current_media_id(self) -> str | None:
        return self._media_id()

    def switch_to(self, media_id: str) -> bool:
        """Show `media_id` (one of `takes()`) in the clip's place as one undo step; False when refused."""
        clip_id = self._clip_id
        if clip_id is None or media_id == self._media_id():
            return False
        item = self._doc.bin_item(media_id)
        try:
            push_edit(
                self._stack,
                self._doc,
                f"Switch to {take_label(item).split(' · ')[0].lower()}",
                lambda doc: doc.set_clip_media(clip_id, media_id, linked=True),
            )
        except AppError as exc:
            self.message_label.setText(str(exc))
            self.message_label.show()
            self.failed.emit(str(exc))
            self._refresh()
            return False
        self.message_label.hide()
        self.take_switched.emit(clip_id, media_id)
        return True

    # -------------------------------------------------------------------------------------------- inside
    def _media_id(self) -> str | None:
        if self._clip_id is None:
            return None
        try:
            return self._doc.clip(self._clip_id).media_id
        except AppError:
            return None

    def _on_document_changed(self, change: DocumentChange) -> None:
        if change.kind in ("reset", "clips", "bin"):
            if self._clip_id is not None and self._media_id() is None:
                self._clip_id = None  # the clip left the timeline
            self._refresh()

    def _refresh(self) -> None:
        takes = self.takes()
        current = self._media_id()
        self.combo.blockSignals(True)
        self.combo.clear()
        for item in takes:
            self.combo.addItem(take_label(item), item.id)
            self.combo.setItemData(self.combo.count() - 1, take_tooltip(item), Qt.ItemDataRole.ToolTipRole)
        self.combo.setCurrentIndex(max(0, self.combo.findData(current)))
        self.combo.blockSignals(False)
        self.combo.setEnabled(len(takes) > 1)
        self.source_button.setEnabled(bool(takes))

    def _request_source(self) -> None:
        media_id = self.combo.currentData()
        if media_id:
            self.source_requested.emit(str(media_id))

    def _chosen(self, index: int) -> None:
        media_id = self.combo.itemData(index)
        if media_id:
            self.switch_to(str(media_id))
