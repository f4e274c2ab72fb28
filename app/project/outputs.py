"""Outputs that would destroy what a project reads are refused before anything is written.

A render or an export replaces its destination at the end (an atomic rename), so a destination that is a
clip's media file, a LUT a grade reads, the project's ``project.otio``, or anything in a project folder
(``media/``, ``masks/``, ``backups/``) would silently replace the source with the output. Every writer
(``aiprod-cli render`` / ``export-timeline`` / ``generate``, the studio's export dialog and timeline
export) asks :func:`check_output_path` first.

Paths are compared after resolving symlinks and ``..`` (and, for files that exist, by identity, so a
hard link to a source is caught too).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.errors import ExportError
from app.project.paths import PROJECT_FILE, PROJECT_SUFFIX

if TYPE_CHECKING:
    from app.document import TimelineDocument


class OutputRefused(ExportError):
    """The chosen output would overwrite (or be written inside) something the project reads."""


@dataclass(frozen=True)
class Source:
    """Something an output must not replace: a file, or a folder nothing may be written into."""

    path: Path
    what: str  # "the media file of 'shot.mov'", for the message


def _resolved(path: str | os.PathLike[str]) -> Path:
    # realpath resolves symlinks of the part that exists and normalises "..", without requiring the rest.
    return Path(os.path.realpath(os.path.expanduser(os.fspath(path))))


def project_sources(
    doc: TimelineDocument | None = None, project_folder: str | os.PathLike[str] | None = None
) -> list[Source]:
    """Everything of ``doc`` and its project folder that an output must not touch."""
    sources: list[Source] = []
    if project_folder is not None:
        folder = Path(os.fspath(project_folder))
        if folder.name == PROJECT_FILE:
            folder = folder.parent
        sources.append(Source(folder, f"inside the project folder {folder}"))
    if doc is None:
        return sources
    for item in doc.bin_items():
        if item.path:
            sources.append(Source(Path(item.path), f"the media file of '{item.name}' in the project"))
    for track in doc.tracks():
        for clip in doc.clips(track.id):
            grade = clip.grade if isinstance(clip.grade, dict) else {}
            lut = grade.get("lut_path")
            if isinstance(lut, str) and lut:
                sources.append(Source(Path(lut), f"the LUT file the grade of clip '{clip.name}' reads"))
            look = grade.get("look")
            if isinstance(look, str) and look:
                look_file = _look_file(look)
                if look_file is not None:
                    sources.append(
                        Source(look_file, f"the look '{look}' the grade of clip '{clip.name}' uses")
                    )
    return sources


def _look_file(name: str) -> Path | None:
    try:
        from app.color import looks
    except ImportError:  # pragma: no cover - colour management not installed
        return None
    try:
        return looks.path(name)
    except Exception:  # noqa: BLE001 - an unknown look is the render's error to report, not this check's
        return None


def check_output_path(
    out: str | os.PathLike[str],
    doc: TimelineDocument | None = None,
    project_folder: str | os.PathLike[str] | None = None,
    *,
    sources: Iterable[Source] = (),
) -> None:
    """Raise :class:`OutputRefused` when writing ``out`` would replace or write into a source.

    Refused: ``out`` is (or, through a symlink or hard link, is the same file as) a media file or LUT of
    ``doc`` or one of ``sources``; ``out`` lies inside a source folder; ``out`` is or lies inside
    ``project_folder`` or any project folder (a folder holding ``project.otio``); ``out`` is a folder
    holding a source.
    """
    target = _resolved(out)
    for folder in (target, *target.parents):
        if _is_project_folder(folder):
            _refuse(out, f"inside the project folder {folder}")
    try:
        target_stat = os.stat(target)
    except OSError:
        target_stat = None
    for source in (*project_sources(doc, project_folder), *sources):
        resolved = _resolved(source.path)
        if target == resolved:
            _refuse(out, source.what)
        if target.is_relative_to(resolved):
            _refuse(out, source.what if source.what.startswith("inside") else f"inside {source.what}")
        if resolved.is_relative_to(target):
            _refuse(out, f"a folder holding {source.what}")
        if target_stat is not None:
            try:
                same = os.path.samestat(target_stat, os.stat(resolved))
            except OSError:
                same = False
            if same:
                _refuse(out, f"another name for {source.what}")


def _is_project_folder(folder: Path) -> bool:
    """A folder a save made: ``project.otio`` plus the ``.aiprod`` suffix or the sub-folders every save
    creates (a stray ``project.otio`` from another tool in a home folder must not block every output)."""
    try:
        if not (folder / PROJECT_FILE).is_file():
            return False
        return folder.suffix == PROJECT_SUFFIX or all((folder / sub).is_dir() for sub in ("media", "backups"))
    except OSError:  # a name part too long, say: not a project folder; the writer reports the name
        return False


def _refuse(out: str | os.PathLike[str], what: str) -> None:
    raise OutputRefused(
        f"Refusing to write to {os.fspath(out)}: it is {what}, and the output would replace what the "
        "project reads. Choose a destination outside the project folder and away from its media and LUTs."
    )
