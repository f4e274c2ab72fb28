"""Issue 13: what a first-time user tripped on in the studio, each as the flow that showed it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from app.commands import push_edit
from app.project.paths import recovery_dir
from ui.main_window import MainWindow
from ui.project_actions import ProjectPrompts, RecoveryDecision, UnsavedChoice


class Answers:
    def __init__(self) -> None:
        self.save_path: str | None = None
        self.recover = None
        self.errors: list[str] = []

    def prompts(self) -> ProjectPrompts:
        return ProjectPrompts(
            unsaved=lambda _name: UnsavedChoice.DISCARD,
            open_path=lambda: None,
            save_path=lambda _suggested: self.save_path,
            confirm=lambda _text: True,
            recover=lambda entries: RecoveryDecision(recover=entries[0] if self.recover else None),
            relink=lambda _actions: None,
            error=self.errors.append,
        )


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AIPROD_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture
def settings_path(tmp_path: Path) -> str:
    return str(tmp_path / "settings.ini")


@pytest.fixture
def answers() -> Answers:
    return Answers()


def open_window(qtbot, settings_path: str, answers: Answers, **kwargs) -> MainWindow:  # noqa: ANN001, ANN003
    window = MainWindow(
        QSettings(settings_path, QSettings.Format.IniFormat), prompts=answers.prompts(), **kwargs
    )
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


@pytest.fixture
def window(qtbot, settings_path, answers):  # noqa: ANN001, ANN201
    window = open_window(qtbot, settings_path, answers)
    yield window
    window.shutdown()


def settle() -> None:
    for _ in range(10):
        QApplication.processEvents()


# ------------------------------------------------------------------------------ 1: the viewer's height
def test_open_recent_keeps_the_viewers_height(window, answers, tmp_path):
    settle()
    height = window.viewer.height()
    assert height > 300
    answers.save_path = str(tmp_path / "Film.aiprod")
    assert window.project.save_as()
    window.project.fill_recent_menu(window.recent_menu)
    for _ in range(2):  # it got worse with each open
        [recent] = window.recent_menu.actions()
        recent.trigger()
        settle()
        assert window.viewer.height() == height
        assert window.timeline_dock.height() < window.height() // 2


def test_recovery_keeps_the_viewers_height(qtbot, settings_path, answers, tmp_path):
    first = open_window(qtbot, settings_path, answers, autosave_ms=50)
    push_edit(first.session.stack, first.session.doc, "Marker", lambda d: d.add_marker(d.duration()))
    session = first.session
    session.flush_autosave()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    (recovery_dir() / f"{session.session_id}.lock").write_text(json.dumps({"pid": child.pid}))
    session._closed = True  # noqa: SLF001 - a killed process cleans nothing up
    first.shutdown()

    second = open_window(qtbot, settings_path, answers)
    try:
        settle()
        height = second.viewer.height()
        answers.recover = True
        assert second.project.offer_recovery()
        settle()
        assert second.session.doc.markers() and second.viewer.height() == height
    finally:
        second.shutdown()
