"""The actor on a render node: one per GPU, long-lived, keeping an engine loaded between jobs.

:class:`EngineHost` is plain Python (Ray turns it into an actor in :mod:`app.cluster.farm`), so it is also
usable and testable without a cluster. It runs the job kind's own runner (app.jobs.kinds) with a
:class:`~app.jobs.kinds.RunContext` whose media folder is a scratch folder on the node; the files the
runner wrote come back as bytes in a :class:`RemoteOutcome`, and the scratch folder is removed. Nothing is
ever written into the project from a node, so a node that dies mid-job leaves no partial file there.

Progress, stage, the latest preview and the cancel flag live in a :class:`JobTrack` per job; the app's
worker thread polls them (``poll``) while ``run`` works: the actor is threaded (max_concurrency > 1).
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.cluster.travel import Packed, restore_paths, unpack

PREVIEW_MAX_SIDE = 160  # previews travel small: the queue's thumbnail is 96 x 54


@dataclass
class JobPayload:
    """One job sent to a node: its kind's name, its packed spec, the engine settings."""

    job_id: str
    kind: str
    packed: Packed
    settings: Any  # app.jobs.settings.EngineSettings
    attempt: int = 1
    module: str = ""  # the module that registers the kind (imported on the node first: a plug-in kind)


@dataclass
class RemoteOutcome:
    """What a node sends back: "done" (with the kind's result and the files it wrote, name -> bytes),
    "failed" (a message and, when it pickles, the exception) or "cancelled"."""

    job_id: str
    status: str
    node: str = ""
    result: Any = None
    files: dict[str, bytes] = field(default_factory=dict)
    message: str = ""
    error: BaseException | None = None
    seconds: float = 0.0


@dataclass
class JobTrack:
    """A running job's reports, written by the runner's callbacks and read by `poll`."""

    cancel: threading.Event = field(default_factory=threading.Event)
    stage: str = ""
    step: int = 0
    steps: int = 0
    eta: float = -1.0
    step_label: str = ""
    preview: np.ndarray | None = None
    started: float = field(default_factory=time.perf_counter)
    first_step: float | None = None

    def snapshot(self) -> dict[str, Any]:
        preview, self.preview = self.preview, None
        return {
            "stage": self.stage,
            "step": self.step,
            "steps": self.steps,
            "eta": self.eta,
            "step_label": self.step_label,
            "preview": preview,
        }


def node_label() -> str:
    """How the queue names this node: its host name and, on Ray, the first characters of its node id
    (several nodes may share a host, as in a local test cluster)."""
    host = socket.gethostname()
    try:
        import ray

        if ray.is_initialized():
            return f"{host}/{ray.get_runtime_context().get_node_id()[:6]}"
    except Exception:  # noqa: BLE001 -- a label never fails a job
        pass
    return host


def small_preview(image: Any) -> np.ndarray:
    """An RGB uint8 preview no larger than PREVIEW_MAX_SIDE (nearest-neighbour: cheap, for a thumbnail)."""
    array = np.asarray(image)[..., :3]
    height, width = array.shape[:2]
    step = max(1, int(np.ceil(max(height, width) / PREVIEW_MAX_SIDE)))
    return np.ascontiguousarray(array[::step, ::step], dtype=np.uint8)


def load_engine(model: str, settings: Any, quantization: str) -> Any:
    """The engine the local worker would load (app.jobs.spec.load_engine), on this node."""
    from app.jobs import spec

    return spec.load_engine(model, settings, quantization)


def engine_key(spec: Any, settings: Any) -> tuple:
    """What a loaded engine is kept for (the local worker's key): model, checkpoint, text encoder, weights'
    quantization. Recipes and LoRAs are per request, applied on the loaded model."""
    from app.jobs.spec import MODEL_TINY

    if not hasattr(spec, "model"):  # an export: no engine, any export actor will do
        return ("export",)
    if spec.model == MODEL_TINY:
        return (MODEL_TINY, spec.quantization)
    return (spec.model, settings.checkpoint, settings.gemma_root, spec.quantization)


class EngineHost:
    """Runs jobs on one node with one engine kept loaded. Methods are called by the farm through Ray."""

    def __init__(self, engine_factory: Any = None) -> None:
        self._factory = engine_factory or load_engine
        self._engine: Any = None
        self._key: tuple | None = None
        self._tracks: dict[str, JobTrack] = {}
        self._lock = threading.Lock()

    # --- asked by the farm ------------------------------------------------------------------------------

    def identity(self) -> dict[str, Any]:
        return {"node": node_label(), "pid": os.getpid(), "host": socket.gethostname()}

    def loaded(self) -> tuple | None:
        return self._key

    def poll(self, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            track = self._tracks.get(job_id)
            return None if track is None else track.snapshot()

    def cancel(self, job_id: str) -> bool:
        with self._lock:
            track = self._tracks.get(job_id)
        if track is None:
            return False
        track.cancel.set()
        return True

    def run(self, payload: JobPayload) -> RemoteOutcome:
        from app.errors import AppError, ExportCancelled
        from app.jobs.kinds import kind_named
        from engine.errors import GenerationCancelled

        track = JobTrack()
        with self._lock:
            self._tracks[payload.job_id] = track
        node = node_label()
        start = time.perf_counter()
        scratch = Path(tempfile.mkdtemp(prefix="aiprod-node-"))
        try:
            media = scratch / "media"
            media.mkdir()
            spec, back = unpack(payload.packed, scratch / "in", media)
            if payload.module:
                import importlib

                importlib.import_module(payload.module)  # registers its kind in this process
            kind = kind_named(payload.kind)
            result = kind.run(self._context(payload, spec, media, track))
            files = _written(media)
            result = _relocate(result, media, back)
            seconds = time.perf_counter() - start
            return RemoteOutcome(payload.job_id, "done", node, result, files, seconds=seconds)
        except BaseException as exc:  # noqa: B036 -- every failure goes back to the farm as an outcome
            cancelled = isinstance(exc, (GenerationCancelled, ExportCancelled)) or (
                track.cancel.is_set() and isinstance(exc, AppError)
            )
            if cancelled:
                return RemoteOutcome(payload.job_id, "cancelled", node)
            return RemoteOutcome(
                payload.job_id, "failed", node, message=_message(exc), error=_picklable(exc),
                seconds=time.perf_counter() - start,
            )  # fmt: skip
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            with self._lock:
                self._tracks.pop(payload.job_id, None)

    # --- the runner's context ---------------------------------------------------------------------------

    def _context(self, payload: JobPayload, spec: Any, media: Path, track: JobTrack) -> Any:
        from app.jobs.kinds import JobStage, RunContext

        def stage(value: JobStage) -> None:
            track.stage = value.name

        def progress(step: int, steps: int, eta: float) -> None:
            track.step, track.steps, track.eta = int(step), int(steps), float(eta)

        def callbacks() -> tuple[Any, Any]:
            def on_progress(step: int, steps: int) -> None:
                now = time.perf_counter()
                if step <= 1 or track.first_step is None:
                    track.first_step = now
                    eta = (now - track.started) * (steps - step) if step > 0 else -1.0
                else:
                    eta = (now - track.first_step) / (step - 1) * (steps - step)
                progress(step, steps, max(0.0, eta))
                if step == steps:
                    stage(JobStage.DECODING)

            def on_preview(frame: Any) -> None:
                track.preview = small_preview(frame.image)

            return on_progress, on_preview

        def stage_reports() -> Any:
            def on_stage(report: Any) -> None:
                track.step_label = report.label()

            return on_stage

        return RunContext(
            job_id=payload.job_id,
            spec=spec,
            settings=payload.settings,
            media_dir=media,
            cancel=track.cancel,
            stage=stage,
            engine=lambda: self._engine_for(spec, payload.settings, stage),
            progress=progress,
            step_callbacks=callbacks,
            stage_reports=stage_reports,
        )

    def _engine_for(self, spec: Any, settings: Any, stage: Any) -> Any:
        from app.jobs.kinds import JobStage

        key = engine_key(spec, settings)
        if self._engine is not None and key == self._key:
            return self._engine
        stage(JobStage.LOADING if self._engine is None else JobStage.RELOADING)
        self._engine, self._key = None, None
        self._engine = self._factory(spec.model, settings, spec.quantization)
        self._key = key
        return self._engine


def _written(media: Path) -> dict[str, bytes]:
    """The finished files the runner wrote, by their path under `media` (an image-sequence export is a
    folder of files; a writer's leftover temporary is not one)."""
    from app.project.atomic import is_temporary

    return {
        path.relative_to(media).as_posix(): path.read_bytes()
        for path in sorted(media.rglob("*"))
        if path.is_file() and not any(is_temporary(part) for part in path.relative_to(media).parts)
    }


def _relocate(result: Any, media: Path, back: dict[str, str]) -> Any:
    """The result as it travels back: its record with the original input paths, its path relative (the
    landing puts the file in the project and points the item there)."""
    import dataclasses

    if not dataclasses.is_dataclass(result):
        return result
    changes: dict[str, Any] = {}
    path = getattr(result, "path", None)
    if isinstance(path, (str, Path)) and Path(path).parent.resolve() == media.resolve():
        changes["path"] = Path(path).name if isinstance(path, str) else Path(Path(path).name)
    generation = getattr(result, "generation", None)
    if isinstance(generation, dict):
        changes["generation"] = restore_paths(generation, back)
    return dataclasses.replace(result, **changes) if changes else result


def _message(exc: BaseException) -> str:
    from app.errors import AppError, JobError
    from engine.errors import EngineError

    if isinstance(exc, (JobError, AppError, EngineError)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _picklable(exc: BaseException) -> BaseException | None:
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001
        return None
    return exc
