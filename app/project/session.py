"""One open project: its document, undo stack, location, unsaved state, autosave and crash lock.

The main window shows ``title()`` ("Name* — AIPROD Studio"); ``dirty`` follows the undo stack's clean
state, so undoing back to the saved state clears the marker. Opening another project means a new
session; the old one is ``close()``d (after the unsaved-changes prompt, which is the UI's business).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from app.document import DocumentChange, TimelineDocument
from app.errors import ProjectError
from app.project import recovery
from app.project.autosave import AUTOSAVE_DELAY_MS, AUTOSAVE_MAX_WAIT_MS, Autosave
from app.project.paths import ProjectLayout, project_layout, scratch_dir, scratch_root
from app.project.relink import missing_media
from app.project.store import SaveResult, load_project, save_project

APP_TITLE = "AIPROD Studio"


class ProjectSession(QObject):
    dirty_changed = Signal(bool)
    path_changed = Signal(object)  # Path | None
    title_changed = Signal(str)
    autosave_failed = Signal(str)  # a message for the status bar

    def __init__(
        self,
        doc: TimelineDocument | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
        stack: QUndoStack | None = None,
        missing: list[str] | None = None,
        autosave_ms: int = AUTOSAVE_DELAY_MS,
        autosave_max_ms: int = AUTOSAVE_MAX_WAIT_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.doc = doc if doc is not None else TimelineDocument()
        self.stack = stack if stack is not None else QUndoStack(self)
        self.session_id = uuid.uuid4().hex
        self.missing: list[str] = list(missing or [])
        # A recovered document must be saved deliberately: Save asks before replacing the original.
        self.recovered_from: recovery.RecoveryEntry | None = None
        self._path: Path | None = project_layout(path).folder if path is not None else None
        # Folders whose media a save copies into the project: this session's scratch, crashed sessions'
        # scratch it recovered, and every project folder this session was saved to or opened from.
        self._adopt: list[Path] = [scratch_dir(self.session_id)]
        if self._path is not None:
            self._adopt.append(self._path)
        self._forced_dirty = False
        self._last_dirty = False
        self._saving_as: str | None = None
        self._follow_folder_name()
        self._closed = False
        self._lock = recovery.SessionLock(self.session_id).acquire()
        self._autosave = Autosave(self._write_recovery, autosave_ms, self, max_wait_ms=autosave_max_ms)
        self._autosave.failed.connect(self.autosave_failed)
        self._unsubscribe = self.doc.subscribe(self._on_document_changed)
        self.stack.cleanChanged.connect(self._update_dirty)

    # ------------------------------------------------------------------------------ construction
    @classmethod
    def open(cls, path: str | os.PathLike[str], **kwargs: object) -> ProjectSession:
        loaded = load_project(path)
        return cls(loaded.doc, path=loaded.folder, missing=loaded.missing, **kwargs)  # type: ignore[arg-type]

    @classmethod
    def from_recovery(cls, entry: recovery.RecoveryEntry, **kwargs: object) -> ProjectSession:
        """Reopen a crashed session's autosave: dirty, with the original path remembered."""
        doc = recovery.open_recovery(entry)
        session = cls(doc, path=entry.original_path, missing=missing_media(doc), **kwargs)  # type: ignore[arg-type]
        session.recovered_from = entry
        session._adopt.append(scratch_dir(entry.session_id))
        session._forced_dirty = True
        session._update_dirty()
        # Take the autosave over before dropping the dead session's copy, so a second crash loses nothing.
        session._autosave.flush()
        if recovery.recovery_file(session.session_id).exists():
            recovery.forget_autosave(entry)
        return session

    # ------------------------------------------------------------------------------------- state
    @property
    def path(self) -> Path | None:
        """The project folder (``Name.aiprod``), or None for a project never saved."""
        return self._path

    @property
    def layout(self) -> ProjectLayout | None:
        return ProjectLayout(self._path) if self._path is not None else None

    @property
    def dirty(self) -> bool:
        return self._forced_dirty or not self.stack.isClean()

    @property
    def name(self) -> str:
        return self.layout.name if self.layout else self.doc.name

    def title(self) -> str:
        return f"{self.name}{'*' if self.dirty else ''} — {APP_TITLE}"

    @property
    def media_dir(self) -> Path:
        """Where generated clips of this project go (created on demand)."""
        folder = self.layout.media if self.layout else scratch_dir(self.session_id) / "media"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    @property
    def masks_dir(self) -> Path:
        folder = self.layout.masks if self.layout else scratch_dir(self.session_id) / "masks"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def mark_dirty(self) -> None:
        """For a change made outside the undo stack."""
        self._forced_dirty = True
        self._update_dirty()
        self._autosave.schedule()

    def refresh_missing(self) -> list[str]:
        self.missing = missing_media(self.doc)
        return self.missing

    # -------------------------------------------------------------------------------------- save
    def save(self, path: str | os.PathLike[str] | None = None) -> SaveResult:
        """Save to ``path`` (Save As) or the current folder. ProjectError leaves the session unchanged."""
        if path is None and self._path is None:
            raise ProjectError("This project has not been saved yet; choose where to save it (Save As).")
        target = project_layout(path if path is not None else self._path)
        # The file, EDLs, export tags and recovery say "MyFilm" after a Save As "MyFilm"; a failed save
        # leaves the name as it was.
        old_name, self._saving_as = self.doc.name, target.name
        try:
            self._follow_folder_name()
            result = save_project(self.doc, target.folder, adopt_from=self._adopt)
        except BaseException:
            self._saving_as = None
            if self.doc.name != old_name:
                self.doc.name = old_name
            raise
        finally:
            self._saving_as = None
        if target.folder not in self._adopt:
            self._adopt.append(target.folder)
        path_changed = target.folder != self._path
        self._path = target.folder
        self.recovered_from = None
        self._forced_dirty = False
        self._autosave.cancel()
        self.stack.setClean()
        recovery.remove_recovery(self.session_id)
        if path_changed:
            self.path_changed.emit(self._path)
        self._update_dirty(force_title=True)
        return result

    def close(self) -> None:
        """A clean end: no recovery copy, no lock, no scratch media. Call after the unsaved prompt."""
        if self._closed:
            return
        self._closed = True
        self._autosave.cancel()
        self._unsubscribe()
        recovery.remove_recovery(self.session_id)
        self._lock.release()
        for folder in self._adopt:
            if folder.is_relative_to(scratch_root()):  # scratch folders only, never a project
                shutil.rmtree(folder, ignore_errors=True)

    # ---------------------------------------------------------------------------------- internals
    def flush_autosave(self) -> None:
        """Write the recovery copy now if one is due (e.g. before a risky operation)."""
        if self._autosave.pending:
            self._autosave.flush()

    def _write_recovery(self) -> None:
        if self._closed:
            return
        if self.dirty:
            recovery.write_recovery(self.doc, self.session_id, self._path)
        else:  # undone back to the saved state: the project file already holds it
            recovery.remove_recovery(self.session_id)

    def _on_document_changed(self, change: DocumentChange) -> None:
        if change.kind == "reset":  # an undo restores a snapshot taken before a Save As: keep the name
            self._follow_folder_name()
        self._autosave.schedule()

    def _follow_folder_name(self) -> None:
        """The document is named after its project folder (``MyFilm.aiprod`` -> "MyFilm"): the name the
        export metadata, the EDL title and the recovery list read. Never-saved documents keep theirs."""
        name = self._saving_as or (self.layout.name if self.layout is not None else None)
        if name is not None and self.doc.name != name:
            self.doc.name = name

    def _update_dirty(self, *_args: object, force_title: bool = False) -> None:
        dirty = self.dirty
        if dirty != self._last_dirty:
            self._last_dirty = dirty
            self.dirty_changed.emit(dirty)
            force_title = True
        if force_title:
            self.title_changed.emit(self.title())
