"""Frame-level inpainting: regenerate only a painted region of a frame range, keep everything else exact.

The source is encoded with the video VAE (or its kept latents are reused), the pixel mask becomes a per-token
denoise mask (strength on the painted tokens, 0 elsewhere), and the shared runtime's denoising loop does the
rest, as for image-to-video: every token gets its own timestep `mask x sigma` and the x0 estimate is blended
with the clean source latents by the same mask after every step (the reference's conditioning by latents).

After decoding, the result is composited with the feathered pixel mask, so pixels with mask 0 and every frame
outside the range are the source's values bit for bit (np.where, not float arithmetic). Audio is returned
unchanged unless asked for, in which case only the range's samples are replaced (short crossfades inside the
range).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from engine.errors import GenerationCancelled, OutOfMemoryError, RequestError
from engine.request import GenerationRequest, GenerationResult, PreviewFrame
from engine.runtime import LatentState, StepInfo, StepReporter, fit_length, to_uint8
from engine.tiling import apply_plan

if TYPE_CHECKING:
    from engine.engine import Engine

# Crossfade at each inner edge of a regenerated audio range; long enough to hide a click, short enough to
# keep the splice inside the range.
AUDIO_CROSSFADE_S = 0.01


# ------------------------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class InpaintInputs:
    """Validated inputs: arrays in the engine's conventions, the range as plain ints."""

    frames: np.ndarray  # [F, H, W, 3] float32 0..1
    audio: np.ndarray | None  # [channels, N] float32
    mask: np.ndarray  # [H, W] float32 0..1, not all zero
    start: int
    end: int  # exclusive
    strength: float


def validate_inputs(
    source_frames: Any,
    source_audio: Any,
    mask: Any,
    frame_range: tuple[int, int],
    strength: float,
    spatial: int = 32,
    temporal: int = 8,
) -> InpaintInputs:
    """Check everything a user can get wrong, with messages that say what to change."""
    frames = np.asarray(source_frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] == 0:
        raise RequestError(f"the source frames must be F x H x W x 3, got shape {frames.shape}")
    frames = frames.astype(np.float32, copy=False)
    count, height, width = frames.shape[:3]
    for name, value in (("width", width), ("height", height)):
        if value < spatial or value % spatial:
            low = max(value // spatial * spatial, spatial)
            options = f"{low} or {low + spatial}" if low < value else f"{low}"
            raise RequestError(
                f"the source {name} {value} is not a multiple of {spatial}; inpainting needs {options}"
            )
    if (count - 1) % temporal:
        low = (count - 1) // temporal * temporal + 1
        raise RequestError(
            f"the source has {count} frames; inpainting needs {temporal}k+1 frames "
            f"({low} or {low + temporal})"
        )
    if not np.isfinite(frames).all():
        raise RequestError("the source frames contain NaN or infinite values; re-import the clip")

    pixels = np.asarray(mask)
    if pixels.ndim == 3 and pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    if pixels.shape != (height, width):
        raise RequestError(
            f"the mask is {_size(pixels.shape)} but the clip's frames are {width}x{height}; "
            "paint the mask on this clip again"
        )
    if pixels.dtype == np.uint8:
        pixels = pixels.astype(np.float32) / 255.0
    pixels = pixels.astype(np.float32, copy=False)
    if not np.isfinite(pixels).all():
        raise RequestError("the mask contains NaN or infinite values")
    pixels = np.clip(pixels, 0.0, 1.0)
    if not (pixels > 0).any():
        raise RequestError("the mask is empty; paint the region to regenerate first")

    try:
        start, end = (int(v) for v in frame_range)
    except (TypeError, ValueError) as exc:
        raise RequestError(f"the frame range {frame_range!r} must be two frame numbers (in, out)") from exc
    if start >= end:
        raise RequestError(f"the frame range {start}..{end} is empty; set the in mark before the out mark")
    if start < 0 or end > count:
        raise RequestError(
            f"the frame range {start}..{end} is outside the clip's frames 0..{count}; "
            "set the marks inside the clip"
        )

    if not isinstance(strength, (int, float)) or not math.isfinite(strength) or not 0.0 <= strength <= 1.0:
        raise RequestError(f"strength {strength} is out of range (0..1; 1 regenerates the region completely)")

    audio = None
    if source_audio is not None:
        audio = np.asarray(source_audio)
        if audio.ndim != 2:
            raise RequestError(f"the source audio must be channels x samples, got shape {audio.shape}")
    return InpaintInputs(frames, audio, pixels, start, end, float(strength))


def _size(shape: tuple[int, ...]) -> str:
    return f"{shape[1]}x{shape[0]}" if len(shape) == 2 else str(shape)


# ------------------------------------------------------------------------------------------- token mask


def latent_frame_span(start: int, end: int, temporal: int = 8) -> tuple[int, int]:
    """Latent frames [first, last] whose pixel frames meet [start, end).

    LTX-2's causal VAE maps latent frame 0 to pixel frame 0 and latent frame k >= 1 to pixel frames
    temporal*k - temporal + 1 .. temporal*k.
    """

    def covering(frame: int) -> int:
        return 0 if frame == 0 else (frame + temporal - 1) // temporal

    return covering(start), covering(end - 1)


def token_mask(
    mask: np.ndarray, start: int, end: int, num_frames: int, spatial: int = 32, temporal: int = 8
) -> np.ndarray:
    """Pixel mask + frame range -> bool [latent_frames, h, w]: True for every token the mask touches.

    Dilated by construction: a token regenerates if any pixel of its block has mask > 0, so a feathered edge
    never falls on a kept token.
    """
    height, width = mask.shape
    h, w = height // spatial, width // spatial
    touched = (mask > 0).reshape(h, spatial, w, spatial).any(axis=(1, 3))
    frames = (num_frames - 1) // temporal + 1
    first, last = latent_frame_span(start, end, temporal)
    tokens = np.zeros((frames, h, w), dtype=bool)
    tokens[first : last + 1] = touched
    return tokens


# ------------------------------------------------------------------------------------------- compositing


def composite(
    source: np.ndarray, generated: np.ndarray, mask: np.ndarray, start: int, end: int
) -> np.ndarray:
    """source * (1 - m) + generated * m inside the range; mask-0 pixels and other frames exact."""
    out = source.copy()
    m = mask[None, :, :, None]
    inside = source[start:end]
    blended = inside * (1.0 - m) + generated[start:end].astype(np.float32) * m
    out[start:end] = np.where(m == 0, inside, blended)
    return out


def audio_range(start: int, end: int, fps: float, sample_rate: int, samples: int) -> tuple[int, int]:
    """Samples [a, b) that belong to frames [start, end)."""
    a = min(round(start / fps * sample_rate), samples)
    b = min(round(end / fps * sample_rate), samples)
    return a, b


def splice_audio(source: np.ndarray, generated: np.ndarray, a: int, b: int, fade: int) -> np.ndarray:
    """Replace samples [a, b) of `source` by `generated`, with `fade`-sample crossfades inside the range."""
    out = source.copy()
    if b <= a:
        return out
    new = generated[:, a:b].astype(np.float32)
    if (
        new.shape[0] != out.shape[0]
    ):  # channel layouts differ: mono down-mix, or the same mono in every channel
        new = np.repeat(new.mean(axis=0, keepdims=True), out.shape[0], axis=0)
    old = out[:, a:b]
    weight = np.ones(b - a, dtype=np.float32)
    fade = min(fade, (b - a) // 2)
    if fade > 0:
        ramp = (np.arange(1, fade + 1, dtype=np.float32) / (fade + 1)).astype(np.float32)
        if a > 0:
            weight[:fade] = ramp
        if b < source.shape[1]:
            weight[-fade:] = np.minimum(weight[-fade:], ramp[::-1])
    out[:, a:b] = old * (1.0 - weight) + new * weight
    return out


def resample(audio: np.ndarray, rate_in: int, rate_out: int, samples: int) -> np.ndarray:
    """Linear resampling to `samples` samples at `rate_out` (for a source not at the model's rate)."""
    if rate_in == rate_out and audio.shape[1] == samples:
        return audio
    t_out = np.arange(samples, dtype=np.float64) / rate_out
    t_in = np.arange(audio.shape[1], dtype=np.float64) / rate_in
    return np.stack([np.interp(t_out, t_in, channel) for channel in audio]).astype(np.float32)


# ------------------------------------------------------------------------------------------------ engine


ProgressCallback = Callable[[int, int], None]
PreviewCallback = Callable[[PreviewFrame], None]


def run_inpaint(
    engine: Engine,
    source_frames: Any,
    source_audio: Any,
    sample_rate: int,
    mask: Any,
    frame_range: tuple[int, int],
    request: GenerationRequest,
    strength: float = 1.0,
    regenerate_audio: bool = False,
    source_latents: Any = None,
    on_progress: ProgressCallback | None = None,
    on_preview: PreviewCallback | None = None,
    cancel: threading.Event | None = None,
) -> GenerationResult:
    """`Engine.inpaint`: see there."""
    inputs = validate_inputs(
        source_frames, source_audio, mask, frame_range, strength, engine.spatial_ratio, engine.temporal_ratio
    )
    count, height, width = inputs.frames.shape[:3]
    # Size and length come from the source; a start image has no meaning here.
    request = engine.resolve(request.with_changes(width=width, height=height, num_frames=count, image=None))
    if regenerate_audio and inputs.audio is None and not sample_rate:
        sample_rate = engine.audio_sample_rate
    if cancel is not None and cancel.is_set():
        raise GenerationCancelled(0)
    try:
        return _inpaint(
            engine,
            inputs,
            int(sample_rate),
            request,
            regenerate_audio,
            source_latents,
            on_progress,
            on_preview,
            cancel,
        )
    except torch.OutOfMemoryError as exc:
        raise OutOfMemoryError(
            f"out of {engine.device.type.upper()} memory inpainting {width}x{height}, {count} frames "
            f"(quantization: {engine.quantization}); try int4 quantization or a shorter clip"
        ) from exc


def _inpaint(
    engine: Engine,
    inputs: InpaintInputs,
    sample_rate: int,
    request: GenerationRequest,
    regenerate_audio: bool,
    source_latents: Any,
    on_progress: ProgressCallback | None,
    on_preview: PreviewCallback | None,
    cancel: threading.Event | None,
) -> GenerationResult:
    runtime = engine.runtime
    started = time.perf_counter()
    timings: dict[str, float] = {}
    frames, start, end = inputs.frames, inputs.start, inputs.end
    count = frames.shape[0]
    tokens = token_mask(inputs.mask, start, end, count, engine.spatial_ratio, engine.temporal_ratio)
    metadata = engine.metadata(request)
    info: dict[str, Any] = {
        "kind": "inpaint",
        "range": [start, end],
        "strength": inputs.strength,
        "regenerate_audio": bool(regenerate_audio),
        "mask_coverage": float(inputs.mask.mean()),
        "regenerated_tokens": int(tokens.sum()),
        "total_tokens": int(tokens.size),
    }
    metadata["inpaint"] = info
    keep_video = inputs.strength == 0.0  # keep 100 % of the original: nothing to regenerate in the picture

    audio_out = None if inputs.audio is None else inputs.audio.astype(np.float32, copy=True)
    video_latents_out = None
    if keep_video and not regenerate_audio:
        info["source_latents"] = "unused"
        out_frames = frames.copy()
    else:
        clean, info["source_latents"] = source_latents_of(engine, frames, source_latents)
        timings["encode_s"] = time.perf_counter() - started
        if cancel is not None and cancel.is_set():
            raise GenerationCancelled(0)
        grid = tuple(tokens.shape)
        denoise = torch.from_numpy(np.where(tokens, inputs.strength, 0.0).astype(np.float32))
        channels, audio_frames, _ = runtime.audio_latent_shape(count, request.fps)
        video_noise, audio_noise = engine.initial_noise(request, tokens.size, audio_frames)
        video = LatentState.from_noise(
            video_noise.to(engine.device),
            runtime.video_coords(grid, request.fps),
            clean=runtime.pack_video(clean.float()),
            mask=runtime.pack_video(denoise[None, None]),
        )
        audio = LatentState.from_noise(audio_noise.to(engine.device), runtime.audio_coords(audio_frames))

        preview_frame = (start + end - 1) // 2  # the middle of the range, composited like the result
        preview_latent = latent_frame_span(preview_frame, preview_frame + 1, engine.temporal_ratio)[0]

        def preview(step: StepInfo) -> np.ndarray:
            decoded = runtime.decode_frame(step.video_x0, grid, preview_latent)
            generated = ((decoded.float().clamp(-1, 1) + 1) / 2).permute(1, 2, 0).cpu().numpy()
            source = frames[preview_frame : preview_frame + 1]
            mixed = composite(source, generated[None], inputs.mask, 0, 1)[0]
            return to_uint8(torch.from_numpy(mixed * 2 - 1).permute(2, 0, 1))

        every = request.preview_every
        reporter = StepReporter(request.steps, on_progress, on_preview, cancel, every, preview)
        t0 = time.perf_counter()
        contexts = engine.encode_prompts(request)
        timings["text_encoder_s"] = time.perf_counter() - t0
        video_guidance, audio_guidance = engine.guidance(request)
        denoise_start = time.perf_counter()
        reporter.start = denoise_start
        with torch.no_grad():
            video, audio = runtime.denoise(
                video,
                audio,
                engine.spec.sigmas(request.steps),
                contexts,
                video_guidance,
                audio_guidance,
                reporter,
            )
        timings["denoise_s"] = time.perf_counter() - denoise_start
        timings["preview_s"] = reporter.spent
        engine.last_preview_stats = reporter.stats(timings["denoise_s"])

        decode_start = time.perf_counter()
        if keep_video:
            out_frames = frames.copy()
        else:
            video_latents = runtime.unpack_video(video.latent, grid)
            decoded = runtime.decode_video_vae_space(runtime.denormalize_video(video_latents))
            generated = ((decoded[0].float().clamp(-1, 1) + 1) / 2).permute(1, 2, 3, 0).cpu().numpy()
            out_frames = composite(frames, generated, inputs.mask, start, end)
            video_latents_out = video_latents.float().cpu()
        if regenerate_audio:
            audio_latents = runtime.unpack_audio(audio.latent, channels)
            waveform = runtime.decode_audio_vae_space(runtime.denormalize_audio(audio_latents))
            native = waveform[0].float().clamp(-1, 1).cpu().numpy()
            model_rate = engine.audio_sample_rate
            native = fit_length(native, round(count / request.fps * model_rate))
            if audio_out is None:  # a silent clip gets sound only in the range
                audio_out = np.zeros((native.shape[0], round(count / request.fps * sample_rate)), np.float32)
            generated_audio = resample(native, model_rate, sample_rate, audio_out.shape[1])
            a, b = audio_range(start, end, request.fps, sample_rate, audio_out.shape[1])
            audio_out = splice_audio(audio_out, generated_audio, a, b, round(AUDIO_CROSSFADE_S * sample_rate))
            info["audio_samples"] = [a, b]
        timings["decode_s"] = time.perf_counter() - decode_start
    timings["total_s"] = time.perf_counter() - started

    return GenerationResult(
        frames=np.ascontiguousarray(out_frames, dtype=np.float32),
        audio=None if audio_out is None else np.ascontiguousarray(audio_out, dtype=np.float32),
        sample_rate=int(sample_rate),
        fps=float(request.fps),
        metadata=metadata,
        video_latents=video_latents_out,
        audio_latents=None,  # the spliced sound has no latents of its own
        timings=timings,
    )


def source_latents_of(engine: Engine, frames: np.ndarray, source_latents: Any) -> tuple[torch.Tensor, str]:
    """Denoiser-space latents [1, C, f, h, w] of the source: the kept ones if they fit, else the VAE's."""
    count, height, width = frames.shape[:3]
    expected = (
        1,
        int(engine.components.vae.config.latent_channels),
        (count - 1) // engine.temporal_ratio + 1,
        height // engine.spatial_ratio,
        width // engine.spatial_ratio,
    )
    if source_latents is not None:
        kept = torch.as_tensor(
            np.asarray(source_latents) if not torch.is_tensor(source_latents) else source_latents
        )
        if kept.ndim == 4:
            kept = kept[None]
        if tuple(kept.shape) == expected and torch.isfinite(kept).all():
            return kept.to(engine.device, torch.float32), "reused"
        # Stale or foreign latents (another size or model): the frames are the truth, so encode them.
    vae = engine.components.vae
    pixels = torch.from_numpy(np.ascontiguousarray(frames)).permute(3, 0, 1, 2)[None]
    plan = engine.plan_decode(expected)
    apply_plan(vae, plan, height, width, count)
    # diffusers' temporal tiled encode shares the decode flag; only spatial tiling is trusted for encoding.
    vae.use_framewise_decoding = False
    latents = engine.runtime.encode_video(pixels * 2 - 1)
    return latents.to(engine.device, torch.float32), "encoded"
