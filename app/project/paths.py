"""Where project files live: the project folder layout, and the per-user data folder for recovery files
and the scratch media of projects that were never saved.

Qt-free, so the CLI can open projects too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from app.errors import ProjectError

PROJECT_SUFFIX = ".aiprod"
PROJECT_FILE = "project.otio"
DATA_DIR_ENV = "AIPROD_DATA_DIR"


def data_root() -> Path:
    """The per-user data folder: ``$AIPROD_DATA_DIR`` (tests point it at a temporary folder), else the
    platform's usual place (``%LOCALAPPDATA%\\aiprod`` on Windows, ``$XDG_DATA_HOME/aiprod`` or
    ``~/.local/share/aiprod`` elsewhere)."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override)
    if os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "aiprod"
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "aiprod"


def recovery_dir() -> Path:
    return data_root() / "recovery"


def scratch_root() -> Path:
    return data_root() / "scratch"


def scratch_dir(session_id: str) -> Path:
    """Generated media of a session whose project has no folder yet; copied in on the first save."""
    return scratch_root() / session_id


@dataclass(frozen=True)
class ProjectLayout:
    """The folder ``Name.aiprod/`` and what is inside it."""

    folder: Path

    @property
    def name(self) -> str:
        return self.folder.name.removesuffix(PROJECT_SUFFIX) or self.folder.name

    @property
    def project_file(self) -> Path:
        return self.folder / PROJECT_FILE

    @property
    def media(self) -> Path:
        return self.folder / "media"

    @property
    def masks(self) -> Path:
        return self.folder / "masks"

    @property
    def backups(self) -> Path:
        return self.folder / "backups"

    def create(self) -> None:
        """Make the folder and its sub-folders; an unwritable place is a ProjectError."""
        try:
            for sub in (self.folder, self.media, self.masks, self.backups):
                sub.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProjectError(
                f"Cannot create the project folder {self.folder}: {exc.strerror or exc}. "
                "Choose a folder you can write to."
            ) from exc


def project_layout(path: str | os.PathLike[str]) -> ProjectLayout:
    """The layout for whatever the user picked: the ``Name.aiprod`` folder, the ``project.otio`` inside it,
    or a new name without the suffix (which gets it)."""
    chosen = Path(path).expanduser().absolute()
    _check_name_lengths(chosen)
    if chosen.name == PROJECT_FILE:
        return ProjectLayout(chosen.parent)
    if (chosen / PROJECT_FILE).is_file():  # an existing project folder renamed without the suffix
        return ProjectLayout(chosen)
    if chosen.suffix != PROJECT_SUFFIX:
        chosen = chosen.with_name(chosen.name + PROJECT_SUFFIX)
        _check_name_lengths(chosen)
    return ProjectLayout(chosen)


def _check_name_lengths(path: Path) -> None:
    # Checked first because pathlib's is_file()/exists() raise (rather than answer False) for such names.
    for part in path.parts:
        size = len(os.fsencode(part))
        if size > 255:
            raise ProjectError(
                f"The name '{part[:40]}…' is {size} bytes long; a file or folder name may have at most 255. "
                "Choose a shorter name."
            )
