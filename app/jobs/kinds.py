"""Job kinds as data: what a worker runs for each kind of job, and how its result is applied.

The studio's queue, workers and main window know no kind by name. A kind is one :class:`JobKind`:

* ``spec_type``: the type of the spec submitted for it (the queue finds the kind from the spec, through the
  type's MRO, unless ``JobQueue.submit(spec, kind="...")`` names one: two kinds may share a spec type);
* ``run(ctx)``: what the worker runs, on its thread, with a :class:`RunContext` (the spec, a cancel event,
  the loaded engine on demand, stage/progress reports); it returns the result (a MediaItem, a report, ...);
* ``apply(ctx, job)``: how the finished result is applied, on the UI thread, with an
  ``app.jobs.apply.ApplyContext`` (the session's document and undo stack, the playhead, messages, and
  ``ctx.offer(kind_name, value)`` for results that go to a panel rather than the document);
* ``lane``: which worker thread runs it: ``"engine"`` (the one that keeps the model loaded) or ``"render"``
  (exports: they run beside a generation, never behind it);
* ``needs_model``: submit checks the model is usable (settings, developer mode) before queueing;
  ``check(spec, model_spec)`` may refuse more at submit (raise JobError / EngineError: nothing is queued).

Adding a kind is one ``register`` call; the worker and the main window need no edit. For example, gap fill
(a generation that must land in a gap of the timeline)::

    from dataclasses import dataclass
    from app.jobs.kinds import JobKind, JobStage, register
    from app.jobs.spec import JobSpec

    @dataclass(frozen=True)
    class GapFillSpec:
        job: JobSpec          # the generation (keyframes: the clips either side)
        track_id: str
        start: int            # the gap's first frame on the timeline
        model: str = "ltx2"   # read by the queue's model checks (needs_model)
        steps: int | None = None

        def validate(self) -> None: self.job.validate()
        def display_name(self) -> str: return f"gap fill: {self.job.display_name()}"

    def run_gapfill(ctx):                           # on the engine thread
        engine = ctx.engine()                       # loads the model once, reports JobStage.LOADING
        ctx.check_cancelled()
        ctx.stage(JobStage.DENOISING)
        on_progress, on_preview = ctx.step_callbacks()
        result = engine.generate(ctx.spec.job.to_request(), on_progress, on_preview, ctx.cancel)
        ctx.stage(JobStage.SAVING)
        return build_media_item(ctx.media_dir, ctx.spec.job, result, ...)

    def apply_gapfill(ctx, job):                    # on the UI thread, with the current session
        push_edit(ctx.stack, ctx.doc, "Fill gap", lambda doc: ...)   # one undo step
        ctx.message(f"Filled the gap with {job.item.name}")

    register(JobKind("gapfill", GapFillSpec, run_gapfill, apply_gapfill, title="Gap fill"))
    queue.submit(GapFillSpec(...))                  # -> runs run_gapfill, then apply_gapfill

A kind sharing a spec type with another (variations are JobSpecs too) is submitted by name:
``queue.submit(spec, kind="variations")``; ``Job.kind`` then carries the name to the applier.

Stages are :class:`JobStage` members end to end (worker signal -> queue -> row text); a kind with a stage
of its own adds a member here. The studio's own kinds are registered in ``app.jobs.builtin_kinds``, loaded
on the first lookup.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.errors import JobError

ENGINE_LANE = "engine"  # the long-lived model worker: generations, inpaints, extends, duration questions
RENDER_LANE = "render"  # the export worker: runs at the same time as the engine lane
LANES = (ENGINE_LANE, RENDER_LANE)


class JobStage(enum.Enum):
    """What a running job is doing; the value is the text the Jobs panel shows."""

    STARTING = "starting"
    LOADING = "loading the model"
    RELOADING = "reloading the model"
    READING = "reading the clip"
    ASKING = "asking the duration head"
    DENOISING = "denoising"
    DECODING = "decoding"
    SAVING = "saving the clip"
    RENDERING = "rendering"
    FINISHING = "finishing the file"

    @property
    def label(self) -> str:
        return self.value

    @property
    def loading(self) -> bool:
        return self in (JobStage.LOADING, JobStage.RELOADING)

    @property
    def saving(self) -> bool:
        return self in (JobStage.SAVING, JobStage.FINISHING)


class UnknownJobKind(JobError):
    """No kind is registered under that name, or for that spec's type."""


@dataclass
class RunContext:
    """What a kind's runner gets on the worker thread. Built by the worker; the callables emit its signals."""

    job_id: str
    spec: Any
    settings: Any  # app.jobs.settings.EngineSettings
    media_dir: Path
    cancel: threading.Event
    stage: Callable[[JobStage], None]
    engine: Callable[[], Any]  # the loaded engine for this spec (loaded once, kept between jobs)
    # (step, steps, eta seconds or -1): raw progress, for runners that measure their own ETA (exports)
    progress: Callable[[int, int, float], None]
    # engine-shaped (on_progress(step, steps), on_preview(frame)) with the step-time ETA and previews
    step_callbacks: Callable[[], tuple[Callable[[int, int], None], Callable[[Any], None]]]
    # the engine's per-step stage reports (engine.runtime.StageProgress) -> the row's "stage 1/2, step 5/8"
    stage_reports: Callable[[], Callable[[Any], None]]

    def check_cancelled(self) -> None:
        """Raise the engine's cancel (the worker reports it as cancelled) if the user asked to stop."""
        if self.cancel.is_set():
            from engine.errors import GenerationCancelled

            raise GenerationCancelled(0)


@dataclass(frozen=True)
class JobKind:
    """One kind of job. See the module docstring."""

    name: str
    spec_type: type
    run: Callable[[RunContext], Any]
    apply: Callable[[Any, Any], None] | None = None  # (app.jobs.apply.ApplyContext, Job) on the UI thread
    title: str = ""  # "Generation", "Export": the status bar says "<title> failed: ..."
    lane: str = ENGINE_LANE
    needs_model: bool = True
    check: Callable[[Any, Any], None] | None = None  # (spec, engine.models.ModelSpec) at submit
    unit: str = "step"  # the progress bar's "step 3 / 8" or "frame 12 / 48"
    shows_folder: bool = False  # its result has a `path` worth an "Open Folder" button
    extra: dict[str, Any] = field(default_factory=dict, compare=False)  # anything a kind's views want

    @property
    def label(self) -> str:
        return self.title or self.name.capitalize()


_KINDS: dict[str, JobKind] = {}
_builtins_loaded = False


def register(kind: JobKind, *, replace: bool = False) -> JobKind:
    """Make `kind` known to every queue, worker and applier. A taken name raises ValueError unless
    `replace` (a test or a plug-in overriding a built-in kind)."""
    _load_builtins()
    if kind.lane not in LANES:
        lanes = ", ".join(LANES)
        raise ValueError(f"job kind {kind.name!r}: unknown lane {kind.lane!r}; choose one of {lanes}")
    if not replace and kind.name in _KINDS:
        raise ValueError(f"a job kind named {kind.name!r} is already registered")
    _KINDS[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    _KINDS.pop(name, None)


def kind_named(name: str) -> JobKind:
    _load_builtins()
    try:
        return _KINDS[name]
    except KeyError:
        known = ", ".join(sorted(_KINDS)) or "none"
        raise UnknownJobKind(f"no job kind named {name!r} is registered (known: {known})") from None


def kind_for(spec: Any) -> JobKind:
    """The kind registered for the spec's type (or the nearest base type); the first registered wins when
    several share a type, so a shared-type kind is submitted by name."""
    _load_builtins()
    for cls in type(spec).__mro__:
        for kind in _KINDS.values():
            if kind.spec_type is cls:
                return kind
    raise UnknownJobKind(
        f"no job kind is registered for a {type(spec).__name__}; register one with app.jobs.kinds.register"
    )


def kinds() -> list[JobKind]:
    _load_builtins()
    return list(_KINDS.values())


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True
    import app.jobs.builtin_kinds  # noqa: F401 -- registers generate, inpaint, extend, duration, export
