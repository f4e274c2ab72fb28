"""Extend a clip forward or backward by a number of seconds, as a new take that joins the original.

Forward: the new clip starts with the source's last `context` frames (8m+1 of them) as conditioning — their
latents replace the new clip's first latent frames with denoise mask 0, as ltx-pipelines conditions on a
start image, extended to several latent frames — and continues for the requested length; the take is what
comes after them, so it joins the source's last frame. Those conditioned frames decode to the source's frames
up to the video VAE's round trip (`ExtendResult.context_error` measures it against the source).

Backward: the new clip has the source's first frame as a keyframe (a guiding latent placed at frame N,
ltx-pipelines' `VideoConditionByKeyframeIndex`), and the take is the N frames before it.

Sound: the model generates the new part's sound together with its picture, held to the source's sound where
the two meet. The source's audio latents are the ones a clip this studio generated keeps beside its master
(`source_audio_latents`), or else its sound (`source_audio`, any rate) encoded with the model's audio VAE
encoder (`Runtime.encode_audio`, as ltx-pipelines' audio-to-video pipeline encodes a sound): an imported file
continues too. Forward, the latent frames under the conditioning frames are held to the source's last ones
(denoise mask 0, `GenerationRequest.audio_prefix`). Backward, the clip runs on past frame N over the source's
first `context` frames (their picture is not kept) and its last latent frames are held to the source's first
ones (`audio_suffix`), so the take's sound leads into the source's. A source without sound (no latents, no
audio stream) gives an extension whose sound follows the picture only, and backward then ends on frame N.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.errors import RequestError
from engine.request import GenerationRequest, GenerationResult, Keyframe

if TYPE_CHECKING:
    from engine.engine import Engine

DIRECTIONS = ("forward", "backward")
DEFAULT_CONTEXT_FRAMES = 9  # two latent frames: the last 9 frames condition a forward extension


@dataclass
class ExtendResult:
    """The new take (frames and sound to place beside the source) and how it was made."""

    frames: np.ndarray  # [N, H, W, 3] float32 0..1, the take only (no conditioning frames)
    audio: np.ndarray  # [channels, samples] matching the take's duration
    sample_rate: int
    fps: float
    direction: str
    metadata: dict[str, Any]
    generated: GenerationResult = field(repr=False)  # the whole generated clip, conditioning frames included
    context_frames: int = 0
    context_error: float | None = None  # max abs difference of the conditioned frames from the source's
    audio_latents: Any = None  # the take's own audio latents [1, C, t, mel] (an extension can be extended)


def extension_frames(seconds: float, fps: float, temporal: int = 8) -> int:
    """New frames for about `seconds` at `fps`: a positive multiple of the latent frame (8)."""
    if not (isinstance(seconds, (int, float)) and np.isfinite(seconds) and seconds > 0):
        raise RequestError(f"extend by {seconds} s: give a positive number of seconds")
    return max(1, round(seconds * fps / temporal)) * temporal


def extend_clip(
    engine: Engine,
    source_frames: np.ndarray,
    seconds: float,
    request: GenerationRequest,
    direction: str = "forward",
    context_frames: int = DEFAULT_CONTEXT_FRAMES,
    on_progress=None,
    on_preview=None,
    cancel: threading.Event | None = None,
    on_stage=None,
    source_audio_latents=None,
    source_audio=None,
    source_sample_rate: int | None = None,
) -> ExtendResult:
    """Generate the extension of `source_frames` ([F, H, W, 3] float 0..1 or uint8) by about `seconds`.

    `request` supplies the prompt, seed, recipe, LoRAs and guidance; its size and length are taken from the
    source and `seconds`. The source's sound continues from `source_audio_latents` (kept by the studio), else
    from `source_audio` ([channels, samples] at `source_sample_rate`), encoded here. Raises RequestError for
    bad input, GenerationCancelled when cancelled.
    """
    if direction not in DIRECTIONS:
        raise RequestError(f"direction '{direction}' is unknown; use forward or backward")
    frames = np.asarray(source_frames)
    if frames.ndim != 4 or frames.shape[3] != 3 or frames.shape[0] < 1:
        raise RequestError(f"the source must be frames [F, H, W, 3]; got shape {frames.shape}")
    if frames.dtype == np.uint8:
        frames = frames.astype(np.float32) / 255.0
    frames = np.clip(frames.astype(np.float32), 0.0, 1.0)
    height, width = frames.shape[1:3]
    temporal = engine.temporal_ratio
    new = extension_frames(seconds, request.fps, temporal)
    sound = "kept latents" if source_audio_latents is not None else None
    if source_audio_latents is None and source_audio is not None:
        if not source_sample_rate or int(source_sample_rate) <= 0:
            raise RequestError("the source's sound needs its sample rate")
        source_audio_latents = engine.runtime.encode_audio(source_audio, int(source_sample_rate)).cpu()
        sound = "encoded from the source's sound"
    audio_suffix = None
    if direction == "forward":
        context = min(int(context_frames), frames.shape[0])
        context = (context - 1) // temporal * temporal + 1
        if context < 1:
            raise RequestError("the source has no frame to continue from")
        tail = frames[-context:]
        keyframes = (Keyframe(tail, 0, 1.0),)
        total = context + new
        audio_prefix = _audio_tail(source_audio_latents, frames.shape[0], context, request.fps, engine)
    else:
        context, audio_prefix = 1, None
        if source_audio_latents is not None:  # run on over the source's first frames to hold their sound
            context = max(1, (min(int(context_frames), frames.shape[0]) - 1) // temporal * temporal + 1)
            audio_suffix = _audio_head(source_audio_latents, new, new + context, request.fps, engine)
            if audio_suffix is None:
                context = 1
        total = new + context
        keyframes = (Keyframe((frames[0] * 255).round().astype(np.uint8), new, 1.0),)
    generation = request.with_changes(
        width=width, height=height, num_frames=total, keyframes=keyframes, audio_prefix=audio_prefix,
        audio_suffix=audio_suffix,
    )
    result = engine.generate(generation, on_progress, on_preview, cancel, on_stage=on_stage)
    rate, fps = result.sample_rate, result.fps
    per_second = engine.spec.audio_latents_per_second
    if direction == "forward":
        take = result.frames[context:]
        start = round(context / fps * rate)
        audio = result.audio[:, start : start + round(len(take) / fps * rate)]
        error = float(np.abs(result.frames[:context] - tail).max())
        first_latent = round(context / fps * per_second)
    else:
        take = result.frames[:new]
        audio = result.audio[:, : round(new / fps * rate)]
        error = None
        first_latent = 0
    latent_count = engine.runtime.audio_latent_frames(len(take), fps)
    take_latents = result.audio_latents[:, :, first_latent : first_latent + latent_count]
    metadata = dict(result.metadata)
    held = audio_prefix if audio_prefix is not None else audio_suffix
    metadata["extend"] = {
        "sound_held": held is not None,
        "sound_from": sound if held is not None else None,
        "held_audio_latent_frames": int(held.shape[2]) if held is not None else 0,
        "direction": direction,
        "seconds": float(seconds),
        "new_frames": int(len(take)),
        "context_frames": int(context),
    }
    return ExtendResult(
        frames=np.ascontiguousarray(take),
        audio=np.ascontiguousarray(audio),
        sample_rate=rate,
        fps=fps,
        direction=direction,
        metadata=metadata,
        generated=result,
        context_frames=context,
        context_error=error,
        audio_latents=take_latents,
    )


def _audio_tail(latents, source_frames: int, context: int, fps: float, engine: Engine):
    """The source's audio latent frames under its last `context` video frames ([1, C, t, mel]), or None when
    the latents are missing or do not fit the source's length (then the sound follows the picture only)."""
    if latents is None:
        return None
    import torch

    tensor = torch.as_tensor(np.asarray(latents)) if not torch.is_tensor(latents) else latents
    if tensor.ndim == 3:
        tensor = tensor[None]
    total = engine.runtime.audio_latent_frames(source_frames, fps)
    if tensor.ndim != 4 or abs(tensor.shape[2] - total) > 1:
        return None
    held = int(context / fps * engine.spec.audio_latents_per_second)  # whole latent frames inside the context
    start = round((source_frames - context) / fps * engine.spec.audio_latents_per_second)
    if held < 1 or start + held > tensor.shape[2]:
        return None
    return tensor[:, :, start : start + held].float()


def _audio_head(latents, new: int, total: int, fps: float, engine: Engine):
    """The source's first audio latent frames to hold at the end of a backward clip of `total` frames whose
    frame `new` is the source's first ([1, C, t, mel]), or None when they do not fit."""
    import torch

    tensor = torch.as_tensor(np.asarray(latents)) if not torch.is_tensor(latents) else latents
    if tensor.ndim == 3:
        tensor = tensor[None]
    clip_latents = engine.runtime.audio_latent_frames(total, fps)
    held = clip_latents - round(new / fps * engine.spec.audio_latents_per_second)
    if tensor.ndim != 4 or held < 1 or held > tensor.shape[2]:
        return None
    return tensor[:, :, :held].float()


def vae_round_trip_error(engine: Engine, frames: np.ndarray) -> float:
    """Max abs difference between `frames` ([K, H, W, 3] float 0..1, K = 8m+1) and their VAE encode/decode:
    the bound a conditioned frame can be held to."""
    from engine.conditioning import clip_pixels

    height, width = frames.shape[1:3]
    latents = engine.runtime.encode_video(clip_pixels(frames, width, height))
    decoded = engine.decode_video(latents)[0]
    decoded = ((decoded.float().clamp(-1, 1) + 1) / 2).permute(1, 2, 3, 0).cpu().numpy()
    return float(np.abs(decoded - frames).max())
