"""Issue 16: the model manager's "Remember this token on this computer", its masked state and "Forget stored
token", against the local hub (tests/local_hub.py) with an HF_HOME of the test's own (the real home is never
touched). The token must end up only in huggingface_hub's own files, never in ours (settings, models folder,
data folder) nor in anything the dialog shows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hf_home import isolate_hf_home
from local_hub import LocalHub
from PySide6.QtCore import QSettings
from shared_fixtures import LTX23_FIXTURE, needs_ltx23_fixture

from app.model_store.catalog import GEMMA3
from ui.model_manager import ModelManagerDialog

pytestmark = needs_ltx23_fixture
TOKEN = "hf_StudioSecretToken0123456789abcdWXYZ"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture
def hf_home(monkeypatch, tmp_path) -> Path:
    home = tmp_path / "hf-home"
    isolate_hf_home(monkeypatch, home)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    return home


@pytest.fixture
def hub(monkeypatch, tmp_path, hf_home):
    monkeypatch.setenv("AIPROD_DATA_DIR", str(tmp_path / "data"))
    gemma = next(p for p in LTX23_FIXTURE.iterdir() if p.is_dir() and p.name.startswith("gemma-3"))
    with LocalHub({"Lightricks/LTX-2.3": LTX23_FIXTURE, GEMMA3.repo: gemma}) as server:
        server.token = TOKEN
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server


def _dialog(qtbot) -> ModelManagerDialog:
    widget = ModelManagerDialog()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def _shown_text(dialog: ModelManagerDialog) -> str:
    from PySide6.QtWidgets import QAbstractButton, QLabel

    labels = [w.text() + w.toolTip() for w in dialog.findChildren(QLabel)]
    buttons = [w.text() + w.toolTip() for w in dialog.findChildren(QAbstractButton)]
    return "\n".join([*labels, *buttons, dialog.token_edit.placeholderText()])


def _ask_sizes(qtbot, dialog, expect: str) -> tuple:
    """Press "Ask the hub for sizes"; the worker's end ("finished", files) or ("failed", kind, message)."""
    ended: list[tuple] = []
    dialog.worker.finished.connect(lambda written: ended.append(("finished", written)))
    dialog.worker.failed.connect(lambda kind, message: ended.append(("failed", kind, message)))
    dialog.sizes_button.click()
    qtbot.waitUntil(lambda: bool(ended), timeout=60_000)
    assert ended[0][0] == expect, ended
    return ended[0]


def test_remember_stores_the_token_where_huggingface_hub_keeps_it_and_nowhere_else(qtbot, hub, hf_home,
                                                                                    tmp_path):  # fmt: skip
    settings = QSettings(str(tmp_path / "studio.ini"), QSettings.Format.IniFormat)
    settings.setValue("probe", 1)  # our settings file exists and is searched below
    settings.sync()
    dialog = _dialog(qtbot)
    assert "No token is stored" in dialog.token_state_label.text() and not dialog.forget_button.isEnabled()
    dialog.token_edit.setText(TOKEN)
    dialog.remember_check.setChecked(True)
    with qtbot.waitSignal(dialog.worker.remembered, timeout=60_000):
        _ask_sizes(qtbot, dialog, "finished")
    assert (hf_home / "token").read_text() == TOKEN
    assert dialog.token_edit.text() == "" and not dialog.remember_check.isChecked()
    assert "hf_\u2026WXYZ" in dialog.token_state_label.text() and "stored" in dialog.token_state_label.text()
    assert dialog.forget_button.isEnabled()
    assert TOKEN not in _shown_text(dialog)
    stored = [p for p in tmp_path.rglob("*") if p.is_file() and TOKEN.encode() in p.read_bytes()]
    assert sorted(p.name for p in stored) == ["stored_tokens", "token"]
    assert all(p.parent == hf_home for p in stored)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    dialog.grab().save(str(SCREENSHOTS / "model_manager_token.png"))
    # a new session: the stored token is shown (masked) and used when the field is empty
    dialog.close()
    again = _dialog(qtbot)
    masked = "hf_\u2026WXYZ"
    assert masked in again.token_state_label.text() and masked in again.token_edit.placeholderText()
    _ask_sizes(qtbot, again, "finished")
    assert "To fetch" in again.status_label.text()
    hub.token = "hf_TheSuccessorToken000000000000000"  # the stored token was revoked since: the empty field
    kind, message = _ask_sizes(qtbot, again, "failed")[1:]
    # the download process's message, its retry advice fitted to the button pressed (not Download)
    assert kind == "unauthorized" and again.status_label.text() == message.replace(
        "press Download again", "try again"
    )
    assert "try again" in again.status_label.text() and "press Download" not in again.status_label.text()
    assert "401" in again.status_label.text()  # ... shows that the download process sent the stored one
    # forget: the file goes, the next session shows none
    again.forget_button.click()
    assert not (hf_home / "token").exists()
    assert "deleted" in again.token_state_label.text() and not again.forget_button.isEnabled()
    assert "No token is stored" in _dialog(qtbot).token_state_label.text()


def test_a_revoked_token_is_refused_and_the_stored_one_and_the_field_stay(qtbot, hub, hf_home):
    dialog = _dialog(qtbot)
    dialog.token_edit.setText(TOKEN)
    dialog.remember_check.setChecked(True)
    with qtbot.waitSignal(dialog.worker.remembered, timeout=60_000):
        _ask_sizes(qtbot, dialog, "finished")
    revoked = "hf_RevokedToken00000000000000000000"
    dialog.token_edit.setText(revoked)
    dialog.remember_check.setChecked(True)
    assert _ask_sizes(qtbot, dialog, "failed")[1] == "unauthorized"
    assert "401" in dialog.status_label.text() and "settings/tokens" in dialog.status_label.text()
    assert dialog.token_edit.text() == revoked and dialog.remember_check.isChecked()  # nothing lost
    assert (hf_home / "token").read_text() == TOKEN
    assert revoked not in _shown_text(dialog)


def test_a_token_folder_that_cannot_be_written_is_said_and_the_token_still_works(qtbot, hub, monkeypatch,
                                                                                  tmp_path):  # fmt: skip
    blocker = tmp_path / "a file"
    blocker.write_text("x")
    isolate_hf_home(monkeypatch, blocker / "hf")
    dialog = _dialog(qtbot)
    dialog.token_edit.setText(TOKEN)
    dialog.remember_check.setChecked(True)
    with qtbot.waitSignal(dialog.worker.warned, timeout=60_000):
        _ask_sizes(qtbot, dialog, "finished")
    text = dialog.token_state_label.text()
    assert str(blocker) in text and "still used for this session" in text
    assert dialog.token_state_label.property("state") == "problem"
    assert dialog.token_edit.text() == TOKEN  # kept for this session's downloads
    assert "To fetch" in dialog.status_label.text()  # the hub answered with the token
    assert TOKEN not in _shown_text(dialog)
