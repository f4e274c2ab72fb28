"""The File-menu controller: unsaved-changes prompts, save/open/recent, recovery at launch, relink.

Prompts are injected as plain functions that record what was asked, so no modal dialog ever opens.
"""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from opentimelineio.opentime import RationalTime
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMenu

from app.commands import push_edit
from app.document import MediaItem
from app.media.info import MediaInfo
from app.project import find_recoverable, load_project
from app.project.paths import recovery_dir
from ui.project_actions import (
    ProjectActions,
    ProjectPrompts,
    RecoveryDecision,
    RecoveryDialog,
    RelinkDialog,
    UnsavedChoice,
)


class Asked:
    """Scripted answers, and a log of every question."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.unsaved_answer = UnsavedChoice.CANCEL
        self.open_answer: str | None = None
        self.save_answer: str | None = None
        self.confirm_answer = True
        self.recover_answer = lambda entries: RecoveryDecision()
        self.errors: list[str] = []

    def prompts(self) -> ProjectPrompts:
        def note(kind: str, value):  # noqa: ANN001, ANN202
            self.log.append(kind)
            return value

        return ProjectPrompts(
            unsaved=lambda name: note(f"unsaved:{name}", self.unsaved_answer),
            open_path=lambda: note("open", self.open_answer),
            save_path=lambda suggested: note("save_path", self.save_answer),
            confirm=lambda text: note("confirm", self.confirm_answer),
            recover=lambda entries: note("recover", self.recover_answer(entries)),
            relink=lambda actions: note("relink", None),
            error=lambda text: (self.errors.append(text), note("error", None)),
        )


pytestmark = pytest.mark.usefixtures("data_dir")  # tests/ui/conftest.py


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def asked() -> Asked:
    return Asked()


@pytest.fixture
def actions(qtbot, settings, asked):  # noqa: ANN001, ANN201
    controller = ProjectActions(settings=settings, prompts=asked.prompts(), autosave_ms=50)
    yield controller
    controller.session.close()


def edit(actions: ProjectActions, name: str = "m") -> None:
    session = actions.session
    push_edit(session.stack, session.doc, "marker", lambda d: d.add_marker(RationalTime(1, 24), name))


# ------------------------------------------------------------------------------------ unsaved prompt
def test_no_prompt_when_nothing_changed(actions, asked) -> None:  # noqa: ANN001
    first = actions.session
    assert actions.new_project()
    assert asked.log == [] and actions.session is not first


def test_cancel_keeps_the_project(actions, asked) -> None:  # noqa: ANN001
    edit(actions)
    first = actions.session
    asked.unsaved_answer = UnsavedChoice.CANCEL
    assert not actions.new_project()
    assert not actions.open_project()
    assert not actions.confirm_close()
    assert actions.session is first and first.dirty
    assert asked.log == ["unsaved:Untitled"] * 3  # and never asked for a file


def test_discard_drops_the_changes(actions, asked) -> None:  # noqa: ANN001
    edit(actions)
    asked.unsaved_answer = UnsavedChoice.DISCARD
    assert actions.new_project()
    assert actions.session.doc.markers() == [] and not actions.session.dirty


def test_save_from_the_prompt_asks_where_then_saves(actions, asked, tmp_path) -> None:  # noqa: ANN001
    edit(actions, "keep me")
    asked.unsaved_answer = UnsavedChoice.SAVE
    asked.save_answer = str(tmp_path / "Film")
    assert actions.confirm_close()
    assert asked.log == ["unsaved:Untitled", "save_path"]
    assert [m.name for m in load_project(tmp_path / "Film.aiprod").doc.markers()] == ["keep me"]


def test_cancelling_the_save_dialog_cancels_the_close(actions, asked) -> None:  # noqa: ANN001
    edit(actions)
    asked.unsaved_answer = UnsavedChoice.SAVE
    asked.save_answer = None
    assert not actions.confirm_close()
    assert actions.session.dirty


# ------------------------------------------------------------------------------------ save / open
def test_save_open_and_recent(actions, asked, settings, tmp_path, qtbot) -> None:  # noqa: ANN001
    titles = []
    actions.title_changed.connect(titles.append)
    edit(actions)
    asked.save_answer = str(tmp_path / "One")
    assert actions.save()  # no path yet: Save is Save As
    assert actions.session.title() == "One — AIPROD Studio"
    edit(actions, "second")
    assert actions.session.title() == "One* — AIPROD Studio"
    assert actions.save()  # now straight to the same place
    assert asked.log == ["save_path"]

    asked.save_answer = str(tmp_path / "Two")
    assert actions.save_as()
    assert actions.recent_projects() == [str(tmp_path / "Two.aiprod"), str(tmp_path / "One.aiprod")]
    assert titles[-1] == "Two — AIPROD Studio"

    # The list lives in the injected settings file, so a new controller sees it.
    again = ProjectActions(
        settings=QSettings(settings.fileName(), QSettings.Format.IniFormat), prompts=asked.prompts()
    )
    try:
        assert again.recent_projects() == actions.recent_projects()
        menu = QMenu()
        again.fill_recent_menu(menu)
        assert [a.text() for a in menu.actions()] == ["Two", "One"]
        with qtbot.waitSignal(again.session_changed):
            menu.actions()[1].trigger()
        assert again.session.path == tmp_path / "One.aiprod"
        assert [m.name for m in again.session.doc.markers()] == ["m", "second"]
    finally:
        again.session.close()


def test_replacing_another_project_asks_first(actions, asked, tmp_path) -> None:  # noqa: ANN001
    asked.save_answer = str(tmp_path / "One")
    assert actions.save_as()
    assert actions.new_project()
    asked.confirm_answer = False
    assert not actions.save_as()
    assert asked.log[-1] == "confirm" and actions.session.path is None


def test_a_broken_project_shows_an_error_and_keeps_the_current_one(actions, asked, tmp_path) -> None:  # noqa: ANN001
    asked.save_answer = str(tmp_path / "One")
    actions.save_as()
    (tmp_path / "One.aiprod" / "project.otio").write_text('{"OTIO_SCHEMA": "Timeline.1", "na')
    current = actions.session
    edit(actions)
    asked.unsaved_answer = UnsavedChoice.DISCARD
    assert not actions.open_project(str(tmp_path / "One.aiprod"))
    assert "truncated" in asked.errors[0]
    assert actions.session is current and current.dirty  # nothing lost
    assert actions.recent_projects() == []  # a project that cannot open leaves the list


def test_a_failing_save_reports_and_stays_dirty(actions, asked, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from app.project import atomic

    asked.save_answer = str(tmp_path / "One")
    actions.save_as()
    edit(actions)
    monkeypatch.setattr(atomic, "_write_all", lambda h, d: (_ for _ in ()).throw(OSError(28, "full")))
    assert not actions.save()
    assert "disk is full" in asked.errors[0] and actions.session.dirty


def test_opening_a_project_with_missing_media_offers_relink(actions, asked, tmp_path) -> None:  # noqa: ANN001
    clip = tmp_path / "footage" / "a.mov"
    clip.parent.mkdir()
    clip.write_bytes(b"video")
    info = MediaInfo(str(clip), "mov", True, False, 64, 48, Fraction(24), 24, size_bytes=5)
    session = actions.session
    push_edit(
        session.stack, session.doc, "add", lambda d: d.add_bin_item(MediaItem("m", str(clip), "a", info))
    )
    asked.save_answer = str(tmp_path / "One")
    actions.save_as()
    clip.rename(tmp_path / "a.mov")

    assert actions.open_project(str(tmp_path / "One.aiprod"))
    assert asked.log[-1] == "relink"
    assert actions.session.missing == ["m"]

    actions._probe = lambda path: MediaInfo(path, "mov", True, False, 64, 48, Fraction(24), 24)  # noqa: SLF001
    report = actions.relink_folder(str(tmp_path))
    assert report.relinked == {"m": str(tmp_path / "a.mov")} and report.still_missing == []
    assert actions.session.dirty  # relinking is an edit: undoable, and it needs saving
    actions.session.stack.undo()
    assert actions.session.refresh_missing() == ["m"]


# ---------------------------------------------------------------------------------------- recovery
def _crash(actions: ProjectActions) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    session = actions.session
    session.flush_autosave()
    (recovery_dir() / f"{session.session_id}.lock").write_text(json.dumps({"pid": child.pid}))
    session._closed = True  # noqa: SLF001 - a killed process cleans nothing up


def test_recovery_offered_at_launch_then_saved_to_the_original(qtbot, settings, tmp_path) -> None:  # noqa: ANN001
    asked = Asked()
    first = ProjectActions(settings=settings, prompts=asked.prompts(), autosave_ms=50)
    asked.save_answer = str(tmp_path / "Film")
    first.save_as()
    edit(first, "unsaved work")
    _crash(first)

    asked.recover_answer = lambda entries: RecoveryDecision(recover=entries[0])
    second = ProjectActions(settings=settings, prompts=asked.prompts(), autosave_ms=50)
    try:
        second.start()
        assert asked.log[-1] == "recover"
        session = second.session
        assert session.dirty and session.path == tmp_path / "Film.aiprod"
        assert [m.name for m in session.doc.markers()] == ["unsaved work"]

        asked.confirm_answer = False  # "replace the original?" no -> Save As instead
        asked.save_answer = None
        assert not second.save()
        assert asked.log[-2:] == ["confirm", "save_path"]
        asked.confirm_answer = True
        assert second.save()
        assert [m.name for m in load_project(tmp_path / "Film.aiprod").doc.markers()] == ["unsaved work"]
    finally:
        second.session.close()
    assert find_recoverable() == []


def test_recovery_discard_and_later(qtbot, settings) -> None:  # noqa: ANN001
    asked = Asked()
    first = ProjectActions(settings=settings, prompts=asked.prompts(), autosave_ms=50)
    edit(first)
    _crash(first)
    second = ProjectActions(settings=settings, prompts=asked.prompts())
    try:
        second.start()  # "decide later": nothing opened, nothing deleted
        assert not second.session.dirty and len(find_recoverable()) == 1
        asked.recover_answer = lambda entries: RecoveryDecision(discard=list(entries))
        assert not second.offer_recovery()
        assert find_recoverable() == []
    finally:
        second.session.close()


# ------------------------------------------------------------------------------------------ dialogs
def test_dialogs_build(qtbot, actions) -> None:  # noqa: ANN001
    """The default dialogs construct (they are shown modally only in the app)."""
    recovery_dialog = RecoveryDialog([])
    qtbot.addWidget(recovery_dialog)
    relink_dialog = RelinkDialog(actions)
    qtbot.addWidget(relink_dialog)
    assert relink_dialog.list.count() == 0
    named = actions.create_actions(relink_dialog)
    assert set(named) == {"new", "open", "save", "save_as", "relink"}
