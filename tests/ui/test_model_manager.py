"""Issue 16: the model manager dialog against a local hub (tests/local_hub.py serving the shared LTX-2.3 tiny
fixture in the hub's layout, $HF_ENDPOINT pointed at it): what the folder holds per version and preset,
a download in the background child process with progress, "Use this model" filling the generation settings
(which then find nothing missing), a gated repository's message, a ComfyUI tree, and the first-run offer.
Screenshots go to artifacts/screenshots/ (copied to docs/screenshots/ for the README)."""

from __future__ import annotations

from pathlib import Path

import pytest
from local_hub import LocalHub
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QWidget
from shared_fixtures import LTX23_FIXTURE, needs_ltx23_fixture

from app.jobs.settings import EngineSettings
from app.model_store.catalog import GEMMA3
from app.model_store.folder import human_size
from ui.model_manager import FIRST_RUN_KEY, ModelManagerDialog, offer_on_first_run

pytestmark = needs_ltx23_fixture
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def _shot(widget, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    image = widget.grab()
    assert image.width() > 300 and image.save(str(SCREENSHOTS / name))


@pytest.fixture
def hub(monkeypatch, tmp_path):
    import huggingface_hub.constants as hf_constants

    monkeypatch.setenv("AIPROD_DATA_DIR", str(tmp_path / "data"))
    # the real home's token is neither shown nor sent (this process and the download child)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setattr(hf_constants, "HF_TOKEN_PATH", str(tmp_path / "hf-home" / "token"))
    monkeypatch.setattr(hf_constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "hf-home" / "stored_tokens"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    gemma = next(p for p in LTX23_FIXTURE.iterdir() if p.is_dir() and p.name.startswith("gemma-3"))
    with LocalHub({"Lightricks/LTX-2.3": LTX23_FIXTURE, GEMMA3.repo: gemma}) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)  # the download child process inherits it
        yield server


@pytest.fixture
def dialog(qtbot, hub):
    widget = ModelManagerDialog(first_run=True)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def _rows(dialog) -> dict[str, list[str]]:
    tree = dialog.tree
    return {tree.topLevelItem(i).data(0, 0x0100): [tree.topLevelItem(i).text(c) for c in range(5)]
            for i in range(tree.topLevelItemCount())}  # fmt: skip


def test_an_empty_folder_shows_what_each_preset_needs(dialog, tmp_path):
    assert dialog.folder_edit.text() == str(tmp_path / "data" / "models")
    rows = _rows(dialog)
    assert rows["ltx23-dev"][3] == "missing" and rows["ltx23-dev"][4] == "all"
    assert rows["ltx23-upscaler-x2"][3] == "missing (optional)" and "Standard" in rows["ltx23-upscaler-x2"][4]
    assert "Full" not in rows["ltx23-upscaler-x2"][4]
    dialog.preset_combo.setCurrentText("Full")
    assert "upscaler" not in dialog.need_label.text() and "model (dev)" in dialog.need_label.text()
    dialog.preset_combo.setCurrentText("Production")
    assert "spatial upscaler x2" in dialog.need_label.text() and "distilled LoRA" in dialog.need_label.text()
    assert "gated" in dialog.need_label.text()  # Gemma: accept the licence, enter a token
    assert dialog.download_button.isEnabled() and not dialog.use_button.isEnabled()
    _shot(dialog, "model_manager_first_run.png")


def test_download_in_the_background_then_use_the_model(qtbot, dialog, tmp_path):
    dialog.preset_combo.setCurrentText("Production")
    with qtbot.waitSignal(dialog.worker.finished, timeout=120_000) as done:
        dialog.download_button.click()
        assert dialog.cancel_button.isEnabled() and not dialog.download_button.isEnabled()
    assert done.args[0]  # the files written
    rows = _rows(dialog)
    assert all(row[3] == "present" for row in rows.values()), rows
    assert "Downloaded and verified" in dialog.status_label.text()
    assert "Everything the Production preset needs is here" in dialog.need_label.text()
    assert dialog.summary_label.text().count("Found: LTX-2.3") == 1
    _shot(dialog, "model_manager_downloaded.png")
    with qtbot.waitSignal(dialog.use_model) as used:
        dialog.use_button.click()
    changes = used.args[0]
    assert Path(changes["checkpoint"]).parent == tmp_path / "data" / "models" / "LTX-2.3"
    assert "lora_folder" not in changes  # the distilled LoRA beside the model is found without a library
    assert EngineSettings().with_changes(**changes).detect() == []  # the studio can load it


def test_a_gated_repository_says_what_to_do(qtbot, dialog, hub):
    hub.gated.add(GEMMA3.repo)
    with qtbot.waitSignal(dialog.worker.failed, timeout=60_000) as failed:
        dialog.download_button.click()
    assert failed.args[0] == "gated"
    assert "accept the terms" in dialog.status_label.text()
    assert dialog.status_label.property("state") == "problem"
    _shot(dialog, "model_manager_gated.png")


def test_the_sizes_read_as_what_is_left_to_download(qtbot, dialog):
    dialog.preset_combo.setCurrentText("Standard")
    assert "download size unknown until the hub is asked" in dialog.need_label.text()
    with qtbot.waitSignal(dialog.worker.finished, timeout=60_000):
        dialog.sizes_button.click()
    total = sum(dialog.sizes[key] for key in dialog.missing_keys())
    # the preset's total to fetch, labelled as such (it read as the size of the last file named before it)
    assert f"(to download: {human_size(total)}; " in dialog.need_label.text(), dialog.need_label.text()


def test_asking_the_hub_for_sizes_says_try_again_not_press_download(qtbot, dialog, hub):
    hub.gated.add(GEMMA3.repo)
    with qtbot.waitSignal(dialog.worker.failed, timeout=60_000) as failed:
        dialog.sizes_button.click()
    assert failed.args[0] == "gated" and "press Download again" in failed.args[1]  # the child's wording
    text = dialog.status_label.text()
    assert "accept the terms" in text and "try again" in text and "press Download" not in text, text
    with qtbot.waitSignal(dialog.worker.failed, timeout=60_000):
        dialog.download_button.click()
    assert "press Download again" in dialog.status_label.text()  # where Download was pressed, it stays


def test_a_comfyui_models_folder_is_reused(dialog, tmp_path):
    comfy = tmp_path / "ComfyUI" / "models"
    (comfy / "checkpoints").mkdir(parents=True)
    dev = next(p for p in LTX23_FIXTURE.glob("ltx-2.3-*dev.safetensors"))
    (comfy / "checkpoints" / dev.name).symlink_to(dev)
    assert dialog.set_folder(comfy)
    assert "ComfyUI" in dialog.folder_edit.toolTip() and "ComfyUI" in dialog.summary_label.text()
    assert _rows(dialog)["ltx23-dev"][3] == "present"
    (tmp_path / "a file").write_text("x")
    assert not dialog.set_folder(tmp_path / "a file")
    assert "is a file, not a folder" in dialog.status_label.text()


class _Window(QWidget):
    """What offer_on_first_run uses of the main window."""

    def __init__(self, store):
        super().__init__()
        self.settings = store
        self.engine_settings = EngineSettings()
        self.applied = []

    def apply_engine_settings(self, settings):
        self.applied.append(settings)
        self.engine_settings = settings


def test_the_first_run_offer_comes_once_and_not_when_a_model_is_set(qtbot, hub, tmp_path):
    store = QSettings(str(tmp_path / "studio.ini"), QSettings.Format.IniFormat)
    window = _Window(store)
    qtbot.addWidget(window)
    dialog = offer_on_first_run(window)
    assert dialog is not None and store.value(FIRST_RUN_KEY) in (True, "true")
    dialog.use_model.emit({"checkpoint": "/m/ltx.safetensors", "gemma_root": "/m/g", "lora_folder": ""})
    assert window.applied[-1].checkpoint == "/m/ltx.safetensors"
    assert offer_on_first_run(window) is None  # asked once
    fresh = _Window(QSettings(str(tmp_path / "other.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(fresh)
    fresh.engine_settings = EngineSettings(checkpoint="/already/set.safetensors")
    assert offer_on_first_run(fresh) is None


def test_settings_opens_the_model_manager_and_takes_its_choice(qtbot, hub, tmp_path):
    from ui.settings_dialog import SettingsDialog

    settings = SettingsDialog(EngineSettings())
    qtbot.addWidget(settings)
    manager = settings.open_model_manager()
    assert isinstance(manager, ModelManagerDialog) and manager.isVisible()
    manager.use_model.emit({"checkpoint": "/m/LTX-2.3/ltx.safetensors", "gemma_root": "/m/LTX-2.3/gemma",
                            "lora_folder": "/m/LTX-2.3"})  # fmt: skip
    assert settings.checkpoint_edit.text() == "/m/LTX-2.3/ltx.safetensors"
    assert settings.gemma_edit.text() == "/m/LTX-2.3/gemma" and settings.lora_edit.text() == "/m/LTX-2.3"
    manager.close()


def test_a_download_process_that_cannot_start_is_reported(qtbot, dialog, monkeypatch, tmp_path):
    import sys

    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    with qtbot.waitSignal(dialog.worker.failed, timeout=30_000) as failed:
        dialog.download_button.click()
    assert failed.args[0] == "crashed"
    assert "could not start" in dialog.status_label.text() and dialog.download_button.isEnabled()
