"""Issue 16's "done when", headless: a new user's first start. The main window opens with no model set, the
model manager offers itself, the user picks the Production preset, asks the hub (a local stand-in serving
the shared LTX-2.3 tiny fixture, tests/local_hub.py) for sizes, downloads, presses "Use this model", and the
Generate panel generates a first clip onto the timeline with the downloaded files (the tiny fixture's
random weights: the picture is noise, the path is the real one). Under `xvfb-run` the screen is saved to
artifacts/screenshots/first_run_*.png."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from local_hub import LocalHub
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from shared_fixtures import LTX23_FIXTURE, needs_ltx23_fixture

from app.document.model import TrackKind
from app.model_store.catalog import GEMMA3
from ui.main_window import MainWindow
from ui.model_manager import ModelManagerDialog, offer_on_first_run
from ui.project_actions import ProjectPrompts, RecoveryDecision, UnsavedChoice

pytestmark = needs_ltx23_fixture
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def _screen(name: str) -> None:
    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        return  # only a real (X) screen shows the dialog over the window
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    QApplication.primaryScreen().grabWindow(0).save(str(SCREENSHOTS / name))


@pytest.fixture
def hub(monkeypatch, tmp_path):
    monkeypatch.setenv("AIPROD_DATA_DIR", str(tmp_path / "data"))
    gemma = next(p for p in LTX23_FIXTURE.iterdir() if p.is_dir() and p.name.startswith("gemma-3"))
    with LocalHub({"Lightricks/LTX-2.3": LTX23_FIXTURE, GEMMA3.repo: gemma}) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server


def test_from_first_start_to_a_first_clip(qtbot, hub, tmp_path):
    errors: list[str] = []
    prompts = ProjectPrompts(
        unsaved=lambda _name: UnsavedChoice.DISCARD, open_path=lambda: None, save_path=lambda _s: None,
        confirm=lambda _text: True, recover=lambda _entries: RecoveryDecision(recover=None),
        relink=lambda _actions: None, error=errors.append,
    )  # fmt: skip
    window = MainWindow(QSettings(str(tmp_path / "studio.ini"), QSettings.Format.IniFormat), prompts=prompts)
    qtbot.addWidget(window)
    window.resize(1500, 900)
    window.show()
    try:
        assert not window.generate_panel.generate_button.isEnabled()  # no model yet
        dialog = offer_on_first_run(window)
        assert isinstance(dialog, ModelManagerDialog)
        qtbot.waitUntil(dialog.isVisible)
        dialog.preset_combo.setCurrentText("Production")
        _screen("first_run_1_offer.png")
        with qtbot.waitSignal(dialog.worker.finished, timeout=60_000):
            dialog.sizes_button.click()
        assert "To fetch:" in dialog.status_label.text()
        with qtbot.waitSignal(dialog.worker.finished, timeout=120_000):
            dialog.download_button.click()
        _screen("first_run_4_downloaded.png")
        dialog.use_button.click()
        assert window.engine_settings.detect() == []
        assert Path(window.engine_settings.checkpoint).is_relative_to(tmp_path / "data" / "models")
        dialog.close()

        panel = window.generate_panel
        assert panel.generate_button.isEnabled()
        panel.prompt_edit.setPlainText("a lighthouse at dusk, waves, wind")
        panel.size_combo.addItem("128 x 64", "128x64")
        panel.size_combo.setCurrentIndex(panel.size_combo.count() - 1)
        panel.duration_spin.setValue(0.3)
        panel.steps_spin.setValue(2)
        panel.options.recipe_combo.setCurrentIndex(panel.options.recipe_combo.findData("full"))
        with qtbot.waitSignal(window.jobs.job_finished, timeout=300_000) as finished:
            panel.generate_button.click()
        _job, item = finished.args
        assert item.generation["checkpoint_identity"] not in ("", "tiny-random")  # the downloaded model
        assert item.info.has_audio
        doc = window.session.doc
        video = doc.tracks(TrackKind.VIDEO)[0].id
        qtbot.waitUntil(lambda: len(doc.clips(video)) == 1, timeout=10_000)
        _screen("first_run_7_first_clip.png")
        assert errors == []
    finally:
        window.shutdown()
        window.close()
    print(errors)
