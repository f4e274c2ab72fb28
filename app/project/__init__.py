"""Projects: save/load (``Name.aiprod/project.otio``), autosave, crash recovery, backups, relink.

The storage modules are Qt-free so the CLI can open and render projects headless. ``ProjectSession`` and
``Autosave`` use QtCore/QtGui (timers, the undo stack) and are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.project.paths import PROJECT_FILE, PROJECT_SUFFIX, ProjectLayout, data_root, project_layout
from app.project.recovery import RecoveryEntry, discard_recovery, find_recoverable, open_recovery
from app.project.relink import apply_relinks, missing_media, plan_folder_search
from app.project.store import FORMAT_VERSION, LoadedProject, SaveResult, load_project, save_project

if TYPE_CHECKING:
    from app.project.autosave import Autosave
    from app.project.session import ProjectSession

__all__ = [
    "FORMAT_VERSION",
    "PROJECT_FILE",
    "PROJECT_SUFFIX",
    "Autosave",
    "LoadedProject",
    "ProjectLayout",
    "ProjectSession",
    "RecoveryEntry",
    "SaveResult",
    "apply_relinks",
    "data_root",
    "discard_recovery",
    "find_recoverable",
    "load_project",
    "missing_media",
    "open_recovery",
    "plan_folder_search",
    "project_layout",
    "save_project",
]


def __getattr__(name: str) -> Any:
    if name == "ProjectSession":
        from app.project.session import ProjectSession

        return ProjectSession
    if name == "Autosave":
        from app.project.autosave import Autosave

        return Autosave
    raise AttributeError(f"module 'app.project' has no attribute {name!r}")
