"""The job queue view: a row per job with progress, ETA, preview, status, cancel; errors shown in full;
finished rows can be cleared. A fake engine keeps it fast (the tiny model runs in test_generate_panel)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.jobs import EngineSettings, JobQueue, JobSpec, JobStatus
from engine.errors import GenerationCancelled, OutOfMemoryError
from engine.request import GenerationResult, PreviewFrame
from ui.job_queue import JobQueueView, format_eta

SPEC = JobSpec(prompt="a lighthouse in a storm", width=64, height=64, frames=9, steps=3, seed=1, model="tiny")


class FakeEngine:
    model_name, identity, quantization = "fake", "fake", "none"

    def __init__(self):
        self.gate = threading.Event()
        self.fail: Exception | None = None

    def generate(self, request, on_progress=None, on_preview=None, cancel=None):
        if self.fail is not None:
            raise self.fail
        for step in range(1, request.steps + 1):
            self.gate.wait(5)
            on_progress(step, request.steps)
            if cancel.is_set():
                raise GenerationCancelled(step)
            on_preview(PreviewFrame(step, request.steps, np.zeros((64, 64, 3), np.uint8)))
        frames = np.zeros((request.num_frames, request.height, request.width, 3), np.float32)
        return GenerationResult(frames, np.zeros((2, 9000), np.float32), 24000, request.fps, {})


@pytest.fixture()
def setup(qtbot, tmp_path):
    engine = FakeEngine()
    queue = JobQueue(EngineSettings(developer_tiny=True), tmp_path, engine_factory=lambda *_: engine)
    view = JobQueueView(queue)
    qtbot.addWidget(view)
    yield engine, queue, view
    engine.gate.set()
    assert queue.shutdown(10_000)


def test_rows_show_progress_preview_and_finish(setup, qtbot):
    engine, queue, view = setup
    assert view.empty_label.isVisibleTo(view)
    job_id = queue.submit(SPEC)
    row = view.row(job_id)
    assert row.cancel_button.isVisibleTo(view) and row.progress.value() == 0
    with qtbot.waitSignal(queue.job_finished, timeout=20_000):
        engine.gate.set()
    assert row.progress.value() == row.progress.maximum() == 3
    assert row.thumbnail.pixmap() is not None and not row.thumbnail.pixmap().isNull()
    assert "done" in row.status.text() and not row.cancel_button.isVisibleTo(view)
    assert not view.empty_label.isVisibleTo(view)


def test_a_failed_job_shows_the_error_text(setup, qtbot):
    engine, queue, view = setup
    engine.fail = OutOfMemoryError("out of CUDA memory at 1280x704; try int4 quantization")
    with qtbot.waitSignal(queue.job_failed, timeout=20_000):
        job_id = queue.submit(SPEC)
    row = view.row(job_id)
    assert row.error.isVisibleTo(view) and "try int4 quantization" in row.error.text()
    assert "failed" in row.status.text()


def test_cancel_button_cancels_a_waiting_job_and_clear_removes_finished_rows(setup, qtbot):
    engine, queue, view = setup
    running = queue.submit(SPEC)
    waiting = queue.submit(SPEC.with_changes(seed=2))
    qtbot.mouseClick(view.row(waiting).cancel_button, Qt.MouseButton.LeftButton)
    assert queue.job(waiting).status is JobStatus.CANCELLED and "cancelled" in view.row(waiting).status.text()
    qtbot.mouseClick(view.clear_button, Qt.MouseButton.LeftButton)
    assert [r.job_id for r in view.rows()] == [running]  # the running job stays
    with qtbot.waitSignal(queue.job_finished, timeout=20_000):
        engine.gate.set()
    qtbot.mouseClick(view.clear_button, Qt.MouseButton.LeftButton)
    assert view.rows() == [] and view.empty_label.isVisibleTo(view)


def test_eta_text():
    assert format_eta(None) == ""
    assert format_eta(42.4) == "about 42 s left"
    assert format_eta(125) == "about 2 min 05 s left"
