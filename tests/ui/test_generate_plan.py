"""The Generate panel shows the memory planner's line for the real model before Generate."""

from __future__ import annotations

import threading

import pytest

from app.jobs import EngineSettings, memory_plan
from app.jobs.plan_worker import PLANNING
from tests.shared_fixtures import LTX23_FIXTURE, ltx23_monolith
from ui.generate_panel import GeneratePanel

GiB = 1024**3


def _settled(qtbot, panel) -> str:
    qtbot.waitUntil(lambda: panel.plan_label.text() != PLANNING, timeout=20000)
    panel._plan_worker.wait()
    return panel.plan_label.text()


@pytest.mark.skipif(LTX23_FIXTURE is None, reason="shared LTX-2.3 fixture missing")
def test_plan_line_follows_the_fields(qtbot, monkeypatch):
    monkeypatch.setattr(memory_plan, "detect_vram", lambda: 24 * GiB)
    settings = EngineSettings(checkpoint=str(ltx23_monolith(LTX23_FIXTURE)), developer_tiny=True)
    panel = GeneratePanel(settings)
    qtbot.addWidget(panel)
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("ltx2"))
    text = _settled(qtbot, panel)
    assert text.startswith("24 GiB free on the GPU. fits: yes, peak VRAM ") and "transformer resident" in text
    panel.duration_spin.setValue(2.0)
    assert _settled(qtbot, panel).startswith("24 GiB free on the GPU. fits: ")
    panel.update_plan(vram=GiB // 2)  # less than CUDA itself needs: says so instead of a plan
    assert _settled(qtbot, panel).startswith("No memory plan: ")
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("tiny"))
    assert panel.plan_label.text() == ""


@pytest.mark.skipif(LTX23_FIXTURE is None, reason="shared LTX-2.3 fixture missing")
def test_the_plan_is_computed_off_the_ui_thread(qtbot, monkeypatch):
    """The panel used to call the planner on the UI thread (about 1 s for a checkpoint's first plan)."""
    ui_thread = threading.get_ident()
    calls: list[int] = []
    release = threading.Event()

    def slow_plan_line(*args, **kwargs):
        calls.append(threading.get_ident())
        release.wait(10)
        return "fits: yes, stub"

    monkeypatch.setattr(memory_plan, "plan_line", slow_plan_line)
    settings = EngineSettings(checkpoint=str(ltx23_monolith(LTX23_FIXTURE)), developer_tiny=True)
    panel = GeneratePanel(settings)
    qtbot.addWidget(panel)
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("ltx2"))  # returns while the plan waits
    assert panel.plan_label.text() == PLANNING
    release.set()
    qtbot.waitUntil(lambda: panel.plan_label.text() == "fits: yes, stub", timeout=10000)
    panel._plan_worker.wait()
    assert calls and ui_thread not in calls


def test_no_gpu_says_so(monkeypatch):
    monkeypatch.setattr(memory_plan, "detect_vram", lambda: None)
    line = memory_plan.plan_line("ltx-2.3", None, "fp8", "full", 768, 512, 121)
    assert line.startswith("No CUDA GPU")


def test_plan_line_for_a_missing_checkpoint_is_empty():
    missing = "/no/such/file.safetensors"
    line = memory_plan.plan_line(missing, None, "none", "full", 768, 512, 121, vram=8 * GiB)
    assert line == ""
