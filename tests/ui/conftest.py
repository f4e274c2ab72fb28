"""UI-test guard: a modal dialog in a headless test would wait forever for a click (and hang CI for its
whole time budget). Every blocking dialog entry point fails the test at once instead; tests answer
questions by injecting prompt functions (see ui.project_actions.ProjectPrompts)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox


class ModalDialogInTest(AssertionError):
    pass


def _refuse(what: str):  # noqa: ANN202
    def refuse(*args: object, **kwargs: object) -> None:
        raise ModalDialogInTest(f"a test opened a blocking {what}; inject an answer instead")

    return refuse


@pytest.fixture(autouse=True)
def no_modal_dialogs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(QDialog, "exec", _refuse("dialog (QDialog.exec)"))
    monkeypatch.setattr(QMessageBox, "exec", _refuse("message box (QMessageBox.exec)"))
    for name in ("question", "warning", "information", "critical"):
        monkeypatch.setattr(QMessageBox, name, staticmethod(_refuse(f"QMessageBox.{name}")))
    for name in ("getOpenFileName", "getOpenFileNames", "getSaveFileName", "getExistingDirectory"):
        monkeypatch.setattr(QFileDialog, name, staticmethod(_refuse(f"QFileDialog.{name}")))


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The studio's data folder (models, caches: AIPROD_DATA_DIR) inside the test's own temporary folder; a
    module takes it for every test with ``pytestmark = pytest.mark.usefixtures("data_dir")``."""
    monkeypatch.setenv("AIPROD_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture
def settings(tmp_path: Path):  # noqa: ANN201
    """A private settings file (QSettings, ini format) for a dialog under test; a test module may define
    its own ``settings`` instead."""
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def make_dialog(qtbot, settings):  # noqa: ANN001, ANN201
    """``make(doc, **kwargs)``: an Export dialog on ``settings``, shut down at the end of the test."""
    from ui.export_dialog import ExportDialog

    dialogs = []

    def make(document, **kwargs):  # noqa: ANN001, ANN003, ANN202
        dialog = ExportDialog(document, settings, **kwargs)
        qtbot.addWidget(dialog)
        dialogs.append(dialog)
        return dialog

    yield make
    for dialog in dialogs:
        dialog.shutdown()
