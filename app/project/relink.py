"""Relinking media whose files moved: pick a new file for one item, or search a folder for files with
the same names and relink every item that has a match.

Planning is separate from applying so the UI can show what will happen and apply it as one undoable
edit. Qt-free.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from app.document import TimelineDocument
from app.errors import MediaError
from app.media.info import MediaInfo

Probe = Callable[[str], MediaInfo]


@dataclass
class RelinkReport:
    relinked: dict[str, str] = field(default_factory=dict)  # media id -> new path
    failed: dict[str, str] = field(default_factory=dict)  # media id -> why (unreadable, different media)
    still_missing: list[str] = field(default_factory=list)


def missing_media(doc: TimelineDocument) -> list[str]:
    """Ids of bin items whose file is not on disk, or is no regular file (a pipe, a device, /proc)."""
    from app.media.probe import path_problem  # imported late: PyAV is heavy

    return [item.id for item in doc.bin_items() if path_problem(item.path) is not None]


def plan_folder_search(
    doc: TimelineDocument, media_ids: Iterable[str], folder: str | os.PathLike[str]
) -> dict[str, str]:
    """{media id: candidate path} for each missing item with a same-named file under ``folder``.

    Names match exactly first, then ignoring case (files copied between Windows and Linux). Among
    several candidates the one with the recorded file size wins, then the shallowest.
    """
    wanted = {mid: doc.bin_item(mid) for mid in media_ids}
    names = {Path(item.path).name.lower() for item in wanted.values()}
    found: dict[str, list[Path]] = {}
    for root, _dirs, files in os.walk(folder):
        for file in files:
            if file.lower() in names:
                found.setdefault(file.lower(), []).append(Path(root) / file)
    plan = {}
    for mid, item in wanted.items():
        name = Path(item.path).name
        candidates = found.get(name.lower(), [])
        if not candidates:
            continue
        size = item.info.size_bytes if item.info else 0

        def rank(path: Path, name: str = name, size: int = size) -> tuple[bool, bool, int]:
            return (path.name != name, bool(size) and _size(path) != size, len(path.parts))

        plan[mid] = str(min(candidates, key=rank))
    return plan


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


def default_probe(path: str) -> MediaInfo:
    from app.media.probe import probe_media  # imported late: PyAV is heavy and only needed here

    return probe_media(path)


@dataclass
class PreparedRelink:
    """Probed new files, ready to apply (as one edit) with ``apply_prepared``."""

    ready: dict[str, tuple[str, MediaInfo]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # media id -> why it was not relinked


def prepare_relinks(
    doc: TimelineDocument, plan: dict[str, str], probe: Probe | None = None
) -> PreparedRelink:
    """Probe every planned file; an unreadable file, or one with other streams than the original (video
    where there was only audio), is refused with a reason instead of linked."""
    probe = probe or default_probe
    prepared = PreparedRelink()
    for mid, new_path in plan.items():
        item = doc.bin_item(mid)
        try:
            info = probe(new_path)
        except MediaError as exc:
            prepared.failed[mid] = str(exc)
            continue
        if item.info is not None and (item.info.has_video, item.info.has_audio) != (
            info.has_video,
            info.has_audio,
        ):
            prepared.failed[mid] = (
                f"{Path(new_path).name} does not have the same video and audio streams as {item.name}; "
                "pick the original file."
            )
            continue
        prepared.ready[mid] = (new_path, info)
    return prepared


def apply_prepared(doc: TimelineDocument, prepared: PreparedRelink) -> list[str]:
    """Relink everything in ``prepared.ready``; returns the relinked ids. Pass this to ``push_edit`` so
    the relink is one undo step."""
    for mid, (path, info) in prepared.ready.items():
        doc.relink(mid, path, info)
    return list(prepared.ready)


def apply_relinks(doc: TimelineDocument, plan: dict[str, str], probe: Probe | None = None) -> RelinkReport:
    """Prepare and apply in one go (no undo): for the CLI and for tests."""
    prepared = prepare_relinks(doc, plan, probe)
    relinked = apply_prepared(doc, prepared)
    return RelinkReport(
        relinked={mid: prepared.ready[mid][0] for mid in relinked},
        failed=dict(prepared.failed),
        still_missing=missing_media(doc),
    )
