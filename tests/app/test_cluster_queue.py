"""The render-node farm as the job queue's engine lane (app.cluster.qt.ClusterWorker), without a cluster:
the farm is a stand-in that runs each job through the real actor code (app.cluster.host.EngineHost, with an
engine-shaped fake) and reports the events a Ray farm reports. The real cluster is in test_cluster.py.

What is checked: the Settings choice switches the engine lane to the cluster and back; every waiting job
is handed to the farm at once; rows learn which node runs each job (and a retry); results land in the
media folder and apply through the local applier; a cancelled waiting job is cancelled; an unreachable
cluster fails the jobs with a clear message, asks, and on "yes" runs them on this machine (an export too:
the render lane follows the Settings to the cluster's export actors).
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from app.cluster.config import ClusterConfig, ClusterUnreachable
from app.cluster.farm import FarmEvent
from app.cluster.host import EngineHost, JobPayload
from app.cluster.qt import ClusterWorker
from app.cluster.travel import pack
from app.document import TimelineDocument
from app.jobs import EngineSettings, JobQueue, JobSpec, JobStatus
from app.jobs.apply import ApplyContext, apply_finished
from app.jobs.master import MASTER_SUFFIX
from engine.request import GenerationResult, PreviewFrame

ADDRESS = "10.1.2.3:6379"
LOCAL = EngineSettings(developer_tiny=True)
CLUSTER = LOCAL.with_changes(render_nodes=ADDRESS)


def spec(seed: int, name: str) -> JobSpec:
    return JobSpec(prompt=f"shot {name}", width=64, height=64, frames=9, steps=3, seed=seed, model="tiny",
                   name=name)  # fmt: skip


class FakeEngine:
    model_name = "fake LTX-2"
    identity = "fake-identity"
    quantization = "none"

    def __init__(self) -> None:
        self.threads: list[int] = []

    def generate(self, request, on_progress=None, on_preview=None, cancel=None):
        self.threads.append(threading.get_ident())
        for step in range(1, request.steps + 1):
            if on_progress:
                on_progress(step, request.steps)
            if step == 1 and on_preview:
                on_preview(PreviewFrame(step, request.steps, np.full((64, 64, 3), 200, np.uint8)))
        frames = np.random.default_rng(request.seed).random(
            (request.num_frames, request.height, request.width, 3)
        )
        audio = np.zeros((2, round(request.num_frames / request.fps * 24000)), np.float32)
        return GenerationResult(frames.astype(np.float32), audio, 24000, request.fps, {})


class StandInFarm:
    """Farm-shaped: each step starts the oldest waiting job on the next node, runs it through EngineHost
    and reports started / progress / finished (and, when asked, one node dying first)."""

    made: list[StandInFarm] = []

    def __init__(self, config, *, unreachable=False, die_once=False, hold=None) -> None:
        self.config = config
        self.unreachable = unreachable
        self.die_once = die_once
        self.hold = hold  # a threading.Event: steps wait for it (so a test can cancel a waiting job)
        self.host = EngineHost(engine_factory=lambda *_: FakeEngine())
        self.waiting: list[JobPayload] = []
        self.count = 0
        self.shut = False
        StandInFarm.made.append(self)

    def connect(self):
        if self.unreachable:
            raise ClusterUnreachable(f"the Ray cluster at {self.config.address} cannot be reached (refused)")
        return {"actors": [{"node": "render-a"}, {"node": "render-b"}]}

    def submit(self, job_id, kind, job_spec, settings, module=""):
        self.waiting.append(JobPayload(job_id, kind, pack(job_spec), settings, module=module))

    def cancel(self, job_id):
        for payload in self.waiting:
            if payload.job_id == job_id:
                self.waiting.remove(payload)
                return [FarmEvent("cancelled", job_id)]
        return []

    @property
    def busy(self):
        return bool(self.waiting)

    def step(self, timeout=0.2):
        if self.hold is not None and not self.hold.is_set():
            self.hold.wait(timeout)
            return []
        if not self.waiting:
            return []
        payload = self.waiting.pop(0)
        node = ("render-a", "render-b")[self.count % 2]
        self.count += 1
        events = [FarmEvent("started", payload.job_id, node, 1)]
        if self.die_once:
            self.die_once = False
            events.append(FarmEvent("retry", payload.job_id, node, f"{node} stopped while running it"))
            node = "render-b"
            events.append(FarmEvent("started", payload.job_id, node, 2))
        outcome = self.host.run(payload)
        snapshot = {"stage": "DENOISING", "step": 3, "steps": 3, "eta": 0.0, "step_label": "",
                    "preview": np.full((8, 8, 3), 120, np.uint8)}  # fmt: skip
        events.append(FarmEvent("progress", payload.job_id, node, snapshot))
        events.append(FarmEvent("finished", payload.job_id, node, outcome))
        return events

    def shutdown(self):
        self.shut = True


class LocalFactory:
    def __init__(self) -> None:
        self.engine = FakeEngine()

    def __call__(self, model, settings, quantization):
        return self.engine


@pytest.fixture()
def make_queue(tmp_path, qapp):
    queues: list[JobQueue] = []

    def make(**farm_options):
        queue = JobQueue(LOCAL, tmp_path / "media", engine_factory=LocalFactory())
        queue.cluster_worker_factory = lambda address: ClusterWorker(
            ClusterConfig(address, resources="cpu"),
            farm_factory=lambda config: StandInFarm(config, **farm_options),
        )
        queues.append(queue)
        return queue

    StandInFarm.made.clear()
    yield make
    for queue in queues:
        assert queue.shutdown(10_000)


def test_settings_choose_the_cluster_and_results_land_and_apply_as_local_ones(make_queue, qtbot, tmp_path):
    queue = make_queue()
    assert queue.backend == ""
    queue.set_settings(CLUSTER)
    assert queue.backend == ADDRESS
    done = []
    queue.job_finished.connect(lambda job_id, item: done.append(job_id))
    ids = [queue.submit(spec(i, f"sh{i}")) for i in range(3)]
    assert all(queue.job(i).message == "waiting for a render node" for i in ids)  # all sent at once
    qtbot.waitUntil(lambda: len(done) == 3, timeout=20_000)
    jobs = [queue.job(i) for i in ids]
    assert [job.node for job in jobs] == ["render-a", "render-b", "render-a"]
    assert all(job.status is JobStatus.DONE and job.preview is not None for job in jobs)
    media = (tmp_path / "media").resolve()
    assert sorted(p.name for p in media.glob(f"*{MASTER_SUFFIX}")) == ["sh0.mkv", "sh1.mkv", "sh2.mkv"]
    from PySide6.QtGui import QUndoStack

    doc, stack = TimelineDocument(name="F"), QUndoStack()
    for job in jobs:
        assert job.item.path.startswith(str(media))
        apply_finished(job, ApplyContext(doc, stack))
    assert sorted(item.name for item in doc.bin_items()) == ["sh0", "sh1", "sh2"]
    assert stack.count() == 3  # one undo step each, as a local result
    assert not queue.busy

    queue.set_settings(LOCAL)  # back to this machine: the farm's actors are stopped
    assert queue.backend == ""
    assert StandInFarm.made[0].shut
    with qtbot.waitSignal(queue.job_finished, timeout=20_000):
        local = queue.submit(spec(9, "here"))
    assert queue.job(local).node == ""


def test_a_retry_shows_on_the_row_and_the_job_lands_once(make_queue, qtbot, tmp_path):
    queue = make_queue(die_once=True)
    queue.set_settings(CLUSTER)
    nodes: list[str] = []
    finished = []
    queue.job_changed.connect(lambda job_id: nodes.append(queue.job(job_id).node))
    queue.job_finished.connect(lambda job_id, item: finished.append(job_id))
    job_id = queue.submit(spec(1, "again"))
    qtbot.waitUntil(lambda: finished == [job_id], timeout=20_000)
    assert "retrying: render-a stopped while running it" in nodes
    assert queue.job(job_id).node == "render-b"
    assert len(list((tmp_path / "media").glob(f"*{MASTER_SUFFIX}"))) == 1


def test_a_waiting_job_on_the_cluster_cancels(make_queue, qtbot):
    hold = threading.Event()
    queue = make_queue(hold=hold)
    queue.set_settings(CLUSTER)
    first, second = queue.submit(spec(1, "a")), queue.submit(spec(2, "b"))
    qtbot.waitUntil(lambda: StandInFarm.made and len(StandInFarm.made[0].waiting) == 2, timeout=10_000)
    with qtbot.waitSignal(queue.job_cancelled, timeout=10_000):
        queue.cancel(second)
    hold.set()
    with qtbot.waitSignal(queue.job_finished, timeout=20_000):
        pass
    assert queue.job(first).status is JobStatus.DONE
    assert queue.job(second).status is JobStatus.CANCELLED


def test_an_unreachable_cluster_fails_clearly_then_runs_here_if_the_user_agrees(make_queue, qtbot):
    queue = make_queue(unreachable=True)
    queue.set_settings(CLUSTER)
    asked = []
    queue.cluster_unreachable.connect(asked.append)
    with qtbot.waitSignal(queue.job_failed, timeout=10_000) as failed:
        job_id = queue.submit(spec(1, "here"))
    assert f"the Ray cluster at {ADDRESS} cannot be reached" in failed.args[1]
    qtbot.waitUntil(lambda: bool(asked), timeout=5_000)
    with qtbot.waitSignal(queue.job_finished, timeout=20_000) as finished:
        again = queue.fall_back_to_local()
    assert len(again) == 1 and finished.args[0] == again[0]
    assert queue.job(again[0]).spec == queue.job(job_id).spec
    assert queue.backend == ""  # until the render nodes in Settings change
    queue.set_settings(CLUSTER)
    assert queue.backend == ""
    queue.set_settings(CLUSTER.with_changes(render_nodes="10.9.9.9:6379"))
    assert queue.backend == "10.9.9.9:6379"


def test_an_export_goes_to_the_clusters_render_lane_and_falls_back_here_when_it_cannot_be_reached(
    make_queue, qtbot, tmp_path
):
    """The render lane follows the Settings too (its own farm of CPU export actors, the real one here); a
    cluster that cannot be reached fails the export clearly, and "yes" renders it here, at its destination."""
    from app.export.runner import ExportRequest
    from tests.app.test_cluster_units import graded_timeline

    address = "127.0.0.1:1"  # nothing listens there: refused at once
    queue = make_queue()
    queue.set_settings(LOCAL.with_changes(render_nodes=address))
    render = queue._lanes["render"].worker
    assert isinstance(render, ClusterWorker) and render.config.resources == "cpu"
    asked = []
    queue.cluster_unreachable.connect(asked.append)
    doc = graded_timeline(tmp_path / "project", frames=3)
    (tmp_path / "out").mkdir()
    with qtbot.waitSignal(queue.job_failed, timeout=20_000) as failed:
        job_id = queue.submit(ExportRequest.of(doc, "prores_422_proxy", tmp_path / "out" / "film.mov"))
    assert f"the Ray cluster at {address} cannot be reached" in failed.args[1]
    assert not list((tmp_path / "out").iterdir())
    qtbot.waitUntil(lambda: bool(asked), timeout=5_000)
    with qtbot.waitSignal(queue.job_finished, timeout=30_000) as finished:
        again = queue.fall_back_to_local()
    assert again == [finished.args[0]] and queue.job(job_id).status is JobStatus.FAILED
    assert queue.job(again[0]).node == "" and queue._lanes["render"].worker is not render
    report = finished.args[1]
    assert report.path == (tmp_path / "out" / "film.mov").absolute() and report.frames == 6
