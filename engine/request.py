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
VIDEO_DECODERS = ("conv", "diffusion")
MAX_FRAMES = 8 * 64 + 1

# The fields that default to the loaded model's reference value (`ModelSpec.guidance_defaults`) when None.
MODEL_DEFAULTS = (
    "negative_prompt",
    "steps",
    "guidance_scale",
    "audio_guidance_scale",
    "stg_scale",
    "audio_stg_scale",
    "stg_blocks",
    "modality_scale",
    "audio_modality_scale",
    "guidance_rescale",
    "audio_guidance_rescale",
)


RECIPES = ("full", "distilled", "two-stage", "two-stage-full")
# the recipes that generate at a reduced size first and upsample the latents (engine/recipes.py)
TWO_STAGE_RECIPES = ("two-stage", "two-stage-full")
# the latent spatial upsamplers' scales: x2 (every release) and x1.5 (LTX-2.3's rational upsampler)
UPSAMPLER_SCALES = (2.0, 1.5)


def stage_1_size_step(spatial: int, scale: float) -> int:
    """What a two-stage output width/height must be a multiple of: stage 1 (the output / `scale`) must be
    whole latents, and for x1.5 an even number of them (the rational upsampler makes 3 of every 2): 64 for
    x2, 96 for x1.5 (with 32-pixel latents)."""
    return 2 * spatial if float(scale) == 2.0 else 3 * spatial


@dataclass(frozen=True)
class LoraChoice:
    """One LoRA file and the strength it is fused at (1 = as trained, 0 = off, negative = inverted)."""

    path: str | Path
    strength: float = 1.0


@dataclass(frozen=True, eq=False)  # an array image has no plain equality
class Keyframe:
    """An image the clip must pass through at pixel frame `frame` (0 = first, num_frames - 1 = last), held
    with `strength` (1 = the frame is the image, 0 = no pull). `image`: a path or an HxWx3 array."""

    image: str | Path | np.ndarray
    frame: int = 0
    strength: float = 1.0


@dataclass(frozen=True)
class GenerationRequest:
    """One text-to-video (or image-to-video, with `image`) generation with joint audio.

    Sizes must be multiples of the VAE's spatial factor (32) and frame counts 8k+1: the engine rejects
    anything else with the nearest valid values rather than silently changing what was asked for.

    Guidance is named as diffusers' LTX-2 pipelines name it and computed as Lightricks' reference does
    (per modality: x0 = c + (cfg - 1)(c - u) + stg (c - perturbed) + (modality - 1)(c - isolated), then
    rescaled). Every field left None takes the loaded model's reference value (`engine.spec`, e.g. LTX-2.0:
    40 steps, CFG 3 / audio 7, STG 1 on block 29, modality 3, rescale 0.7, the reference negative prompt).
    """

    prompt: str
    negative_prompt: str | None = None
    width: int = 768
    height: int = 512
    num_frames: int = 121
    fps: float = 24.0
    steps: int | None = None
    guidance_scale: float | None = None  # video CFG (1 = off)
    audio_guidance_scale: float | None = None
    stg_scale: float | None = None  # spatio-temporal guidance (0 = off)
    audio_stg_scale: float | None = None
    stg_blocks: tuple[int, ...] | None = None  # transformer blocks STG perturbs (video and audio)
    modality_scale: float | None = None  # modality-isolation guidance (1 = off)
    audio_modality_scale: float | None = None
    guidance_rescale: float | None = None  # 0 = off, 1 = std of the conditioned prediction
    audio_guidance_rescale: float | None = None
    seed: int = 0
    image: str | Path | np.ndarray | None = None  # start frame: path or HxWx3 uint8/float array
    preview_every: int = 4
    max_sequence_length: int = 1024
    # "conv" (default) or "diffusion": LTX-2.5's diffusion video decoder, the slower quality option; it draws
    # its own noise from `seed`
    video_decoder: str = "conv"
    # "full" (the dev model's guided steps), "distilled" (the distilled sigmas, no guidance), "two-stage"
    # (distilled stage 1 at half size, the x2 latent upsampler, a 3-step refine at full size) or
    # "two-stage-full" (the dev model's guided steps at half size, the upsampler, the 3-step refine with the
    # distilled LoRA); None = the loaded model's default (see Engine.default_recipe)
    recipe: str | None = None
    # the two-stage recipes' latent upsampler: 2.0 (stage 1 at half size, sizes multiples of 64) or 1.5
    # (LTX-2.3's x1.5 upsampler: stage 1 at 2/3 size, sizes multiples of 96)
    upsampler_scale: float = 2.0
    # None: keep the engine's fused set; () removes every LoRA
    loras: tuple[LoraChoice, ...] | None = None
    keyframes: tuple[Keyframe, ...] = ()
    # denoiser-space audio latents [1, C, t, mel] held at the start of the clip (extend: the source's sound
    # continues); their t latent frames (25 per second) keep their values, the rest is generated
    audio_prefix: Any = None
    # the same held at the end of the clip (extend backward: the source's first sound closes the clip)
    audio_suffix: Any = None

    def with_changes(self, **changes: Any) -> GenerationRequest:
        return dataclasses.replace(self, **changes)

    def with_defaults(self, defaults: dict[str, Any]) -> GenerationRequest:
        """This request with each None model default taken from `defaults` (`ModelSpec.guidance_defaults`)."""
        changes = {name: defaults[name] for name in MODEL_DEFAULTS if getattr(self, name) is None}
        request = dataclasses.replace(self, **changes)
        if request.stg_blocks is not None and not isinstance(request.stg_blocks, tuple):
            try:
                request = dataclasses.replace(request, stg_blocks=_blocks(request.stg_blocks))
            except (TypeError, ValueError):
                pass  # `validate` names the bad value
        return request

    def validate(
        self,
        spatial: int = 32,
        temporal: int = 8,
        max_sequence_length: int | None = None,
        num_layers: int | None = None,
    ) -> None:
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise RequestError("the prompt is empty; describe the shot to generate")
        if self.video_decoder not in VIDEO_DECODERS:
            raise RequestError(
                f"video decoder '{self.video_decoder}' is unknown; use one of {', '.join(VIDEO_DECODERS)}"
            )
        for name, value in (("width", self.width), ("height", self.height)):
            if not isinstance(value, int) or value < spatial or value > MAX_SIDE:
                raise RequestError(f"{name} {value} is out of range ({spatial}..{MAX_SIDE} pixels)")
            if value % spatial:
                low = value // spatial * spatial
                raise RequestError(
                    f"{name} {value} is not a multiple of {spatial}; use {low} or {low + spatial}"
                )
        if self.recipe is not None and self.recipe not in RECIPES:
            raise RequestError(f"recipe '{self.recipe}' is unknown; use one of {', '.join(RECIPES)}")
        scale = self.upsampler_scale
        known = isinstance(scale, (int, float)) and not isinstance(scale, bool)
        if not known or float(scale) not in UPSAMPLER_SCALES:
            raise RequestError(
                f"upsampler scale {scale!r} is unknown; use {' or '.join(f'{s:g}' for s in UPSAMPLER_SCALES)}"
            )
        if self.recipe in TWO_STAGE_RECIPES:
            step = stage_1_size_step(spatial, scale)
            first = "at half size" if float(scale) == 2.0 else "at 2/3 size (the x1.5 upsampler)"
            for name, value in (("width", self.width), ("height", self.height)):
                if isinstance(value, int) and value % step:
                    low = max(step, value // step * step)
                    raise RequestError(
                        f"{name} {value} is not a multiple of {step}: the {self.recipe} recipe generates "
                        f"{first} first; use {low} or {low + step}"
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
        if self.steps is not None and (not isinstance(self.steps, int) or not 2 <= self.steps <= 200):
            raise RequestError(f"steps {self.steps} is out of range (2..200)")
        # Fields left None are the loaded model's reference values, filled (and checked) by the engine.
        if self.negative_prompt is not None and not isinstance(self.negative_prompt, str):
            raise RequestError("the negative prompt must be text")
        ranges = (
            ("guidance_scale", 1.0, 30.0, "1 disables guidance"),
            ("audio_guidance_scale", 1.0, 30.0, "1 disables guidance"),
            ("stg_scale", 0.0, 30.0, "0 disables STG"),
            ("audio_stg_scale", 0.0, 30.0, "0 disables STG"),
            ("modality_scale", 1.0, 30.0, "1 disables modality guidance"),
            ("audio_modality_scale", 1.0, 30.0, "1 disables modality guidance"),
            ("guidance_rescale", 0.0, 1.0, "0 disables rescaling"),
            ("audio_guidance_rescale", 0.0, 1.0, "0 disables rescaling"),
        )
        for name, low, high, note in ranges:
            value = getattr(self, name)
            if value is None:
                continue
            if not (
                isinstance(value, (int, float)) and math.isfinite(value) and low <= value <= high
            ):
                raise RequestError(f"{name} {value} is out of range ({low:g}..{high:g}; {note})")
        try:
            blocks = _blocks(self.stg_blocks) if self.stg_blocks is not None else ()
        except (TypeError, ValueError) as exc:
            raise RequestError(f"stg_blocks {self.stg_blocks!r} must be transformer block numbers") from exc
        if num_layers is not None and any(not 0 <= b < num_layers for b in blocks):
            raise RequestError(
                f"stg_blocks {list(blocks)} are outside this model's blocks 0..{num_layers - 1}"
            )
        if not isinstance(self.seed, int) or not 0 <= self.seed < 2**63:
            raise RequestError(f"seed {self.seed} must be an integer from 0 to 2^63-1")
        if not isinstance(self.preview_every, int) or self.preview_every < 0:
            raise RequestError("preview_every must be 0 (off) or a positive number of steps")
        for lora in self.loras or ():
            if not isinstance(lora, LoraChoice):
                raise RequestError(f"LoRA {lora!r} must be a LoraChoice(path, strength)")
            strength = lora.strength
            if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not (
                math.isfinite(strength) and -4.0 <= strength <= 4.0
            ):
                raise RequestError(f"LoRA {lora.path}: strength {strength} is out of range (-4..4)")
        for keyframe in self.keyframes:
            if not isinstance(keyframe, Keyframe):
                raise RequestError(f"keyframe {keyframe!r} must be a Keyframe(image, frame, strength)")
            index = keyframe.frame
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < frames:
                raise RequestError(
                    f"keyframe at frame {index} is outside the clip (frames 0..{frames - 1}); "
                    "use a frame index inside it"
                )
            strength = keyframe.strength
            if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not (
                math.isfinite(strength) and 0.0 <= strength <= 1.0
            ):
                raise RequestError(f"keyframe at frame {index}: strength {strength} is out of range (0..1)")
        if self.image is not None and any(k.frame == 0 for k in self.keyframes):
            raise RequestError("both a start image and a keyframe at frame 0 were given; use one of them")
        if max_sequence_length is not None and self.max_sequence_length % max_sequence_length:
            raise RequestError(
                f"max_sequence_length {self.max_sequence_length} must be a multiple of {max_sequence_length}"
            )

    def parameters(self) -> dict[str, Any]:
        """Everything needed to regenerate this clip, as plain JSON-able values."""
        params = dataclasses.asdict(dataclasses.replace(self, audio_prefix=None, audio_suffix=None))
        if params["stg_blocks"] is not None:
            params["stg_blocks"] = list(params["stg_blocks"])
        image = params.pop("image")
        params["image"] = _image_name(image)
        for name in ("audio_prefix", "audio_suffix"):
            if getattr(self, name) is not None:
                params[name] = f"<audio latents {list(np.shape(getattr(self, name)))}>"
        params["loras"] = [
            {"path": str(lora.path), "strength": float(lora.strength)} for lora in self.loras or ()
        ]
        params["keyframes"] = [
            {"image": _image_name(k.image), "frame": int(k.frame), "strength": float(k.strength)}
            for k in self.keyframes
        ]
        return params


def _image_name(image: Any) -> str | None:
    return str(image) if isinstance(image, (str, Path)) else ("<array>" if image is not None else None)


def _blocks(value: Any) -> tuple[int, ...]:
    if isinstance(value, (str, bytes)) or isinstance(value, bool):
        raise TypeError(value)
    blocks = tuple(value)
    if any(isinstance(b, bool) or int(b) != b for b in blocks):
        raise ValueError(value)
    return tuple(int(b) for b in blocks)


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
