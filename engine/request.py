"""What a caller asks for and what it gets back."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import RequestError

MAX_SIDE = 4096
MAX_FRAMES = 8 * 64 + 1


@dataclass(frozen=True)
class GenerationRequest:
    """One text-to-video (or image-to-video, with `image`) generation with joint audio.

    Sizes must be multiples of the VAE's spatial factor (32) and frame counts 8k+1: the engine rejects
    anything else with the nearest valid values rather than silently changing what was asked for.
    """

    prompt: str
    negative_prompt: str = ""
    width: int = 768
    height: int = 512
    num_frames: int = 121
    fps: float = 24.0
    steps: int = 30
    guidance_scale: float = 4.0
    audio_guidance_scale: float = 7.0
    seed: int = 0
    image: str | Path | np.ndarray | None = None  # start frame: path or HxWx3 uint8/float array
    preview_every: int = 4
    max_sequence_length: int = 1024

    def with_changes(self, **changes: Any) -> GenerationRequest:
        return dataclasses.replace(self, **changes)

    def validate(self, spatial: int = 32, temporal: int = 8, max_sequence_length: int | None = None) -> None:
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise RequestError("the prompt is empty; describe the shot to generate")
        for name, value in (("width", self.width), ("height", self.height)):
            if not isinstance(value, int) or value < spatial or value > MAX_SIDE:
                raise RequestError(f"{name} {value} is out of range ({spatial}..{MAX_SIDE} pixels)")
            if value % spatial:
                low = value // spatial * spatial
                raise RequestError(
                    f"{name} {value} is not a multiple of {spatial}; use {low} or {low + spatial}"
                )
        frames = self.num_frames
        if not isinstance(frames, int) or frames < 1 or frames > MAX_FRAMES:
            raise RequestError(f"frame count {frames} is out of range (1..{MAX_FRAMES})")
        if (frames - 1) % temporal:
            low = (frames - 1) // temporal * temporal + 1
            raise RequestError(f"frame count {frames} must be {temporal}k+1; use {low} or {low + temporal}")
        if not (isinstance(self.fps, (int, float)) and math.isfinite(self.fps) and 1 <= self.fps <= 120):
            raise RequestError(f"fps {self.fps} is out of range (1..120)")
        # One step is refused: LTX-2's schedule stretches sigmas to a terminal value, which divides by zero
        # (all-NaN frames and audio) when there is a single sigma.
        if not isinstance(self.steps, int) or not 2 <= self.steps <= 200:
            raise RequestError(f"steps {self.steps} is out of range (2..200)")
        for name in ("guidance_scale", "audio_guidance_scale"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 1.0 <= value <= 30.0):
                raise RequestError(f"{name} {value} is out of range (1..30; 1 disables guidance)")
        if not isinstance(self.seed, int) or not 0 <= self.seed < 2**63:
            raise RequestError(f"seed {self.seed} must be an integer from 0 to 2^63-1")
        if not isinstance(self.preview_every, int) or self.preview_every < 0:
            raise RequestError("preview_every must be 0 (off) or a positive number of steps")
        if max_sequence_length is not None and self.max_sequence_length % max_sequence_length:
            raise RequestError(
                f"max_sequence_length {self.max_sequence_length} must be a multiple of {max_sequence_length}"
            )

    def parameters(self) -> dict[str, Any]:
        """Everything needed to regenerate this clip, as plain JSON-able values."""
        params = dataclasses.asdict(self)
        image = params.pop("image")
        params["image"] = (
            str(image) if isinstance(image, (str, Path)) else ("<array>" if image is not None else None)
        )
        return params


@dataclass
class GenerationResult:
    """Frames, sound and provenance of one generated clip."""

    frames: np.ndarray  # [F, H, W, 3] float32, display-referred Rec.709/sRGB values in 0..1
    audio: np.ndarray  # [channels, samples] float32 in -1..1
    sample_rate: int
    fps: float
    metadata: dict[str, Any]
    video_latents: Any = field(default=None, repr=False)  # denoiser-space latents [1, C, f, h, w] (torch)
    audio_latents: Any = field(default=None, repr=False)  # denoiser-space latents [1, C, t, m] (torch)
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class PreviewFrame:
    """An x0 estimate of the middle of the clip, decoded during denoising."""

    step: int
    steps: int
    image: np.ndarray  # [H, W, 3] uint8
