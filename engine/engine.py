"""The public engine: load LTX-2 once, then generate clips with sound, with progress, preview and cancel.

Generation runs the shared runtime (engine/runtime.py): the reference's guided Euler loop over diffusers'
LTX-2 modules, with the loaded model's `ModelSpec` for every default. Decoding is tiled from a memory budget
and skipped entirely on cancel.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import math
import threading
import time
from pathlib import Path

import numpy as np
import torch
from diffusers.utils import logging as diffusers_logging

from engine import quantization as quant
from engine.checkpoint import CheckpointLayout, detect_layout
from engine.components import ModelComponents, build_skeleton, load_diffusers_folder, load_official
from engine.conditioning import start_image_pixels
from engine.errors import GenerationCancelled, OutOfMemoryError, RequestError
from engine.models import LTX_2_0, GuidanceParams, ModelSpec, detect_spec, spec_for_file
from engine.request import GenerationRequest, GenerationResult
from engine.runtime import (
    LatentState,
    PreviewCallback,
    ProgressCallback,
    PromptContexts,
    Runtime,
    StepInfo,
    StepReporter,
    fit_length,
    to_uint8,
)
from engine.text_encoder import (
    TextEncoder,
    load_text_encoder,
    load_tokenizer,
    text_encoder_identity,
    text_encoder_skeleton,
)
from engine.tiling import TilePlan

log = logging.getLogger(__name__)

ENGINE_VERSION = "0.2.0"
MODEL_NAME = "Lightricks LTX-2"



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
    if layout is CheckpointLayout.RELEASE_FOLDER:
        from engine.ltx25_layout import load_ltx25

        return load_ltx25
    if layout is CheckpointLayout.LTX23_SINGLE_FILE:
        from engine.ltx23_loader import load_ltx23

        return load_ltx23
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


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def default_dtype(device: torch.device) -> torch.dtype:
    return torch.bfloat16 if device.type == "cuda" else torch.float32


@contextlib.contextmanager
def _diffusers_quiet():
    previous = diffusers_logging.get_verbosity()
    diffusers_logging.set_verbosity_error()
    try:
        yield
    finally:
        diffusers_logging.set_verbosity(previous)


class Engine:
    """A loaded LTX-2 model ready to generate. Build it with `from_checkpoint` or `tiny`.

    `engine.spec` is the loaded version's `ModelSpec` (defaults, size rules, audio rate); `engine.runtime`
    is the shared runtime generation and inpainting run on.
    """

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
        spec: ModelSpec | None = None,
    ):
        self.device = torch.device(device) if device is not None else default_device()
        self.dtype = dtype or default_dtype(self.device)
        self.components = components
        self.text_encoder = text_encoder
        self.quantization = quantization
        self.model_name = model_name
        self.max_sequence_length = max_sequence_length
        self.offload_text_encoder = (
            (self.device.type == "cuda") if offload_text_encoder is None else offload_text_encoder
        )
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
        if spec is None:
            spec = detect_spec(config=components.configs.get("transformer"))
        self.runtime = Runtime(
            components,
            text_encoder,
            spec,
            device=self.device,
            dtype=self.dtype,
            offload_text_encoder=self.offload_text_encoder,
            vae_memory_budget=vae_memory_budget,
        )

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

        if not Path(path).is_dir():
            # Name a missing or broken Gemma folder first, before the checkpoint is even opened (only a
            # folder can be an LTX-2.5 release, which carries its own text encoder).
            check_root(text_encoder)
        layout = detect_layout(path)
        release = layout is CheckpointLayout.RELEASE_FOLDER  # LTX-2.5: the text encoder is inside the folder
        if not release:
            check_root(text_encoder)  # fail before spending minutes on the transformer
        cache = quant.QuantizedCache(Path(cache_dir) if cache_dir else quant.default_cache_root())
        components = _load_components(path, layout, dtype, mode, cache, device)
        if layout in (CheckpointLayout.OFFICIAL_SINGLE_FILE, CheckpointLayout.LTX23_SINGLE_FILE):
            spec = spec_for_file(path)
        elif release:
            spec = spec_for_file(components.companions["transformer"])
        else:
            spec = detect_spec(config=components.configs.get("transformer"))
        if release:
            from engine.ltx25_layout import load_extras

            # a quantized load builds the core modules only; the folder's other parts come here
            encoder = load_extras(components, dtype).text_encoder
            if te_mode != "none":
                quant.quantize_module(encoder.model, te_mode, exclude=TEXT_ENCODER_KEEP_PRECISE)
        elif te_mode == "none":
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
            spec=spec,
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
            spec=LTX_2_0,
        )

    # --- properties -----------------------------------------------------------------------------------------

    @property
    def spec(self) -> ModelSpec:
        """The loaded version's description (defaults adjusted to this transformer's depth)."""
        return self.runtime.spec

    @property
    def spatial_ratio(self) -> int:
        return self.runtime.spatial_ratio

    @property
    def temporal_ratio(self) -> int:
        return self.runtime.temporal_ratio

    @property
    def audio_sample_rate(self) -> int:
        return self.runtime.audio_sample_rate

    @property
    def identity(self) -> str:
        return self.components.identity

    @property
    def vae_memory_budget(self) -> int | None:
        return self.runtime.vae_memory_budget

    @vae_memory_budget.setter
    def vae_memory_budget(self, value: int | None) -> None:
        self.runtime.vae_memory_budget = value

    @property
    def last_tile_plan(self) -> TilePlan | None:
        return self.runtime.last_tile_plan

    # --- requests -------------------------------------------------------------------------------------------

    def resolve(self, request: GenerationRequest) -> GenerationRequest:
        """`request` with the loaded model's reference values for every unset field, validated."""
        if request.max_sequence_length == GenerationRequest.max_sequence_length:
            request = request.with_changes(max_sequence_length=self.max_sequence_length)
        explicit_blocks = request.stg_blocks is not None
        request = request.with_defaults(self.spec.guidance_defaults())
        request.validate(
            self.spatial_ratio,
            self.temporal_ratio,
            num_layers=len(self.components.transformer.transformer_blocks) if explicit_blocks else None,
        )
        self.spec.check_length(request.num_frames, request.fps)
        if request.video_decoder == "diffusion" and self.components.diffusion_decoder is None:
            raise RequestError(
                "the diffusion video decoder is not loaded (LTX-2.5 release folders bring it as "
                "vae/ltx-2.5-video-vae-*.safetensors); use the conv decoder"
            )
        return request

    def guidance(self, request: GenerationRequest) -> tuple[GuidanceParams, GuidanceParams]:
        """(video, audio) guidance of a resolved request."""
        blocks = tuple(request.stg_blocks)
        video = GuidanceParams(
            cfg_scale=request.guidance_scale,
            stg_scale=request.stg_scale,
            stg_blocks=blocks,
            rescale_scale=request.guidance_rescale,
            modality_scale=request.modality_scale,
        )
        audio = GuidanceParams(
            cfg_scale=request.audio_guidance_scale,
            stg_scale=request.audio_stg_scale,
            stg_blocks=blocks,
            rescale_scale=request.audio_guidance_rescale,
            modality_scale=request.audio_modality_scale,
        )
        return video, audio

    def encode_prompts(self, request: GenerationRequest) -> PromptContexts:
        """Contexts of a resolved request (the negative prompt's only when CFG needs them)."""
        guided = not (
            math.isclose(request.guidance_scale, 1.0) and math.isclose(request.audio_guidance_scale, 1.0)
        )
        return self.runtime.encode_prompts(
            request.prompt, request.negative_prompt if guided else None, request.max_sequence_length
        )

    def initial_noise(
        self, request: GenerationRequest, video_tokens: int, audio_tokens: int, noise=None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The initial noise in packed tokens: `noise` ([video, audio], each [1, tokens, C]) if given, else
        drawn from the request's seed on the CPU in the reference's order (video, then audio)."""
        channels = int(self.components.transformer.config.in_channels)
        audio_channels = int(self.components.transformer.config.audio_in_channels)
        shapes = ((1, video_tokens, channels), (1, audio_tokens, audio_channels))
        if noise is None:
            generator = torch.Generator(device="cpu").manual_seed(request.seed)
            return tuple(torch.randn(*shape, generator=generator) for shape in shapes)
        tensors = list(noise) if isinstance(noise, (list, tuple)) else [noise]
        if len(tensors) != 2:
            raise RequestError(
                f"noise must be two tensors (video tokens, then audio tokens), got {len(tensors)}"
            )
        out = []
        for name, tensor, shape in zip(("video", "audio"), tensors, shapes, strict=True):
            tensor = torch.as_tensor(tensor)
            if tuple(tensor.shape) != shape:
                raise RequestError(
                    f"the {name} noise has shape {tuple(tensor.shape)}; this request needs {shape} "
                    "(packed tokens [1, tokens, channels], as the reference pipeline draws them)"
                )
            if not torch.isfinite(tensor).all():
                raise RequestError(f"the {name} noise contains NaN or infinite values")
            out.append(tensor.float())
        return out[0], out[1]

    # --- generation -----------------------------------------------------------------------------------------

    def generate(
        self,
        request: GenerationRequest,
        on_progress: ProgressCallback | None = None,
        on_preview: PreviewCallback | None = None,
        cancel: threading.Event | None = None,
        noise: list[torch.Tensor] | None = None,
    ) -> GenerationResult:
        """Generate one clip with sound. Raises GenerationCancelled (nothing decoded) if `cancel` is set.

        `noise`, when given, replaces the seed's draw: [video, audio] initial noise in the reference's packed
        token layout ([1, F*H*W, 128] frame-major, [1, T, 128] channel-major), as Lightricks' pipelines
        draw it.
        """
        request = self.resolve(request)
        image = self._load_image(request.image) if request.image is not None else None
        if cancel is not None and cancel.is_set():
            raise GenerationCancelled(0)
        try:
            return self._generate(request, image, on_progress, on_preview, cancel, noise)
        except torch.OutOfMemoryError as exc:
            raise OutOfMemoryError(
                f"out of {self.device.type.upper()} memory at {request.width}x{request.height}, "
                f"{request.num_frames} frames (quantization: {self.quantization}); try int4 quantization, "
                "fewer frames or a smaller size"
            ) from exc

    def _generate(self, request, image, on_progress, on_preview, cancel, noise) -> GenerationResult:
        runtime = self.runtime
        timings: dict[str, float] = {}
        started = time.perf_counter()
        grid = runtime.latent_grid(request.width, request.height, request.num_frames)
        channels, audio_frames, _ = runtime.audio_latent_shape(request.num_frames, request.fps)
        video_noise, audio_noise = self.initial_noise(request, math.prod(grid), audio_frames, noise)
        contexts = self.encode_prompts(request)
        timings["text_encoder_s"] = time.perf_counter() - started

        clean = mask = None
        if image is not None:
            clean, mask = self._image_condition(image, request, grid)
        video = LatentState.from_noise(
            video_noise.to(self.device), runtime.video_coords(grid, request.fps), clean, mask
        )
        audio = LatentState.from_noise(audio_noise.to(self.device), runtime.audio_coords(audio_frames))

        def preview(info: StepInfo) -> np.ndarray:
            return to_uint8(runtime.decode_frame(info.video_x0, grid, grid[0] // 2))

        steps = request.steps
        reporter = StepReporter(steps, on_progress, on_preview, cancel, request.preview_every, preview)
        video_guidance, audio_guidance = self.guidance(request)
        denoise_start = time.perf_counter()
        reporter.start = denoise_start
        with torch.no_grad():
            video, audio = runtime.denoise(
                video, audio, self.spec.sigmas(steps), contexts, video_guidance, audio_guidance, reporter
            )
        timings["denoise_s"] = time.perf_counter() - denoise_start
        timings["preview_s"] = reporter.spent
        self.last_preview_stats = reporter.stats(timings["denoise_s"])

        video_latents = runtime.unpack_video(video.latent, grid)
        audio_latents = runtime.unpack_audio(audio.latent, channels)
        decode_start = time.perf_counter()
        if request.video_decoder == "diffusion":
            frames = runtime.decode_video_diffusion(runtime.denormalize_video(video_latents), request.seed)
        else:
            frames = runtime.decode_video_vae_space(runtime.denormalize_video(video_latents))
        waveform = runtime.decode_audio_vae_space(runtime.denormalize_audio(audio_latents))
        timings["decode_s"] = time.perf_counter() - decode_start
        timings["total_s"] = time.perf_counter() - started

        frames_np = ((frames[0].float().clamp(-1, 1) + 1) / 2).permute(1, 2, 3, 0).cpu().numpy()
        audio_np = fit_length(
            waveform[0].float().clamp(-1, 1).cpu().numpy(),
            round(request.num_frames / request.fps * self.audio_sample_rate),
        )
        metadata = self.metadata(request)
        if noise is not None:
            metadata["noise"] = "caller-supplied"
        return GenerationResult(
            frames=np.ascontiguousarray(frames_np, dtype=np.float32),
            audio=np.ascontiguousarray(audio_np, dtype=np.float32),
            sample_rate=self.audio_sample_rate,
            fps=float(request.fps),
            metadata=metadata,
            video_latents=video_latents.float().cpu(),
            audio_latents=audio_latents.float().cpu(),
            timings=timings,
        )

    def _image_condition(self, image, request: GenerationRequest, grid) -> tuple[torch.Tensor, torch.Tensor]:
        """The start image as clean tokens of latent frame 0 and a denoise mask keeping them (strength 1, as
        the reference's image conditioning by latent replacement), prepared as ltx-pipelines prepares it."""
        pixels = start_image_pixels(
            np.asarray(image, dtype=np.uint8), request.width, request.height, self.spec.default_image_crf
        )
        first = self.runtime.encode_video(pixels)  # [1, C, 1, h, w]
        f, h, w = grid
        clean = torch.zeros(1, first.shape[1], f, h, w, device=first.device)
        clean[:, :, :1] = first
        mask = torch.ones(1, 1, f, h, w, device=first.device)
        mask[:, :, :1] = 0
        return self.runtime.pack_video(clean), self.runtime.pack_video(mask)

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

    def metadata(self, request: GenerationRequest) -> dict:
        """Provenance of a clip made from a resolved `request`."""
        return {
            "ai_generated": True,
            "model": self.model_name,
            "model_version": self.spec.version,
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

    # --- decoding -------------------------------------------------------------------------------------------

    def plan_decode(self, latents_shape: tuple[int, ...]) -> TilePlan:
        """The tile plan a decode of latents of this shape would use (budget from free memory)."""
        return self.runtime.plan_decode(latents_shape)

    def decode_video(self, latents: torch.Tensor) -> torch.Tensor:
        """Denoiser-space latents [B, C, f, h, w] -> video [B, 3, F, H, W] in -1..1 (tiled to the budget)."""
        runtime = self.runtime
        return runtime.decode_video_vae_space(runtime.denormalize_video(latents.to(self.device)))

    def decode_audio(self, latents: torch.Tensor) -> tuple[torch.Tensor, int]:
        """Denoiser-space audio latents [B, C, t, m] -> (waveform [B, channels, samples], sample rate)."""
        runtime = self.runtime
        waveform = runtime.decode_audio_vae_space(runtime.denormalize_audio(latents.to(self.device)))
        return waveform, self.audio_sample_rate
