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
            info = probe_media(_text_path(raw))
        except MediaError as exc:
            errors.append(exc)
            continue
        existing = by_path.get(os.path.normcase(info.path))
        if existing is not None:
            ids.append(existing)
            continue
        item = MediaItem(
            id=uuid.uuid4().hex, path=info.path, name=Path(info.path).name, info=info,
            generation=_generation_in(info.path),
        )  # fmt: skip
        media_id = doc.add_bin_item(item)
        by_path[os.path.normcase(info.path)] = media_id
        ids.append(media_id)
    return ids, errors


def _text_path(raw: str | bytes | os.PathLike) -> str:
    """The path as text a project can store (UTF-8); MediaError for names with undecodable bytes.

    Linux file names are bytes; Python hands undecodable ones over as surrogate escapes, which a UTF-8
    project file cannot hold. Refusing the one file keeps the document (and every later import) intact.
    """
    path = os.fsdecode(os.fspath(raw))
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        shown = path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise MediaError(
            f"'{shown}' has a name that is not valid UTF-8 (bytes from another encoding), so a project "
            "cannot store it. Rename the file (or its folder) with ordinary characters and import it again."
        ) from None
    return path


def _generation_in(path: str) -> dict | None:
    """The provenance record a generated file carries (``aiprod-cli generate`` output, a studio master):
    imported with the file, so renders and exports keep crediting the model."""
    from app import provenance

    try:
        import av

        with av.open(path) as container:
            tags = dict(container.metadata)
    except Exception:  # noqa: BLE001 - no readable tags: an ordinary file, probing already accepted it
        return None
    return provenance.from_file_tags(tags)
