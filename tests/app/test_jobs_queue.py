"""JobQueue + EngineWorker: one long-lived worker thread, progress/ETA/preview signals, cancel, errors a user
can act on, the model kept loaded between jobs. A fake engine keeps these fast; the real tiny model runs
in test_jobs_tiny.py and tests/ui/test_generate_panel.py."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from app.errors import JobError
from app.jobs import EngineSettings, JobQueue, JobSpec, JobStatus
from engine.errors import CheckpointError, GenerationCancelled, OutOfMemoryError
from engine.request import GenerationResult, PreviewFrame

DEV = EngineSettings(developer_tiny=True)
SPEC = JobSpec(
    prompt="a cat on a beach", width=64, height=64, frames=9, fps=24.0, steps=4, seed=5, model="tiny"
)


class FakeEngine:
    """Engine-shaped: same callables and cancel token, tiny arrays, optional failure or pause."""

    model_name = "fake LTX-2"
    identity = "fake-identity"
    quantization = "none"

    def __init__(self, fail: Exception | None = None, gate: threading.Event | None = None):
        self.fail = fail
        self.gate = gate  # when given, every step waits for it (lets a test cancel mid-run)
        self.threads: list[str] = []

    def generate(self, request, on_progress=None, on_preview=None, cancel=None):
        self.threads.append(threading.get_ident())
        if self.fail is not None:
            raise self.fail
        for step in range(1, request.steps + 1):
            if self.gate is not None:
                self.gate.wait(5)
            on_progress(step, request.steps)
            if cancel is not None and cancel.is_set():
                raise GenerationCancelled(step)
            if step == 1:
                on_preview(PreviewFrame(step, request.steps, np.full((64, 64, 3), 200, np.uint8)))
        frames = np.random.default_rng(request.seed).random(
            (request.num_frames, request.height, request.width, 3)
        )
        audio = np.zeros((2, round(request.num_frames / request.fps * 24000)), np.float32)
        return GenerationResult(frames.astype(np.float32), audio, 24000, request.fps, {})


class Factory:
    def __init__(self, engine: FakeEngine | None = None, fail: Exception | None = None):
        self.engine = engine or FakeEngine()
        self.fail = fail
        self.calls: list[tuple] = []

    def __call__(self, model, settings, quantization):
        self.calls.append((model, settings.checkpoint, quantization))
        if self.fail is not None:
            raise self.fail
        return self.engine


@pytest.fixture()
def make_queue(tmp_path, qapp):
    queues: list[JobQueue] = []

    def make(factory=None, settings=DEV):
        queue = JobQueue(settings, tmp_path / "media", engine_factory=factory or Factory())
        queues.append(queue)
        return queue

    yield make
    for queue in queues:
        assert queue.shutdown(10_000)


def test_a_job_reports_progress_eta_preview_and_finishes_with_a_generated_item(make_queue, qtbot, tmp_path):
    factory = Factory()
    queue = make_queue(factory)
    steps, previews = [], []
    queue.job_changed.connect(lambda job_id: steps.append(queue.job(job_id).step))
    queue.job_changed.connect(
        lambda job_id: previews.append(queue.job(job_id).preview) if queue.job(job_id).preview else None
    )
    with qtbot.waitSignal(queue.job_finished, timeout=20_000) as finished:
        job_id = queue.submit(SPEC)
    item = finished.args[1]
    job = queue.job(job_id)
    assert job.status is JobStatus.DONE and job.item is item
    assert [s for s in dict.fromkeys(steps) if s] == [1, 2, 3, 4]  # progress advanced step by step
    assert previews and previews[0].width() == 64 and previews[0].pixelColor(3, 3).red() == 200
    assert item.kind == "generated" and item.info.has_video and item.info.has_audio
    assert item.path.endswith(".mkv") and (tmp_path / "media").is_dir()
    gen = item.generation
    assert gen["prompt"] == SPEC.prompt and gen["seed"] == 5 and gen["checkpoint_identity"] == "tiny-random"
    assert gen["model_name"] == "fake LTX-2" and (gen["width"], gen["height"], gen["frames"]) == (64, 64, 9)
    assert "engine_version" in gen and gen["steps"] == 4 and gen["quantization"] == "none"
    # the engine ran on the worker thread, never on the UI thread
    assert factory.engine.threads and threading.main_thread().ident not in factory.engine.threads


def test_eta_comes_from_measured_step_times(make_queue, qtbot):
    queue = make_queue()
    etas = []
    queue.job_changed.connect(
        lambda job_id: etas.append((queue.job(job_id).step, queue.job(job_id).eta_seconds))
    )
    with qtbot.waitSignal(queue.job_finished, timeout=20_000):
        queue.submit(SPEC)
    during = [eta for step, eta in etas if 0 < step < SPEC.steps and eta is not None]
    assert during and all(eta >= 0 for eta in during)


def test_cancel_the_running_job_stops_it_and_writes_nothing(make_queue, qtbot, tmp_path):
    gate = threading.Event()
    queue = make_queue(Factory(FakeEngine(gate=gate)))
    job_id = queue.submit(SPEC)
    queue.cancel(job_id)  # the worker is blocked before step 1: cancel lands mid-run
    with qtbot.waitSignal(queue.job_cancelled, timeout=20_000):
        gate.set()
    assert queue.job(job_id).status is JobStatus.CANCELLED
    assert not (tmp_path / "media").exists() or not list((tmp_path / "media").iterdir())


def test_several_jobs_wait_and_a_waiting_job_cancels_at_once(make_queue, qtbot):
    gate = threading.Event()
    factory = Factory(FakeEngine(gate=gate))
    queue = make_queue(factory)
    first = queue.submit(SPEC)
    second = queue.submit(SPEC.with_changes(seed=6))
    third = queue.submit(SPEC.with_changes(seed=7))
    assert queue.job(second).status is JobStatus.QUEUED and queue.job(third).status is JobStatus.QUEUED
    queue.cancel(second)
    assert queue.job(second).status is JobStatus.CANCELLED  # no round trip to the worker
    done = []
    queue.job_finished.connect(lambda job_id, _item: done.append(job_id))
    gate.set()
    qtbot.waitUntil(lambda: len(done) == 2, timeout=20_000)
    assert done == [first, third]
    assert len(factory.calls) == 1  # the model stayed loaded between jobs
    assert queue.clear_finished() == [first, second, third] and queue.jobs() == []


def test_changing_settings_reloads_the_model_on_the_worker(make_queue, qtbot):
    factory = Factory()
    queue = make_queue(factory)
    with qtbot.waitSignal(queue.job_finished, timeout=20_000):
        queue.submit(SPEC)
    with qtbot.waitSignal(queue.job_finished, timeout=20_000):
        queue.submit(SPEC.with_changes(quantization="int8"))
    assert factory.calls == [("tiny", "", "none"), ("tiny", "", "int8")]


@pytest.mark.parametrize(
    ("failure", "where", "expected"),
    [
        (
            OutOfMemoryError("out of CUDA memory at 1280x704; try int4 quantization"),
            "generate",
            "Out of memory",
        ),
        (
            CheckpointError("is not a .safetensors file", path="/m/x.ckpt"),
            "load",
            "Choose another file in Settings",
        ),
        (RuntimeError("boom"), "generate", "Please report"),
    ],
)
def test_failures_reach_the_ui_as_text_a_user_can_act_on(make_queue, qtbot, failure, where, expected):
    factory = Factory(FakeEngine(fail=failure)) if where == "generate" else Factory(fail=failure)
    queue = make_queue(factory)
    with qtbot.waitSignal(queue.job_failed, timeout=20_000) as failed:
        job_id = queue.submit(SPEC)
    assert expected in failed.args[1] and queue.job(job_id).error == failed.args[1]
    assert queue.job(job_id).status is JobStatus.FAILED
    # the worker survives a failure: the next job runs
    factory.fail, factory.engine.fail = None, None
    with qtbot.waitSignal(queue.job_finished, timeout=20_000):
        queue.submit(SPEC)


def test_submit_refuses_what_cannot_run(make_queue):
    queue = make_queue(settings=EngineSettings())
    with pytest.raises(JobError, match="developer mode"):
        queue.submit(SPEC)
    with pytest.raises(JobError, match="No LTX-2 checkpoint"):
        queue.submit(SPEC.with_changes(model="ltx2"))
    with pytest.raises(JobError, match="multiple of 32"):
        make_queue().submit(SPEC.with_changes(width=70))
    assert queue.jobs() == []


def test_shutdown_cancels_the_running_job_and_stops_the_thread(make_queue, qtbot):
    gate = threading.Event()
    queue = make_queue(Factory(FakeEngine(gate=gate)))
    job_id = queue.submit(SPEC)
    waiting = queue.submit(SPEC)
    threading.Timer(0.2, gate.set).start()
    assert queue.shutdown(10_000)
    assert queue.job(waiting).status is JobStatus.CANCELLED
    assert queue.job(job_id).cancel.is_set()
    with pytest.raises(JobError, match="shutting down"):
        queue.submit(SPEC)
