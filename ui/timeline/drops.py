"""Turning a drop on the timeline into edits: media-bin ids or files from the file manager.

Every drop is one undo step: the import (for files) and all inserts run inside one push_edit (which puts
the document back if a step fails part way). Where clips land is `app.document.placement.drop`; a
`track_id` of None (a drop below the last track or above the top one) makes a new track. A drop that cannot
be used leaves the document as it was and the view says why through its `message` signal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QMimeData

from app.commands import push_edit
from app.document import placement
from app.errors import AppError, EditError

if TYPE_CHECKING:
    from ui.timeline.view import TimelineView

MEDIA_IDS_MIME = "application/x-aiprod-media-ids"


def media_ids_from_mime(mime: QMimeData) -> list[str]:
    raw = bytes(mime.data(MEDIA_IDS_MIME).data()).decode("utf-8", errors="replace")
    return [line.strip() for line in raw.splitlines() if line.strip()]


def paths_from_mime(mime: QMimeData) -> list[str]:
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile() and url.toLocalFile()]


def drop_media_ids(
    view: TimelineView, media_ids: list[str], track_id: str | None, frame: int, overwrite: bool
) -> list[str]:
    doc = view.document()
    known = []
    for media_id in media_ids:
        try:
            doc.bin_item(media_id)
        except (AppError, KeyError):
            continue
        known.append(media_id)
    if not known:
        view.message.emit("Nothing to drop: the dragged items are no longer in the media bin.")
        return []
    text = "Overwrite clips" if overwrite else "Insert clips"
    try:
        return push_edit(
            view.undo_stack(),
            doc,
            text,
            lambda d: placement.drop(d, known, track_id, frame, overwrite),
        )
    except EditError as error:
        view.message.emit(str(error))
        return []


def drop_files(
    view: TimelineView, paths: list[str], track_id: str | None, frame: int, overwrite: bool
) -> list[str]:
    """Import the files into the bin and place them, all as one undo step; unusable files are reported."""
    from app.media.importer import import_files  # imported late: the view works without app.media

    if not paths:
        view.message.emit("Only files on this computer can be dropped on the timeline.")
        return []
    doc = view.document()
    problems: list[str] = []

    def apply(d) -> list[str]:
        media_ids, errors = import_files(d, paths)
        problems.extend(str(error) for error in errors)
        if not media_ids:
            raise EditError("None of the dropped files could be imported. " + " ".join(problems))
        return placement.drop(d, media_ids, track_id, frame, overwrite)

    try:
        created = push_edit(view.undo_stack(), doc, "Import and place files", apply)
    except EditError as error:
        view.message.emit(str(error))
        return []
    if problems:
        view.message.emit(" ".join(problems))
    return created
