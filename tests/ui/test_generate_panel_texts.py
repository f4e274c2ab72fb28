"""What the Generate panel says to a new user, kept true: without a model it points at the model manager (and
its button opens it), the Model box names the model the model manager set, and the message line says when
the clip it queued is done (or failed) instead of still saying "Queued"."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from hf_home import isolate_hf_home
from shared_fixtures import LTX23_FIXTURE, needs_ltx23_fixture
from window_helpers import opened_window, tiny_job

from app.jobs import EngineSettings
from ui.generate_panel import GeneratePanel
from ui.model_manager import ModelManagerDialog

pytestmark = pytest.mark.usefixtures("data_dir")


@pytest.fixture(autouse=True)
def hf_home(monkeypatch, tmp_path):
    """The model manager reads the Hugging Face token state: an empty home of the test's own."""
    isolate_hf_home(monkeypatch, tmp_path / "hf-home")


class InstantEngine:
    """Stands in for the model: answers at once, or fails when told to."""

    model_name, identity, quantization = "fake", "fake", "none"

    def __init__(self, fail: str = "") -> None:
        self.fail = fail

    def generate(self, request, on_progress=None, on_preview=None, cancel=None):  # noqa: ANN001, ANN201
        import numpy as np

        from engine.request import GenerationResult

        if self.fail:
            raise RuntimeError(self.fail)
        for step in range(1, request.steps + 1):
            on_progress(step, request.steps)
        frames = np.full((request.num_frames, request.height, request.width, 3), 0.5, np.float32)
        return GenerationResult(frames, np.zeros((2, 9000), np.float32), 48000, request.fps, {})


def _small_job(panel: GeneratePanel) -> None:
    tiny_job(panel, "a lighthouse at dusk")


def test_without_a_model_the_panel_points_at_the_model_manager(qtbot):
    panel = GeneratePanel(EngineSettings())
    qtbot.addWidget(panel)
    text = panel.message_label.text()
    assert "model manager" in text.lower() and "Settings > Model manager" in text
    assert "open Settings and choose the .safetensors" not in text  # the old advice skipped the manager
    assert panel.models_button.isVisibleTo(panel) and panel.models_button.text() == "Model manager..."
    with qtbot.waitSignal(panel.models_requested):
        panel.models_button.click()
    panel.set_settings(EngineSettings(developer_tiny=True))  # the tiny model is chosen: nothing to fix
    assert not panel.models_button.isVisibleTo(panel) and "model manager" not in panel.message_label.text()


@needs_ltx23_fixture
def test_the_button_opens_the_model_manager_and_the_model_box_follows_its_choice(qtbot, tmp_path):
    dev = next(LTX23_FIXTURE.glob("ltx-2.3-*dev.safetensors"))
    gemma = next(p for p in LTX23_FIXTURE.iterdir() if p.is_dir() and p.name.startswith("gemma-3"))
    with opened_window(qtbot, tmp_path) as window:
        panel = window.generate_panel
        unset = panel.model_combo.currentText()
        assert not panel.generate_button.isEnabled()
        panel.models_button.click()
        [manager] = [d for d in window.findChildren(ModelManagerDialog) if d.isVisible()]
        manager.use_model.emit({"checkpoint": str(dev), "gemma_root": str(gemma)})  # "Use this model"
        chosen = EngineSettings(checkpoint=str(dev), gemma_root=str(gemma)).model_spec().name
        assert window.engine_settings.checkpoint == str(dev)
        assert panel.model_combo.currentText() == f"{chosen} (checkpoint from Settings)" != unset
        assert panel.generate_button.isEnabled() and "Cannot generate" not in panel.message_label.text()
        manager.close()


@contextmanager
def instant_panel(qtbot, tmp_path):
    """The window with a stand-in engine that finishes at once, the tiny model chosen and a small job set up
    in the Generate panel: yields (window, panel)."""
    with opened_window(qtbot, tmp_path, engine_factory=lambda *_: InstantEngine()) as window:
        window.apply_engine_settings(EngineSettings(developer_tiny=True))
        _small_job(window.generate_panel)
        yield window, window.generate_panel


def test_the_message_line_says_when_the_queued_clip_is_done(qtbot, tmp_path):
    with instant_panel(qtbot, tmp_path) as (window, panel):
        with qtbot.waitSignal(window.jobs.job_finished, timeout=60_000) as finished:
            spec = panel.request_generate()
            assert panel.message_label.text().startswith(f"Queued: seed {spec.seed}")
        item = finished.args[1]
        text = panel.message_label.text()
        assert "Queued" not in text and text.startswith(f"Done: seed {spec.seed}, 64x64"), text
        assert f"{item.name} is in the media bin" in text


def test_the_message_line_says_when_the_queued_clip_failed(qtbot, tmp_path):
    engine = InstantEngine(fail="the GPU fell off")
    with opened_window(qtbot, tmp_path, engine_factory=lambda *_: engine) as window:
        window.apply_engine_settings(EngineSettings(developer_tiny=True))
        panel = window.generate_panel
        _small_job(panel)
        with qtbot.waitSignal(window.jobs.job_failed, timeout=60_000):
            spec = panel.request_generate()
        text = panel.message_label.text()
        assert text.startswith(f"Failed: seed {spec.seed}") and "the GPU fell off" in text, text
        assert panel.message_label.property("state") == "error"


def test_a_newer_message_is_not_replaced_when_the_job_ends(qtbot, tmp_path):
    with instant_panel(qtbot, tmp_path) as (window, panel):
        with qtbot.waitSignal(window.jobs.job_finished, timeout=60_000):
            panel.request_generate()
            panel.prompt_edit.clear()
            assert panel.request_generate() is None  # refused: the prompt is empty
        assert "prompt is empty" in panel.message_label.text()  # the refusal stays on show


def test_use_this_model_says_what_it_did_where_it_was_opened(qtbot, tmp_path, monkeypatch):
    """From the Generate panel (or the first run) "Use this model" sets the studio's model at once; from
    Settings it only fills the dialog's fields, which OK keeps: the model manager says which."""
    from ui.settings_dialog import SettingsDialog

    changes = {"checkpoint": "/m/LTX-2.3/ltx-2.3-22b-dev.safetensors", "gemma_root": "/m/LTX-2.3/gemma"}
    monkeypatch.setattr(ModelManagerDialog, "settings_changes", lambda self: dict(changes))
    settings = SettingsDialog(EngineSettings())
    qtbot.addWidget(settings)
    manager = settings.open_model_manager()
    manager.use_button.setEnabled(True)
    manager.use_button.click()
    assert settings.checkpoint_edit.text() == changes["checkpoint"]
    said = manager.status_label.text()
    assert "press OK there" in said and "now generates" not in said, said
    manager.close()
    with opened_window(qtbot, tmp_path) as window:
        manager = window.open_model_manager()
        manager.use_button.setEnabled(True)
        manager.use_button.click()
        assert window.engine_settings.checkpoint == changes["checkpoint"]  # set at once
        assert manager.status_label.text() == "The studio now generates with ltx-2.3-22b-dev.safetensors."
        manager.close()


def test_a_cancelled_job_and_the_ones_still_queued_are_counted(qtbot, tmp_path):
    with instant_panel(qtbot, tmp_path) as (window, panel):
        with qtbot.waitSignal(window.jobs.job_finished, timeout=60_000) as finished:
            first = panel.request_generate()
            second = panel.request_generate()  # waits behind the first (one engine lane)
            waiting = window.jobs.jobs()[-1]
            assert waiting.spec is second
            window.jobs.cancel(waiting.id)
            text = panel.message_label.text()
            assert text == f"Cancelled: seed {second.seed}, 64x64, 9 frames. 1 more queued.", text
        assert finished.args[1].generation["seed"] == first.seed
        assert panel.message_label.text().startswith(f"Done: seed {first.seed}")
        assert "more queued" not in panel.message_label.text()


def test_a_regenerations_seed_message_gives_way_to_its_outcome(qtbot, tmp_path):
    with instant_panel(qtbot, tmp_path) as (window, panel):
        with qtbot.waitSignal(window.jobs.job_finished, timeout=60_000) as finished:
            panel.request_generate()
        generation = finished.args[1].generation
        with qtbot.waitSignal(window.jobs.job_finished, timeout=60_000) as again:
            window.regenerate(generation)
            assert panel.message_label.text().startswith("Regenerating with a new seed")
        text = panel.message_label.text()
        assert text.startswith("Done: seed") and f"{again.args[1].name} is in the media bin" in text, text
