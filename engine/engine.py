"""The public engine: load LTX-2 once, then generate clips with sound, with progress, preview and cancel.

Generation runs diffusers' `LTX2Pipeline` (or `LTX2ImageToVideoPipeline` with a start image) to latents, with
our step callback for progress, previews and cancellation; decoding is ours so it can be tiled from a memory
budget and skipped entirely on cancel.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from diffusers import FlowMatchEulerDiscreteScheduler
from diffusers.pipelines.ltx2 import LTX2ImageToVideoPipeline, LTX2Pipeline
from diffusers.utils import logging as diffusers_logging

from engine import quantization as quant
from engine.checkpoint import CheckpointLayout, detect_layout
from engine.components import ModelComponents, build_skeleton, load_diffusers_folder, load_official
from engine.errors import GenerationCancelled, OutOfMemoryError, RequestError
from engine.request import GenerationRequest, GenerationResult, PreviewFrame
from engine.text_encoder import (
    TextEncoder,
    load_text_encoder,
    load_tokenizer,
    text_encoder_identity,
    text_encoder_skeleton,
)
from engine.tiling import TilePlan, apply_plan, available_memory, plan_tiles

log = logging.getLogger(__name__)

ENGINE_VERSION = "0.1.0"
MODEL_NAME = "Lightricks LTX-2"
# Fraction of generation time previews may use; previews are skipped when they would exceed it.
PREVIEW_BUDGET = 0.05

ProgressCallback = Callable[[int, int], None]
PreviewCallback = Callable[[PreviewFrame], None]


# Layers that stay in full precision when the transformer is quantized: the input/output projections and the
# timestep/caption embeddings are small and most sensitive to rounding.
TRANSFORMER_KEEP_PRECISE = [
    "proj_in",
    "proj_out",
    "audio_proj_in",
    "audio_proj_out",
    "*time_embed*",
    "*caption_projection*",
    "av_cross_attn_*",
]
# Only Gemma's language-model layers are quantized: the vision tower is unused and the output head is tied
# to the embeddings.
TEXT_ENCODER_KEEP_PRECISE = ["lm_head", "*vision_tower*", "*multi_modal_projector*"]
NON_TRANSFORMER = ("connectors", "vae", "audio_vae", "vocoder")


def _loader(layout: CheckpointLayout):
    return load_official if layout is CheckpointLayout.OFFICIAL_SINGLE_FILE else load_diffusers_folder


def _load_components(
    path,
    layout: CheckpointLayout,
    dtype: torch.dtype,
    mode: str,
    cache: quant.QuantizedCache,
    device: torch.device,
) -> ModelComponents:
    """Load every component; a quantized transformer comes from the cache when one exists for this file."""
    load = _loader(layout)
    if mode == "none":
        return load(path, dtype)
    components = load(path, dtype, only=NON_TRANSFORMER)
    config = components.configs["transformer"]
    components.transformer = _quantize_with_cache(
        lambda: load(path, dtype, only=("transformer",)).transformer,
        lambda: build_skeleton("transformer", config),
        mode,
        cache,
        components.identity,
        "transformer",
        device,
        exclude=TRANSFORMER_KEEP_PRECISE,
    )
    return components


def _quantize_with_cache(
    load_full,
    build_skeleton_fn,
    mode: str,
    cache: quant.QuantizedCache,
    identity: str,
    component: str,
    device: torch.device,
    exclude: list[str] | None = None,
):
    """Requantize from the on-disk cache if possible; otherwise load, quantize and store for next time."""
    skeleton = build_skeleton_fn()
    if skeleton is not None and cache.load_into(skeleton, identity, mode, component, torch.device("cpu")):
        log.info("%s: loaded %s weights from the quantization cache", component, mode)
        return skeleton.eval().requires_grad_(False)
    module = load_full()
    log.info("%s: quantizing to %s (first launch for this checkpoint; cached afterwards)", component, mode)
    quant.quantize_module(module, mode, exclude=exclude)
    try:
        cache.save(module, identity, mode, component)
    except OSError as exc:  # a read-only or full cache folder must not stop generation
        log.warning("could not write the quantization cache (%s); the next launch will quantize again", exc)
    return module


# Gradients are off with no_grad, not inference_mode: quanto's packed int4 weights set a version
# counter when transposed, which inference tensors forbid.
class _RecordingScheduler(FlowMatchEulerDiscreteScheduler):
    """Flow-matching Euler that keeps the last step's inputs so the engine can form an x0 estimate."""

    last_step: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None

    def step(self, model_output, timestep, sample, *args, **kwargs):
        if self.step_index is None:
            self._init_step_index(timestep)
        self.last_step = (sample, model_output, self.sigmas[self.step_index])
        return super().step(model_output, timestep, sample, *args, **kwargs)


class _PreviewThrottle:
    """Decides when a preview is due: every N steps, but never past PREVIEW_BUDGET of elapsed time."""

    def __init__(self, every: int, budget: float | None = None):
        self.every = every
        self.budget = PREVIEW_BUDGET if budget is None else budget
        self.start = time.perf_counter()
        self.spent = 0.0
        self.last_cost: float | None = None
        self.count = 0

    def due(self, step: int) -> bool:
        if self.every <= 0 or step % self.every:
            return False
        elapsed = time.perf_counter() - self.start
        if self.last_cost is None:
            return True
        return self.spent + self.last_cost <= self.budget * (elapsed + self.last_cost)

    def record(self, cost: float) -> None:
        self.spent += cost
        self.last_cost = cost
        self.count += 1


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def default_dtype(device: torch.device) -> torch.dtype:
    return torch.bfloat16 if device.type == "cuda" else torch.float32


def _to_uint8(image: torch.Tensor) -> np.ndarray:
    """[3, H, W] in -1..1 -> [H, W, 3] uint8."""
    array = ((image.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return array.permute(1, 2, 0).cpu().numpy()


@contextlib.contextmanager
def _diffusers_quiet():
    previous = diffusers_logging.get_verbosity()
    diffusers_logging.set_verbosity_error()
    try:
        yield
    finally:
        diffusers_logging.set_verbosity(previous)


def _fit_length(audio: np.ndarray, samples: int) -> np.ndarray:
    """Pad with silence or trim so the sound lasts exactly as long as the video.

    The audio latent grid is 40 ms coarse, so the decoded waveform is up to a few tens of ms off.
    """
    if audio.shape[1] >= samples:
        return audio[:, :samples]
    return np.pad(audio, ((0, 0), (0, samples - audio.shape[1])))


def denoise_kwargs(
    request: GenerationRequest, embeds: tuple, generator: torch.Generator, step_end: Callable
) -> dict:
    """The arguments every LTX-2 denoising call takes (generation and inpainting alike): prompts already
    encoded, LTX-2.0 guidance (no STG or modality guidance), latents out so the engine decodes them."""
    pe, pm, ne, nm = embeds
    return {
        "prompt_embeds": pe,
        "prompt_attention_mask": pm,
        "negative_prompt_embeds": ne,
        "negative_prompt_attention_mask": nm,
        "height": request.height,
        "width": request.width,
        "num_frames": request.num_frames,
        "frame_rate": float(request.fps),
        "num_inference_steps": request.steps,
        "guidance_scale": request.guidance_scale,
        "audio_guidance_scale": request.audio_guidance_scale,
        "stg_scale": 0.0,
        "audio_stg_scale": 0.0,
        "modality_scale": 1.0,
        "audio_modality_scale": 1.0,
        "guidance_rescale": 0.0,
        "audio_guidance_rescale": 0.0,
        # LTX-2.0 modulates cross-modal attention with each modality's own timestep; diffusers' pipelines
        # default to the LTX-2.3/2.5 behaviour (the other modality's sigma).
        "use_cross_timestep": False,
        "spatio_temporal_guidance_blocks": None,
        "generator": generator,
        "output_type": "latent",
        "return_dict": False,
        "callback_on_step_end": step_end,
        "max_sequence_length": request.max_sequence_length,
    }


class Engine:
    """A loaded LTX-2 model ready to generate. Build it with `from_checkpoint` or `tiny`."""

    def __init__(
        self,
        components: ModelComponents,
        text_encoder: TextEncoder,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        quantization: str = "none",
        offload_text_encoder: bool | None = None,
        vae_memory_budget: int | None = None,
        max_sequence_length: int = 1024,
        model_name: str = MODEL_NAME,
    ):
        self.device = torch.device(device) if device is not None else default_device()
        self.dtype = dtype or default_dtype(self.device)
        self.components = components
        self.text_encoder = text_encoder
        self.quantization = quantization
        self.model_name = model_name
        self.max_sequence_length = max_sequence_length
        self.vae_memory_budget = vae_memory_budget
        self.offload_text_encoder = (
            (self.device.type == "cuda") if offload_text_encoder is None else offload_text_encoder
        )
        self.last_tile_plan: TilePlan | None = None
        self.last_preview_stats: dict[str, float] = {}

        if quantization != "none":
            # A missing compiler or unwritable kernel folder becomes a clear error here, not a crash later.
            quant.ensure_kernels(quantization, self.device)
        for name, module in components.modules().items():
            module.to(self.device)
            if name != "transformer" or quantization == "none":
                # LTX-2's classes list no modules that must stay fp32, so diffusers' warning about
                # casting with `.to()` does not apply; keep it off the user's console.
                with _diffusers_quiet():
                    module.to(self.dtype)
        text_encoder.model.to("cpu" if self.offload_text_encoder else self.device)
        scheduler = _RecordingScheduler.from_config(components.scheduler.config)
        parts = dict(
            scheduler=scheduler,
            vae=components.vae,
            audio_vae=components.audio_vae,
            text_encoder=text_encoder.model,
            tokenizer=text_encoder.tokenizer,
            connectors=components.connectors,
            transformer=components.transformer,
            vocoder=components.vocoder,
        )
        self._t2v = LTX2Pipeline(**parts)
        self._i2v = LTX2ImageToVideoPipeline(**parts)
        for pipe in (self._t2v, self._i2v):
            pipe.set_progress_bar_config(disable=True)

    # --- construction ---------------------------------------------------------------------------------------

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path,
        text_encoder: str | Path | None = None,
        *,
        quantization: str = "none",
        device: torch.device | str | None = None,
        text_encoder_quantization: str = "none",
        cache_dir: str | Path | None = None,
        vae_memory_budget: int | None = None,
    ) -> Engine:
        """Load an official single-file checkpoint or a diffusers folder, plus a local Gemma-3 root.

        Nothing is fetched from any hub. With `quantization` other than "none" the transformer is quantized
        with optimum-quanto and cached on disk, keyed by the checkpoint's identity, so later launches skip it.
        """
        mode = quant.parse_mode(quantization)
        te_mode = quant.parse_mode(text_encoder_quantization)
        device = torch.device(device) if device is not None else default_device()
        dtype = default_dtype(device)
        from engine.text_encoder import check_root

        check_root(text_encoder)  # fail before spending minutes on the transformer
        layout = detect_layout(path)
        cache = quant.QuantizedCache(Path(cache_dir) if cache_dir else quant.default_cache_root())
        components = _load_components(path, layout, dtype, mode, cache, device)
        if te_mode == "none":
            encoder = load_text_encoder(text_encoder, dtype)
        else:
            root = Path(text_encoder)
            model = _quantize_with_cache(
                lambda: load_text_encoder(root, dtype).model,
                lambda: text_encoder_skeleton(root, dtype),
                te_mode,
                cache,
                text_encoder_identity(root),
                "text_encoder",
                device,
                exclude=TEXT_ENCODER_KEEP_PRECISE,
            )
            encoder = TextEncoder(model, load_tokenizer(root), str(root))
        return cls(
            components,
            encoder,
            device=device,
            dtype=dtype,
            quantization=mode,
            vae_memory_budget=vae_memory_budget,
        )

    @classmethod
    def tiny(
        cls,
        seed: int = 0,
        *,
        device: torch.device | str | None = "cpu",
        quantization: str = "none",
        vae_memory_budget: int | None = None,
    ) -> Engine:
        """A random-init model of the real architecture, built in-process (no files). It produces noise."""
        from engine.tiny import TINY_MAX_SEQUENCE, tiny_components, tiny_text_encoder

        mode = quant.parse_mode(quantization)
        device = torch.device(device) if device is not None else default_device()
        components = tiny_components(seed)
        if mode != "none":
            quant.quantize_module(components.transformer, mode, exclude=TRANSFORMER_KEEP_PRECISE)
        return cls(
            components,
            tiny_text_encoder(seed),
            device=device,
            quantization=mode,
            vae_memory_budget=vae_memory_budget,
            max_sequence_length=TINY_MAX_SEQUENCE,
            model_name="tiny random LTX-2 (noise)",
        )

    # --- properties -----------------------------------------------------------------------------------------

    @property
    def spatial_ratio(self) -> int:
        return self._t2v.vae_spatial_compression_ratio

    @property
    def temporal_ratio(self) -> int:
        return self._t2v.vae_temporal_compression_ratio

    @property
    def audio_sample_rate(self) -> int:
        return int(self.components.vocoder.config.output_sampling_rate)

    @property
    def identity(self) -> str:
        return self.components.identity

    # --- text -----------------------------------------------------------------------------------------------

    def _encode_prompts(self, request: GenerationRequest, guided: bool):
        model = self.text_encoder.model
        if self.offload_text_encoder:
            model.to(self.device)
        try:
            with torch.no_grad():
                return self._t2v.encode_prompt(
                    prompt=request.prompt,
                    negative_prompt=request.negative_prompt,
                    do_classifier_free_guidance=guided,
                    max_sequence_length=request.max_sequence_length,
                    device=self.device,
                    dtype=self.dtype,
                )
        finally:
            if self.offload_text_encoder:
                model.to("cpu")
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()

    # --- generation -----------------------------------------------------------------------------------------

    def generate(
        self,
        request: GenerationRequest,
        on_progress: ProgressCallback | None = None,
        on_preview: PreviewCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> GenerationResult:
        """Generate one clip with sound. Raises GenerationCancelled (nothing decoded) if `cancel` is set."""
        if request.max_sequence_length == GenerationRequest.max_sequence_length:
            request = request.with_changes(max_sequence_length=self.max_sequence_length)
        request.validate(self.spatial_ratio, self.temporal_ratio)
        image = self._load_image(request.image) if request.image is not None else None
        if cancel is not None and cancel.is_set():
            raise GenerationCancelled(0)
        try:
            return self._generate(request, image, on_progress, on_preview, cancel)
        except torch.OutOfMemoryError as exc:
            raise OutOfMemoryError(
                f"out of {self.device.type.upper()} memory at {request.width}x{request.height}, "
                f"{request.num_frames} frames (quantization: {self.quantization}); try int4 quantization, "
                "fewer frames or a smaller size"
            ) from exc

    def _generate(self, request, image, on_progress, on_preview, cancel) -> GenerationResult:
        timings: dict[str, float] = {}
        started = time.perf_counter()
        guided = request.guidance_scale > 1.0 or request.audio_guidance_scale > 1.0
        pe, pm, ne, nm = self._encode_prompts(request, guided)
        timings["text_encoder_s"] = time.perf_counter() - started

        pipe = self._i2v if image is not None else self._t2v
        latent_frames = (request.num_frames - 1) // self.temporal_ratio + 1
        latent_h, latent_w = request.height // self.spatial_ratio, request.width // self.spatial_ratio
        throttle = _PreviewThrottle(request.preview_every if on_preview else 0)

        def step_end(pipeline, index, _timestep, _tensors):
            step = index + 1
            if on_progress is not None:
                on_progress(step, request.steps)
            if cancel is not None and cancel.is_set():
                raise GenerationCancelled(step)
            if on_preview is not None and step < request.steps and throttle.due(step):
                t0 = time.perf_counter()
                on_preview(
                    PreviewFrame(
                        step, request.steps, self._preview(pipeline, latent_frames, latent_h, latent_w)
                    )
                )
                throttle.record(time.perf_counter() - t0)
            return {}

        generator = torch.Generator(device="cpu").manual_seed(request.seed)
        extra = {"image": image} if image is not None else {}
        denoise_start = time.perf_counter()
        throttle.start = denoise_start
        with torch.no_grad():
            video_latents, audio_latents = pipe(
                **denoise_kwargs(request, (pe, pm, ne, nm), generator, step_end), **extra
            )
        timings["denoise_s"] = time.perf_counter() - denoise_start
        timings["preview_s"] = throttle.spent
        self.last_preview_stats = {
            "count": throttle.count,
            "seconds": throttle.spent,
            "fraction": throttle.spent / max(timings["denoise_s"], 1e-9),
        }

        decode_start = time.perf_counter()
        frames = self._decode_vae_space(video_latents)
        waveform = self._decode_audio_vae_space(audio_latents)
        timings["decode_s"] = time.perf_counter() - decode_start
        timings["total_s"] = time.perf_counter() - started

        frames_np = ((frames[0].float().clamp(-1, 1) + 1) / 2).permute(1, 2, 3, 0).cpu().numpy()
        audio_np = _fit_length(
            waveform[0].float().clamp(-1, 1).cpu().numpy(),
            round(request.num_frames / request.fps * self.audio_sample_rate),
        )
        return GenerationResult(
            frames=np.ascontiguousarray(frames_np, dtype=np.float32),
            audio=np.ascontiguousarray(audio_np, dtype=np.float32),
            sample_rate=self.audio_sample_rate,
            fps=float(request.fps),
            metadata=self._metadata(request),
            video_latents=self._normalize_video(video_latents).cpu(),
            audio_latents=self._normalize_audio(audio_latents).cpu(),
            timings=timings,
        )

    # --- inpainting -----------------------------------------------------------------------------------------

    def inpaint(
        self,
        source_frames: np.ndarray,
        source_audio: np.ndarray | None,
        sample_rate: int,
        mask: np.ndarray,
        frame_range: tuple[int, int],
        request: GenerationRequest,
        strength: float = 1.0,
        regenerate_audio: bool = False,
        source_latents=None,
        on_progress: ProgressCallback | None = None,
        on_preview: PreviewCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> GenerationResult:
        """Regenerate only the masked region of frames [start, end) of a clip; see engine/inpaint.py.

        `source_frames` [F, H, W, 3] float 0..1 (F = 8k+1, sizes multiples of 32), `mask` [H, W] float 0..1
        (255-scaled uint8 accepted), `request` supplies prompt, negative prompt, seed, steps, guidance, fps
        and preview_every (its size and length are taken from the source). `strength` 1 regenerates the
        region completely, 0 keeps it (the source is returned unchanged). Pixels with mask 0 and frames
        outside the range are bit-identical to the source; the audio is the source's unless
        `regenerate_audio`, which replaces only the range's samples. `source_latents` (denoiser space, as
        returned by generate) skip encoding when they match the frames. Raises RequestError for bad inputs
        and GenerationCancelled (nothing decoded) when `cancel` is set.
        """
        from engine.inpaint import run_inpaint

        return run_inpaint(
            self,
            source_frames,
            source_audio,
            sample_rate,
            mask,
            frame_range,
            request,
            strength=strength,
            regenerate_audio=regenerate_audio,
            source_latents=source_latents,
            on_progress=on_progress,
            on_preview=on_preview,
            cancel=cancel,
        )

    def _metadata(self, request: GenerationRequest) -> dict:
        return {
            "ai_generated": True,
            "model": self.model_name,
            "model_source": self.components.source,
            "checkpoint_identity": self.identity,
            "quantization": self.quantization,
            "device": self.device.type,
            "dtype": str(self.dtype).replace("torch.", ""),
            "seed": request.seed,
            "parameters": request.parameters(),
            "engine_version": ENGINE_VERSION,
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        }

    def _load_image(self, image) -> object:
        import PIL.Image

        if isinstance(image, (str, Path)):
            try:
                with PIL.Image.open(image) as handle:
                    return handle.convert("RGB")
            except (OSError, ValueError) as exc:
                raise RequestError(f"start image {image} could not be read ({exc})") from exc
        array = np.asarray(image)
        if array.ndim != 3 or array.shape[2] != 3:
            raise RequestError(f"start image must be H x W x 3, got shape {array.shape}")
        if array.dtype != np.uint8:
            array = (np.clip(array.astype(np.float32), 0, 1) * 255).round().astype(np.uint8)
        return PIL.Image.fromarray(array)

    # --- previews -------------------------------------------------------------------------------------------

    def _preview(self, pipeline, latent_frames: int, latent_h: int, latent_w: int) -> np.ndarray:
        sample, velocity, sigma = pipeline.scheduler.last_step
        x0 = (sample.float() - sigma.float() * velocity.float())[:1]
        x0 = pipeline._unpack_latents(x0, latent_frames, latent_h, latent_w, 1, 1)
        middle = x0[:, :, latent_frames // 2 : latent_frames // 2 + 1]
        decoded = self.components.vae.decoder(self._denormalize_video(middle).to(self.dtype), None)
        return _to_uint8(decoded[0, :, 0])

    # --- decoding -------------------------------------------------------------------------------------------

    def _video_stats(self):
        vae = self.components.vae
        shape = (1, -1, 1, 1, 1)
        return (
            vae.latents_mean.view(shape).float(),
            vae.latents_std.view(shape).float(),
            float(vae.config.scaling_factor),
        )

    def _denormalize_video(self, latents: torch.Tensor) -> torch.Tensor:
        mean, std, scale = self._video_stats()
        return latents.float() * std.to(latents.device) / scale + mean.to(latents.device)

    def _normalize_video(self, latents: torch.Tensor) -> torch.Tensor:
        mean, std, scale = self._video_stats()
        return (latents.float() - mean.to(latents.device)) * scale / std.to(latents.device)

    def _audio_stats(self, latents: torch.Tensor):
        audio_vae = self.components.audio_vae
        channels, mel = latents.shape[1], latents.shape[3]
        mean = audio_vae.latents_mean.float().to(latents.device).view(channels, mel)
        std = audio_vae.latents_std.float().to(latents.device).view(channels, mel)
        return mean[None, :, None, :], std[None, :, None, :]

    def _normalize_audio(self, latents: torch.Tensor) -> torch.Tensor:
        mean, std = self._audio_stats(latents)
        return (latents.float() - mean) / std

    def _denormalize_audio(self, latents: torch.Tensor) -> torch.Tensor:
        mean, std = self._audio_stats(latents)
        return latents.float() * std + mean

    def plan_decode(self, latents_shape: tuple[int, ...]) -> TilePlan:
        """The tile plan a decode of latents of this shape would use (budget from free memory)."""
        _, _, frames, h, w = latents_shape
        height, width = h * self.spatial_ratio, w * self.spatial_ratio
        num_frames = (frames - 1) * self.temporal_ratio + 1
        budget = self.vae_memory_budget or int(available_memory(self.device) * 0.5)
        dtype_bytes = torch.finfo(self.dtype).bits // 8
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

    def _decode_vae_space(self, latents: torch.Tensor) -> torch.Tensor:
        vae = self.components.vae
        plan = self.plan_decode(tuple(latents.shape))
        self.last_tile_plan = plan
        _, _, frames, h, w = latents.shape
        apply_plan(
            vae, plan, h * self.spatial_ratio, w * self.spatial_ratio, (frames - 1) * self.temporal_ratio + 1
        )
        with torch.no_grad():
            return vae.decode(latents.to(self.device, self.dtype), None, return_dict=False)[0]

    def _decode_audio_vae_space(self, latents: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            mel = self.components.audio_vae.decode(latents.to(self.device, self.dtype), return_dict=False)[0]
            return self.components.vocoder(mel)

    def decode_video(self, latents: torch.Tensor) -> torch.Tensor:
        """Denoiser-space latents [B, C, f, h, w] -> video [B, 3, F, H, W] in -1..1 (tiled to the budget)."""
        return self._decode_vae_space(self._denormalize_video(latents.to(self.device)))

    def decode_audio(self, latents: torch.Tensor) -> tuple[torch.Tensor, int]:
        """Denoiser-space audio latents [B, C, t, m] -> (waveform [B, channels, samples], sample rate)."""
        waveform = self._decode_audio_vae_space(self._denormalize_audio(latents.to(self.device)))
        return waveform, self.audio_sample_rate
