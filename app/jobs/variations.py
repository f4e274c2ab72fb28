"""Batches of variations: one generation's settings run again N times, each with a new seed, or with the
seed fixed and one parameter swept over a range (guidance scale, or the strength of one of its LoRAs).

Qt-free: `expand` turns a base JobSpec and a `VariationPlan` into the batch's specs (each labelled with what
it changes), which the studio queues as ordinary generations and files under one batch id in the project's
history (app.jobs.history), so the History panel and the variations grid can show them side by side.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from app.errors import JobError
from app.jobs.spec import MAX_SEED, JobSpec

MAX_VARIATIONS = 16  # a batch beyond this is a queue to leave overnight, not a comparison
SEED, GUIDANCE, LORA = "seed", "guidance", "lora"
PARAMETERS = (SEED, GUIDANCE, LORA)
# The ranges the engine accepts (engine.request.GenerationRequest.validate)
GUIDANCE_RANGE = (1.0, 30.0)
LORA_RANGE = (-4.0, 4.0)


@dataclass(frozen=True)
class VariationPlan:
    """`count` variations: new seeds (`parameter` "seed"), or the base seed kept and `parameter`
    ("guidance" or "lora", the LoRA file `lora`) taking `count` evenly spaced values from `start` to
    `stop` (both included)."""

    count: int
    parameter: str = SEED
    start: float = 0.0
    stop: float = 0.0
    lora: str = ""

    def check(self, base: JobSpec) -> None:
        """Raise JobError with the fix when this plan cannot vary `base`."""
        if (
            isinstance(self.count, bool)
            or not isinstance(self.count, int)
            or not 1 <= self.count <= MAX_VARIATIONS
        ):
            raise JobError(f"choose 1 to {MAX_VARIATIONS} variations (asked: {self.count})")
        if self.parameter not in PARAMETERS:
            raise JobError(f"unknown parameter {self.parameter!r} to vary; choose seed, guidance or lora")
        if self.parameter == SEED:
            return
        for value in (self.start, self.stop):
            if not math.isfinite(value):
                raise JobError(f"the sweep's range must be numbers (got {value})")
        if self.parameter == GUIDANCE:
            if base.recipe in ("distilled", "two-stage"):
                raise JobError(
                    "the distilled recipes run without guidance, so a guidance sweep would give the same "
                    "clip N times; choose the full recipe or sweep a LoRA's strength"
                )
            low, high = GUIDANCE_RANGE
            if not (low <= self.start <= high and low <= self.stop <= high):
                raise JobError(
                    f"guidance goes from {low:g} to {high:g} (asked {self.start:g} to {self.stop:g})"
                )
        if self.parameter == LORA:
            if self.lora not in {path for path, _strength in base.loras}:
                raise JobError(
                    "choose one of this generation's LoRAs to sweep (it used none)"
                    if not base.loras
                    else f"this generation did not use the LoRA {self.lora}"
                )
            low, high = LORA_RANGE
            if not (low <= self.start <= high and low <= self.stop <= high):
                raise JobError(
                    f"a LoRA's strength goes from {low:g} to {high:g} (asked {self.start:g} to {self.stop:g})"
                )
        if self.count > 1 and self.start == self.stop:
            raise JobError("the sweep's start and end are the same value; widen the range")


@dataclass(frozen=True)
class Variation:
    spec: JobSpec
    label: str  # what it changes, for the history and the grid: "seed 42", "guidance 4.5", "LoRA 0.8"
    index: int


def sweep_values(start: float, stop: float, count: int) -> list[float]:
    """`count` evenly spaced values from `start` to `stop`, both included (rounded to 4 decimals, so a
    label reads 4.5 and not 4.499999)."""
    if count == 1:
        return [round(float(start), 4)]
    step = (float(stop) - float(start)) / (count - 1)
    return [round(float(start) + i * step, 4) for i in range(count)]


def new_seeds(count: int, avoid: set[int], draw: Callable[[], int] | None = None) -> list[int]:
    """`count` distinct seeds, none in `avoid` (the base's own seed)."""
    rng = random.SystemRandom()
    draw = draw or (lambda: rng.randrange(0, 2**31))
    seeds: list[int] = []
    for _ in range(count * 100):
        seed = int(draw()) % (MAX_SEED + 1)
        if seed not in avoid and seed not in seeds:
            seeds.append(seed)
            if len(seeds) == count:
                return seeds
    raise JobError("could not draw distinct seeds; try again")


def expand(
    base: JobSpec, plan: VariationPlan, draw: Callable[[], int] | None = None, *, take_of: str | None = None
) -> list[Variation]:
    """The batch: `plan.count` specs built from `base` (not placed on the timeline: the results are compared
    first, then one is applied), each a new take of `take_of` when given."""
    plan.check(base)
    common = {"place_on_timeline": False, "take_of": take_of, "image_array": None}
    stem = base.display_name()
    variations: list[Variation] = []
    if plan.parameter == SEED:
        for index, seed in enumerate(new_seeds(plan.count, {int(base.seed)}, draw)):
            spec = base.with_changes(seed=seed, name=f"{stem}_v{index + 1}", **common)
            variations.append(Variation(spec, f"seed {seed}", index))
        return variations
    for index, value in enumerate(sweep_values(plan.start, plan.stop, plan.count)):
        if plan.parameter == GUIDANCE:
            spec = base.with_changes(guidance=value, name=f"{stem}_cfg{value:g}", **common)
            label = f"guidance {value:g}"
        else:
            loras = tuple((path, value if path == plan.lora else strength) for path, strength in base.loras)
            spec = base.with_changes(loras=loras, name=f"{stem}_lora{value:g}", **common)
            label = f"LoRA {_lora_name(plan.lora)} {value:g}"
        variations.append(Variation(spec, label, index))
    return variations


def new_batch_id() -> str:
    return "batch-" + uuid.uuid4().hex[:12]


def _lora_name(path: str) -> str:
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name else name


# --- the job kind (app.jobs.kinds) ----------------------------------------------------------------------
# A variation runs and lands as a generation does (into the bin; a take of `take_of`); its own kind name
# lets the queue's row, the history and the status bar say "Variation", and is how the studio submits it:
# ``queue.submit(spec, kind="variations")``.


def _run(ctx):  # noqa: ANN001, ANN202
    from app.jobs.builtin_kinds import run_generation

    return run_generation(ctx)


def _check(spec, model_spec):  # noqa: ANN001, ANN202
    from app.jobs.builtin_kinds import check_generation

    return check_generation(spec, model_spec)


def _apply(ctx, job):  # noqa: ANN001, ANN202
    from app.jobs.apply import apply_generation

    return apply_generation(ctx, job)


def register_kind() -> None:
    from app.jobs.kinds import JobKind, register

    register(JobKind("variations", JobSpec, _run, _apply, title="Variation", check=_check), replace=True)


register_kind()
