"""The Generate panel's quality presets (with estimated times), recipe, LoRA picker (library from Settings,
names and trigger words from the files) and keyframes (file or viewer frame), and the Settings field for the
LoRA library. A screenshot of the panel is saved under the test's tmp folder."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PySide6.QtCore import QSettings, Qt
from safetensors.torch import save_file

from app.jobs import EngineSettings
from app.jobs.presets import StepTimes, model_key
from tests import shared_fixtures as fixtures
from ui.generate_panel import GeneratePanel
from ui.settings_dialog import SettingsDialog


def _lora(path, **metadata):
    save_file(
        {
            "diffusion_model.x.lora_A.weight": torch.zeros(2, 4),
            "diffusion_model.x.lora_B.weight": torch.zeros(4, 2),
        },
        str(path),
        metadata={k: (v if isinstance(v, str) else json.dumps(v)) for k, v in metadata.items()},
    )
    return path


@pytest.fixture()
def library(tmp_path):
    folder = tmp_path / "loras"
    folder.mkdir()
    dolly = {"modelspec.title": "Dolly in", "trigger_words": "dolly in, slow"}
    _lora(folder / "camera-dolly.safetensors", **dolly)
    _lora(folder / "style.safetensors", ss_tag_frequency={"x": {"film grain": 5, "teal": 2}})
    save_file({"weight": torch.zeros(2)}, str(folder / "broken.safetensors"))
    return folder


def test_lora_picker_lists_the_library_with_names_and_trigger_words(qtbot, library):
    settings = EngineSettings(developer_tiny=True, lora_folder=str(library))
    panel = GeneratePanel(settings)
    qtbot.addWidget(panel)
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("ltx2"))
    options = panel.options
    names = [options.lora_list.item(i).text() for i in range(options.lora_list.count())]
    assert names[0].startswith("broken") and "cannot be used" in names[0]
    assert "Dolly in" in names and "style" in names
    dolly = options.lora_list.item(names.index("Dolly in"))
    assert not (options.lora_list.item(0).flags() & Qt.ItemFlag.ItemIsEnabled)
    options.lora_list.setCurrentItem(dolly)
    assert options.trigger_label.text() == "Trigger: dolly in, slow"
    dolly.setCheckState(Qt.CheckState.Checked)
    options.lora_strength.setValue(0.6)
    style = options.lora_list.item(names.index("style"))
    options.lora_list.setCurrentItem(style)
    assert "film grain" in options.trigger_label.text()
    assert options.chosen_loras() == ((str(library / "camera-dolly.safetensors"), 0.6),)


def test_presets_set_recipe_and_size_and_show_measured_estimates(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("AIPROD_STATE_DIR", str(tmp_path / "state"))  # no step time measured yet
    panel = GeneratePanel(EngineSettings(developer_tiny=True))
    qtbot.addWidget(panel)
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("tiny"))
    combo = panel.options.preset_combo
    labels = [combo.itemText(i) for i in range(combo.count())]
    assert any("Draft" in t and "no time measured yet" in t for t in labels)
    StepTimes().record(model_key("tiny", "", panel.quant_combo.currentData(), "cpu"), 10.0, 5.0)
    panel.duration_spin.setValue(0.3)  # refreshes the estimates
    labels = [combo.itemText(i) for i in range(combo.count())]
    assert any("Draft" in t and "about" in t for t in labels)
    combo.setCurrentIndex(combo.findData("Draft"))
    combo.activated.emit(combo.currentIndex())
    spec = panel.current_spec()
    assert spec.recipe == "distilled" and (spec.width, spec.height) == (128, 64) and spec.steps is None
    assert not panel.steps_spin.isEnabled() and "fixed (8" in panel.steps_spin.text()
    panel.options.recipe_combo.setCurrentIndex(panel.options.recipe_combo.findData("full"))
    assert panel.current_spec().recipe == "full"  # every field stays editable
    assert panel.steps_spin.isEnabled() and "model default" in panel.steps_spin.text()


def test_keyframes_from_a_file_and_the_viewer_frame(qtbot, tmp_path):
    frame = np.full((32, 48, 3), 128, np.uint8)
    panel = GeneratePanel(EngineSettings(developer_tiny=True), current_frame=lambda: frame)
    qtbot.addWidget(panel)
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("tiny"))
    panel.duration_spin.setValue(0.3)
    options = panel.options
    options.add_keyframe(str(tmp_path / "first.png"), 0, 1.0)
    qtbot.mouseClick(options.viewer_keyframe_button, Qt.MouseButton.LeftButton)
    keyframes = panel.current_spec().keyframes
    assert keyframes[0] == (str(tmp_path / "first.png"), 0, 1.0)
    assert keyframes[1][1] == 8 and keyframes[1][0].endswith(".png")  # the last frame of 9
    options.keyframe_strength.setValue(0.5)
    assert panel.current_spec().keyframes[1][2] == 0.5
    spec = panel.current_spec()
    options.keyframe_list.clear()
    panel.load_spec(spec)
    assert panel.current_spec().keyframes == spec.keyframes


def test_settings_keep_the_lora_library_folder(qtbot, tmp_path, library):
    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    dialog = SettingsDialog(EngineSettings(), store=store)
    qtbot.addWidget(dialog)
    dialog.lora_edit.setText(str(library))
    assert dialog.settings().lora_folder == str(library)
    dialog.settings().save(store)
    assert EngineSettings.load(store).lora_folder == str(library)


def test_panel_screenshot_with_the_23_release(qtbot, tmp_path):
    if fixtures.LTX23_FIXTURE is None:
        pytest.skip("the shared LTX-2.3 fixture is not available")
    settings = EngineSettings(checkpoint=str(fixtures.ltx23_monolith(fixtures.LTX23_FIXTURE)))
    panel = GeneratePanel(settings)
    qtbot.addWidget(panel)
    panel.resize(460, 980)
    panel.show()
    names = [panel.options.lora_list.item(i).text() for i in range(panel.options.lora_list.count())]
    assert any("distilled" in n for n in names)  # the release's LoRA, found beside the checkpoint
    panel.options.lora_list.item(0).setCheckState(Qt.CheckState.Checked)
    panel.options.add_keyframe("/tmp/first.png", 0, 1.0)
    qtbot.wait(50)
    path = tmp_path / "generate_panel.png"
    assert panel.grab().save(str(path))
    print(f"screenshot: {path}")


def test_suggest_duration_is_offered_for_the_25_model_and_fills_the_duration(qtbot):
    if fixtures.LTX25_FIXTURE is None:
        pytest.skip("the shared LTX-2.5 fixture is not available")
    panel = GeneratePanel(EngineSettings(developer_tiny=True))
    qtbot.addWidget(panel)
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("tiny"))
    assert not panel.suggest_button.isEnabled()  # the tiny (2.0-like) model has no duration head
    decoder = panel.options.decoder_combo
    assert not decoder.model().item(decoder.findData("diffusion")).isEnabled()
    panel.set_settings(EngineSettings(checkpoint=str(fixtures.LTX25_FIXTURE)))
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("ltx2"))
    assert panel.suggest_button.isEnabled()
    assert decoder.model().item(decoder.findData("diffusion")).isEnabled()  # LTX-2.5's quality option
    decoder.setCurrentIndex(decoder.findData("diffusion"))
    panel.prompt_edit.setPlainText("x")
    assert panel.current_spec().video_decoder == "diffusion"
    assert panel.current_spec().to_request().video_decoder == "diffusion"
    asked = []
    panel.duration_requested.connect(lambda prompt, fps: asked.append((prompt, fps)))
    panel.prompt_edit.setPlainText("waves at dusk")
    qtbot.mouseClick(panel.suggest_button, Qt.MouseButton.LeftButton)
    assert asked == [("waves at dusk", float(panel.fps_combo.currentData()))]
    panel.apply_duration_suggestion(3.1, 73)
    assert panel.current_spec().frames == 73


def test_two_stage_refuses_sizes_that_are_not_multiples_of_64_in_the_panel(qtbot):
    panel = GeneratePanel(EngineSettings(developer_tiny=True))
    qtbot.addWidget(panel)
    panel.prompt_edit.setPlainText("a cat")
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("tiny"))
    panel.size_combo.setCurrentIndex(panel.size_combo.findData("768x512"))
    panel.size_combo.addItem("96 x 64", "96x64")
    panel.size_combo.setCurrentIndex(panel.size_combo.findData("96x64"))
    panel.options.recipe_combo.setCurrentIndex(panel.options.recipe_combo.findData("two-stage"))
    emitted = []
    panel.generate_requested.connect(emitted.append)
    assert panel.request_generate() is None and emitted == []
    assert "multiple of 64" in panel.message_label.text()


def test_the_queue_row_shows_the_stage_and_an_extend_job_says_what_it_extends(qtbot, tmp_path):
    from app.jobs import JobQueue
    from app.jobs.extend import ExtendSpec
    from app.jobs.queue import Job
    from app.jobs.spec import JobSpec
    from ui.job_queue import JobRow

    queue = JobQueue(EngineSettings(developer_tiny=True), tmp_path / "media")
    try:
        job = Job(id="j1", spec=JobSpec(prompt="a cat", model="tiny"), step=9, steps=11)
        job.step_label = "stage 2/2, step 1/3"
        row = JobRow(job, queue)
        qtbot.addWidget(row)
        assert row.progress.format() == "stage 2/2, step 1/3"
        extend = Job(id="j2", spec=ExtendSpec(source_path="x.mkv", seconds=2, prompt="a cat", seed=3))
        row = JobRow(extend, queue)
        qtbot.addWidget(row)
        assert "extend forward by 2 s" in row.status.text()
        assert row.progress.format() == "step 0 / 0"
    finally:
        assert queue.shutdown(10_000)
