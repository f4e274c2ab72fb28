"""Quality presets per model (Draft, Standard, High, Full) and their estimated times from step times measured
on this machine. Qt-free.

A preset maps to a recipe and a size: Draft = distilled at 540p, Standard = two-stage 720p, High = two-stage
1080p, Production = the dev model's two-stage (two-stage-full: guided stage 1 at half size, the distilled-LoRA
refine) at 720p, Full = the dev model's full guidance at 720p. Every field stays editable after choosing one.

Estimates come from `StepTimes`, a small JSON record per machine (`$AIPROD_STATE_DIR`, default
~/.local/state/aiprod/step_times.json): after each generation the worker stores the seconds per
transformer pass per 1000 latent tokens for that model, quantization and device (a running mean). An
estimate is that rate times the recipe's passes and tokens; attention grows faster than linearly with
tokens, so estimates for sizes far from the measured ones are rough, and none is shown before the first
measurement.
"""

from __future__ import annotations

import json
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from app.jobs.spec import MODEL_TINY


@dataclass(frozen=True)
class QualityPreset:
    name: str
    recipe: str
    width: int
    height: int
    note: str


LTX_PRESETS = (
    QualityPreset("Draft", "distilled", 960, 544, "distilled, 540p"),
    QualityPreset("Standard", "two-stage", 1280, 704, "two-stage, 720p"),
    QualityPreset("High", "two-stage", 1920, 1088, "two-stage, 1080p"),
    QualityPreset("Production", "two-stage-full", 1280, 704, "dev guided + distilled-LoRA refine, 720p"),
    QualityPreset("Full", "full", 1280, 704, "dev model, full guidance, 720p"),
)
# The tiny test model: the same recipes at test sizes (it has no upsampler, so no two-stage).
TINY_PRESETS = (
    QualityPreset("Draft", "distilled", 128, 64, "distilled, test size"),
    QualityPreset("Full", "full", 128, 64, "full guidance, test size"),
)


def presets_for(model: str) -> tuple[QualityPreset, ...]:
    return TINY_PRESETS if model == MODEL_TINY else LTX_PRESETS


def recipe_work(spec, recipe: str, width: int, height: int, frames: int, steps: int | None = None) -> float:
    """Transformer passes x thousands of latent tokens a recipe runs (engine.recipes' stages)."""
    from engine.recipes import plan_stages

    guided = spec.guidance_defaults()
    passes = 1
    if recipe in ("full", "two-stage-full"):  # the guided recipes (two-stage-full: its stage 1)
        passes += int(guided["guidance_scale"] != 1 or guided["audio_guidance_scale"] != 1)
        passes += int(guided["stg_scale"] != 0 or guided["audio_stg_scale"] != 0)
        passes += int(guided["modality_scale"] != 1 or guided["audio_modality_scale"] != 1)
    work = 0.0
    for stage in plan_stages(spec, recipe, width, height, spec.sigmas(steps)):
        tokens = math.prod(spec.latent_shape(stage.width, stage.height, frames))
        work += stage.steps * tokens / 1000.0 * (passes if stage.guided else 1)
    return work


def state_dir() -> Path:
    return Path(os.environ.get("AIPROD_STATE_DIR") or Path.home() / ".local" / "state" / "aiprod")


class StepTimes:
    """Measured seconds per unit of work (one pass over 1000 tokens), per model key, kept on disk."""

    _lock = threading.Lock()

    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path is not None else state_dir() / "step_times.json"

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text())
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def record(self, key: str, work: float, seconds: float) -> None:
        if not (work > 0 and seconds > 0 and math.isfinite(seconds)):
            return
        with self._lock:
            data = self._read()
            entry = data.get(key) or {"rate": 0.0, "runs": 0}
            runs = int(entry.get("runs", 0))
            rate = seconds / work
            mean = (float(entry.get("rate", 0.0)) * runs + rate) / (runs + 1)
            entry = {"rate": mean, "runs": min(runs + 1, 20)}  # the last ~20 runs weigh in
            data[key] = entry
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                tmp = self.path.with_suffix(".tmp")
                tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
                tmp.replace(self.path)
            except OSError:
                pass  # a read-only home only loses the estimate

    def rate(self, key: str) -> float | None:
        entry = self._read().get(key)
        if not isinstance(entry, dict) or not entry.get("runs"):
            return None
        return float(entry["rate"])

    def estimate(self, key: str, work: float) -> float | None:
        rate = self.rate(key)
        return None if rate is None else rate * work


def model_key(model: str, checkpoint: str, quantization: str, device: str) -> str:
    """What a step time belongs to: the model (file), its quantization and the device."""
    what = "tiny" if model == MODEL_TINY else (checkpoint or "ltx2")
    return f"{what}|{quantization}|{device}"


def format_estimate(seconds: float | None) -> str:
    if seconds is None:
        return "no time measured yet"
    if seconds < 90:
        return f"about {max(1, round(seconds))} s"
    if seconds < 5400:
        return f"about {round(seconds / 60)} min"
    return f"about {seconds / 3600:.1f} h"


def work_from_metadata(metadata: dict, spatial: int = 32, temporal: int = 8) -> float:
    """The work (passes x thousand tokens) a finished generation ran, from its engine metadata."""
    params = metadata.get("parameters") or {}
    frames = int(params.get("num_frames") or 0)
    passes = 1
    passes += int(params.get("guidance_scale", 1) != 1 or params.get("audio_guidance_scale", 1) != 1)
    passes += int(params.get("stg_scale", 0) != 0 or params.get("audio_stg_scale", 0) != 0)
    passes += int(params.get("modality_scale", 1) != 1 or params.get("audio_modality_scale", 1) != 1)
    work = 0.0
    for index, stage in enumerate(metadata.get("stages") or ()):
        tokens = ((frames - 1) // temporal + 1) * (stage["height"] // spatial) * (stage["width"] // spatial)
        work += int(stage["steps"]) * tokens / 1000.0 * (passes if index == 0 else 1)
    return work


def record_generation(key: str, result, store: StepTimes | None = None) -> None:
    """Remember how long a finished generation's denoising took per unit of work (for the estimates)."""
    metadata = getattr(result, "metadata", None) or {}
    seconds = (getattr(result, "timings", None) or {}).get("denoise_s")
    if seconds:
        (store or StepTimes()).record(key, work_from_metadata(metadata), float(seconds))
