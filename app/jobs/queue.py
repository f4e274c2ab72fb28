"""The job queue: many jobs can wait, one runs on the engine worker's thread, the UI thread only books.

The queue owns the worker's QThread for the app's lifetime (the model stays loaded). Every worker signal
arrives here through a queued connection, on the thread that owns the queue (the UI thread), so views
only ever read `Job` objects from their own thread.
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
from app.jobs.extend import ExtendSpec
from app.jobs.inpaint import InpaintSpec
from app.jobs.settings import EngineSettings, model_spec_for
from app.jobs.spec import MODEL_TINY, JobSpec
from app.jobs.worker import EngineFactory, EngineWorker, WorkItem
from engine.errors import EngineError


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
    spec: JobSpec | InpaintSpec | ExtendSpec
    status: JobStatus = JobStatus.QUEUED
    step: int = 0
    steps: int = 0
    eta_seconds: float | None = None
    step_label: str = ""  # "stage 1/2, step 5/8" while a recipe with stages runs
    message: str = "waiting"
    error: str = ""
    preview: QImage | None = None
    item: Any = None  # the MediaItem once done
    cancel: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def fraction(self) -> float:
        return self.step / self.steps if self.steps else 0.0


MediaDir = Path | str | Callable[[], Path | str]


class JobQueue(QObject):
    job_added = Signal(str)
    job_changed = Signal(str)  # progress, ETA, preview, status text
    job_finished = Signal(str, object)  # job id, MediaItem (apply_result, or apply_inpaint_result for a take)
    job_failed = Signal(str, str)  # job id, message a user can act on
    job_cancelled = Signal(str)
    job_removed = Signal(str)
    _dispatch = Signal(object)  # WorkItem -> worker thread

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
        self._waiting: list[str] = []
        self._running: str | None = None
        self._ids = itertools.count(1)
        self._thread = QThread()
        self._thread.setObjectName("aiprod-engine")
        self._worker = EngineWorker(engine_factory)
        self._worker.moveToThread(self._thread)
        self._dispatch.connect(self._worker.run)
        self._worker.started.connect(self._on_started)
        self._worker.stage.connect(self._on_stage)
        self._worker.progress.connect(self._on_progress)
        self._worker.step_label.connect(self._on_step_label)
        self._worker.preview.connect(self._on_preview)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        self._worker.cancelled.connect(self._on_cancelled)
        self._shut_down = False
        self._thread.start()

    # --- public ---------------------------------------------------------------------------------------------

    @property
    def settings(self) -> EngineSettings:
        return self._settings

    def set_settings(self, settings: EngineSettings) -> None:
        """New settings apply to jobs submitted from now on; the worker reloads the model when it needs to."""
        self._settings = settings

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

    def submit(self, spec: JobSpec | InpaintSpec | ExtendSpec) -> str:
        """Queue a generation or an inpaint (same worker, same signals); raises JobError (nothing queued)
        when it cannot run as asked. A finished inpaint's item goes through `apply_inpaint_result`."""
        if self._shut_down:
            raise JobError("the studio is shutting down; no new generations can start")
        spec.validate()
        problems = self.problems(spec.model)
        if problems:
            raise JobError(" ".join(problems))
        model_spec = self.model_spec(spec.model)
        if isinstance(spec, JobSpec):
            try:
                model_spec.check_length(int(spec.frames), float(spec.fps))
            except EngineError as exc:
                raise JobError(f"cannot generate: {exc}") from exc
        job_id = f"job{next(self._ids)}"
        steps = spec.steps if spec.steps is not None else model_spec.steps
        self._jobs[job_id] = Job(id=job_id, spec=spec, steps=steps)
        self._waiting.append(job_id)
        self.job_added.emit(job_id)
        self._next()
        return job_id

    def cancel(self, job_id: str) -> None:
        """Cancel a waiting job at once, or the running one at its next denoising step."""
        job = self._jobs.get(job_id)
        if job is None or job.status.finished:
            return
        job.cancel.set()
        if job_id in self._waiting:
            self._waiting.remove(job_id)
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
        return self._running is not None or bool(self._waiting)

    def shutdown(self, timeout_ms: int | None = None) -> bool:
        """Cancel everything, stop the worker thread and wait for it. True if it stopped."""
        if self._shut_down:
            return not self._thread.isRunning()
        self._shut_down = True
        for job_id in list(self._waiting):
            self.cancel(job_id)
        if self._running is not None:
            self._jobs[self._running].cancel.set()
        # quit() takes effect once the current job returns (at its next step, since it is cancelled).
        self._thread.quit()
        stopped = self._thread.wait() if timeout_ms is None else self._thread.wait(timeout_ms)
        if stopped:
            self._worker.release()
        return stopped

    # --- worker signals (queued onto this object's thread) -------------------------------------------------

    def _next(self) -> None:
        if self._running is not None or not self._waiting or self._shut_down:
            return
        job_id = self._waiting.pop(0)
        job = self._jobs[job_id]
        job.status, job.message = JobStatus.LOADING, "starting"
        self._running = job_id
        folder = self._media_dir() if callable(self._media_dir) else self._media_dir
        self.job_changed.emit(job_id)
        self._dispatch.emit(WorkItem(job_id, job.spec, self._settings, Path(folder), job.cancel))

    @Slot(str)
    def _on_started(self, job_id: str) -> None:
        self._update(job_id, message="starting")

    @Slot(str, str)
    def _on_stage(self, job_id: str, stage: str) -> None:
        status = {
            "loading the model": JobStatus.LOADING,
            "reloading the model": JobStatus.LOADING,
            "saving the clip": JobStatus.SAVING,
        }.get(stage, JobStatus.RUNNING)
        self._update(job_id, status=status, message=stage)

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
        if self._running == job_id:
            self._running = None
        self._next()
