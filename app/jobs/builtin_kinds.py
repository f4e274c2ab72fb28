"""The studio's own job kinds: generate, inpaint, extend, duration (on the engine worker) and export (on the
render worker). Each is a runner (on the worker thread, given an app.jobs.kinds.RunContext) plus an applier
from app.jobs.apply, registered once; app.jobs.kinds loads this module on its first lookup."""

from __future__ import annotations

import inspect
import logging
from typing import Any

from app.errors import JobError
from app.jobs import apply
from app.jobs.duration import DurationSpec, suggest
from app.jobs.extend import ExtendSpec
from app.jobs.inpaint import InpaintSpec
from app.jobs.kinds import RENDER_LANE, JobKind, JobStage, RunContext, register
from app.jobs.spec import JobSpec

log = logging.getLogger(__name__)


# --- generate -----------------------------------------------------------------------------------------------


def check_generation(spec: JobSpec, model_spec: Any) -> None:
    from engine.errors import EngineError

    try:
        model_spec.check_length(int(spec.frames), float(spec.fps))
    except EngineError as exc:
        raise JobError(f"cannot generate: {exc}") from exc


def run_generation(ctx: RunContext) -> Any:
    from app.jobs.result import build_media_item, generation_record

    engine = ctx.engine()
    ctx.check_cancelled()
    ctx.stage(JobStage.DENOISING)
    on_progress, on_preview = ctx.step_callbacks()
    extra = {}
    if "on_stage" in inspect.signature(engine.generate).parameters:  # test doubles may lack it
        extra["on_stage"] = ctx.stage_reports()
    result = engine.generate(ctx.spec.to_request(), on_progress, on_preview, ctx.cancel, **extra)
    record_step_times(ctx, engine, result)
    ctx.stage(JobStage.SAVING)
    return build_media_item(ctx.media_dir, ctx.spec, result, generation_record(ctx.spec, engine, result))


def record_step_times(ctx: RunContext, engine: Any, result: Any) -> None:
    """The per-machine step-time record behind the presets' estimated times (app.jobs.presets)."""
    from app.jobs.presets import model_key, record_generation

    device = getattr(getattr(engine, "device", None), "type", "cpu")
    try:
        key = model_key(ctx.spec.model, ctx.settings.checkpoint, ctx.spec.quantization, device)
        record_generation(key, result)
    except (KeyError, TypeError, ValueError) as exc:  # a foreign result shape never fails the job
        log.debug("step times not recorded: %s", exc)


# --- inpaint ------------------------------------------------------------------------------------------------


def run_inpaint_job(ctx: RunContext) -> Any:
    """Read and check the source first (a bad mask or a missing file fails before a slow model load),
    then inpaint and write the take as a new file beside the other clips."""
    from app.jobs.inpaint import build_take, inpaint_record, read_source, run_inpaint

    spec = ctx.spec
    ctx.stage(JobStage.READING)
    source = read_source(spec, ctx.cancel)
    engine = ctx.engine()
    ctx.check_cancelled()
    if not hasattr(engine, "inpaint"):
        raise JobError("this engine cannot inpaint; update the studio")
    ctx.stage(JobStage.DENOISING)
    on_progress, on_preview = ctx.step_callbacks()
    result = run_inpaint(engine, spec, source, on_progress, on_preview, ctx.cancel)
    ctx.stage(JobStage.SAVING)
    return build_take(ctx.media_dir, spec, source, result, inpaint_record(spec, engine, source, result))


# --- extend -------------------------------------------------------------------------------------------------


def run_extend_job(ctx: RunContext) -> Any:
    """Read the source first (a missing file fails before a model load), extend, write the new clip."""
    from app.jobs.extend import build_extension, extend_record, read_clip, run_extend

    spec = ctx.spec
    ctx.stage(JobStage.READING)
    source = read_clip(spec.source_path, ctx.cancel)
    engine = ctx.engine()
    ctx.check_cancelled()
    ctx.stage(JobStage.DENOISING)
    on_progress, on_preview = ctx.step_callbacks()
    stages = ctx.stage_reports()
    result = run_extend(engine, spec, source, on_progress, on_preview, ctx.cancel, stages)
    ctx.stage(JobStage.SAVING)
    record = extend_record(spec, engine, source, result)
    return build_extension(ctx.media_dir, spec, source, result, record)


# --- duration -----------------------------------------------------------------------------------------------


def run_duration(ctx: RunContext) -> Any:
    ctx.stage(JobStage.ASKING)
    return suggest(ctx.engine(), ctx.spec)


# --- export (the render queue) ------------------------------------------------------------------------------


def run_export(ctx: RunContext) -> Any:
    """Render the request's document snapshot; the file appears only when complete (the renderer writes
    beside the destination and renames), so a cancel or a failure leaves nothing there."""
    from app.export.runner import render_request

    ctx.stage(JobStage.RENDERING)

    def progress(done: int, total: int, eta: float) -> None:
        ctx.progress(done, total, eta)
        if done >= total:
            ctx.stage(JobStage.FINISHING)

    return render_request(ctx.spec, progress, cancel=ctx.cancel)  # the job's cancel, set by the queue


def _export_request_type() -> type:
    from app.export.runner import ExportRequest

    return ExportRequest


register(JobKind("generate", JobSpec, run_generation, apply.apply_generation, title="Generation",
                 check=check_generation))  # fmt: skip
register(JobKind("inpaint", InpaintSpec, run_inpaint_job, apply.apply_inpaint, title="Inpaint"))
register(JobKind("extend", ExtendSpec, run_extend_job, apply.apply_extend, title="Extend"))
register(JobKind("duration", DurationSpec, run_duration, apply.apply_duration, title="Duration suggestion"))
register(
    JobKind(
        "export",
        _export_request_type(),
        run_export,
        apply.apply_export,
        title="Export",
        lane=RENDER_LANE,
        needs_model=False,
        unit="frame",
        shows_folder=True,
    )
)
