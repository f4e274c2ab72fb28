"""File menu behaviour: New / Open / Open Recent / Save / Save As, the unsaved-changes prompt, crash
recovery at launch and relinking missing media.

``ProjectActions`` holds the current ``ProjectSession`` and swaps it for another only once the user has
agreed (unsaved changes) and the new one has loaded: a failed open leaves the current project as it was.
Every question goes through ``ProjectPrompts``; the defaults show dialogs, tests inject plain functions.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.commands import push_edit
from app.document import TimelineDocument
from app.errors import AppError, ProjectError
from app.project import ProjectSession, RecoveryEntry, discard_recovery, find_recoverable, project_layout
from app.project.paths import PROJECT_FILE
from app.project.relink import Probe, RelinkReport, apply_prepared, plan_folder_search, prepare_relinks

RECENT_KEY = "project/recent"
MAX_RECENT = 10


class UnsavedChoice(Enum):
    SAVE = "save"
    DISCARD = "discard"
    CANCEL = "cancel"


@dataclass
class RecoveryDecision:
    recover: RecoveryEntry | None = None  # open this one
    discard: list[RecoveryEntry] = field(default_factory=list)  # delete these for good
    # anything in neither list is offered again at the next launch


@dataclass
class ProjectPrompts:
    """Every question the controller asks. Defaults are dialogs parented to ``parent``."""

    unsaved: Callable[[str], UnsavedChoice]  # project name -> choice
    open_path: Callable[[], str | None]
    save_path: Callable[[str], str | None]  # suggested path -> chosen, None = cancelled
    confirm: Callable[[str], bool]  # a yes/no question
    recover: Callable[[list[RecoveryEntry]], RecoveryDecision]
    relink: Callable[[ProjectActions], None]  # show the relink dialog for the session's missing media
    error: Callable[[str], None]

    @classmethod
    def dialogs(cls, parent: QWidget | None) -> ProjectPrompts:
        return cls(
            unsaved=lambda name: _ask_unsaved(parent, name),
            open_path=lambda: _ask_open_path(parent),
            save_path=lambda suggested: _ask_save_path(parent, suggested),
            confirm=lambda text: (
                QMessageBox.question(parent, "AIPROD Studio", text) == QMessageBox.StandardButton.Yes
            ),
            recover=lambda entries: RecoveryDialog.ask(parent, entries),
            relink=lambda actions: RelinkDialog(actions, parent).exec(),
            error=lambda text: QMessageBox.warning(parent, "AIPROD Studio", text),
        )


class ProjectActions(QObject):
    session_changed = Signal(object)  # the new ProjectSession (rewire views to its doc and stack)
    title_changed = Signal(str)  # "Name* — AIPROD Studio"
    recent_changed = Signal(list)
    message = Signal(str)  # for the status bar

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        settings: QSettings | None = None,
        prompts: ProjectPrompts | None = None,
        probe: Probe | None = None,
        autosave_ms: int | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings = settings if settings is not None else QSettings()
        self.prompts = prompts or ProjectPrompts.dialogs(parent)
        self._probe = probe
        self._session_kwargs = {} if autosave_ms is None else {"autosave_ms": autosave_ms}
        self._session = self._make(ProjectSession)
        self._session.title_changed.connect(self.title_changed)

    # ----------------------------------------------------------------------------------- state
    @property
    def session(self) -> ProjectSession:
        return self._session

    def recent_projects(self) -> list[str]:
        value = self._settings.value(RECENT_KEY, [])
        if isinstance(value, str):  # INI files hand back a one-element list as a plain string
            value = [value] if value else []
        return [str(v) for v in value or []]

    # --------------------------------------------------------------------------------- actions
    def start(self, path: str | None = None) -> None:
        """At launch: offer crash recovery first, then open ``path`` if given."""
        if self.offer_recovery():
            return
        if path:
            self.open_project(path)

    def new_project(self) -> bool:
        if not self.maybe_save():
            return False
        self._replace(self._make(ProjectSession))
        return True

    def open_project(self, path: str | None = None) -> bool:
        if not self.maybe_save():
            return False
        path = path or self.prompts.open_path()
        if not path:
            return False
        try:
            session = self._make(ProjectSession.open, path)
        except ProjectError as exc:
            self.prompts.error(str(exc))
            self._forget_recent(path)
            return False
        self._replace(session)
        self._remember_recent(session.path)
        if session.missing:
            self.prompts.relink(self)
        return True

    def open_document(self, doc: TimelineDocument, missing: list[str] | None = None) -> bool:
        """Make ``doc`` (e.g. an imported EDL) the current, never-saved project: asks about unsaved
        changes first; the new project starts dirty, so closing asks and autosave covers it."""
        if not self.maybe_save():
            return False
        session = self._make(functools.partial(ProjectSession, doc, missing=list(missing or [])))
        self._replace(session)
        session.mark_dirty()
        return True

    def save(self) -> bool:
        session = self._session
        if session.path is None:
            return self.save_as()
        if session.recovered_from is not None and not self.prompts.confirm(
            f"This project was recovered after a crash. Replace {session.path} with the recovered version? "
            "(No lets you save it somewhere else.)"
        ):
            return self.save_as()
        return self._save_to(None)

    def save_as(self) -> bool:
        suggested = str(self._session.path or Path.home() / f"{self._session.name}.aiprod")
        chosen = self.prompts.save_path(suggested)
        if not chosen:
            return False
        folder = project_layout(chosen).folder
        if (
            folder != self._session.path
            and (folder / PROJECT_FILE).exists()
            and not self.prompts.confirm(f"{folder} already holds a project. Replace it?")
        ):
            return False
        return self._save_to(folder)

    def maybe_save(self) -> bool:
        """The unsaved-changes prompt; True when it is fine to drop the current project."""
        if not self._session.dirty:
            return True
        choice = self.prompts.unsaved(self._session.name)
        if choice is UnsavedChoice.SAVE:
            return self.save()
        return choice is UnsavedChoice.DISCARD

    def confirm_close(self) -> bool:
        """For the main window's closeEvent: prompt, then end the session cleanly."""
        if not self.maybe_save():
            return False
        self._session.close()
        return True

    def offer_recovery(self) -> bool:
        """Offer autosaves of crashed sessions; True when one was opened."""
        entries = find_recoverable()
        if not entries:
            return False
        decision = self.prompts.recover(entries)
        for entry in decision.discard:
            discard_recovery(entry)
        if decision.recover is None:
            return False
        try:
            session = self._make(ProjectSession.from_recovery, decision.recover)
        except ProjectError as exc:
            self.prompts.error(str(exc))
            return False
        self._replace(session)
        self.message.emit("Recovered unsaved work; save it to keep it.")
        if session.missing:
            self.prompts.relink(self)
        return True

    # ---------------------------------------------------------------------------------- relink
    def relink_file(self, media_id: str, path: str) -> RelinkReport:
        return self._relink({media_id: path})

    def relink_folder(self, folder: str) -> RelinkReport:
        """Search ``folder`` (and below) for files named like the missing ones; relink all it can."""
        doc = self._session.doc
        return self._relink(plan_folder_search(doc, self._session.refresh_missing(), folder))

    def _relink(self, plan: dict[str, str]) -> RelinkReport:
        session = self._session
        prepared = prepare_relinks(session.doc, plan, self._probe)
        if prepared.ready:
            try:
                push_edit(
                    session.stack, session.doc, "Relink media", lambda doc: apply_prepared(doc, prepared)
                )
            except AppError as exc:
                prepared.failed.update({mid: str(exc) for mid in prepared.ready})
                prepared.ready.clear()
        report = RelinkReport(
            relinked={mid: path for mid, (path, _info) in prepared.ready.items()},
            failed=dict(prepared.failed),
            still_missing=session.refresh_missing(),
        )
        if report.relinked:
            self.message.emit(
                f"Relinked {len(report.relinked)} file(s); {len(report.still_missing)} missing."
            )
        return report

    # ------------------------------------------------------------------------------------ menus
    def create_actions(self, parent: QObject) -> dict[str, QAction]:
        """QActions for the File menu, wired to this controller."""
        specs = [
            ("new", "&New Project", QKeySequence.StandardKey.New, self.new_project),
            ("open", "&Open Project…", QKeySequence.StandardKey.Open, lambda: self.open_project()),
            ("save", "&Save", QKeySequence.StandardKey.Save, self.save),
            ("save_as", "Save &As…", QKeySequence.StandardKey.SaveAs, self.save_as),
            ("relink", "&Relink Missing Media…", None, lambda: self.prompts.relink(self)),
        ]
        actions = {}
        for key, text, shortcut, slot in specs:
            action = QAction(text, parent, objectName=f"project_{key}Action")
            if shortcut is not None:
                action.setShortcut(shortcut)
            action.triggered.connect(lambda _checked=False, slot=slot: slot())
            actions[key] = action
        return actions

    def fill_recent_menu(self, menu: QMenu) -> None:
        """Rebuild an "Open Recent" menu; connect it to ``menu.aboutToShow`` to keep it current."""
        menu.clear()
        recent = self.recent_projects()
        for path in recent:
            action = menu.addAction(Path(path).name.removesuffix(".aiprod"))
            action.setToolTip(path)
            action.triggered.connect(lambda _checked=False, p=path: self.open_project(p))
        menu.setEnabled(bool(recent))

    # ------------------------------------------------------------------------------- internals
    def _make(self, factory: Callable[..., ProjectSession], *args: object) -> ProjectSession:
        return factory(*args, parent=self, **self._session_kwargs)

    def _save_to(self, folder: Path | None) -> bool:
        try:
            self._session.save(folder)
        except ProjectError as exc:
            self.prompts.error(str(exc))
            return False
        self._remember_recent(self._session.path)
        self.message.emit(f"Saved {self._session.path}")
        return True

    def _replace(self, session: ProjectSession) -> None:
        old = self._session
        self._session = session
        old.close()
        old.deleteLater()
        session.title_changed.connect(self.title_changed)
        self.session_changed.emit(session)
        self.title_changed.emit(session.title())

    def _remember_recent(self, path: Path | None) -> None:
        if path is None:
            return
        recent = [str(path)] + [p for p in self.recent_projects() if p != str(path)]
        self._store_recent(recent[:MAX_RECENT])

    def _forget_recent(self, path: str) -> None:
        folder = str(project_layout(path).folder)
        recent = self.recent_projects()
        if folder in recent:
            self._store_recent([p for p in recent if p != folder])

    def _store_recent(self, recent: list[str]) -> None:
        self._settings.setValue(RECENT_KEY, recent)
        self._settings.sync()
        self.recent_changed.emit(recent)


# ------------------------------------------------------------------------------------- dialogs
def _ask_unsaved(parent: QWidget | None, name: str) -> UnsavedChoice:
    buttons = QMessageBox.StandardButton
    answer = QMessageBox.warning(
        parent,
        "AIPROD Studio",
        f"Save changes to “{name}” before closing it?",
        buttons.Save | buttons.Discard | buttons.Cancel,
        buttons.Save,
    )
    return {buttons.Save: UnsavedChoice.SAVE, buttons.Discard: UnsavedChoice.DISCARD}.get(
        answer, UnsavedChoice.CANCEL
    )


def _ask_open_path(parent: QWidget | None) -> str | None:
    path, _filter = QFileDialog.getOpenFileName(
        parent, "Open Project", str(Path.home()), f"AIPROD projects ({PROJECT_FILE})"
    )
    return path or None


def _ask_save_path(parent: QWidget | None, suggested: str) -> str | None:
    path, _filter = QFileDialog.getSaveFileName(
        parent, "Save Project As", suggested, "AIPROD project folders (*.aiprod)"
    )
    return path or None


class RecoveryDialog(QDialog):
    """Lists autosaves of crashed sessions: recover one, discard them all, or decide next time."""

    def __init__(self, entries: list[RecoveryEntry], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Recover unsaved work")
        self.entries = entries
        self.decision = RecoveryDecision()
        self.list = QListWidget()
        for entry in entries:
            where = str(entry.original_path) if entry.original_path else "never saved"
            when = entry.written_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
            QListWidgetItem(f"{entry.name or 'Untitled'} — {where} — autosaved {when}", self.list)
        self.list.setCurrentRow(0)
        buttons = QDialogButtonBox()
        recover = QPushButton("Recover")
        discard = QPushButton("Discard All")
        later = QPushButton("Decide Later")
        buttons.addButton(recover, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(discard, QDialogButtonBox.ButtonRole.DestructiveRole)
        buttons.addButton(later, QDialogButtonBox.ButtonRole.RejectRole)
        recover.clicked.connect(self._recover)
        discard.clicked.connect(self._discard)
        later.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("AIPROD Studio did not close properly. Unsaved work was autosaved:"))
        layout.addWidget(self.list)
        layout.addWidget(buttons)

    def _recover(self) -> None:
        row = max(self.list.currentRow(), 0)
        self.decision = RecoveryDecision(recover=self.entries[row])
        self.accept()

    def _discard(self) -> None:
        if (
            QMessageBox.question(self, "Discard", "Delete these autosaves for good?")
            == QMessageBox.StandardButton.Yes
        ):
            self.decision = RecoveryDecision(discard=list(self.entries))
            self.accept()

    @classmethod
    def ask(cls, parent: QWidget | None, entries: list[RecoveryEntry]) -> RecoveryDecision:
        dialog = cls(entries, parent)
        dialog.exec()
        return dialog.decision


class RelinkDialog(QDialog):
    """Missing media of the current project: locate one file, or search a folder for all of them."""

    def __init__(self, actions: ProjectActions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Relink missing media")
        self.actions = actions
        self.list = QListWidget()
        self.status = QLabel()
        locate = QPushButton("Locate File…")
        search = QPushButton("Search Folder…")
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        locate.clicked.connect(self._locate)
        search.clicked.connect(self._search)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("These files were not found where the project expects them:"))
        layout.addWidget(self.list)
        layout.addWidget(locate)
        layout.addWidget(search)
        layout.addWidget(self.status)
        layout.addWidget(close)
        self.refresh()

    def refresh(self, report: RelinkReport | None = None) -> None:
        self.list.clear()
        doc = self.actions.session.doc
        for media_id in self.actions.session.refresh_missing():
            item = QListWidgetItem(
                f"{doc.bin_item(media_id).name} — {doc.bin_item(media_id).path}", self.list
            )
            item.setData(Qt.ItemDataRole.UserRole, media_id)
        self.list.setCurrentRow(0)
        if report is not None:
            problems = "".join(f"\n{why}" for why in report.failed.values())
            self.status.setText(
                f"Relinked {len(report.relinked)}; {len(report.still_missing)} still missing.{problems}"
            )

    def _locate(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        path, _filter = QFileDialog.getOpenFileName(self, "Locate media", str(Path.home()))
        if path:
            self.refresh(self.actions.relink_file(item.data(Qt.ItemDataRole.UserRole), path))

    def _search(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Search folder for missing media", str(Path.home()))
        if folder:
            self.refresh(self.actions.relink_folder(folder))
