"""The Generate panel shows the memory planner's line for the real model before Generate."""

from __future__ import annotations

import pytest

from app.jobs import EngineSettings, memory_plan
from tests.shared_fixtures import LTX23_FIXTURE, ltx23_monolith
from ui.generate_panel import GeneratePanel

GiB = 1024**3


@pytest.mark.skipif(LTX23_FIXTURE is None, reason="shared LTX-2.3 fixture missing")
def test_plan_line_follows_the_fields(qtbot, monkeypatch):
    monkeypatch.setattr(memory_plan, "detect_vram", lambda: 24 * GiB)
    settings = EngineSettings(checkpoint=str(ltx23_monolith(LTX23_FIXTURE)), developer_tiny=True)
    panel = GeneratePanel(settings)
    qtbot.addWidget(panel)
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("ltx2"))
    text = panel.plan_label.text()
    assert text.startswith("24 GiB free on the GPU. fits: yes, peak VRAM ") and "transformer resident" in text
    panel.duration_spin.setValue(2.0)
    assert panel.plan_label.text().startswith("24 GiB free on the GPU. fits: ")
    panel.update_plan(vram=GiB // 2)  # less than CUDA itself needs: says so instead of a plan
    assert panel.plan_label.text().startswith("No memory plan: ")
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("tiny"))
    assert panel.plan_label.text() == ""


def test_no_gpu_says_so(monkeypatch):
    monkeypatch.setattr(memory_plan, "detect_vram", lambda: None)
    line = memory_plan.plan_line("ltx-2.3", None, "fp8", "full", 768, 512, 121)
    assert line.startswith("No CUDA GPU")


def test_plan_line_for_a_missing_checkpoint_is_empty():
    missing = "/no/such/file.safetensors"
    line = memory_plan.plan_line(missing, None, "none", "full", 768, 512, 121, vram=8 * GiB)
    assert line == ""
