"""Import files into a document's media bin: probe each, add what can be used, report the rest (Qt-free)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from app.errors import MediaError
from app.media.probe import probe_media

if TYPE_CHECKING:
    from app.document import TimelineDocument


def import_files(
    doc: TimelineDocument, paths: Iterable[str | os.PathLike[str]]
) -> tuple[list[str], list[MediaError]]:
    """Add every usable file in ``paths`` to ``doc``'s bin; returns (media ids, errors).

    One bad file never stops the others: its :class:`MediaError` (which names the file) is collected and the
    rest are imported. A file already in the bin is not added twice; its existing id is returned.
    """
    from app.document import MediaItem  # app.document imports app.media.info: import late, no cycle

    by_path = {os.path.normcase(item.path): item.id for item in doc.bin_items()}
    ids: list[str] = []
    errors: list[MediaError] = []
    for raw in paths:
        try:
            info = probe_media(raw)
        except MediaError as exc:
            errors.append(exc)
            continue
        existing = by_path.get(os.path.normcase(info.path))
        if existing is not None:
            ids.append(existing)
            continue
        item = MediaItem(id=uuid.uuid4().hex, path=info.path, name=Path(info.path).name, info=info)
        media_id = doc.add_bin_item(item)
        by_path[os.path.normcase(info.path)] = media_id
        ids.append(media_id)
    return ids, errors
