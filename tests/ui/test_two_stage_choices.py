"""The Generate panel offers the dev model's two-stage recipe (two-stage-full, and its Production preset) and
the two-stage recipes' upsampler: x1.5 only for a model whose release has one (LTX-2.3); the choice reaches
the job and comes back on regenerate. A screenshot of the panel is saved to artifacts/screenshots."""

from __future__ import annotations

from pathlib import Path

from app.jobs import EngineSettings, JobSpec
from engine.models import LTX_2_3, LTX_2_5
from ui.generate_panel import GeneratePanel

# git-ignored; the copy we looked at is docs/screenshots/generate_two_stage_full.png
SCREENSHOT = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots" / "generate_two_stage_full.png"


def test_two_stage_full_and_the_x15_upsampler_in_the_panel(qtbot, monkeypatch, tmp_path):
    monkeypatch.setenv("AIPROD_STATE_DIR", str(tmp_path / "state"))
    panel = GeneratePanel(EngineSettings(developer_tiny=True))
    qtbot.addWidget(panel)
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("ltx2"))
    panel.prompt_edit.setPlainText("a lighthouse in a storm, waves breaking, wind and rain")
    options = panel.options
    assert options.recipe_combo.findData("two-stage-full") >= 0
    combo = options.preset_combo
    production = combo.findData("Production")
    assert production >= 0 and "720p" in combo.itemText(production)
    combo.setCurrentIndex(production)
    combo.activated.emit(production)
    assert options.recipe() == "two-stage-full"
    assert panel.steps_spin.isEnabled()  # stage 1's guided steps stay settable
    panel.resize(460, 900)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    assert panel.grab().save(str(SCREENSHOT))

    x15 = options.upsampler_combo.findData(1.5)
    options.set_model("ltx2", LTX_2_5, "", "none")  # the 2.5 release has only the x2 upsampler
    assert not options.upsampler_combo.model().item(x15).isEnabled()
    options.set_model("ltx2", LTX_2_3, "", "none")
    assert options.upsampler_combo.model().item(x15).isEnabled()
    options.upsampler_combo.setCurrentIndex(x15)
    spec = panel.current_spec()
    assert spec.recipe == "two-stage-full" and spec.upsampler_scale == 1.5
    assert spec.to_request().upsampler_scale == 1.5
    again = JobSpec.from_generation(spec.generation_parameters())
    options.upsampler_combo.setCurrentIndex(0)
    options.load(again)
    assert options.upsampler_combo.currentData() == 1.5
