"""The job queue: many jobs can wait; one per lane runs, each lane on its own worker thread; the UI
thread only books.

A job's kind (app.jobs.kinds) names its lane: "engine" (generations, inpaints, extends: the worker that
keeps the model loaded, for the app's lifetime) or "render" (exports, on a second thread started at the
first export). So an export runs beside a generation, and several exports wait in order behind each other.
With render nodes (app.cluster) both lanes run on a Ray cluster: generations on its engine actors, exports
on its CPU export actors.
Every worker signal arrives here through a queued connection, on the thread that owns the queue (the UI
thread), so views only ever read `Job` objects from their own thread.
"""

from __future__ import annotations

import enum
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot
from PySide6.QtGui import QImage

from app.errors import JobError
from app.jobs.kinds import ENGINE_LANE, RENDER_LANE, JobKind, JobStage, kind_for, kind_named
from app.jobs.settings import EngineSettings, model_spec_for
from app.jobs.spec import MODEL_TINY
from app.jobs.worker import EngineFactory, EngineWorker, JobWorker, WorkItem


class JobStatus(enum.Enum):
    QUEUED = "queued"
    LOADING = "loading the model"
    RUNNING = "running"
    SAVING = "saving"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass
class Job:
    """A job as the views show it. Mutated only by the JobQueue, on its thread."""

    id: str
    spec: Any  # the kind's spec: JobSpec, InpaintSpec, ExtendSpec, ExportRequest, ...
    kind: str = "generate"  # the registered kind's name (app.jobs.kinds)
    status: JobStatus = JobStatus.QUEUED
    stage: JobStage | None = None
    step: int = 0
    steps: int = 0
    eta_seconds: float | None = None
    step_label: str = ""  # "stage 1/2, step 5/8" while a recipe with stages runs
    message: str = "waiting"
    error: str = ""
    preview: QImage | None = None
    item: Any = None  # the kind's result once done: a MediaItem, an export's RenderReport, ...
    node: str = ""  # the render node running it (app.cluster); "" on this machine
    cancel: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def fraction(self) -> float:
        return self.step / self.steps if self.steps else 0.0

    @property
    def job_kind(self) -> JobKind:
        return kind_named(self.kind)


class _Lane(QObject):
    """One worker on one QThread, and the jobs waiting for it in order. Lives on the queue's thread;
    `send` reaches the worker's `run` through a queued connection."""

    send = Signal(object)  # WorkItem -> the worker's thread

    def __init__(self, name: str, worker: JobWorker, parent: QObject) -> None:
        super().__init__(parent)
        self.name = name
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName("aiprod-engine" if name == ENGINE_LANE else f"aiprod-{name}")
        worker.moveToThread(self.thread)
        self.send.connect(worker.run)
        self.waiting: list[str] = []
        self.running: str | None = None
        # a concurrent worker (the render-node farm, app.cluster.qt) takes every waiting job at once
        self.concurrent = bool(getattr(worker, "concurrent", False))
        self.sent: set[str] = set()

    @property
    def busy(self) -> bool:
        return self.running is not None or bool(self.waiting) or bool(self.sent)


MediaDir = Path | str | Callable[[], Path | str]


class JobQueue(QObject):
    job_added = Signal(str)
    job_changed = Signal(str)  # progress, ETA, preview, status text
    job_finished = Signal(str, object)  # job id, the kind's result (app.jobs.apply.apply_finished applies it)
    job_failed = Signal(str, str)  # job id, message a user can act on
    job_cancelled = Signal(str)
    job_removed = Signal(str)
    # the render cluster cannot be reached (message); the view asks whether to run here (fall_back_to_local)
    cluster_unreachable = Signal(str)

    def __init__(
        self,
        settings: EngineSettings,
        media_dir: MediaDir,
        engine_factory: EngineFactory | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        self._media_dir = media_dir
        self._jobs: dict[str, Job] = {}
        self._ids = itertools.count(1)
        self._shut_down = False
        self._lanes: dict[str, _Lane] = {}
        self._worker = EngineWorker(engine_factory)
        self._add_lane(ENGINE_LANE, self._worker).thread.start()
        self._add_lane(RENDER_LANE, JobWorker())  # started at its first job
        # render nodes (app.cluster): the engine and render lanes run on this machine or on a Ray cluster
        self._local_lane = self._lanes[ENGINE_LANE]
        self._local_render = self._lanes[RENDER_LANE]
        self._cluster_lanes: dict[str, _Lane] = {}
        self._cluster_render_lanes: dict[str, _Lane] = {}  # exports on the cluster's CPU actors
        self._backend = ""  # the cluster's address; "" this machine
        self._wanted_backend: str | None = None  # a change waiting for the engine lane to be idle
        self._declined = ""  # a cluster the user chose not to wait for (fall_back_to_local)
        self._unreachable_jobs: list[str] = []
        self.cluster_worker_factory: Callable[[str], JobWorker] | None = None  # tests inject one
        self.cluster_export_factory: Callable[[str], JobWorker] | None = None  # the render lane's (tests)
        self._use_backend(settings)

    def _add_lane(self, name: str, worker: JobWorker) -> _Lane:
        lane = _Lane(name, worker, self)
        worker.started.connect(self._on_started)
        worker.stage.connect(self._on_stage)
        worker.progress.connect(self._on_progress)
        worker.step_label.connect(self._on_step_label)
        worker.preview.connect(self._on_preview)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        if hasattr(worker, "node_changed"):  # the render-node farm (app.cluster.qt)
            worker.node_changed.connect(self._on_node)
            worker.unreachable.connect(self._on_unreachable)
        self._lanes[name] = lane
        return lane

    # --- public ---------------------------------------------------------------------------------------------

    @property
    def settings(self) -> EngineSettings:
        return self._settings

    def set_settings(self, settings: EngineSettings) -> None:
        """New settings apply to jobs submitted from now on; the worker reloads the model when it needs to.
        A change of render nodes applies once the engine and render lanes are idle."""
        self._settings = settings
        self._use_backend(settings)

    def set_media_dir(self, media_dir: MediaDir) -> None:
        self._media_dir = media_dir

    def model_spec(self, model: str):
        """The engine.models.ModelSpec a job for `model` runs with: the length limit and every default the
        job leaves to the model (the tiny test model is built as LTX-2.0)."""
        return model_spec_for(model, self._settings)

    def problems(self, model: str) -> list[str]:
        """Why a job for `model` cannot start now (empty: it can)."""
        if model == MODEL_TINY:
            if not self._settings.developer_tiny:
                return ["The test model is only available in developer mode (Settings); it generates noise."]
            return []
        return self._settings.detect()

    def submit(self, spec: Any, kind: str | None = None) -> str:
        """Queue a job of the kind registered for the spec's type (or the kind named; app.jobs.kinds) on its
        kind's lane; raises JobError (nothing queued) when it cannot run as asked. `job_finished` carries
        the result, which app.jobs.apply.apply_finished applies with the kind's applier."""
        if self._shut_down:
            raise JobError("the studio is shutting down; no new jobs can start")
        job_kind = kind_named(kind) if kind is not None else kind_for(spec)
        spec.validate()
        steps = getattr(spec, "steps", None)
        if job_kind.needs_model:
            problems = self.problems(spec.model)
            if problems:
                raise JobError(" ".join(problems))
            model_spec = self.model_spec(spec.model)
            if job_kind.check is not None:
                job_kind.check(spec, model_spec)
            steps = steps if steps is not None else model_spec.steps
        elif job_kind.check is not None:
            job_kind.check(spec, None)
        job_id = f"job{next(self._ids)}"
        self._jobs[job_id] = Job(id=job_id, spec=spec, kind=job_kind.name, steps=int(steps or 0))
        self._lanes[job_kind.lane].waiting.append(job_id)
        self.job_added.emit(job_id)
        self._next(job_kind.lane)
        return job_id

    def cancel(self, job_id: str) -> None:
        """Cancel a waiting job at once, or the running one at its next step (or frame)."""
        job = self._jobs.get(job_id)
        if job is None or job.status.finished:
            return
        job.cancel.set()
        lane = self._lane_of(job)
        if job_id in lane.waiting:
            lane.waiting.remove(job_id)
            self._on_cancelled(job_id)
        else:
            job.message = "cancelling..."
            self.job_changed.emit(job_id)

    def job(self, job_id: str) -> Job:
        return self._jobs[job_id]

    def jobs(self) -> list[Job]:
        return list(self._jobs.values())

    def clear_finished(self) -> list[str]:
        """Forget done, failed and cancelled jobs (their clips stay in the bin)."""
        gone = [job_id for job_id, job in self._jobs.items() if job.status.finished]
        for job_id in gone:
            del self._jobs[job_id]
            self.job_removed.emit(job_id)
        return gone

    @property
    def busy(self) -> bool:
        return any(lane.busy for lane in self._lanes.values())

    def lane_busy(self, lane: str) -> bool:
        """True while a job of that lane ("engine", "render") runs or waits."""
        return self._lanes[lane].busy

    # --- render nodes (app.cluster) --------------------------------------------------------------------

    @property
    def backend(self) -> str:
        """The Ray cluster's address the engine and render lanes run on; "" for this machine."""
        return self._backend

    def _use_backend(self, settings: EngineSettings) -> None:
        from app.cluster.config import cluster_address

        address = cluster_address(settings.render_nodes)
        if address and address == self._declined:
            address = ""  # the user chose this machine when that cluster could not be reached
        if address == self._backend:
            self._wanted_backend = None
            return
        if self._lanes[ENGINE_LANE].busy or self._lanes[RENDER_LANE].busy:
            self._wanted_backend = address  # applied when the lanes' jobs are done (_done)
            return
        self._switch_backend(address)

    def _switch_backend(self, address: str) -> None:
        self._wanted_backend = None
        old = self._lanes[ENGINE_LANE]
        if address:
            lane = self._cluster_lanes.get(address)
            if lane is None:
                lane = self._add_lane(ENGINE_LANE, self._make_cluster_worker(address))
                self._cluster_lanes[address] = lane
        else:
            lane = self._local_lane
        self._lanes[ENGINE_LANE] = lane
        self._backend = address
        if old is not lane and old is not self._local_lane:  # a cluster left: its actors stop
            old.worker.release()
        if not lane.thread.isRunning():
            lane.thread.start()
        # exports go to the same cluster's export actors (CPU only; started at the first export)
        old_render = self._lanes[RENDER_LANE]
        render = self._local_render
        if address:
            render = self._cluster_render_lanes.get(address) or self._add_lane(
                RENDER_LANE, self._make_cluster_worker(address, RENDER_LANE)
            )
            self._cluster_render_lanes[address] = render
        self._lanes[RENDER_LANE] = render
        if old_render is not render and old_render is not self._local_render:
            old_render.worker.release()

    def _make_cluster_worker(self, address: str, lane: str = ENGINE_LANE) -> JobWorker:
        factory = self.cluster_worker_factory if lane == ENGINE_LANE else self.cluster_export_factory
        if factory is not None:
            return factory(address)
        from app.cluster.config import ClusterConfig
        from app.cluster.qt import ClusterWorker

        config = ClusterConfig.from_env(address)
        return ClusterWorker(config if lane == ENGINE_LANE else config.for_exports())

    def fall_back_to_local(self) -> list[str]:
        """Run on this machine after all (the cluster could not be reached): the engine lane goes local
        until the render nodes in Settings change, and the jobs that could not be sent are submitted again
        here. Returns the new jobs' ids."""
        self._declined = self._backend
        if self._backend:
            self._switch_backend("")
        again = []
        for job_id in self._unreachable_jobs:
            job = self._jobs.get(job_id)
            if job is not None and job.status is JobStatus.FAILED:
                again.append(self.submit(job.spec, kind=job.kind))
        self._unreachable_jobs = []
        return again

    def shutdown(self, timeout_ms: int | None = None) -> bool:
        """Cancel everything, stop the worker threads and wait for them. True if they stopped."""
        if self._shut_down:
            return not any(lane.thread.isRunning() for lane in self._every_lane())
        self._shut_down = True
        for lane in self._every_lane():
            for job_id in list(lane.waiting):
                self.cancel(job_id)
            for job_id in [lane.running, *lane.sent]:
                if job_id is not None:
                    self._jobs[job_id].cancel.set()
            # quit() takes effect once the current job returns (at its next step, since it is cancelled).
            lane.thread.quit()
        stopped = True
        for lane in self._every_lane():
            done = lane.thread.wait() if timeout_ms is None else lane.thread.wait(timeout_ms)
            if done:
                lane.worker.release()
            stopped = stopped and done
        return stopped

    # --- worker signals (queued onto this object's thread) -------------------------------------------------

    def _every_lane(self) -> list[_Lane]:
        spare = [self._local_lane, self._local_render, *self._cluster_lanes.values(),
                 *self._cluster_render_lanes.values()]  # fmt: skip
        return list(self._lanes.values()) + [lane for lane in spare if lane not in self._lanes.values()]

    def _lane_of(self, job: Job) -> _Lane:
        name = kind_named(job.kind).lane
        for lane in self._every_lane():  # after a change of render nodes, a job may belong to another lane
            if job.id in lane.sent or job.id in lane.waiting or lane.running == job.id:
                return lane
        return self._lanes[name]

    def _next(self, lane_name: str) -> None:
        lane = self._lanes[lane_name]
        if lane.concurrent:
            self._send_all(lane)
            return
        if lane.running is not None or not lane.waiting or self._shut_down:
            return
        job_id = lane.waiting.pop(0)
        job = self._jobs[job_id]
        loading = job.job_kind.needs_model
        job.status, job.message = (JobStatus.LOADING if loading else JobStatus.RUNNING), "starting"
        lane.running = job_id
        folder = self._media_dir() if callable(self._media_dir) else self._media_dir
        self.job_changed.emit(job_id)
        if not lane.thread.isRunning():
            lane.thread.start()
        lane.send.emit(WorkItem(job_id, job.spec, self._settings, Path(folder), job.cancel, job.kind))

    def _send_all(self, lane: _Lane) -> None:
        """A concurrent lane (the render-node farm) gets every waiting job now; it runs as many at once as
        the cluster has actors. They show as waiting for a node until one starts them."""
        folder = self._media_dir() if callable(self._media_dir) else self._media_dir
        while lane.waiting and not self._shut_down:
            job_id = lane.waiting.pop(0)
            job = self._jobs[job_id]
            job.message = "waiting for a render node"
            lane.sent.add(job_id)
            self.job_changed.emit(job_id)
            if not lane.thread.isRunning():
                lane.thread.start()
            lane.send.emit(WorkItem(job_id, job.spec, self._settings, Path(folder), job.cancel, job.kind))

    @Slot(str, str)
    def _on_node(self, job_id: str, node: str) -> None:
        job = self._jobs.get(job_id)
        if job is None or job.status.finished:
            return
        loading = JobStatus.LOADING if job.job_kind.needs_model else JobStatus.RUNNING
        status = loading if job.status is JobStatus.QUEUED else job.status
        message = "starting" if job.status is JobStatus.QUEUED else job.message
        self._update(job_id, node=node, status=status, message=message)

    @Slot(str, list)
    def _on_unreachable(self, message: str, job_ids: list) -> None:
        self._unreachable_jobs += [job_id for job_id in job_ids if job_id not in self._unreachable_jobs]
        self.cluster_unreachable.emit(message)

    @Slot(str)
    def _on_started(self, job_id: str) -> None:
        self._update(job_id, message="starting")

    @Slot(str, object)
    def _on_stage(self, job_id: str, stage: JobStage) -> None:
        if stage.loading:
            status = JobStatus.LOADING
        else:
            status = JobStatus.SAVING if stage.saving else JobStatus.RUNNING
        self._update(job_id, status=status, stage=stage, message=stage.label)

    @Slot(str, int, int, float)
    def _on_progress(self, job_id: str, step: int, steps: int, eta: float) -> None:
        self._update(
            job_id, status=JobStatus.RUNNING, step=step, steps=steps, eta_seconds=eta if eta >= 0 else None
        )

    @Slot(str, str)
    def _on_step_label(self, job_id: str, label: str) -> None:
        self._update(job_id, step_label=label)

    @Slot(str, QImage)
    def _on_preview(self, job_id: str, image: QImage) -> None:
        self._update(job_id, preview=image)

    @Slot(str, object)
    def _on_finished(self, job_id: str, item: Any) -> None:
        self._update(
            job_id,
            status=JobStatus.DONE,
            message="done",
            item=item,
            eta_seconds=0.0,
            step=self._jobs[job_id].steps,
        )
        self._done(job_id)
        self.job_finished.emit(job_id, item)

    @Slot(str, str)
    def _on_failed(self, job_id: str, message: str) -> None:
        self._update(job_id, status=JobStatus.FAILED, message="failed", error=message, eta_seconds=None)
        self._done(job_id)
        self.job_failed.emit(job_id, message)

    @Slot(str)
    def _on_cancelled(self, job_id: str) -> None:
        self._update(job_id, status=JobStatus.CANCELLED, message="cancelled", eta_seconds=None)
        self._done(job_id)
        self.job_cancelled.emit(job_id)

    def _update(self, job_id: str, **changes: Any) -> None:
        job = self._jobs.get(job_id)
        if job is None:
            return
        if job.status.finished and "status" not in changes:
            return  # a late preview after a cancel changes nothing
        for name, value in changes.items():
            setattr(job, name, value)
        self.job_changed.emit(job_id)

    def _done(self, job_id: str) -> None:
        job = self._jobs.get(job_id)
        if job is None:
            return
        lane = self._lane_of(job)
        if lane.running == job_id:
            lane.running = None
        lane.sent.discard(job_id)
        idle = not self._lanes[ENGINE_LANE].busy and not self._lanes[RENDER_LANE].busy
        if self._wanted_backend is not None and idle:
            self._switch_backend(self._wanted_backend)
        self._next(lane.name)
