"""The public engine runtime that generation and inpainting share.

It owns the loaded modules and does, once for every caller: prompt encoding (Gemma -> feature extractor ->
connectors), latent packing and (de)normalisation, RoPE positions, one transformer call with the reference's
perturbations (STG, modality isolation), the guided x0 of one step, the Euler denoising loop with per-token
denoise masks, x0 previews, step reporting with cancel, and tiled decoding.

The sampler follows Lightricks' reference (ltx-core / ltx-pipelines): the transformer predicts a velocity,
x0 = latent - timesteps * velocity with per-token timesteps = denoise mask x sigma, each guidance pass's x0 is
combined by `guide` (ltx-core's `MultiModalGuider.calculate`), kept tokens are blended back to their clean
values, and an Euler step moves the latent: x <- x + (sigma' - sigma) * (x - x0) / sigma. diffusers'
`LTX2Pipeline` guides differently (rescale per sample, STG on both streams of a block, sigma shift by token
count), so the loop is ours and the modules are diffusers'.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch
from diffusers.models.transformers.transformer_ltx2 import LTX2AudioVideoAttnProcessor

from engine.components import ModelComponents
from engine.errors import GenerationCancelled, RequestError
from engine.models import GuidanceParams, ModelSpec
from engine.request import PreviewFrame
from engine.sampling import euler_ancestral_step
from engine.text_encoder import TextEncoder
from engine.tiling import TilePlan, apply_plan, available_memory, fit_tiles, plan_tiles

# Fraction of generation time previews may use; previews are skipped when they would exceed it.
PREVIEW_BUDGET = 0.05

ProgressCallback = Callable[[int, int], None]
SAMPLERS = ("euler", "euler_ancestral")
PreviewCallback = Callable[[PreviewFrame], None]


# ------------------------------------------------------------------------------------------- perturbations


class SkippableSelfAttnProcessor(LTX2AudioVideoAttnProcessor):
    """LTX-2 self-attention that can be switched to its value projection (the STG perturbation).

    With `skip` True, the attention output is the value projection of the input (then the gate, when the
    model has one, and the output projection), as ltx-core's `SKIP_VIDEO_SELF_ATTN` / `SKIP_AUDIO_SELF_ATTN`;
    a bool tensor [B] skips only the samples where it is True (guidance passes batched in one call). Being
    set per module, video and audio can be perturbed on different blocks in one pass, as in the reference.
    """

    def __init__(self):
        super().__init__()
        self.skip: bool | torch.Tensor = False

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None,
                 query_rotary_emb=None, key_rotary_emb=None, perturbation_mask=None, all_perturbed=None):
        skip = self.skip
        if skip is False:
            return super().__call__(
                attn, hidden_states, encoder_hidden_states, attention_mask, query_rotary_emb, key_rotary_emb
            )
        source = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        out = attn.to_v(source)
        if attn.to_gate_logits is not None:
            gates = 2.0 * torch.sigmoid(attn.to_gate_logits(hidden_states))
            out = (out.unflatten(2, (attn.heads, -1)) * gates.unsqueeze(-1)).flatten(2, 3)
        out = attn.to_out[1](attn.to_out[0](out))
        if skip is True:
            return out
        full = super().__call__(
            attn, hidden_states, encoder_hidden_states, attention_mask, query_rotary_emb, key_rotary_emb
        )
        return torch.where(skip.to(out.device).view(-1, 1, 1), out, full)


def install_stg(transformer: torch.nn.Module) -> None:
    """Give every block's video and audio self-attention a `SkippableSelfAttnProcessor` (idempotent)."""
    for block in transformer.transformer_blocks:
        # diffusers' own perturbation plumbing stays off: it perturbs both streams of a block together.
        block.perturbed_attn = False
        for attn in (block.attn1, block.audio_attn1):
            if not isinstance(attn.processor, SkippableSelfAttnProcessor):
                attn.set_processor(SkippableSelfAttnProcessor())


class _Perturbed:
    """Context: skip the video self-attention on `video_blocks` and the audio one on `audio_blocks`, for
    every sample, or for the samples where `samples` [B] is True."""

    def __init__(self, transformer, video_blocks=(), audio_blocks=(), samples: torch.Tensor | None = None):
        blocks = transformer.transformer_blocks
        self.processors = [blocks[i].attn1.processor for i in video_blocks if 0 <= i < len(blocks)]
        self.processors += [blocks[i].audio_attn1.processor for i in audio_blocks if 0 <= i < len(blocks)]
        self.skip = True if samples is None else samples.bool()

    def __enter__(self):
        for processor in self.processors:
            processor.skip = self.skip

    def __exit__(self, *exc):
        for processor in self.processors:
            processor.skip = False


# How each stream's audio-video cross-attention AdaLNs are timed when tokens have their own timesteps:
# "other_sigma" (ltx-core 1.0): scale/shift and gate both see the other modality's sigma;
# "own_timesteps_other_gate" (ltx-core 1.1.4 on): scale/shift see the stream's own per-token timesteps, the
# gate the other modality's sigma. Identical when every token has the same timestep (text-to-video).
CROSS_MODAL_TIMESTEP_RULES = ("other_sigma", "own_timesteps_other_gate")


class _GateTimesteps:
    """Context: feed the cross-attention gate AdaLNs the other modality's sigma (already scaled by the gate
    multiplier), whatever timestep diffusers' transformer hands them."""

    def __init__(self, transformer, video_gate: torch.Tensor, audio_gate: torch.Tensor):
        self.hooks = []
        self.targets = (
            (transformer.av_cross_attn_video_a2v_gate, video_gate),
            (transformer.av_cross_attn_audio_v2a_gate, audio_gate),
        )

    def __enter__(self):
        for module, value in self.targets:
            self.hooks.append(module.register_forward_pre_hook(lambda _m, args, v=value: (v, *args[1:])))

    def __exit__(self, *exc):
        for hook in self.hooks:
            hook.remove()
        self.hooks = []


# ------------------------------------------------------------------------------------------------ guidance


def guide(
    params: GuidanceParams,
    cond: torch.Tensor,
    uncond: torch.Tensor | None = None,
    perturbed: torch.Tensor | None = None,
    isolated: torch.Tensor | None = None,
) -> torch.Tensor:
    """ltx-core's `MultiModalGuider.calculate`: c + (cfg-1)(c-u) + stg(c-p) + (mod-1)(c-m), then rescale
    by r * std(c) / std(pred) + 1 - r with the std over the whole tensor."""
    cond = cond.float()
    pred = cond
    if uncond is not None and not math.isclose(params.cfg_scale, 1.0):
        pred = pred + (params.cfg_scale - 1) * (cond - uncond.float())
    if perturbed is not None and not math.isclose(params.stg_scale, 0.0):
        pred = pred + params.stg_scale * (cond - perturbed.float())
    if isolated is not None and not math.isclose(params.modality_scale, 1.0):
        pred = pred + (params.modality_scale - 1) * (cond - isolated.float())
    if params.rescale_scale != 0:
        factor = cond.std() / pred.std()
        pred = pred * (params.rescale_scale * factor + (1 - params.rescale_scale))
    return pred


# ------------------------------------------------------------------------------------------------ state


@dataclass
class PromptContexts:
    """What the transformer's cross-attention receives (before its caption projection), per prompt."""

    video: torch.Tensor  # [1, L, D]
    audio: torch.Tensor
    negative_video: torch.Tensor | None = None
    negative_audio: torch.Tensor | None = None


@dataclass
class LatentState:
    """One modality being denoised, in packed tokens [1, S, C] (float32, denoiser space).

    `mask` [1, S, 1] is the denoise mask: 1 = generate, 0 = keep `clean`, in between = partial (inpaint
    strength). `coords` are the RoPE positions [1, dims, S, 2].
    """

    latent: torch.Tensor
    mask: torch.Tensor
    clean: torch.Tensor
    coords: torch.Tensor

    @classmethod
    def from_noise(cls, noise, coords, clean=None, mask=None) -> LatentState:
        """The reference's noiser: latent = noise * mask + clean * (1 - mask)."""
        clean = torch.zeros_like(noise) if clean is None else clean.to(noise)
        mask = torch.ones_like(noise[..., :1]) if mask is None else mask.to(noise)
        return cls(noise * mask + clean * (1 - mask), mask, clean, coords)


@dataclass
class StepInfo:
    """What a step reports: the step just finished and the guided x0 it used (packed video tokens)."""

    step: int
    steps: int
    video_x0: torch.Tensor
    audio_x0: torch.Tensor


@dataclass(frozen=True)
class StageProgress:
    """Where a multi-stage run is: stage `stage` of `stages`, step `step` of that stage's `steps`."""

    stage: int
    stages: int
    step: int
    steps: int
    # the share of the whole run's transformer work done (steps x tokens x guidance passes, over every
    # stage): a stage-2 step at twice the size weighs four stage-1 steps, so an ETA from it is fair
    fraction: float = 0.0

    def label(self) -> str:
        """"stage 1/2, step 5/8" (or "step 5/8" for a one-stage recipe)."""
        step = f"step {self.step}/{self.steps}"
        return f"stage {self.stage}/{self.stages}, {step}" if self.stages > 1 else step


StageCallback = Callable[[StageProgress], None]


class StepReporter:
    """Progress, cancel and throttled previews for one denoising run (generation and inpainting alike).

    `make_preview(info)` returns an [H, W, 3] uint8 image; previews come every `every` steps, never on the
    last step, and are skipped when they would take more than PREVIEW_BUDGET of the elapsed time.

    A recipe with several stages (two-stage: half size, then the refine) runs one denoising loop per stage
    on the same reporter: `begin_stage` tells it which; `on_progress` then receives the step over all stages
    (step 9 of 11 = stage 2, step 1 of 3), so a progress bar and an ETA need nothing more, and `on_stage`
    (optional) a `StageProgress` after every step.
    """

    def __init__(
        self,
        steps: int,
        on_progress: ProgressCallback | None = None,
        on_preview: PreviewCallback | None = None,
        cancel: threading.Event | None = None,
        every: int = 4,
        make_preview: Callable[[StepInfo], np.ndarray] | None = None,
        budget: float | None = None,
    ):
        self.steps = steps
        self.on_progress = on_progress
        self.on_preview = on_preview if make_preview is not None else None
        self.cancel = cancel
        self.every = every if self.on_preview else 0
        self.make_preview = make_preview
        self.budget = PREVIEW_BUDGET if budget is None else budget
        self.start = time.perf_counter()
        self.spent = 0.0
        self.last_cost: float | None = None
        self.count = 0
        self.total = steps
        self.offset = 0
        self.stage = (1, 1, steps)
        self.work = (0.0, 1.0, float(max(steps, 1)))
        self.on_stage: StageCallback | None = None

    def begin_stage(
        self,
        stage: int,
        stages: int,
        steps: int,
        offset: int,
        total: int,
        work_before: float = 0.0,
        step_work: float = 1.0,
        total_work: float | None = None,
    ) -> None:
        """The next loop is stage `stage` of `stages`, `steps` steps after `offset` of `total` overall;
        `work_before`, `step_work` and `total_work` weigh its steps for `StageProgress.fraction`."""
        self.stage, self.offset, self.total = (stage, stages, steps), offset, total
        self.work = (work_before, step_work, total_work if total_work else float(total))

    def check_cancel(self, step: int) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise GenerationCancelled(step)

    def due(self, step: int) -> bool:
        if self.every <= 0 or step % self.every or step >= self.total:
            return False
        if self.last_cost is None:
            return True
        elapsed = time.perf_counter() - self.start
        return self.spent + self.last_cost <= self.budget * (elapsed + self.last_cost)

    def __call__(self, info: StepInfo) -> None:
        step = self.offset + info.step
        total = max(self.total, step)
        if self.on_stage is not None:  # before on_progress: an ETA computed there can use the fraction
            stage, stages, _ = self.stage
            before, per_step, whole = self.work
            fraction = min(1.0, (before + per_step * info.step) / whole)
            self.on_stage(StageProgress(stage, stages, info.step, info.steps, fraction))
        if self.on_progress is not None:
            self.on_progress(step, total)
        self.check_cancel(step)
        if self.on_preview is not None and self.due(step):
            t0 = time.perf_counter()
            self.on_preview(PreviewFrame(step, total, self.make_preview(info)))
            cost = time.perf_counter() - t0
            self.spent += cost
            self.last_cost = cost
            self.count += 1

    def stats(self, denoise_seconds: float) -> dict[str, float]:
        return {
            "count": self.count,
            "seconds": self.spent,
            "fraction": self.spent / max(denoise_seconds, 1e-9),
        }


# ltx-core's AudioProcessor: n_fft (and window) of the audio VAE's mel spectrogram, the release configs'
# `preprocessing.stft.filter_length` (diffusers' audio VAE config does not carry it)
AUDIO_N_FFT = 1024


def resample(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    """[channels, samples] float32 from `rate` to `target` Hz with FFmpeg's resampler (PyAV), same length in
    seconds (rounded to a sample)."""
    import av

    layout = {1: "mono", 2: "stereo"}.get(audio.shape[0])
    if layout is None:
        raise RequestError(f"source sound has {audio.shape[0]} channels; use mono or stereo")
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=target)
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio, dtype=np.float32), format="fltp",
                                       layout=layout)
    frame.sample_rate = rate
    chunks = [f.to_ndarray() for f in [*resampler.resample(frame), *resampler.resample(None)]]
    out = np.concatenate(chunks, axis=1) if chunks else np.zeros((audio.shape[0], 0), np.float32)
    return fit_length(out.astype(np.float32), round(audio.shape[1] * target / rate))


def fit_length(audio: np.ndarray, samples: int) -> np.ndarray:
    """Pad with silence or trim so the sound lasts exactly as long as the video.

    The audio latent grid is 40 ms coarse, so the decoded waveform is up to a few tens of ms off.
    """
    if audio.shape[1] >= samples:
        return audio[:, :samples]
    return np.pad(audio, ((0, 0), (0, samples - audio.shape[1])))


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """[3, H, W] in -1..1 -> [H, W, 3] uint8."""
    array = ((image.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return array.permute(1, 2, 0).cpu().numpy()


# ------------------------------------------------------------------------------------------------ runtime


class Runtime:
    """Loaded LTX-2 modules plus everything generation and inpainting do with them."""

    def __init__(
        self,
        components: ModelComponents,
        text_encoder: TextEncoder,
        spec: ModelSpec,
        *,
        device: torch.device,
        dtype: torch.dtype,
        offload_text_encoder: bool = False,
        vae_memory_budget: int | None = None,
        planned_tiles: TilePlan | None = None,
    ):
        self.components = components
        self.text_encoder = text_encoder
        self.device = device
        self.dtype = dtype
        self.offload_text_encoder = offload_text_encoder
        self.vae_memory_budget = vae_memory_budget
        # a memory plan's VAE tiles (engine.planner.MemoryPlan.vae_tiles): decodes use its tile sizes unless
        # an explicit `vae_memory_budget` is set
        self.planned_tiles = planned_tiles
        self.last_tile_plan: TilePlan | None = None
        transformer = components.transformer
        self.spec = spec.with_num_layers(len(transformer.transformer_blocks))
        install_stg(transformer)

    # --- grid -----------------------------------------------------------------------------------------------

    @property
    def spatial_ratio(self) -> int:
        return int(getattr(self.components.vae, "spatial_compression_ratio", self.spec.spatial_ratio))

    @property
    def temporal_ratio(self) -> int:
        return int(getattr(self.components.vae, "temporal_compression_ratio", self.spec.temporal_ratio))

    @property
    def audio_sample_rate(self) -> int:
        return int(self.components.vocoder.config.output_sampling_rate)

    def latent_grid(self, width: int, height: int, num_frames: int) -> tuple[int, int, int]:
        return (
            (num_frames - 1) // self.temporal_ratio + 1,
            height // self.spatial_ratio,
            width // self.spatial_ratio,
        )

    def audio_latent_frames(self, num_frames: int, fps: float) -> int:
        audio_vae = self.components.audio_vae.config
        per_second = audio_vae.sample_rate / audio_vae.mel_hop_length / self._audio_temporal_ratio()
        return round(num_frames / fps * per_second)

    def _audio_temporal_ratio(self) -> int:
        return int(getattr(self.components.audio_vae, "temporal_compression_ratio", 4))

    def audio_latent_shape(self, num_frames: int, fps: float) -> tuple[int, int, int]:
        """(channels, T, mel) of the audio latent."""
        config = self.components.audio_vae.config
        mel = config.mel_bins // int(getattr(self.components.audio_vae, "mel_compression_ratio", 4))
        return int(config.latent_channels), self.audio_latent_frames(num_frames, fps), mel

    # --- packing --------------------------------------------------------------------------------------------

    @staticmethod
    def pack_video(latents: torch.Tensor) -> torch.Tensor:
        """[B, C, F, H, W] -> [B, F*H*W, C] (frame-major, then row, then column)."""
        return latents.flatten(2).transpose(1, 2)

    @staticmethod
    def unpack_video(tokens: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
        f, h, w = grid
        return tokens.transpose(1, 2).unflatten(2, (f, h, w))

    @staticmethod
    def pack_audio(latents: torch.Tensor) -> torch.Tensor:
        """[B, C, T, M] -> [B, T, C*M] (channel-major)."""
        return latents.transpose(1, 2).flatten(2)

    @staticmethod
    def unpack_audio(tokens: torch.Tensor, channels: int) -> torch.Tensor:
        return tokens.unflatten(2, (channels, -1)).transpose(1, 2)

    def video_coords(self, grid: tuple[int, int, int], fps: float) -> torch.Tensor:
        f, h, w = grid
        return self.components.transformer.rope.prepare_video_coords(1, f, h, w, self.device, fps=fps)

    def audio_coords(self, frames: int) -> torch.Tensor:
        return self.components.transformer.audio_rope.prepare_audio_coords(1, frames, self.device)

    # --- normalisation --------------------------------------------------------------------------------------

    def _video_stats(self, device):
        vae = self.components.vae
        shape = (1, -1, 1, 1, 1)
        mean = vae.latents_mean.view(shape).float().to(device)
        std = vae.latents_std.view(shape).float().to(device)
        return mean, std, float(vae.config.scaling_factor)

    def normalize_video(self, latents: torch.Tensor) -> torch.Tensor:
        """VAE space -> denoiser space."""
        mean, std, scale = self._video_stats(latents.device)
        return (latents.float() - mean) * scale / std

    def denormalize_video(self, latents: torch.Tensor) -> torch.Tensor:
        mean, std, scale = self._video_stats(latents.device)
        return latents.float() * std / scale + mean

    def _audio_stats(self, latents: torch.Tensor):
        audio_vae = self.components.audio_vae
        channels, mel = latents.shape[1], latents.shape[3]
        mean = audio_vae.latents_mean.float().to(latents.device).view(channels, mel)
        std = audio_vae.latents_std.float().to(latents.device).view(channels, mel)
        return mean[None, :, None, :], std[None, :, None, :]

    def normalize_audio(self, latents: torch.Tensor) -> torch.Tensor:
        mean, std = self._audio_stats(latents)
        return (latents.float() - mean) / std

    def denormalize_audio(self, latents: torch.Tensor) -> torch.Tensor:
        mean, std = self._audio_stats(latents)
        return latents.float() * std + mean

    # --- text -----------------------------------------------------------------------------------------------

    def tokenize(self, prompt: str, max_sequence_length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Gemma ids and attention mask [1, L] of the stripped prompt, left-padded to L (the reference's)."""
        tokenizer = self.text_encoder.tokenizer
        tokenizer.padding_side = "left"
        tokens = tokenizer(
            [prompt.strip()],
            padding="max_length",
            max_length=max_sequence_length,
            truncation=True,
            add_special_tokens=True,
            return_tensors="pt",
        )
        return tokens.input_ids, tokens.attention_mask

    def text_hidden_states(self, prompt: str, max_sequence_length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Every Gemma hidden state of the stripped, left-padded prompt: ([1, L, D, layers+1], [1, L])."""
        ids, mask = self.tokenize(prompt, max_sequence_length)
        model = self.text_encoder.model
        device = next(model.parameters()).device
        ids, mask = ids.to(device), mask.to(device)
        outputs = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        return torch.stack(outputs.hidden_states, dim=-1), mask

    def encode_text(self, prompt: str, max_sequence_length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(video context, audio context) [1, L, D] of one prompt, as the transformer receives them."""
        hidden, mask = self.text_hidden_states(prompt, max_sequence_length)
        connectors = self.components.connectors
        hidden = hidden.to(self.device, self.dtype).flatten(2, 3)
        video, audio, _ = connectors(hidden, mask.to(self.device), padding_side="left")
        return video, audio

    def encode_prompts(
        self, prompt: str, negative_prompt: str | None, max_sequence_length: int
    ) -> PromptContexts:
        """Positive contexts, and the negative ones unless `negative_prompt` is None (no CFG pass needed)."""
        model = self.text_encoder.model
        if self.offload_text_encoder:
            model.to(self.device)
        try:
            with torch.no_grad():
                video, audio = self.encode_text(prompt, max_sequence_length)
                negative = (
                    self.encode_text(negative_prompt, max_sequence_length)
                    if negative_prompt is not None
                    else (None, None)
                )
        finally:
            if self.offload_text_encoder:
                model.to("cpu")
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
        return PromptContexts(video, audio, *negative)

    # --- the transformer ------------------------------------------------------------------------------------

    def velocity(
        self,
        video: torch.Tensor,
        audio: torch.Tensor,
        video_context: torch.Tensor,
        audio_context: torch.Tensor,
        video_timesteps: torch.Tensor,
        audio_timesteps: torch.Tensor,
        video_sigma: torch.Tensor,
        audio_sigma: torch.Tensor,
        video_coords: torch.Tensor,
        audio_coords: torch.Tensor,
        *,
        video_stg_blocks: tuple[int, ...] = (),
        audio_stg_blocks: tuple[int, ...] = (),
        isolate_modalities: bool = False,
        stg_samples: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One transformer call: raw velocities (float32) of packed video [B, S, C] and audio [B, T, C].

        Timesteps are per token ([B, S] or [B, S, 1], sigma x denoise mask, in 0..1); sigmas are per sample
        ([B], or one for all). Each stream's audio-video cross-attention AdaLN sees the other modality's
        sigma (ltx-core). The STG blocks are perturbed for every sample, or those where `stg_samples` is True.
        """
        transformer = self.components.transformer
        scale = float(transformer.config.timestep_scale_multiplier)
        batch = video.shape[0]

        def per_token(t: torch.Tensor, tokens: int) -> torch.Tensor:
            t = t.to(self.device, torch.float32).reshape(batch, -1)
            if t.shape[1] == 1 or bool((t == t[:, :1]).all()):
                # one timestep per sample: the AdaLN runs once, not once per token (same values)
                return t[:, 0]
            return t

        dtype = self.dtype
        keyframes = None
        if getattr(transformer.config, "use_keyframes_abs_pos_embedding", False):
            # ltx-core marks the target's first latent frame (one pixel frame, like a keyframe slot) in every
            # run; LTX-2.5 adds its keyframe embedding there. Packed frame-major, those are the leading tokens
            # whose time bound starts where the first token's does.
            starts = video_coords[:, 0, :, 0]
            keyframes = (starts == starts[:, :1]).int().cumprod(dim=1).unsqueeze(-1).to(self.device)
        def per_sample(sigma: torch.Tensor) -> torch.Tensor:
            return sigma.to(self.device, torch.float32).reshape(-1).expand(batch)

        rule = self.spec.cross_modal_timestep
        if rule not in CROSS_MODAL_TIMESTEP_RULES:
            raise ValueError(f"unknown cross-modal timestep rule {rule!r}")
        gates = contextlib.nullcontext()
        if rule == "own_timesteps_other_gate":
            cross = float(transformer.config.cross_attn_timestep_scale_multiplier)
            video_gate, audio_gate = per_sample(audio_sigma) * cross, per_sample(video_sigma) * cross
            gates = _GateTimesteps(transformer, video_gate, audio_gate)
        with _Perturbed(transformer, video_stg_blocks, audio_stg_blocks, stg_samples), gates:
            video_out, audio_out = transformer(
                hidden_states=video.to(self.device, dtype),
                audio_hidden_states=audio.to(self.device, dtype),
                encoder_hidden_states=video_context.to(self.device, dtype),
                audio_encoder_hidden_states=audio_context.to(self.device, dtype),
                timestep=per_token(video_timesteps, video.shape[1]) * scale,
                audio_timestep=per_token(audio_timesteps, audio.shape[1]) * scale,
                sigma=per_sample(video_sigma) * scale,
                audio_sigma=per_sample(audio_sigma) * scale,
                video_coords=video_coords.to(self.device),
                audio_coords=audio_coords.to(self.device),
                isolate_modalities=isolate_modalities,
                use_cross_timestep=rule == "other_sigma",
                video_keyframes_mask=keyframes,
                return_dict=False,
            )
        return video_out.float(), audio_out.float()

    def x0(
        self,
        video: LatentState,
        audio: LatentState,
        sigma: torch.Tensor,
        video_context: torch.Tensor,
        audio_context: torch.Tensor,
        **perturbation,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """ltx-core's X0Model: x0 = latent - (mask x sigma) * velocity, per stream."""
        sigma = sigma.to(self.device, torch.float32).reshape(1)
        v_t = video.mask.to(self.device) * sigma
        a_t = audio.mask.to(self.device) * sigma
        v_vel, a_vel = self.velocity(
            video.latent, audio.latent, video_context, audio_context, v_t, a_t, sigma, sigma,
            video.coords, audio.coords, **perturbation,
        )
        v_lat, a_lat = video.latent.to(self.device).float(), audio.latent.to(self.device).float()
        return v_lat - v_t * v_vel, a_lat - a_t * a_vel

    def guided_x0(
        self,
        video: LatentState,
        audio: LatentState,
        sigma: torch.Tensor,
        contexts: PromptContexts,
        video_guidance: GuidanceParams,
        audio_guidance: GuidanceParams,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The guided x0 of one step: the passes ltx-pipelines runs (cond, uncond, STG-perturbed,
        modality-isolated, each only when a scale needs it) combined by `guide`.

        Conditioned, negative and STG passes go through the transformer as one batch (as ltx-pipelines
        batches its passes); the modality-isolated pass, which switches cross-attention off for the whole
        call, runs on its own.
        """
        v_ctx, a_ctx = contexts.video, contexts.audio
        passes = [("cond", v_ctx, a_ctx)]
        if not (math.isclose(video_guidance.cfg_scale, 1.0) and math.isclose(audio_guidance.cfg_scale, 1.0)):
            if contexts.negative_video is None:
                raise ValueError("classifier-free guidance needs the negative prompt's contexts")
            passes.append(("uncond", contexts.negative_video, contexts.negative_audio))
        video_stg = not math.isclose(video_guidance.stg_scale, 0.0)
        audio_stg = not math.isclose(audio_guidance.stg_scale, 0.0)
        if video_stg or audio_stg:
            passes.append(("perturbed", v_ctx, a_ctx))
        n = len(passes)
        stg = torch.tensor([name == "perturbed" for name, _, _ in passes])
        v_x0, a_x0 = self.x0(
            _repeat(video, n),
            _repeat(audio, n),
            sigma,
            torch.cat([v.to(self.device) for _, v, _ in passes]),
            torch.cat([a.to(self.device) for _, _, a in passes]),
            video_stg_blocks=video_guidance.stg_blocks if video_stg else (),
            audio_stg_blocks=audio_guidance.stg_blocks if audio_stg else (),
            stg_samples=stg if bool(stg.any()) else None,
        )
        out = {name: (v, a) for (name, _, _), v, a in zip(passes, v_x0.chunk(n), a_x0.chunk(n), strict=True)}
        none = (None, None)
        video_mod, audio_mod = video_guidance.modality_scale, audio_guidance.modality_scale
        if not (math.isclose(video_mod, 1.0) and math.isclose(audio_mod, 1.0)):
            out["isolated"] = self.x0(video, audio, sigma, v_ctx, a_ctx, isolate_modalities=True)
        cond, uncond = out["cond"], out.get("uncond", none)
        perturbed, isolated = out.get("perturbed", none), out.get("isolated", none)
        return (
            guide(video_guidance, cond[0], uncond[0], perturbed[0], isolated[0]),
            guide(audio_guidance, cond[1], uncond[1], perturbed[1], isolated[1]),
        )

    def denoise(
        self,
        video: LatentState,
        audio: LatentState,
        sigmas: torch.Tensor,
        contexts: PromptContexts,
        video_guidance: GuidanceParams,
        audio_guidance: GuidanceParams,
        on_step: Callable[[StepInfo], None] | None = None,
        *,
        sampler: str = "euler",
        draw_noise: Callable[[tuple[int, ...], str], torch.Tensor] | None = None,
    ) -> tuple[LatentState, LatentState]:
        """ltx-pipelines' `euler_denoising_loop` over `sigmas` (from noise down to 0), or with
        `sampler="euler_ancestral"` its `euler_ancestral_denoising_loop`: every step but the last draws fresh
        noise through `draw_noise(shape, "video" | "audio")` (video first, as the reference's generator), and
        kept tokens are blended back to their clean values after the re-noising."""
        if sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {sampler!r}")
        if sampler == "euler_ancestral" and draw_noise is None:
            raise ValueError("the ancestral sampler needs a noise source")
        sigmas = sigmas.to(torch.float32)
        steps = len(sigmas) - 1
        for i in range(steps):
            sigma, sigma_next = sigmas[i], sigmas[i + 1]
            v_x0, a_x0 = self.guided_x0(video, audio, sigma, contexts, video_guidance, audio_guidance)
            v_x0 = _blend_clean(v_x0, video)
            a_x0 = _blend_clean(a_x0, audio)
            if sampler == "euler_ancestral" and float(sigma_next) > 0:
                v_noise = draw_noise(tuple(video.latent.shape), "video")
                a_noise = draw_noise(tuple(audio.latent.shape), "audio")
                video = replace(video, latent=_ancestral(video, v_x0, sigma, sigma_next, v_noise))
                audio = replace(audio, latent=_ancestral(audio, a_x0, sigma, sigma_next, a_noise))
            else:
                video = replace(video, latent=_euler(video.latent, v_x0, sigma, sigma_next))
                audio = replace(audio, latent=_euler(audio.latent, a_x0, sigma, sigma_next))
            if on_step is not None:
                on_step(StepInfo(i + 1, steps, v_x0, a_x0))
        return video, audio

    # --- decoding -------------------------------------------------------------------------------------------

    def plan_decode(self, latents_shape: tuple[int, ...]) -> TilePlan:
        """The tile plan a decode of latents of this shape would use: the memory plan's tiles where one was
        given, else the largest tiles that fit the budget (from free memory unless set)."""
        _, _, frames, h, w = latents_shape
        height, width = h * self.spatial_ratio, w * self.spatial_ratio
        num_frames = (frames - 1) * self.temporal_ratio + 1
        dtype_bytes = torch.finfo(self.dtype).bits // 8
        if self.planned_tiles is not None and self.vae_memory_budget is None:
            return fit_tiles(
                self.planned_tiles,
                self.components.configs.get("vae", self.components.vae.config),
                height,
                width,
                num_frames,
                dtype_bytes,
                self.spatial_ratio,
                self.temporal_ratio,
            )
        budget = self.vae_memory_budget or int(available_memory(self.device) * 0.5)
        return plan_tiles(
            self.components.configs.get("vae", self.components.vae.config),
            height,
            width,
            num_frames,
            budget,
            dtype_bytes,
            self.spatial_ratio,
            self.temporal_ratio,
        )

    def decode_video_vae_space(self, latents: torch.Tensor) -> torch.Tensor:
        """VAE-space latents [B, C, f, h, w] -> video [B, 3, F, H, W] in -1..1, tiled to the budget."""
        vae = self.components.vae
        plan = self.plan_decode(tuple(latents.shape))
        self.last_tile_plan = plan
        _, _, frames, h, w = latents.shape
        apply_plan(
            vae, plan, h * self.spatial_ratio, w * self.spatial_ratio, (frames - 1) * self.temporal_ratio + 1
        )
        with torch.no_grad():
            return vae.decode(latents.to(self.device, self.dtype), None, return_dict=False)[0]

    def decode_video_diffusion(self, latents: torch.Tensor, seed: int = 0) -> torch.Tensor:
        """LTX-2.5's diffusion decoder on VAE-space latents, as ltx-core decodes (untiled; x_t from `seed`,
        drawn on the CPU)."""
        from engine.diffusion_decoder import decode

        model = self.components.diffusion_decoder
        if model is None:
            raise RequestError("this model has no diffusion video decoder; use the conv decoder")
        torch.nn.Module.to(model, self.device, self.dtype)  # (diffusers' `to` warns about a plain cast)
        generator = torch.Generator("cpu").manual_seed(int(seed))
        with torch.no_grad():
            return decode(model, latents.to(self.device, self.dtype), generator=generator, normalized=False)

    def decode_audio_vae_space(self, latents: torch.Tensor) -> torch.Tensor:
        """VAE-space audio latents [B, C, t, m] -> waveform [B, channels, samples]."""
        with torch.no_grad():
            mel = self.components.audio_vae.decode(latents.to(self.device, self.dtype), return_dict=False)[0]
            return self.components.vocoder(mel)

    def decode_frame(self, video_tokens: torch.Tensor, grid: tuple[int, int, int], frame: int):
        """One latent frame of packed denoiser-space tokens -> its first pixel frame [3, H, W] in -1..1 (a
        cheap preview: the decoder on one latent frame, no tiling)."""
        latents = self.unpack_video(video_tokens[:1].float(), grid)[:, :, frame : frame + 1]
        with torch.no_grad():
            decoded = self.components.vae.decoder(self.denormalize_video(latents).to(self.dtype), None)
        return decoded[0, :, 0]

    def audio_mel(self, waveform: np.ndarray | torch.Tensor, sample_rate: int) -> torch.Tensor:
        """A waveform [channels, samples] (float, -1..1) -> the audio VAE encoder's input [1, 2, T, mels]:
        ltx-core's `AudioProcessor.waveform_to_mel` (resampled to the VAE's rate, torchaudio's MelSpectrogram
        with n_fft 1024, hop `mel_hop_length`, Hann window, centred with reflect padding, magnitude, Slaney
        mel scale and norm, then log(max(mel, 1e-5))). The Slaney filter bank comes from transformers'
        `mel_filter_bank`, the resampling from FFmpeg's (PyAV); mono is doubled to the encoder's stereo."""
        from transformers.audio_utils import mel_filter_bank

        config = self.components.audio_vae.config
        rate = int(config.sample_rate)
        audio = np.asarray(waveform.cpu() if torch.is_tensor(waveform) else waveform, dtype=np.float32)
        if audio.ndim == 1:
            audio = audio[None]
        if audio.ndim != 2 or audio.shape[1] == 0 or not np.isfinite(audio).all():
            raise RequestError(
                f"source sound must be finite samples [channels, samples]; got shape {audio.shape}"
            )
        channels = int(config.in_channels)
        if audio.shape[0] < channels:
            audio = np.repeat(audio[:1], channels, axis=0)
        audio = audio[:channels]
        if int(sample_rate) != rate:
            audio = resample(audio, int(sample_rate), rate)
        wave = torch.from_numpy(np.ascontiguousarray(audio))
        spectrum = torch.stft(
            wave, AUDIO_N_FFT, hop_length=int(config.mel_hop_length), win_length=AUDIO_N_FFT,
            window=torch.hann_window(AUDIO_N_FFT), center=True, pad_mode="reflect", return_complex=True,
        ).abs()  # [channels, freqs, frames]
        bank = mel_filter_bank(
            num_frequency_bins=AUDIO_N_FFT // 2 + 1, num_mel_filters=int(config.mel_bins), min_frequency=0.0,
            max_frequency=rate / 2.0, sampling_rate=rate, norm="slaney", mel_scale="slaney",
        )
        mel = torch.matmul(spectrum.transpose(1, 2), torch.from_numpy(bank).float())  # [channels, T, mels]
        return torch.log(mel.clamp(min=1e-5))[None]

    def encode_audio(self, waveform: np.ndarray | torch.Tensor, sample_rate: int) -> torch.Tensor:
        """A waveform [channels, samples] at `sample_rate` -> denoiser-space audio latents [1, C, t, mel]
        (the audio VAE encoder's posterior mode, normalised as generated latents are): the sound a clip that
        was not generated here brings to extend."""
        audio_vae = self.components.audio_vae
        mel = self.audio_mel(waveform, sample_rate)
        weight = next(audio_vae.encoder.parameters())
        with torch.no_grad():
            posterior = audio_vae.encode(mel.to(weight.device, weight.dtype), return_dict=True).latent_dist
            return self.normalize_audio(posterior.mode().float())

    def encode_video(self, pixels: torch.Tensor) -> torch.Tensor:
        """Video [B, 3, F, H, W] in -1..1 -> denoiser-space latents (the posterior's mode)."""
        vae = self.components.vae
        with torch.no_grad():
            posterior = vae.encode(pixels.to(self.device, self.dtype), return_dict=True).latent_dist
            return self.normalize_video(posterior.mode())


def _repeat(state: LatentState, n: int) -> LatentState:
    """The state n times along the batch (one copy per guidance pass)."""
    if n == 1:
        return state

    def rep(t: torch.Tensor) -> torch.Tensor:
        return t.repeat(n, *([1] * (t.ndim - 1)))

    return LatentState(rep(state.latent), rep(state.mask), rep(state.clean), rep(state.coords))


def _blend_clean(x0: torch.Tensor, state: LatentState) -> torch.Tensor:
    """ltx-pipelines' post_process_latent: kept tokens (mask 0) are their clean values."""
    mask = state.mask.to(x0.device)
    return x0 * mask + state.clean.to(x0.device).float() * (1 - mask)


def _ancestral(state: LatentState, x0: torch.Tensor, sigma, sigma_next, noise: torch.Tensor) -> torch.Tensor:
    """One ancestral step (engine/sampling.py), then kept tokens back to their clean values, as the
    reference's ancestral loop re-applies the conditioning mask after the re-noising."""
    stepped = euler_ancestral_step(state.latent.to(x0.device).float(), x0, sigma, sigma_next, noise.to(x0))
    return _blend_clean(stepped, state)


def _euler(sample: torch.Tensor, x0: torch.Tensor, sigma: torch.Tensor, sigma_next: torch.Tensor):
    """ltx-core's EulerDiffusionStep: velocity (x - x0) / sigma, times (sigma' - sigma)."""
    sigma_value = float(sigma)
    velocity = (sample.to(x0.device).float() - x0.float()) / sigma_value
    return sample.to(x0.device).float() + velocity * (sigma_next.to(x0.device) - sigma)
