"""The job workers: QObjects on long-lived QThreads. The engine worker keeps the model loaded between jobs;
the render worker (a plain JobWorker) runs exports beside it.

Everything slow happens here, never on the UI thread: loading (or reloading, when settings change) the
model, denoising, decoding, building preview QImages, writing the lossless master, rendering an export.
What runs is the job kind's runner (app.jobs.kinds), looked up by the job's kind name, never by a type
test here. The engine gets plain callables and a threading.Event; they turn into queued signals that the
JobQueue receives on the UI thread.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QImage

from app.errors import AppError, ExportCancelled, JobError
from app.jobs.kinds import JobStage, RunContext, kind_for, kind_named
from app.jobs.settings import EngineSettings
from app.jobs.spec import MODEL_TINY, load_engine

log = logging.getLogger(__name__)

# (model, settings, quantization) -> a loaded engine.Engine. Injected in tests to fake failures.
EngineFactory = Callable[[str, EngineSettings, str], Any]


default_engine_factory: EngineFactory = load_engine


@dataclass
class WorkItem:
    """One job handed to a worker: its kind (app.jobs.kinds), what to make, with which settings, where."""

    job_id: str
    spec: Any
    settings: EngineSettings
    media_dir: Path
    cancel: threading.Event = field(default_factory=threading.Event)
    kind: str = ""  # a registered kind's name; empty: the kind registered for the spec's type


class StepClock:
    """ETA from measured step times: the mean step so far times the steps left."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.first: float | None = None
        self.first_fraction: float | None = None
        self.fraction: float | None = None  # set by the engine's stage reports, when it sends them

    def eta_from_fraction(self, fraction: float, now: float | None = None) -> float:
        """ETA from the share of the work done (a recipe with stages of different sizes reports it): the
        time per share since the first report times the share left."""
        now = time.perf_counter() if now is None else now
        if fraction <= 0:
            return -1.0
        if self.first_fraction is None:
            self.first_fraction, self.first = fraction, now
            return max(0.0, (now - self.start) / fraction * (1 - fraction))  # includes text encoding
        if fraction <= self.first_fraction:
            return -1.0
        rate = (now - self.first) / (fraction - self.first_fraction)
        return max(0.0, rate * (1 - fraction))

    def eta(self, step: int, steps: int, now: float | None = None) -> float:
        now = time.perf_counter() if now is None else now
        if step <= 0:
            return -1.0
        if self.first is None or step == 1:
            self.first = now
            per_step = now - self.start  # includes text encoding: an upper bound until step 2
        else:
            per_step = (now - self.first) / (step - 1)
        return max(0.0, per_step * (steps - step))


def preview_image(array: np.ndarray) -> QImage:
    """An RGB888 QImage owning its own copy of the pixels (the numpy buffer may be freed right after)."""
    rgb = np.ascontiguousarray(array[..., :3], dtype=np.uint8)
    height, width = rgb.shape[:2]
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


class JobWorker(QObject):
    """Runs one job at a time: the kind's runner (app.jobs.kinds) with a RunContext whose callables emit
    these signals. Move it to a QThread; call `run` through a queued signal. This base runs kinds that need
    no model (exports, on the render lane); EngineWorker adds the loaded model."""

    started = Signal(str)  # job id
    stage = Signal(str, object)  # job id, JobStage: what is happening (loading the model, denoising, ...)
    progress = Signal(str, int, int, float)  # job id, step, steps, ETA in seconds (-1: unknown yet)
    step_label = Signal(str, str)  # job id, "stage 1/2, step 5/8" (a recipe with stages) or "step 5/8"
    preview = Signal(str, QImage)  # built on this thread
    finished = Signal(str, object)  # job id, the kind's result (a MediaItem, a RenderReport, ...)
    failed = Signal(str, str)  # job id, message a user can act on
    cancelled = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self._clocks: dict[str, StepClock] = {}  # the running job's, shared by its progress and stage reports

    @Slot(object)
    def run(self, item: WorkItem) -> None:
        job_id = item.job_id
        if item.cancel.is_set():
            self.cancelled.emit(job_id)
            return
        self.started.emit(job_id)
        kind = None
        try:
            kind = kind_named(item.kind) if item.kind else kind_for(item.spec)
            result = kind.run(self._context(item))
        except BaseException as exc:  # noqa: B036 -- every failure must reach the UI, never kill the thread
            self._report(item, exc, kind.label if kind is not None else "The job")
            return
        self.finished.emit(job_id, result)

    # --- what a runner gets ---------------------------------------------------------------------------------

    def _context(self, item: WorkItem) -> RunContext:
        job_id = item.job_id
        return RunContext(
            job_id=job_id,
            spec=item.spec,
            settings=item.settings,
            media_dir=item.media_dir,
            cancel=item.cancel,
            stage=lambda stage: self.stage.emit(job_id, stage),
            engine=lambda: self._engine_for(item),
            progress=lambda step, steps, eta: self.progress.emit(job_id, int(step), int(steps), float(eta)),
            step_callbacks=lambda: self._callbacks(job_id),
            stage_reports=lambda: self._on_stage(job_id),
        )

    def _engine_for(self, item: WorkItem) -> Any:
        raise JobError("this job runs on the render worker, which has no model loaded")

    def _on_stage(self, job_id: str) -> Callable[[Any], None]:
        """The engine's per-step stage report (engine.runtime.StageProgress) as a queued signal; its work
        fraction feeds the ETA of the progress report that follows it."""

        def on_stage(progress: Any) -> None:
            clock = self._clocks.get(job_id)
            if clock is not None:
                clock.fraction = float(getattr(progress, "fraction", 0.0) or 0.0) or None
            self.step_label.emit(job_id, progress.label())

        return on_stage

    def _callbacks(self, job_id: str) -> tuple[Callable[[int, int], None], Callable[[Any], None]]:
        """Progress (with ETA) and preview callables for the engine; they only emit queued signals."""
        clock = StepClock()
        self._clocks = {job_id: clock}

        def on_progress(step: int, steps: int) -> None:
            eta = clock.eta_from_fraction(clock.fraction) if clock.fraction else clock.eta(step, steps)
            self.progress.emit(job_id, step, steps, eta)
            if step == steps:
                self.stage.emit(job_id, JobStage.DECODING)

        def on_preview(frame: Any) -> None:
            self.preview.emit(job_id, preview_image(frame.image))

        return on_progress, on_preview

    def _report(self, item: WorkItem, exc: BaseException, what: str) -> None:
        from engine.errors import GenerationCancelled

        if isinstance(exc, (GenerationCancelled, ExportCancelled)) or (
            item.cancel.is_set() and isinstance(exc, AppError)  # a failure caused by the cancel is a cancel
        ):
            self.cancelled.emit(item.job_id)
            return
        self.failed.emit(item.job_id, user_message(exc, what))

    def release(self) -> None:
        """Drop what the worker holds between jobs (nothing here; the engine worker's model)."""


class EngineWorker(JobWorker):
    """The engine lane's worker: keeps one model loaded between jobs (reloaded when a job needs another)."""

    def __init__(self, engine_factory: EngineFactory | None = None) -> None:
        super().__init__()
        self._factory = engine_factory or default_engine_factory
        self._engine: Any = None
        self._engine_key: tuple | None = None

    @property
    def engine_key(self) -> tuple | None:
        return self._engine_key

    def release(self) -> None:
        """Drop the loaded model (at shutdown, or before loading another).

        gc.collect() holds the GIL for hundreds of ms on a big heap (a UI stall), so it runs only when a
        model was really dropped: then the memory matters more than one stall at a reload.
        """
        if self._engine is None:
            return
        self._engine, self._engine_key = None, None
        gc.collect()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:  # pragma: no cover
            pass

    def _engine_for(self, item: WorkItem) -> Any:
        spec, settings = item.spec, item.settings
        if spec.model == MODEL_TINY:
            key: tuple = (MODEL_TINY, spec.quantization)
        else:
            key = (spec.model, settings.checkpoint, settings.gemma_root, spec.quantization)
        if self._engine is not None and key == self._engine_key:
            return self._engine
        self.stage.emit(item.job_id, JobStage.LOADING if self._engine is None else JobStage.RELOADING)
        self.release()  # free the old model before the new one needs the memory
        self._engine = self._factory(spec.model, settings, spec.quantization)
        self._engine_key = key
        return self._engine

    def _report(self, item: WorkItem, exc: BaseException, what: str) -> None:
        from engine.errors import CheckpointError, QuantizationError, TextEncoderError

        if isinstance(exc, (CheckpointError, TextEncoderError, QuantizationError)):
            self.release()  # a half-loaded model is no use to the next job
        super()._report(item, exc, what)


def user_message(exc: BaseException, what: str = "Generation") -> str:
    """Text a user can act on for any failure of a job (`what` names the kind in an unexpected one)."""
    from engine.errors import (
        CheckpointError,
        OutOfMemoryError,
        QuantizationError,
        RequestError,
        TextEncoderError,
    )

    if isinstance(exc, OutOfMemoryError):
        return f"Out of memory: {exc}."
    if isinstance(exc, CheckpointError):
        return f"The LTX-2 checkpoint cannot be used: {exc}. Choose another file in Settings."
    if isinstance(exc, TextEncoderError):
        return f"The Gemma text encoder cannot be used: {exc}. Choose the right folder in Settings."
    if isinstance(exc, QuantizationError):
        return f"{exc}. Choose bf16 (no quantization) in Settings, or install what the message names."
    if isinstance(exc, RequestError):
        return f"Bad generation settings: {exc}."
    if isinstance(exc, (JobError, AppError)):
        return str(exc)
    if type(exc).__name__ == "OutOfMemoryError" or isinstance(exc, MemoryError):  # torch's, while loading
        return (
            "Out of memory while loading or running the model. Choose fp8 or int4 quantization in Settings, "
            "or a smaller size / fewer frames."
        )
    log.error("%s failed", what, exc_info=exc)
    return f"{what} failed unexpectedly ({type(exc).__name__}: {exc}). Please report this with the log."
