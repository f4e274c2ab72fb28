"""What one generation job asks for: plain data the panel fills in and the worker turns into a request.

The panel works in the user's terms (duration in seconds, a size preset); the engine wants LTX-2's grid
(sides multiples of 32, frame counts 8k+1). The snapping helpers here are the one place that maps one to
the other, so the panel can show the real duration before anything runs.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.errors import JobError
from engine.models import LTX_2_0 as _GRID

MODEL_LTX2 = "ltx2"
MODEL_TINY = "tiny"


def load_engine(model: str, settings: Any, quantization: str) -> Any:
    """The engine a job of `model` runs on: the tiny random-init one, or the checkpoint and text encoder named
    in `settings` (EngineSettings), weights quantized as `quantization`. The local worker's default
    (app.jobs.worker.default_engine_factory) and a render node's (app.cluster.host.load_engine)."""
    from pathlib import Path

    from engine import Engine

    if model == MODEL_TINY:
        return Engine.tiny(device="cpu", quantization=quantization)
    return Engine.from_checkpoint(
        Path(settings.checkpoint).expanduser(),
        text_encoder=settings.text_encoder_path(),
        quantization=quantization,
    )


# The latent grid every LTX-2 version shares (engine.models.ModelSpec): pixels per latent cell, frames per
# latent frame (plus the first).
SPATIAL = _GRID.spatial_ratio
TEMPORAL = _GRID.temporal_ratio
MIN_STEPS = 2  # one step divides by zero in LTX-2's schedule (the engine refuses it too)
MAX_STEPS = 200
MAX_SEED = 2**63 - 1

# (label, width, height): LTX-2 friendly sizes, every side a multiple of 32.
RESOLUTION_PRESETS: tuple[tuple[str, int, int], ...] = (
    ("768 x 512 (3:2, default)", 768, 512),
    ("1280 x 704 (16:9, 720p)", 1280, 704),
    ("704 x 1280 (9:16, vertical)", 704, 1280),
    ("960 x 544 (16:9)", 960, 544),
    ("512 x 512 (square)", 512, 512),
    ("256 x 160 (test)", 256, 160),
    ("64 x 64 (tiny test)", 64, 64),
)


def snap_frames(count: float) -> int:
    """The nearest valid frame count (8k+1, at least 9)."""
    k = max(1, round((float(count) - 1) / TEMPORAL))
    return k * TEMPORAL + 1


def frames_for_duration(seconds: float, fps: float) -> int:
    """Frames for about `seconds` at `fps`, snapped to LTX-2's 8k+1 grid."""
    if not (math.isfinite(seconds) and math.isfinite(fps)) or seconds <= 0 or fps <= 0:
        raise JobError(f"duration {seconds} s at {fps} fps is not a positive length; enter a duration")
    return snap_frames(seconds * fps)


def snap_side(pixels: int) -> int:
    """The nearest multiple of 32 (at least 32)."""
    return max(SPATIAL, round(pixels / SPATIAL) * SPATIAL)


@dataclass(frozen=True)
class JobSpec:
    """One generation as the user asked for it. Frozen: a queued job never changes under the worker.

    `image` is a start-image file path; `image_array` an in-memory start frame (the viewer's current frame,
    HxWx3 uint8), which is not saved in the generation parameters (the clip it came from is the record).
    """

    prompt: str
    # None: the loaded model's reference value (engine.models.ModelSpec: steps, CFG, negative prompt); the
    # clip's record stores what was really used, so a regeneration is exact
    negative_prompt: str | None = None
    width: int = 768
    height: int = 512
    frames: int = 121
    fps: float = 24.0
    steps: int | None = None
    seed: int = 0
    guidance: float | None = None
    audio_guidance: float | None = None
    model: str = MODEL_LTX2
    quantization: str = "none"
    image: str | None = None
    image_array: np.ndarray | None = field(default=None, compare=False, repr=False)
    place_on_timeline: bool = False
    name: str = ""
    take_of: str | None = None  # media id this job is a new take of (regenerate)
    preview_every: int = 2
    # engine recipe ("full" | "distilled" | "two-stage" | "two-stage-full"; None: the model's default), the
    # two-stage recipes' latent upsampler (2.0, or 1.5: LTX-2.3's x1.5, sizes multiples of 96), the LoRAs to
    # fuse ((path, strength); the job's list is the whole set: empty = none), keyframes ((path, frame,
    # strength))
    recipe: str | None = None
    upsampler_scale: float = 2.0
    loras: tuple[tuple[str, float], ...] = ()
    keyframes: tuple[tuple[str, int, float], ...] = ()
    video_decoder: str = "conv"  # "diffusion": LTX-2.5's diffusion video decoder (slower, the quality option)

    @property
    def duration_seconds(self) -> float:
        return self.frames / self.fps

    def with_changes(self, **changes: Any) -> JobSpec:
        return dataclasses.replace(self, **changes)

    def display_name(self) -> str:
        if self.name:
            return self.name
        words = "".join(c if c.isalnum() else " " for c in self.prompt).split()
        return "_".join(words[:5]).lower() or "clip"

    def to_request(self, preview: bool = True):
        """The engine request for this job (engine.request.GenerationRequest)."""
        from engine.request import GenerationRequest, Keyframe, LoraChoice

        image = self.image_array if self.image_array is not None else self.image
        distilled = self.recipe in ("distilled", "two-stage")
        return GenerationRequest(
            recipe=self.recipe,
            upsampler_scale=float(self.upsampler_scale),
            loras=tuple(LoraChoice(str(path), float(strength)) for path, strength in self.loras),
            keyframes=tuple(Keyframe(str(path), int(frame), float(strength)) for path, frame, strength in
                            self.keyframes),
            video_decoder=self.video_decoder,
            prompt=self.prompt,
            negative_prompt=self.negative_prompt,
            width=int(self.width),
            height=int(self.height),
            num_frames=int(self.frames),
            fps=float(self.fps),
            steps=None if distilled else optional(int, self.steps),  # fixed sigmas
            guidance_scale=optional(float, self.guidance),
            audio_guidance_scale=optional(float, self.audio_guidance),
            seed=int(self.seed),
            image=image,
            preview_every=self.preview_every if preview else 0,
        )

    def validate(self) -> None:
        """Raise JobError with a fix the user can make, before the job waits in the queue."""
        from engine.errors import RequestError

        if self.model not in (MODEL_LTX2, MODEL_TINY):
            raise JobError(f"unknown model {self.model!r}; choose the LTX-2 checkpoint or the test model")
        if self.image is not None and self.image_array is not None:
            raise JobError("give either a start image file or the viewer's frame, not both")
        if self.image_array is not None:
            shape = np.shape(self.image_array)
            if len(shape) != 3 or shape[2] != 3:
                raise JobError(f"the start frame must be an RGB image, got an array of shape {shape}")
        try:
            self.to_request().validate(SPATIAL, TEMPORAL)
        except RequestError as exc:
            raise JobError(f"cannot generate: {exc}") from exc

    def generation_parameters(self) -> dict[str, Any]:
        """The request part of a clip's stored generation dict (JSON-able)."""
        return {
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "width": int(self.width),
            "height": int(self.height),
            "frames": int(self.frames),
            "fps": float(self.fps),
            "steps": optional(int, self.steps),
            "seed": int(self.seed),
            "guidance": optional(float, self.guidance),
            "audio_guidance": optional(float, self.audio_guidance),
            "model": self.model,
            "quantization": self.quantization,
            "image": self.image
            if self.image is not None
            else ("<frame>" if self.image_array is not None else None),
            "recipe": self.recipe,
            "upsampler_scale": float(self.upsampler_scale),
            "loras": [{"path": str(path), "strength": float(strength)} for path, strength in self.loras],
            "keyframes": [
                {"image": str(path), "frame": int(frame), "strength": float(strength)}
                for path, frame, strength in self.keyframes
            ],
            "video_decoder": self.video_decoder,
        }

    @classmethod
    def from_generation(cls, generation: dict[str, Any], **overrides: Any) -> JobSpec:
        """Rebuild the job that made a clip (same seed, same everything) from its stored parameters.

        A start frame taken from the viewer was not stored, so such a clip regenerates as text-to-video
        unless the caller passes `image_array`.
        """
        if not isinstance(generation, dict) or not str(generation.get("prompt", "")).strip():
            raise JobError("this clip has no stored generation parameters, so it cannot be regenerated")
        image = generation.get("image")
        if image == "<frame>":
            image = None
        values: dict[str, Any] = {
            "prompt": str(generation["prompt"]),
            "negative_prompt": optional(str, generation.get("negative_prompt")),
            "width": int(generation.get("width", 768)),
            "height": int(generation.get("height", 512)),
            "frames": int(generation.get("frames", 121)),
            "fps": float(generation.get("fps", 24.0)),
            "steps": optional(int, generation.get("steps")),
            "seed": int(generation.get("seed", 0)),
            "guidance": optional(float, generation.get("guidance")),
            "audio_guidance": optional(float, generation.get("audio_guidance")),
            "model": str(generation.get("model", MODEL_LTX2)),
            "quantization": str(generation.get("quantization", "none")),
            "image": image,
            "recipe": optional(str, generation.get("recipe")),
            "upsampler_scale": float(generation.get("upsampler_scale") or 2.0),
            "video_decoder": str(generation.get("video_decoder") or "conv"),
            "loras": tuple(
                (str(lora["path"]), float(lora.get("strength", 1.0)))
                for lora in generation.get("loras") or ()
                if isinstance(lora, dict) and lora.get("path")
            ),
            "keyframes": tuple(
                (str(k["image"]), int(k.get("frame", 0)), float(k.get("strength", 1.0)))
                for k in generation.get("keyframes") or ()
                if isinstance(k, dict) and k.get("image") not in (None, "<array>")
            ),
        }
        if values["model"] not in (MODEL_LTX2, MODEL_TINY):  # e.g. a display name from an older record
            values["model"] = MODEL_TINY if "tiny" in values["model"] else MODEL_LTX2
        values.update(overrides)
        return cls(**values)


def optional(kind, value):
    """`kind(value)`, keeping None (a model default) as None."""
    return None if value is None else kind(value)
