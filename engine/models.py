"""One description per LTX-2 model version: everything in the house that depends on "which LTX-2" reads it.

A `ModelSpec` holds what Lightricks' reference pipelines (ltx-pipelines 1.2.0, `utils/constants.py`) and the
checkpoint's own config say about a version: the latent grid, the size and length rules, the sigma schedule,
the guidance defaults (CFG, STG and its blocks, modality guidance, rescale), the default negative prompt, the
audio output rate, and which recipes and conditionings the version supports. A new version is one more spec
(and a loader), not edits across engine, app and ui.

`detect_spec` picks the spec of a checkpoint from its `model_version` safetensors metadata (what ltx-pipelines
reads), falling back to features of its config when that entry is missing.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from engine.errors import RequestError

# ltx-pipelines' DEFAULT_NEGATIVE_PROMPT (constants.py), the negative prompt every reference recipe uses.
REFERENCE_NEGATIVE_PROMPT = (
    "has_subtitles, has_blurbox, transition from black, transition to black, speech_ending_short, "
    "blurry, out of focus, overexposed, underexposed, low contrast, washed out colors, excessive noise, "
    "grainy texture, poor lighting, flickering, motion blur, distorted proportions, unnatural skin tones, "
    "deformed facial features, asymmetrical face, missing facial features, extra limbs, disfigured hands, "
    "wrong hand count, artifacts around text, inconsistent perspective, camera shake, incorrect depth of "
    "field, background too sharp, background clutter, distracting reflections, harsh shadows, inconsistent "
    "lighting direction, color banding, cartoonish rendering, 3D CGI look, unrealistic materials, uncanny "
    "valley effect, incorrect ethnicity, wrong gender, exaggerated expressions, wrong gaze direction, "
    "mismatched lip sync, silent or muted audio, distorted voice, robotic voice, echo, background noise, "
    "off-sync audio, incorrect dialogue, added dialogue, repetitive speech, jittery movement, awkward "
    "pauses, incorrect timing, unnatural transitions, inconsistent framing, tilted camera, flat lighting, "
    "inconsistent tone, cinematic oversaturation, stylized filters, or AI artifacts."
)

# The distilled recipes' fixed schedules (ltx-pipelines DISTILLED_SIGMA_VALUES, STAGE_2_...).
DISTILLED_SIGMAS = (1.0, 0.99375, 0.9875, 0.98125, 0.975, 0.909375, 0.725, 0.421875, 0.0)
STAGE_2_DISTILLED_SIGMAS = (0.909375, 0.725, 0.421875, 0.0)


@dataclass(frozen=True)
class GuidanceParams:
    """One modality's guidance, as ltx-core's `MultiModalGuiderParams`.

    pred = c + (cfg - 1)(c - uncond) + stg (c - perturbed) + (modality - 1)(c - isolated), then, with
    rescale r != 0, pred * (r * std(c) / std(pred) + 1 - r) with the std over the whole tensor.
    """

    cfg_scale: float = 1.0
    stg_scale: float = 0.0
    stg_blocks: tuple[int, ...] = ()
    rescale_scale: float = 0.0
    modality_scale: float = 1.0


@dataclass(frozen=True)
class SigmaSchedule:
    """ltx-core's `LTX2Scheduler().execute(steps)`: linspace(1, 0, N+1), shifted by the shift of
    `shift_tokens` tokens (linear in tokens between (1024, base_shift) and (4096, max_shift)), then stretched
    so the last non-zero sigma is `terminal`. The reference pipelines pass no latent, so the shift is that
    of 4096 tokens at every size."""

    shift_tokens: int = 4096
    base_shift: float = 0.95
    max_shift: float = 2.05
    terminal: float = 0.1
    stretch: bool = True

    def shift(self, tokens: int | None = None) -> float:
        tokens = self.shift_tokens if tokens is None else tokens
        slope = (self.max_shift - self.base_shift) / (4096 - 1024)
        return tokens * slope + (self.base_shift - slope * 1024)

    def sigmas(self, steps: int, tokens: int | None = None):
        """float32 tensor [steps + 1], from 1 down to 0 (computed the way the reference computes it)."""
        import torch

        if steps < 1:
            raise RequestError(f"steps {steps} must be at least 1")
        sigmas = torch.linspace(1.0, 0.0, steps + 1)
        shift = math.exp(self.shift(tokens))
        sigmas = torch.where(sigmas != 0, shift / (shift + (1 / sigmas - 1)), 0)
        if self.stretch:
            nonzero = sigmas != 0
            one_minus = 1.0 - sigmas[nonzero]
            factor = one_minus[-1] / (1.0 - self.terminal)
            sigmas[nonzero] = 1.0 - one_minus / factor
        return sigmas.to(torch.float32)


@dataclass(frozen=True)
class ModelSpec:
    """Everything version-dependent about one LTX-2 model generation."""

    version: str  # "2.0", "2.3", "2.5"
    name: str  # what a user reads: "LTX-2.0"
    # latent grid: one latent is `spatial_ratio` pixels square and `temporal_ratio` frames (plus the causal
    # first frame), so sizes are multiples of 32 and frame counts 8k+1
    spatial_ratio: int = 32
    temporal_ratio: int = 8
    latent_channels: int = 128
    audio_latents_per_second: float = 25.0  # 16 kHz mel, hop 160, x4 temporal compression
    max_side: int = 4096
    max_frames: int = 8 * 64 + 1
    # RoPE positions are seconds / positional_embedding_max_pos[0]; past it positions leave the trained range
    max_seconds: float = 20.0
    default_width: int = 768
    default_height: int = 512
    default_frames: int = 121
    default_fps: float = 24.0
    # sampler and guidance (the reference's one-stage recipe for this version)
    steps: int = 40
    sigma_schedule: SigmaSchedule = field(default_factory=SigmaSchedule)
    sampler: str = "euler"  # x0 model + Euler: x <- x + (s' - s)(x - x0)/s
    video_guidance: GuidanceParams = field(default_factory=GuidanceParams)
    audio_guidance: GuidanceParams = field(default_factory=GuidanceParams)
    negative_prompt: str = REFERENCE_NEGATIVE_PROMPT
    # With per-token timesteps (image-to-video, inpainting), what each stream's audio-video cross-attention
    # AdaLNs see: "other_sigma" = both the other modality's sigma (ltx-core 1.0, which the 2.0 reference
    # fixture reproduces); "own_timesteps_other_gate" = scale/shift the stream's own per-token timesteps, gate
    # the other modality's sigma (ltx-core 1.1.4 on, the implementation the 2.3 and 2.5 references come from)
    cross_modal_timestep: str = "other_sigma"
    distilled_sigmas: tuple[float, ...] = DISTILLED_SIGMAS
    stage_2_distilled_sigmas: tuple[float, ...] = STAGE_2_DISTILLED_SIGMAS
    distilled_stage_1_sampler: str = "euler"
    # audio out
    audio_sample_rate: int = 24000
    audio_bandwidth_extension: bool = False
    # text encoder family
    text_encoder: str = "gemma3"
    # what the studio can do with this version
    # the generation recipes (engine/recipes.py); every version's release has a distilled checkpoint, a
    # distilled LoRA for its dev checkpoint and an x2 latent spatial upsampler, so every version lists
    # "two-stage-full" (ltx-pipelines' TI2VidTwoStagesPipeline, in ltx-pipelines since 1.0 / LTX-2.0); an
    # engine offers it only for a dev checkpoint with the distilled LoRA and the upsampler at hand
    # (`Engine.recipes`)
    recipes: tuple[str, ...] = ("full", "distilled", "two-stage", "two-stage-full")
    # the latent spatial upsampler scales the release publishes (LTX-2.3 adds an x1.5 one)
    upsampler_scales: tuple[float, ...] = (2.0,)
    tasks: tuple[str, ...] = ("text-to-video", "image-to-video", "keyframes", "extend", "inpaint")
    conditioning: tuple[str, ...] = ("first-frame image", "inpaint mask")
    default_image_crf: int = 33
    has_duration_head: bool = False

    # --- size and length rules --------------------------------------------------------------------------

    def latent_shape(self, width: int, height: int, num_frames: int) -> tuple[int, int, int]:
        """(F, H, W) of the video latent grid."""
        return (
            (num_frames - 1) // self.temporal_ratio + 1,
            height // self.spatial_ratio,
            width // self.spatial_ratio,
        )

    def audio_latent_frames(self, num_frames: int, fps: float) -> int:
        return round(num_frames / fps * self.audio_latents_per_second)

    def nearest_size(self, value: int) -> int:
        return max(self.spatial_ratio, round(value / self.spatial_ratio) * self.spatial_ratio)

    def nearest_frames(self, frames: int) -> int:
        return max(1, round((frames - 1) / self.temporal_ratio) * self.temporal_ratio + 1)

    def max_frames_at(self, fps: float) -> int:
        """The longest valid frame count (8k+1) within the RoPE length limit at `fps`."""
        frames = int(math.floor(self.max_seconds * fps + 1e-9))
        frames = (frames - 1) // self.temporal_ratio * self.temporal_ratio + 1
        return max(1, min(frames, self.max_frames))

    def check_length(self, num_frames: int, fps: float) -> None:
        """Refuse clips longer than the model's positional range, saying how long they may be."""
        if num_frames / fps > self.max_seconds + 1e-9:
            raise RequestError(
                f"{num_frames} frames at {fps:g} fps last {num_frames / fps:.1f} s; {self.name} positions "
                f"only cover {self.max_seconds:g} s, use at most {self.max_frames_at(fps)} frames"
            )

    # --- defaults -------------------------------------------------------------------------------------------

    def sigmas(self, steps: int | None = None):
        return self.sigma_schedule.sigmas(self.steps if steps is None else steps)

    def guidance_defaults(self) -> dict[str, Any]:
        """The GenerationRequest guidance fields at this version's reference values."""
        v, a = self.video_guidance, self.audio_guidance
        return {
            "steps": self.steps,
            "negative_prompt": self.negative_prompt,
            "guidance_scale": v.cfg_scale,
            "audio_guidance_scale": a.cfg_scale,
            "stg_scale": v.stg_scale,
            "audio_stg_scale": a.stg_scale,
            "stg_blocks": v.stg_blocks,
            "modality_scale": v.modality_scale,
            "audio_modality_scale": a.modality_scale,
            "guidance_rescale": v.rescale_scale,
            "audio_guidance_rescale": a.rescale_scale,
        }

    def with_num_layers(self, num_layers: int) -> ModelSpec:
        """This spec for a transformer with `num_layers` blocks: STG blocks past the end move to the last
        block (as the reference's fixtures do for tiny models), so STG never silently does nothing."""

        def fit(params: GuidanceParams) -> GuidanceParams:
            blocks = tuple(b if b < num_layers else num_layers - 1 for b in params.stg_blocks)
            return replace(params, stg_blocks=tuple(dict.fromkeys(blocks)))

        return replace(self, video_guidance=fit(self.video_guidance), audio_guidance=fit(self.audio_guidance))


_GUIDANCE_20_VIDEO = GuidanceParams(
    cfg_scale=3.0, stg_scale=1.0, stg_blocks=(29,), rescale_scale=0.7, modality_scale=3.0
)
_GUIDANCE_20_AUDIO = GuidanceParams(
    cfg_scale=7.0, stg_scale=1.0, stg_blocks=(29,), rescale_scale=0.7, modality_scale=3.0
)

LTX_2_0 = ModelSpec(
    version="2.0",
    name="LTX-2.0",
    steps=40,
    video_guidance=_GUIDANCE_20_VIDEO,
    audio_guidance=_GUIDANCE_20_AUDIO,
)

LTX_2_3 = replace(
    LTX_2_0,
    version="2.3",
    name="LTX-2.3",
    steps=30,
    video_guidance=replace(_GUIDANCE_20_VIDEO, stg_blocks=(28,)),
    audio_guidance=replace(_GUIDANCE_20_AUDIO, stg_blocks=(28,)),
    audio_sample_rate=48000,
    audio_bandwidth_extension=True,
    cross_modal_timestep="own_timesteps_other_gate",
    conditioning=(
        "first-frame image", "inpaint mask", "spatial upscaler x2", "spatial upscaler x1.5", "LoRA"
    ),
    upsampler_scales=(2.0, 1.5),  # ltx-2.3-spatial-upscaler-x1.5-1.0.safetensors
)

# 2.4 and later inherit 2.3's knobs in ltx-pipelines (LTX_2_4_PARAMS: 30 steps, STG block 28, image CRF 18);
# 2.5 adds Gemma 4, the duration head and ancestral Euler for the distilled stage 1.
LTX_2_5 = replace(
    LTX_2_3,
    version="2.5",
    name="LTX-2.5",
    default_image_crf=18,
    distilled_stage_1_sampler="euler_ancestral",
    text_encoder="gemma4",
    has_duration_head=True,
    upsampler_scales=(2.0,),  # the 2.5 release publishes only the x2 spatial upscaler
    conditioning=(
        "first-frame image",
        "inpaint mask",
        "spatial upscaler x2",
        "LoRA",
        "duration head",
    ),
)

SPECS: dict[str, ModelSpec] = {spec.version: spec for spec in (LTX_2_0, LTX_2_3, LTX_2_5)}


def parse_version(text: str | None) -> tuple[int, ...]:
    """'2.3.0', '2.4-rc2' -> (2, 3, 0), (2, 4); () when absent or unreadable (older than any)."""
    if not text:
        return ()
    numbers = re.findall(r"\d+", str(text).replace("-", ".").split("rc")[0])
    return tuple(int(n) for n in numbers[:3])


def spec_for_version(version: str | tuple[int, ...] | None) -> ModelSpec:
    """The spec of the newest known generation at or below `version` (ltx-pipelines' rule); 2.0 if unknown."""
    parsed = parse_version(version) if not isinstance(version, tuple) else version
    chosen = LTX_2_0
    for spec in sorted(SPECS.values(), key=lambda s: parse_version(s.version)):
        if parsed >= parse_version(spec.version):
            chosen = spec
    return chosen


def detect_spec(metadata: dict[str, Any] | None = None, config: dict[str, Any] | None = None) -> ModelSpec:
    """A checkpoint's spec from its safetensors metadata (`model_version`) or, failing that, its config.

    Config features: Gemma-4 source or a duration head -> 2.5; gated attention, prompt AdaLN or
    per-modality text projections -> 2.3; otherwise 2.0.
    """
    metadata = metadata or {}
    if metadata.get("model_version"):
        return spec_for_version(str(metadata["model_version"]))
    if config is None and isinstance(metadata.get("config"), str):
        try:
            config = json.loads(metadata["config"])
        except json.JSONDecodeError:
            config = None
    gemma = metadata.get("gemma_source_checkpoint", "")
    if "gemma4" in str(gemma).lower():
        return LTX_2_5
    transformer = (config or {}).get("transformer", config or {})
    if not isinstance(transformer, dict):
        return LTX_2_0
    # official config keys, then diffusers' (a diffusers folder's transformer/config.json)
    if transformer.get("use_keyframes_abs_pos_embedding") or transformer.get("ff_bias") is False:
        return LTX_2_5
    if any(
        transformer.get(key)
        for key in (
            "apply_gated_attention",
            "cross_attention_adaln",
            "caption_proj_before_connector",
            "gated_attn",
            "cross_attn_mod",
        )
    ):
        return LTX_2_3
    return LTX_2_0


def spec_for_file(path: str | Path) -> ModelSpec:
    """The spec of a single safetensors file (the 2.0 / 2.3 monolith or a 2.5 transformer file)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
    return detect_spec(metadata)


def spec_for_transformer(spec: ModelSpec, num_layers: int) -> ModelSpec:
    """`spec` adjusted to a loaded transformer's depth (see `ModelSpec.with_num_layers`)."""
    return spec.with_num_layers(num_layers)
