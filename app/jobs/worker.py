"""The engine worker: one QObject on one long-lived QThread, so the model stays loaded between jobs.

Everything slow happens here, never on the UI thread: loading (or reloading, when settings change) the
model, denoising, decoding, building preview QImages and writing the lossless master. The engine gets plain
callables and a threading.Event; they turn into queued signals that the JobQueue receives on the UI thread.
"""

from __future__ import annotations

import gc
import inspect
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

from app.errors import AppError, JobError
from app.jobs.duration import DurationSpec, suggest
from app.jobs.extend import ExtendSpec
from app.jobs.inpaint import InpaintSpec, build_take, inpaint_record, read_source, run_inpaint
from app.jobs.result import build_media_item, generation_record
from app.jobs.settings import EngineSettings
from app.jobs.spec import MODEL_TINY, JobSpec

log = logging.getLogger(__name__)

# (model, settings, quantization) -> a loaded engine.Engine. Injected in tests to fake failures.
EngineFactory = Callable[[str, EngineSettings, str], Any]


def default_engine_factory(model: str, settings: EngineSettings, quantization: str) -> Any:
    from engine import Engine

    if model == MODEL_TINY:
        return Engine.tiny(device="cpu", quantization=quantization)
    return Engine.from_checkpoint(
        Path(settings.checkpoint).expanduser(),
        text_encoder=settings.text_encoder_path(),
        quantization=quantization,
    )


@dataclass
class WorkItem:
    """One job handed to the worker: what to make, with which settings, where to put it."""

    job_id: str
    spec: JobSpec | InpaintSpec | ExtendSpec
    settings: EngineSettings
    media_dir: Path
    cancel: threading.Event = field(default_factory=threading.Event)


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


class EngineWorker(QObject):
    """Runs one job at a time. Move it to a QThread; call `run` through a queued signal."""

    started = Signal(str)  # job id
    stage = Signal(str, str)  # job id, what is happening ("loading the model", "denoising", ...)
    progress = Signal(str, int, int, float)  # job id, step, steps, ETA in seconds (-1: unknown yet)
    step_label = Signal(str, str)  # job id, "stage 1/2, step 5/8" (a recipe with stages) or "step 5/8"
    preview = Signal(str, QImage)  # built on this thread
    finished = Signal(str, object)  # job id, MediaItem
    failed = Signal(str, str)  # job id, message a user can act on
    cancelled = Signal(str)

    def __init__(self, engine_factory: EngineFactory | None = None) -> None:
        super().__init__()
        self._factory = engine_factory or default_engine_factory
        self._engine: Any = None
        self._engine_key: tuple | None = None
        self._clocks: dict[str, StepClock] = {}  # the running job's, shared by its progress and stage reports

    @property
    def engine_key(self) -> tuple | None:
        return self._engine_key

    @Slot(object)
    def run(self, item: WorkItem) -> None:
        job_id = item.job_id
        if item.cancel.is_set():
            self.cancelled.emit(job_id)
            return
        self.started.emit(job_id)
        try:
            if isinstance(item.spec, InpaintSpec):
                media = self._inpaint(item)
            elif isinstance(item.spec, ExtendSpec):
                media = self._extend(item)
            elif isinstance(item.spec, DurationSpec):
                self.stage.emit(job_id, "asking the duration head")
                media = suggest(self._engine_for(item), item.spec)
            else:
                engine = self._engine_for(item)
                if item.cancel.is_set():
                    self.cancelled.emit(job_id)
                    return
                self.stage.emit(job_id, "denoising")
                result = self._generate(engine, item)
                self._record_step_times(item, engine, result)
                self.stage.emit(job_id, "saving the clip")
                media = build_media_item(
                    item.media_dir, item.spec, result, generation_record(item.spec, engine, result)
                )
        except BaseException as exc:  # noqa: B036 -- every failure must reach the UI, never kill the thread
            self._report(job_id, exc)
            return
        self.finished.emit(job_id, media)

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

    # --- internals ------------------------------------------------------------------------------------------

    def _engine_for(self, item: WorkItem) -> Any:
        spec, settings = item.spec, item.settings
        if spec.model == MODEL_TINY:
            key: tuple = (MODEL_TINY, spec.quantization)
        else:
            key = (spec.model, settings.checkpoint, settings.gemma_root, spec.quantization)
        if self._engine is not None and key == self._engine_key:
            return self._engine
        self.stage.emit(item.job_id, "loading the model" if self._engine is None else "reloading the model")
        self.release()  # free the old model before the new one needs the memory
        self._engine = self._factory(spec.model, settings, spec.quantization)
        self._engine_key = key
        return self._engine

    def _on_stage(self, job_id: str) -> Callable[[Any], None]:
        """The engine's per-step stage report (engine.runtime.StageProgress) as a queued signal; its work
        fraction feeds the ETA of the progress report that follows it."""
        clock = self._clocks.get(job_id)

        def on_stage(progress: Any) -> None:
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
                self.stage.emit(job_id, "decoding")

        def on_preview(frame: Any) -> None:
            self.preview.emit(job_id, preview_image(frame.image))

        return on_progress, on_preview

    def _generate(self, engine: Any, item: WorkItem) -> Any:
        on_progress, on_preview = self._callbacks(item.job_id)
        extra = {}
        if "on_stage" in inspect.signature(engine.generate).parameters:  # test doubles may lack it
            extra["on_stage"] = self._on_stage(item.job_id)
        return engine.generate(item.spec.to_request(), on_progress, on_preview, item.cancel, **extra)

    @staticmethod
    def _record_step_times(item: WorkItem, engine: Any, result: Any) -> None:
        """The per-machine step-time record behind the presets' estimated times (app.jobs.presets)."""
        from app.jobs.presets import model_key, record_generation

        device = getattr(getattr(engine, "device", None), "type", "cpu")
        try:
            key = model_key(item.spec.model, item.settings.checkpoint, item.spec.quantization, device)
            record_generation(key, result)
        except (KeyError, TypeError, ValueError) as exc:  # a foreign result shape never fails the job
            log.debug("step times not recorded: %s", exc)

    def _extend(self, item: WorkItem) -> Any:
        """Read the source first (a missing file fails before a model load), extend, write the new clip."""
        from app.jobs.extend import build_extension, extend_record, read_clip, run_extend
        from engine.errors import GenerationCancelled

        job_id, spec = item.job_id, item.spec
        self.stage.emit(job_id, "reading the clip")
        source = read_clip(spec.source_path, item.cancel)
        engine = self._engine_for(item)
        if item.cancel.is_set():
            raise GenerationCancelled(0)
        self.stage.emit(job_id, "denoising")
        on_progress, on_preview = self._callbacks(job_id)
        stages = self._on_stage(job_id)
        result = run_extend(engine, spec, source, on_progress, on_preview, item.cancel, stages)
        self.stage.emit(job_id, "saving the clip")
        record = extend_record(spec, engine, source, result)
        return build_extension(item.media_dir, spec, source, result, record)

    def _inpaint(self, item: WorkItem) -> Any:
        """Read and check the source first (a bad mask or a missing file fails before a slow model load),
        then inpaint and write the take as a new file beside the other clips."""
        from engine.errors import GenerationCancelled

        job_id, spec = item.job_id, item.spec
        self.stage.emit(job_id, "reading the clip")
        source = read_source(spec, item.cancel)
        engine = self._engine_for(item)
        if item.cancel.is_set():
            raise GenerationCancelled(0)
        if not hasattr(engine, "inpaint"):
            raise JobError("this engine cannot inpaint; update the studio")
        self.stage.emit(job_id, "denoising")
        on_progress, on_preview = self._callbacks(job_id)
        result = run_inpaint(engine, spec, source, on_progress, on_preview, item.cancel)
        self.stage.emit(job_id, "saving the clip")
        return build_take(item.media_dir, spec, source, result, inpaint_record(spec, engine, source, result))

    def _report(self, job_id: str, exc: BaseException) -> None:
        from engine.errors import CheckpointError, GenerationCancelled, QuantizationError, TextEncoderError

        if isinstance(exc, GenerationCancelled):
            self.cancelled.emit(job_id)
            return
        if isinstance(exc, (CheckpointError, TextEncoderError, QuantizationError)):
            self.release()  # a half-loaded model is no use to the next job
        self.failed.emit(job_id, user_message(exc))


def user_message(exc: BaseException) -> str:
    """Text a user can act on for any failure of a job."""
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
    log.error("generation failed", exc_info=exc)
    return f"Generation failed unexpectedly ({type(exc).__name__}: {exc}). Please report this with the log."
