"""File > Export Timeline As… and File > Import Timeline…: hand the cut to another editor, or bring one in.

Export writes through ``app.interchange.export_timeline`` (.otio, .edl one file per video track, FCP 7
.xml, .fcpxml; the suffix picks the format) and says in the status bar what that format could not carry
(``LOSSES``), so nobody discovers a missing track in Resolve. Import reads any format ``app.interchange``
reads into a new, unsaved project through the ``ProjectActions`` controller (so the unsaved-changes prompt
and the session swap are the same as for Open), and says how many media files are missing; File > Relink
Missing Media… finds them later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QWidget

from app.document import TimelineDocument
from app.errors import AppError
from app.interchange import FORMATS, LOSSES, InterchangeFormat, export_timeline, format_for, import_timeline
from app.project.relink import missing_media
from ui.export_dialog import safe_file_name
from ui.project_actions import ProjectActions


@dataclass
class InterchangePrompts:
    """The questions these actions ask; defaults are file dialogs, tests inject plain functions."""

    export_path: Callable[[str], str | None]  # suggested path -> chosen path (its suffix picks the format)
    import_path: Callable[[], str | None]
    error: Callable[[str], None]

    @classmethod
    def dialogs(cls, parent: QWidget | None, error: Callable[[str], None]) -> InterchangePrompts:
        return cls(
            export_path=lambda suggested: _ask_export_path(parent, suggested),
            import_path=lambda: _ask_import_path(parent),
            error=error,
        )


class InterchangeActions(QObject):
    """The QActions and their handlers; status text goes to ``message`` (forwarded to the project's)."""

    message = Signal(str)

    def __init__(
        self,
        project_actions: ProjectActions,
        parent: QObject | None = None,
        *,
        prompts: InterchangePrompts | None = None,
    ) -> None:
        super().__init__(parent)
        self.project = project_actions
        dialog_parent = parent if isinstance(parent, QWidget) else None
        self.prompts = prompts or InterchangePrompts.dialogs(dialog_parent, project_actions.prompts.error)
        # The main window already shows the project controller's messages in its status bar.
        self.message.connect(project_actions.message)

    def create_actions(self, parent: QObject) -> dict[str, QAction]:
        """{"export_timeline": …, "import_timeline": …} for the File menu."""
        specs = [
            ("export_timeline", "Export &Timeline As…", lambda: self.export_timeline()),
            ("import_timeline", "&Import Timeline…", lambda: self.import_timeline()),
        ]
        actions = {}
        for key, text, slot in specs:
            action = QAction(text, parent, objectName=f"interchange_{key}Action")
            action.triggered.connect(lambda _checked=False, slot=slot: slot())
            actions[key] = action
        return actions

    # ------------------------------------------------------------------------------------ export
    def export_timeline(self, path: str | None = None) -> list[Path]:
        """Write the current timeline to ``path`` (asked for when None); returns the files written."""
        session = self.project.session
        if path is None:
            folder = session.path.parent if session.path is not None else Path.home()
            path = self.prompts.export_path(str(folder / f"{safe_file_name(session.name)}.otio"))
            if not path:
                return []
        try:
            fmt = format_for(Path(path))
            written = export_timeline(session.doc, path, project_folder=session.path)
        except AppError as exc:
            self.prompts.error(str(exc))
            return []
        names = ", ".join(p.name for p in written)
        lost = LOSSES.get(fmt.key, [])
        note = f" {fmt.label} does not keep: {'; '.join(lost)}." if lost else ""
        self.message.emit(f"Exported the timeline as {fmt.label}: {names}.{note}")
        return written

    # ------------------------------------------------------------------------------------ import
    def import_timeline(self, path: str | None = None) -> bool:
        """Read a timeline file into a new unsaved project; False if nothing changed."""
        path = path or self.prompts.import_path()
        if not path:
            return False
        try:
            doc = import_timeline(path)
        except AppError as exc:
            self.prompts.error(str(exc))
            return False
        missing = missing_media(doc)
        if not self._open_as_new_project(doc, missing):
            return False
        clips = sum(len(doc.clips(track.id)) for track in doc.tracks())
        text = f"Imported {Path(path).name}: {clips} clip(s) on {len(doc.tracks())} track(s)"
        if missing:
            text += f"; {len(missing)} media file(s) not found — File > Relink Missing Media… finds them"
        self.message.emit(text + ". Save the project to keep it.")
        return True

    def _open_as_new_project(self, doc: TimelineDocument, missing: list[str]) -> bool:
        return self.project.open_document(doc, missing=missing)


def _filter(fmt: InterchangeFormat) -> str:
    return f"{fmt.label} (*{fmt.suffix})"


def _ask_export_path(parent: QWidget | None, suggested: str) -> str | None:
    filters = [_filter(fmt) for fmt in FORMATS.values()]
    path, chosen = QFileDialog.getSaveFileName(parent, "Export Timeline As", suggested, ";;".join(filters))
    if not path:
        return None
    suffixes = {fmt.suffix for fmt in FORMATS.values()}
    if Path(path).suffix.lower() not in suffixes:  # the suffix of the filter the user picked
        path += next((fmt.suffix for fmt in FORMATS.values() if _filter(fmt) == chosen), ".otio")
    return path


def _ask_import_path(parent: QWidget | None) -> str | None:
    patterns = " ".join(f"*{fmt.suffix}" for fmt in FORMATS.values() if fmt.can_import)
    path, _filter = QFileDialog.getOpenFileName(
        parent, "Import Timeline", str(Path.home()), f"Timelines ({patterns})"
    )
    return path or None
