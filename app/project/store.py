"""Save and load a project: ``Name.aiprod/project.otio``, an OpenTimelineIO JSON timeline.

Loading checks the file in layers, so each kind of damage gets its own message: unreadable, empty or
truncated, not JSON, not an OTIO timeline, not an AIPROD project, made by a newer version. Loading never
writes. Saving writes atomically and keeps the previous file as a backup; on any failure the previous
``project.otio`` is left exactly as it was.
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import opentimelineio as otio

from app import __version__
from app.document import TimelineDocument
from app.errors import ProjectError
from app.gc_freeze import collect_if_frozen
from app.project.atomic import atomic_write_bytes, remove_stale_temporaries
from app.project.backups import back_up_current, prune_backups
from app.project.media_paths import ResolvedPaths, StoredPaths, adopt_managed_media
from app.project.paths import ProjectLayout, project_layout
from app.project.validation import MAX_DEPTH, MAX_PROJECT_BYTES, check_document, check_tree

FORMAT_VERSION = 1
_NAMESPACE = "aiprod"
_FILE_KEYS = ("format_version", "app_version", "saved_at", "absolute_paths", "recovery")


@dataclass
class LoadedProject:
    doc: TimelineDocument
    folder: Path
    missing: list[str] = field(default_factory=list)  # media ids whose file is not on disk
    app_version: str = ""


@dataclass(frozen=True)
class SaveResult:
    layout: ProjectLayout
    copied: dict[str, str]  # managed media copied into the project: {old absolute path: new one}
    backup: Path | None


# ------------------------------------------------------------------------------------- serializing
def serialize(
    doc: TimelineDocument, path_map: Callable[[str], str] | None = None, extra: dict[str, Any] | None = None
) -> bytes:
    """The document as OTIO JSON bytes, stamped with the format version and any ``extra`` metadata."""
    return timeline_bytes(doc.to_otio(path_map), extra)


def timeline_bytes(timeline: otio.schema.Timeline, extra: dict[str, Any] | None = None) -> bytes:
    if timeline.metadata.get(_NAMESPACE) is None:
        timeline.metadata[_NAMESPACE] = {}
    meta = timeline.metadata[_NAMESPACE]
    meta["format_version"] = FORMAT_VERSION
    meta["app_version"] = __version__
    meta["saved_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    for key, value in (extra or {}).items():
        meta[key] = value
    return otio.adapters.write_to_string(timeline, "otio_json").encode("utf-8")


def read_header(data: bytes, source: Path) -> dict[str, Any]:
    """Check the raw bytes are an AIPROD project this version can read; returns its aiprod metadata.

    Done on plain JSON before OTIO sees it, so the messages can say exactly what is wrong.
    """
    name = source.name
    if not data.strip():
        raise ProjectError(f"{source} is empty. {_backup_hint(source)}")
    if len(data) > MAX_PROJECT_BYTES:
        raise ProjectError(
            f"{source} is {len(data) // 2**20} MiB, more than any project ({MAX_PROJECT_BYTES // 2**20} MiB "
            f"at most); it is damaged or not a project file. {_backup_hint(source)}"
        )
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark (some editors add one) is not an error
    except UnicodeDecodeError as exc:
        raise ProjectError(
            f"{source} is not a project file (it is not text). {_backup_hint(source)}"
        ) from exc
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        # The parser gave up at the very end (or inside a string running to the end): the file is cut short.
        at_end = exc.pos >= len(text.rstrip()) - 1 or exc.msg.startswith("Unterminated string")
        if at_end and text.lstrip().startswith("{"):
            raise ProjectError(
                f"{source} is truncated: the file ends early, perhaps from an interrupted copy or a full "
                f"disk. {_backup_hint(source)}"
            ) from exc
        raise ProjectError(
            f"{source} is damaged or not a project file (invalid JSON at line {exc.lineno}). "
            f"{_backup_hint(source)}"
        ) from exc
    except RecursionError as exc:
        raise ProjectError(
            f"{source} is damaged: its data is nested more than {MAX_DEPTH} levels deep, which no AIPROD "
            f"project is. {_backup_hint(source)}"
        ) from exc
    schema = raw.get("OTIO_SCHEMA") if isinstance(raw, dict) else None
    if not isinstance(schema, str) or not schema.startswith("Timeline."):
        raise ProjectError(f"{name} is not an OpenTimelineIO timeline, so it is not an AIPROD project.")
    metadata = raw.get("metadata")
    meta = metadata.get(_NAMESPACE) if isinstance(metadata, dict) else None
    if not isinstance(meta, dict) or "format_version" not in meta:
        raise ProjectError(
            f"{name} is an OpenTimelineIO timeline but not an AIPROD project (no AIPROD metadata). "
            "Import it as a timeline instead of opening it as a project."
        )
    version = meta["format_version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ProjectError(f"{source} is damaged: its format version ({version!r}) is not valid.")
    if version > FORMAT_VERSION:
        made_by = meta.get("app_version") or "a newer version"
        raise ProjectError(
            f"{name} was saved by AIPROD Studio {made_by} (project format {version}); this is version "
            f"{__version__}, which reads format {FORMAT_VERSION}. Update AIPROD Studio to open it."
        )
    check_tree(raw, source)
    return meta


def parse(
    data: bytes,
    source: Path,
    path_map: Callable[[str], str] | None = None,
    *,
    header: dict[str, Any] | None = None,
) -> TimelineDocument:
    """Bytes -> document, or ProjectError. Writes nothing. ``header``: what read_header returned, when the
    caller ran it already (its plain bin records spare reading the bin back out of OTIO)."""
    if header is None:
        header = read_header(data, source)
    entries = header.get("bin")
    try:
        timeline = otio.adapters.read_from_string(data.decode("utf-8-sig"), "otio_json")
    except otio.exceptions.UnsupportedSchemaError as exc:
        raise ProjectError(
            f"{source.name} uses a newer OpenTimelineIO schema than this version understands ({exc}). "
            "Update AIPROD Studio to open it."
        ) from exc
    except Exception as exc:  # OTIO raises ValueError, OTIOError and friends for malformed objects
        raise ProjectError(f"{source} is damaged: {exc}. {_backup_hint(source)}") from exc
    if not isinstance(timeline, otio.schema.Timeline):
        raise ProjectError(
            f"{source.name} is not an OpenTimelineIO timeline, so it is not an AIPROD project."
        )
    # Save-time stamps describe the file, not the edit; keeping them would make a loaded document differ
    # from the one that was saved.
    meta = timeline.metadata.get(_NAMESPACE)
    for key in _FILE_KEYS:
        if meta is not None and key in meta:
            del meta[key]
    try:
        doc = TimelineDocument.from_otio(
            timeline, path_map, bin_entries=entries if isinstance(entries, list) else None, adopt=True
        )
    except ProjectError:
        raise
    except Exception as exc:  # the document's own checks: a clip without an id, a bin entry missing keys...
        raise ProjectError(f"{source} is damaged: {exc}. {_backup_hint(source)}") from exc
    check_document(doc, source)
    return doc


def _backup_hint(source: Path) -> str:
    backups = source.parent / "backups"
    if backups.is_dir() and any(backups.glob("*.otio")):
        return f"Earlier versions are kept in {backups}; open one of those instead."
    return "Nothing was changed on disk."


# ------------------------------------------------------------------------------------- save / load
def save_project(
    doc: TimelineDocument, folder: str | os.PathLike[str], *, adopt_from: Iterable[Path] = ()
) -> SaveResult:
    """Write ``doc`` into the project folder (created if needed).

    ``adopt_from``: folders of media the studio manages (a scratch folder, the folder a Save As starts
    from); files referenced from there are copied in and stored with project-relative paths. The
    in-memory document is not changed, so undo history stays valid.
    """
    layout = project_layout(folder)
    layout.create()
    copied = adopt_managed_media((item.path for item in doc.bin_items()), adopt_from, layout)
    stored = StoredPaths(layout.folder)

    def path_map(path: str) -> str:
        return stored(copied.get(path, path))

    timeline = doc.to_otio(path_map)  # fills stored.fallbacks as a side effect
    data = timeline_bytes(timeline, {"absolute_paths": dict(stored.fallbacks)})
    backup = back_up_current(layout)
    atomic_write_bytes(layout.project_file, data)
    prune_backups(layout)
    for folder in (layout.folder, layout.media, layout.masks, layout.backups):
        remove_stale_temporaries(folder)  # what a killed save or generation left behind
    return SaveResult(layout, copied, backup)


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The cyclic garbage collector off for a load: the plain JSON read for the checks (a 500-clip project is
    ~100,000 short-lived dicts and lists) is freed by reference counting, but with the collector on those
    allocations trigger collections that promote the survivors and, about one open in three, a full
    collection of the whole heap (0.2-0.4 s in the studio's window). Turned back on as it was, errors or
    not. In the studio (its start-up objects frozen: app.gc_freeze) a full collection comes first: it walks
    only the open project and what earlier loads dropped, ~20 ms, and frees the document the last open
    replaced before it piles up with others."""
    collect_if_frozen()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_project(path: str | os.PathLike[str]) -> LoadedProject:
    """Open ``Name.aiprod`` (or the ``project.otio`` in it). ProjectError with a clear message on any
    problem; nothing on disk is written either way."""
    with _no_cycle_collection():
        return _load_project(path)


def _load_project(path: str | os.PathLike[str]) -> LoadedProject:
    layout = project_layout(path)
    source = layout.project_file
    if not layout.folder.exists():
        raise ProjectError(f"There is no project at {layout.folder}; it may have been moved or deleted.")
    if not source.is_file():
        raise ProjectError(f"{layout.folder} has no {source.name}, so it is not an AIPROD project folder.")
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise ProjectError(f"Cannot read {source}: {exc.strerror or exc}. Check its permissions.") from exc
    meta = read_header(data, source)
    fallbacks = meta.get("absolute_paths") if isinstance(meta.get("absolute_paths"), dict) else {}
    doc = parse(data, source, ResolvedPaths(layout.folder, fallbacks), header=meta)
    from app.media.probe import path_problem  # imported late: PyAV is heavy, export-timeline needs none

    # not only absent files: pipes, devices and /proc "files" are never media (and a pipe blocks a reader)
    missing = [item.id for item in doc.bin_items() if path_problem(item.path) is not None]
    return LoadedProject(doc, layout.folder, missing, str(meta.get("app_version", "")))
