"""The media bin: the document's media items as a tree (takes under the clip they were made from).

Imports (file dialog or files dropped from the file manager), relinks and removals are undoable edits through
`app.commands.push_edit`; a file that cannot be read is reported in the bin's message line and through
`message(str)`, and never stops the other files. Items drag out as `application/x-aiprod-media-ids`, which
the timeline accepts.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QMimeData,
    QModelIndex,
    QObject,
    QPoint,
    QRect,
    QSize,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import (
    QBrush,
    QColor,
    QDesktopServices,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QFont,
    QIcon,
    QImage,
    QKeyEvent,
    QPainter,
    QPixmap,
    QStandardItem,
    QStandardItemModel,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFileDialog,
    QLabel,
    QMenu,
    QMessageBox,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.commands import push_edit
from app.document import MediaItem, TimelineDocument
from app.errors import AppError, EditError, MediaError
from app.media.importer import import_files
from app.media.info import MediaInfo
from app.media.probe import path_problem, probe_media
from ui.viewer import format_timecode

MEDIA_IDS_MIME = "application/x-aiprod-media-ids"
MEDIA_ID_ROLE = Qt.ItemDataRole.UserRole + 1
MISSING_ROLE = Qt.ItemDataRole.UserRole + 2
NAME_ROLE = Qt.ItemDataRole.UserRole + 3
FACTS_ROLE = Qt.ItemDataRole.UserRole + 4
BADGE_ROLE = Qt.ItemDataRole.UserRole + 5
THUMB_WANTED_ROLE = Qt.ItemDataRole.UserRole + 6  # the path whose thumbnail this row still waits for
THUMB_SIZE = QSize(96, 54)
_MISSING_COLOUR = QColor(240, 96, 96)
_TAKE_COLOUR = QColor(143, 193, 255)
_FACTS_COLOUR = QColor(150, 152, 160)
_GENERATED_COLOUR = QColor(112, 84, 196)
IMPORT_FILTER = (
    "Media (*.mp4 *.mov *.mkv *.avi *.webm *.mxf *.m4v *.wav *.mp3 *.flac *.m4a *.aac *.ogg);;All files (*)"
)


# ------------------------------------------------------------------------------------------ text helpers
def is_missing(item: MediaItem) -> bool:
    """A bin item is missing when its file is gone, is no regular file (a pipe, a device, /proc) or was
    never readable (no probe info)."""
    return item.info is None or path_problem(item.path) is not None


def describe_media(info: MediaInfo | None) -> str:
    """One line of facts for the bin: resolution, fps, duration, codec (or why there are none)."""
    if info is None:
        return "unreadable"
    parts: list[str] = []
    if info.still:  # a picture: no rate, no length of its own
        return f"{info.width}×{info.height} · still · {info.video_codec or '?'} {info.pix_fmt or ''}".rstrip()
    if info.has_video:
        fps = float(info.fps) if info.fps else 0.0
        parts.append(f"{info.width}×{info.height}")
        if info.variable_frame_rate:  # frames unevenly spaced: the rate shown is only their average
            parts.append(f"variable frame rate (~{fps:.3f}".rstrip("0").rstrip(".") + " fps)")
        else:
            parts.append(f"{fps:.3f}".rstrip("0").rstrip(".") + " fps")
        parts.append(format_timecode(info.frame_count, fps or 24))
        parts.append(info.video_codec or "?")
    elif info.has_audio:
        parts.append("audio")
        parts.append(f"{info.duration_seconds:.2f} s")
    if info.has_audio and info.has_video:
        parts.append(f"♪ {info.audio_codec or '?'}")  # short: the line has room for little more
    elif info.has_audio:
        parts.append(f"{info.audio_codec or '?'} {info.sample_rate / 1000:g} kHz")
    return " · ".join(parts)


def badge(item: MediaItem) -> str:
    """Returns "take N" for takes, "generated" for generated originals, nothing for imported files."""
    if item.take_of:
        return f"take {item.take}"
    if item.kind == "generated":
        return "generated"
    return ""


def tooltip(item: MediaItem, missing: bool | None = None) -> str:
    """``missing``: what `is_missing` said of ``item`` when the caller already asked (None: ask here)."""
    if is_missing(item) if missing is None else missing:
        why = "is missing" if not os.path.exists(item.path) else "cannot be read"
        return f"{item.path} {why}.\nRight-click and choose Relink... to point to the file's new place."
    return f"{item.path}\n{describe_media(item.info)}"


def _placeholder_icon(label: str, colour: QColor) -> QIcon:
    """A framed box with a word in it: stands in for a thumbnail (missing, audio, still loading)."""
    pixmap = QPixmap(THUMB_SIZE)
    pixmap.fill(QColor(20, 21, 23))
    painter = QPainter(pixmap)
    painter.setPen(colour)
    painter.drawRect(pixmap.rect().adjusted(0, 0, -1, -1))
    painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter, label)
    painter.end()
    return QIcon(pixmap)


# ------------------------------------------------------------------------------------------------ model
class MediaBinModel(QStandardItemModel):
    """Rows for bin items: originals at the top level, their takes as children. Drags carry media ids."""

    def mimeTypes(self) -> list[str]:
        return [MEDIA_IDS_MIME]

    def mimeData(self, indexes: Iterable[QModelIndex]) -> QMimeData:
        ids: list[str] = []
        for index in indexes:
            media_id = index.data(MEDIA_ID_ROLE)
            if media_id and media_id not in ids:
                ids.append(media_id)
        data = QMimeData()
        data.setData(MEDIA_IDS_MIME, "\n".join(ids).encode("utf-8"))
        return data

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction


class _BinItemDelegate(QStyledItemDelegate):
    """Thumbnail, then the name (with a badge for generated clips and takes) over a dimmer line of facts.

    Painting a row is what asks for its thumbnail (``wants(path)``): only the rows on screen ever do, so a
    bin of thousands asks for a screenful, and scrolling asks for the rest as they come into view."""

    _PAD = 4

    def __init__(self, parent: QObject, wants=None) -> None:
        super().__init__(parent)
        self._wants = wants

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        return QSize(THUMB_SIZE.width() * 3, THUMB_SIZE.height() + 2 * self._PAD)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        wanted = index.data(THUMB_WANTED_ROLE)
        if wanted and self._wants is not None:
            self._wants(wanted)
        icon = index.data(Qt.ItemDataRole.DecorationRole) or QIcon()
        opt.text, opt.icon = "", QIcon()
        widget = option.widget
        style = widget.style() if widget is not None else None
        if style is not None:  # the selection / hover background only
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        rect = option.rect.adjusted(self._PAD, self._PAD, -self._PAD, -self._PAD)
        thumb = QRect(
            rect.left(), rect.top() + (rect.height() - THUMB_SIZE.height()) // 2, *THUMB_SIZE.toTuple()
        )
        icon.paint(painter, thumb)
        text = rect.adjusted(THUMB_SIZE.width() + 10, 0, 0, 0)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        missing = bool(index.data(MISSING_ROLE))
        foreground = index.data(Qt.ItemDataRole.ForegroundRole)
        name_colour = foreground.color() if foreground is not None else option.palette.text().color()

        painter.save()
        bold = QFont(option.font)
        bold.setBold(True)
        painter.setFont(bold)
        metrics = painter.fontMetrics()
        line = metrics.height()
        top = text.top() + (text.height() - 2 * line - 4) // 2
        badge_text = index.data(BADGE_ROLE) or ""
        badge_width = metrics.horizontalAdvance(badge_text) + 12 if badge_text else 0
        name = metrics.elidedText(
            index.data(NAME_ROLE) or "", Qt.TextElideMode.ElideMiddle, max(0, text.width() - badge_width - 6)
        )
        painter.setPen(QColor(255, 255, 255) if selected else name_colour)
        painter.drawText(QRect(text.left(), top, text.width(), line), Qt.AlignmentFlag.AlignVCenter, name)
        if badge_text:
            pill = QRect(text.left() + metrics.horizontalAdvance(name) + 8, top + 1, badge_width, line - 2)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(_TAKE_COLOUR.darker(220) if "take" in badge_text else _GENERATED_COLOUR)
            painter.drawRoundedRect(pill, 4, 4)
            painter.setPen(QColor(240, 240, 245))
            painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, badge_text)
        painter.setFont(option.font)
        facts_colour = _MISSING_COLOUR if missing else _FACTS_COLOUR
        painter.setPen(QColor(235, 235, 240) if selected and not missing else facts_colour)
        facts = painter.fontMetrics().elidedText(
            index.data(FACTS_ROLE) or "", Qt.TextElideMode.ElideRight, text.width()
        )
        painter.drawText(
            QRect(text.left(), top + line + 4, text.width(), line), Qt.AlignmentFlag.AlignVCenter, facts
        )
        painter.restore()


class _BinView(QTreeView):
    """A tree that drags items out and takes files dropped in; our own items dropped back do nothing."""

    files_dropped = Signal(list)
    delete_pressed = Signal()

    @staticmethod
    def _is_delete(event: QKeyEvent) -> bool:
        """Delete or Backspace (Shift allowed; Ctrl, Alt and Meta combinations are someone else's)."""
        other = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
        other |= Qt.KeyboardModifier.MetaModifier
        return event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and not event.modifiers() & other

    def event(self, event: QEvent) -> bool:
        # The window's Delete / Shift+Delete shortcuts lift / ripple-delete the TIMELINE's selected clips;
        # with the bin focused the key is the bin's own (remove the selected items), so claim it first.
        if event.type() == QEvent.Type.ShortcutOverride and self._is_delete(event):  # type: ignore[arg-type]
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._is_delete(event):
            self.delete_pressed.emit()
            event.accept()
            return
        super().keyPressEvent(event)

    @staticmethod
    def _local_files(event: QDropEvent | QDragMoveEvent | QDragEnterEvent) -> list[str]:
        mime = event.mimeData()
        if mime is None or mime.hasFormat(MEDIA_IDS_MIME) or not mime.hasUrls():
            return []
        return [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._local_files(event):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if self._local_files(event):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        files = self._local_files(event)
        if not files:
            event.ignore()
            return
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        self.files_dropped.emit(files)


# ------------------------------------------------------------------------------------------------- bin
class MediaBin(QWidget):
    """The bin dock's contents. `message(str)` carries what the user should know (import errors...)."""

    item_activated = Signal(str)
    selection_changed = Signal(list)
    message = Signal(str)

    def __init__(
        self,
        doc: TimelineDocument,
        undo_stack: QUndoStack,
        thumbnails=None,  # app.media.workers.ThumbnailProvider | None
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mediaBin")
        self._doc = doc
        self._stack = undo_stack
        self._thumbnails = thumbnails
        self._icons: dict[str, QIcon] = {}  # path -> thumbnail, so a rebuild does not ask again
        self._placeholders: dict[tuple[str, int], QIcon] = {}  # one shared icon per kind of placeholder
        # Thumbnails are asked for lazily, for the rows on screen only (the delegate's paint and a pass over
        # the visible rows after each rebuild or scroll), in one batch per turn of the event loop.
        self._waiting: dict[str, list[QStandardItem]] = {}  # path -> the rows showing a placeholder for it
        self._frames: dict[str, int] = {}  # path -> the frame its thumbnail shows
        self._requested: set[str] = set()  # asked since the last rebuild (a failed file is not asked again)
        self._pending: dict[str, None] = {}  # wanted, not yet asked (ordered: top rows first)
        self._flush_timer = QTimer(self, singleShot=True, interval=0)
        self._flush_timer.timeout.connect(self._request_pending)
        self._visible_timer = QTimer(self, singleShot=True, interval=0)
        self._visible_timer.timeout.connect(self._want_visible)

        self.model = MediaBinModel(self)
        self.view = _BinView(objectName="mediaBinView")
        self.view.setModel(self.model)
        self.view.setItemDelegate(_BinItemDelegate(self.view, wants=self._want_thumbnail))
        self.view.setHeaderHidden(True)
        self.view.setIconSize(THUMB_SIZE)
        self.view.setUniformRowHeights(False)
        self.view.setIndentation(18)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setDragEnabled(True)
        self.view.setAcceptDrops(True)
        self.view.viewport().setAcceptDrops(True)
        self.view.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.view.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.view.doubleClicked.connect(self._activated)
        self.view.files_dropped.connect(self.import_files)
        self.view.delete_pressed.connect(self.remove_selected)
        self.view.selectionModel().selectionChanged.connect(
            lambda *_: self.selection_changed.emit(self.selected_ids())
        )
        self.view.verticalScrollBar().valueChanged.connect(lambda *_: self._visible_timer.start())
        self.view.expanded.connect(lambda *_: self._visible_timer.start())
        self.view.viewport().installEventFilter(self)

        self.message_label = QLabel(objectName="mediaBinMessage")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_label.hide()
        self.empty_label = QLabel(
            "Drop video or audio files here, or use File ▸ Import.", objectName="mediaBinEmpty"
        )
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.message_label)

        if thumbnails is not None:
            thumbnails.ready.connect(self._thumbnail_ready)
        unsubscribe = doc.subscribe(self._on_document_changed)
        self.destroyed.connect(lambda *_: unsubscribe())
        self.refresh()

    # ------------------------------------------------------------------------------------- contents
    def refresh(self) -> None:
        """Rebuild the rows from the document, keeping the selection; takes are shown expanded."""
        selected = set(self.selected_ids())
        items = self._doc.bin_items()
        ids = {item.id for item in items}
        children: dict[str, list[MediaItem]] = {}
        tops: list[MediaItem] = []
        for item in items:
            if item.take_of and item.take_of in ids:
                children.setdefault(item.take_of, []).append(item)
            else:
                tops.append(item)
        self._waiting.clear()
        self._frames.clear()
        self._requested.clear()  # a rebuild asks again for what is still missing (as it always did)
        self._pending.clear()
        self.model.clear()
        root = self.model.invisibleRootItem()
        for item in tops:
            row = self._row(item)
            for take in sorted(children.get(item.id, []), key=lambda t: t.take):
                row.appendRow(self._row(take))
            root.appendRow(row)
        self.view.expandAll()
        selection = self.view.selectionModel()
        for index in self._all_indexes() if selected else ():
            if index.data(MEDIA_ID_ROLE) in selected:
                selection.select(index, selection.SelectionFlag.Select)
        self.empty_label.setVisible(not items)
        if self._waiting:
            self._visible_timer.start()  # also when the bin is not painted yet (hidden, or not laid out)

    def _row(self, item: MediaItem) -> QStandardItem:
        missing = is_missing(item)
        gone = missing and not os.path.exists(item.path)
        facts = "Missing: right-click and choose Relink..." if gone else describe_media(item.info)
        # The display text carries everything (search, accessibility, tests); the delegate draws the roles.
        label = badge(item)
        row = QStandardItem(f"{item.name}{f'   [{label}]' if label else ''}\n{facts}")
        row.setData(item.name, NAME_ROLE)
        row.setData(facts, FACTS_ROLE)
        row.setData(label, BADGE_ROLE)
        row.setData(item.id, MEDIA_ID_ROLE)
        row.setData(missing, MISSING_ROLE)
        row.setToolTip(tooltip(item, True) if missing else f"{item.path}\n{facts}")  # tooltip(), facts once
        row.setEditable(False)
        row.setDragEnabled(True)
        row.setDropEnabled(False)
        if missing:
            row.setForeground(QBrush(_MISSING_COLOUR))
        elif item.take_of:
            row.setForeground(QBrush(_TAKE_COLOUR))
        row.setIcon(self._icon_for(item, missing, row))
        return row

    def _placeholder(self, label: str, colour: QColor) -> QIcon:
        key = (label, colour.rgba())
        if key not in self._placeholders:
            self._placeholders[key] = _placeholder_icon(label, colour)
        return self._placeholders[key]

    def _icon_for(self, item: MediaItem, missing: bool, row: QStandardItem) -> QIcon:
        if missing:
            return self._placeholder("missing", _MISSING_COLOUR)
        if item.info is None or not item.info.has_video:
            return self._placeholder("♪ audio", _FACTS_COLOUR)
        if item.path in self._icons:
            return self._icons[item.path]
        if self._thumbnails is not None:
            # Asked for when the row comes on screen (`_want_thumbnail`); the middle frame says more about a
            # shot than its first (often a fade from black).
            self._frames[item.path] = item.info.frame_count // 2
            self._waiting.setdefault(item.path, []).append(row)
            row.setData(item.path, THUMB_WANTED_ROLE)
        return self._placeholder("", QColor(90, 92, 98))

    # ----------------------------------------------------------------------------- lazy thumbnails
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.view.viewport() and event.type() == QEvent.Type.Resize and self._waiting:
            self._visible_timer.start()
        return super().eventFilter(watched, event)

    def _want_thumbnail(self, path: str) -> None:
        """A row showing ``path`` is on screen: ask for its thumbnail on the next turn of the event loop
        (with the others wanted meanwhile), unless it was asked already."""
        if path in self._requested or path in self._pending or path not in self._waiting:
            return
        self._pending[path] = None
        self._flush_timer.start()

    def _want_visible(self) -> None:
        """Want the thumbnails of the rows inside the viewport (painted or not: a bin not shown yet still
        gets its first screenful)."""
        if not self._waiting:
            return
        viewport = self.view.viewport().rect()
        index = self.view.indexAt(QPoint(viewport.width() // 2, 0))
        if not index.isValid():
            index = self.model.index(0, 0)
        while index.isValid() and self.view.visualRect(index).top() <= viewport.bottom():
            wanted = index.data(THUMB_WANTED_ROLE)
            if wanted:
                self._want_thumbnail(wanted)
            index = self.view.indexBelow(index)

    def _request_pending(self) -> None:
        pending, self._pending = list(self._pending), {}
        if self._thumbnails is None:
            return
        for path in pending:
            if path in self._requested or path not in self._waiting:
                continue
            self._requested.add(path)
            # Cached thumbnails come back at once; the rest arrive later through `ready`.
            image = self._thumbnails.request_thumbnail(path, self._frames.get(path, 0), THUMB_SIZE.height())
            if image is not None and not image.isNull():
                self._show_thumbnail(path, image)

    def _show_thumbnail(self, path: str, image: QImage) -> None:
        self._icons[path] = QIcon(QPixmap.fromImage(image))
        for row in self._waiting.pop(path, []):
            row.setIcon(self._icons[path])
            row.setData(None, THUMB_WANTED_ROLE)

    def _thumbnail_ready(self, key: object, image: QImage) -> None:
        path = key[0] if isinstance(key, tuple) and key else None
        if path is None or image.isNull() or key[2:3] != (THUMB_SIZE.height(),):
            return  # someone else's request (the timeline asks for other sizes)
        self._show_thumbnail(path, image)

    def _all_indexes(self) -> list[QModelIndex]:
        out: list[QModelIndex] = []
        for r in range(self.model.rowCount()):
            top = self.model.index(r, 0)
            out.append(top)
            out += [self.model.index(c, 0, top) for c in range(self.model.rowCount(top))]
        return out

    def selected_ids(self) -> list[str]:
        return [i.data(MEDIA_ID_ROLE) for i in self.view.selectionModel().selectedRows() if i.isValid()]

    def has_focus_within(self) -> bool:
        """Whether the keyboard focus is in the bin (the Edit menu's Copy / Cut then act on its items)."""
        focus = QApplication.focusWidget()
        return focus is not None and (focus is self or self.isAncestorOf(focus))

    def clipboard_mime(self) -> QMimeData | None:
        """The selected items as a drag from the bin carries them (media ids, which the timeline places),
        plus their file paths as text for other programs; None with nothing selected."""
        rows = [i for i in self.view.selectionModel().selectedRows() if i.isValid() and i.data(MEDIA_ID_ROLE)]
        if not rows:
            return None
        mime = self.model.mimeData(rows)
        paths = []
        for media_id in self.selected_ids():
            try:
                paths.append(self._doc.bin_item(media_id).path)
            except AppError:
                continue
        mime.setText("\n".join(paths))
        return mime

    def select(self, media_id: str) -> None:
        for index in self._all_indexes():
            if index.data(MEDIA_ID_ROLE) == media_id:
                # Explicit: setCurrentIndex alone only selects when the view's selection command says so
                # (it depends on focus and the last input event).
                flags = QItemSelectionModel.SelectionFlag
                self.view.selectionModel().setCurrentIndex(index, flags.ClearAndSelect | flags.Rows)
                return

    def _on_document_changed(self, change) -> None:
        if change.kind in {"bin", "reset"}:
            self.refresh()

    # ------------------------------------------------------------------------------------- messages
    def _say(self, text: str) -> None:
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))
        if text:
            self.message.emit(text)

    # --------------------------------------------------------------------------------------- import
    def import_dialog(self) -> list[str]:
        paths, _ = QFileDialog.getOpenFileNames(self, "Import media", "", IMPORT_FILTER)
        return self.import_files(paths) if paths else []

    def import_files(self, paths: list[str]) -> list[str]:
        """Import `paths` as one undo step; report the ones that fail. Returns the new media ids."""
        errors: list[MediaError] = []

        def apply(doc: TimelineDocument) -> list[str]:
            ids, failed = import_files(doc, list(paths))
            errors[:] = failed
            if not ids:  # nothing changed: push no empty undo step
                raise EditError("Nothing was imported.")
            return ids

        text = f"Import {len(paths)} file{'s' if len(paths) != 1 else ''}"
        try:
            ids = push_edit(self._stack, self._doc, text, apply)
        except EditError:
            ids = []
        if errors:
            lines = [str(e) for e in errors]
            head = f"{len(errors)} of {len(paths)} file(s) could not be imported:" if len(paths) > 1 else ""
            self._say("\n".join([head, *lines]).strip())
        else:
            self._say("")
        if ids:
            self.select(ids[0])
        return ids

    # --------------------------------------------------------------------------------------- relink
    def relink(self, media_id: str, path: str) -> bool:
        """Point `media_id` (and every clip using it) at `path`, after probing it. Undoable."""

        try:
            info = probe_media(path)
            name = self._doc.bin_item(media_id).name
            push_edit(self._stack, self._doc, f"Relink {name}", lambda d: d.relink(media_id, path, info))
        except AppError as error:
            self._say(f"Could not relink to {path}: {error}")
            return False
        self._say("")
        return True

    def relink_from_folder(self, media_ids: list[str], folder: str) -> list[str]:
        """Relink each item to a file of the same name found under `folder`; returns the ids relinked.

        What a moved project needs: the files kept their names, only the folder changed.
        """
        by_name: dict[str, str] = {}
        for dirpath, _dirs, files in os.walk(folder):
            for file in files:
                by_name.setdefault(file, os.path.join(dirpath, file))
        relinked = []
        self._stack.beginMacro("Relink missing media")
        try:
            for media_id in media_ids:
                found = by_name.get(Path(self._doc.bin_item(media_id).path).name)
                if found and self.relink(media_id, found):
                    relinked.append(media_id)
        finally:
            self._stack.endMacro()
        missing = len(media_ids) - len(relinked)
        self._say(f"{missing} file(s) still missing." if missing else "")
        return relinked

    def offer_relink(self, missing_ids: list[str]) -> list[str]:
        """Asked after opening a project whose files moved: pick a folder to search for them."""
        if not missing_ids:
            return []
        answer = QMessageBox.question(
            self,
            "Missing media",
            f"{len(missing_ids)} media file(s) of this project were not found where they were saved.\n"
            "Choose the folder they were moved to? Files are matched by name.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            self._say(f"{len(missing_ids)} missing media file(s): right-click one and choose Relink...")
            return []
        folder = QFileDialog.getExistingDirectory(self, "Folder with the moved media")
        return self.relink_from_folder(missing_ids, folder) if folder else []

    # -------------------------------------------------------------------------------- other actions
    def remove(self, media_id: str) -> bool:
        try:
            name = self._doc.bin_item(media_id).name
            push_edit(self._stack, self._doc, f"Remove {name}", lambda d: d.remove_bin_item(media_id))
        except AppError as error:
            self._say(str(error))
            return False
        return True

    def _activated(self, index: QModelIndex) -> None:
        media_id = index.data(MEDIA_ID_ROLE)
        if media_id:
            self.item_activated.emit(media_id)

    def context_menu(self, media_id: str | None) -> QMenu:
        """The right-click menu for `media_id` (None: empty space): Relink..., Reveal path, Remove, Import."""
        menu = QMenu(self)
        if media_id:
            path = Path(self._doc.bin_item(media_id).path)
            menu.addAction("Relink...", lambda: self._relink_dialog(media_id))
            reveal = menu.addAction(
                "Reveal path", lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent)))
            )
            reveal.setEnabled(path.parent.is_dir())
            reveal.setToolTip(str(path))
            menu.addSeparator()
            menu.addAction("Remove", lambda: self.remove(media_id))
            menu.addSeparator()
        menu.addAction("Import...", self.import_dialog)
        return menu

    def _context_menu(self, pos: QPoint) -> None:
        index = self.view.indexAt(pos)
        menu = self.context_menu(index.data(MEDIA_ID_ROLE) if index.isValid() else None)
        menu.exec(self.view.viewport().mapToGlobal(pos))
        menu.deleteLater()

    def remove_selected(self) -> None:
        for media_id in self.selected_ids():
            self.remove(media_id)

    def _relink_dialog(self, media_id: str) -> None:
        old = self._doc.bin_item(media_id).path
        start = str(Path(old).parent) if Path(old).parent.is_dir() else ""
        path, _ = QFileDialog.getOpenFileName(self, f"Relink {Path(old).name}", start, IMPORT_FILTER)
        if path:
            self.relink(media_id, path)
