"""Inpainting jobs: what the user asked for, the source read at full precision, the take written and applied.

An inpaint runs through the same JobQueue and worker thread as a generation (progress, preview, cancel). The
worker never touches the document: `InpaintSpec.for_clip` copies what it needs (the source file, the mask
id and folder, the original's name) on the UI thread, and `apply_inpaint_result` puts the finished take
back through the undo stack. The source master is never written to: a take is always a new file.

    spec = InpaintSpec.for_clip(doc, clip_id, session.masks_dir, prompt="a red scarf", seed=3)
    job_id = queue.submit(spec)
    queue.job_finished -> apply_inpaint_result(stack, doc, item, spec.clip_id)
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import av
import numpy as np

from app import provenance
from app.errors import AppError, JobError, MediaError
from app.jobs.master import LATENTS_SUFFIX, MASTER_SUFFIX, read_latents, unique_stem, write_master
from app.jobs.spec import MAX_SEED, MAX_STEPS, MIN_STEPS, MODEL_LTX2, MODEL_TINY, optional

log = logging.getLogger(__name__)

MISSING_MEDIA = "the clip's media file is missing: relink it first"


@dataclass(frozen=True)
class InpaintSpec:
    """One inpaint as the user asked for it. Frozen: a queued job never changes under the worker.

    `frame_range` counts frames of the source file, end exclusive (the clip mask's "in"/"out"). `width`,
    `height` and `frames` describe the source as the bin knew it (for the queue's row; the worker reads the
    file itself). `take_number` and `name` only name the file; the bin's take number is given on apply.
    """

    clip_id: str
    media_id: str  # the bin item the clip shows now (the original or one of its takes)
    mask_id: str
    frame_range: tuple[int, int]
    prompt: str
    source_path: str
    masks_dir: str
    root_media_id: str = ""  # the original every take hangs under (default: media_id)
    negative_prompt: str | None = None  # None (and steps, guidance): the model's reference value
    seed: int = 0
    steps: int | None = None
    strength: float = 1.0
    regenerate_audio: bool = False
    place: bool = True  # switch the clip to the take when it is done
    guidance: float | None = None
    audio_guidance: float | None = None
    model: str = MODEL_LTX2
    quantization: str = "none"
    width: int = 0
    height: int = 0
    frames: int = 0
    name: str = ""
    take_number: int = 1
    source_generation: dict | None = field(default=None, compare=False)
    preview_every: int = 2

    # The job queue and its view read these of every spec.
    place_on_timeline = False  # an inpaint replaces a clip's media, it never inserts a new clip
    kind = "inpaint"

    @property
    def take_of(self) -> str:
        return self.root_media_id or self.media_id

    def with_changes(self, **changes: Any) -> InpaintSpec:
        return dataclasses.replace(self, **changes)

    def display_name(self) -> str:
        return f"{self.name or 'clip'}_take{self.take_number}"

    @classmethod
    def for_clip(
        cls,
        doc: Any,
        clip_id: str,
        masks_dir: str | os.PathLike[str],
        prompt: str,
        mask: dict | None = None,
        **params: Any,
    ) -> InpaintSpec:
        """The spec for inpainting `clip_id` with its mask (`doc.set_clip_mask`) or `mask` ({"id", "in",
        "out"}). `params` are the other fields (seed, steps, strength, regenerate_audio...). Reads the
        document, so call it on the UI thread. JobError when the clip has no media or no mask."""
        clip = doc.clip(clip_id)
        if clip.media_id is None:
            raise JobError("this clip has no media to inpaint; choose a clip that shows a video")
        mask = mask if mask is not None else clip.mask
        if not mask or not mask.get("id"):
            raise JobError("this clip has no mask; paint the region to regenerate in the viewer first")
        try:
            frame_range = (int(mask["in"]), int(mask["out"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise JobError(
                "the clip's mask has no frame range; mark in and out points and paint again"
            ) from exc
        item = doc.bin_item(clip.media_id)
        root = item.take_of if item.take_of is not None else item.id
        try:
            family = doc.takes(root)
        except AppError:  # the original left the bin: this item starts a family of its own
            root, family = item.id, doc.takes(item.id)
        root_item = next((i for i in family if i.id == root), item)
        info = item.info
        source_generation = item.generation if isinstance(item.generation, dict) else None
        values: dict[str, Any] = {
            "model": _model_of(source_generation),
            "width": int(info.width or 0) if info else 0,
            "height": int(info.height or 0) if info else 0,
            "frames": int(info.frame_count or 0) if info else 0,
        }
        values.update(params)
        return cls(
            clip_id=clip_id,
            media_id=item.id,
            mask_id=str(mask["id"]),
            frame_range=frame_range,
            prompt=prompt,
            source_path=str(item.path),
            masks_dir=str(masks_dir),
            root_media_id=root,
            name=Path(root_item.name).stem or root_item.name,
            take_number=len(family),
            source_generation=source_generation,
            **values,
        )

    def validate(self) -> None:
        """Raise JobError with a fix the user can make, before the job waits in the queue. What needs the
        files (media present, mask size, frame range inside the clip) is checked by the worker."""
        if self.model not in (MODEL_LTX2, MODEL_TINY):
            raise JobError(f"unknown model {self.model!r}; choose the LTX-2 checkpoint or the test model")
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise JobError("the prompt is empty; describe what the painted region should show")
        steps = self.steps
        if steps is not None and (not isinstance(steps, int) or not MIN_STEPS <= steps <= MAX_STEPS):
            raise JobError(f"steps {self.steps} is out of range ({MIN_STEPS}..{MAX_STEPS})")
        if not isinstance(self.seed, int) or not 0 <= self.seed <= MAX_SEED:
            raise JobError(f"seed {self.seed} must be a whole number from 0 to 2^63-1")
        strength = self.strength
        if not isinstance(strength, (int, float)) or not math.isfinite(strength) or not 0 <= strength <= 1:
            raise JobError(f"strength {strength} is out of range (0..1; 1 regenerates the region fully)")
        if len(self.frame_range) != 2 or not all(isinstance(v, int) for v in self.frame_range):
            raise JobError("the frame range must be two frame numbers; mark in and out points again")

    def to_request(self, width: int, height: int, frames: int, fps: float):
        """The engine request for the source as it is on disk (engine.request.GenerationRequest)."""
        from engine.request import GenerationRequest

        return GenerationRequest(
            prompt=self.prompt,
            negative_prompt=self.negative_prompt,
            width=int(width),
            height=int(height),
            num_frames=int(frames),
            fps=float(fps),
            steps=optional(int, self.steps),
            guidance_scale=optional(float, self.guidance),
            audio_guidance_scale=optional(float, self.audio_guidance),
            seed=int(self.seed),
            preview_every=self.preview_every,
        )

    def generation_parameters(self) -> dict[str, Any]:
        """The request part of a take's stored generation dict (JSON-able); see docs/inpainting.md."""
        return {
            "kind": "inpaint",
            "source_media_id": self.media_id,
            "original_media_id": self.take_of,
            "clip_id": self.clip_id,
            "mask_id": self.mask_id,
            "range": [int(self.frame_range[0]), int(self.frame_range[1])],
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "seed": int(self.seed),
            "steps": optional(int, self.steps),
            "strength": float(self.strength),
            "regenerate_audio": bool(self.regenerate_audio),
            "guidance": optional(float, self.guidance),
            "audio_guidance": optional(float, self.audio_guidance),
            "model": self.model,
            "quantization": self.quantization,
        }


def _model_of(generation: dict | None) -> str:
    """Inpaint with the model that made the clip; imported clips get LTX-2."""
    model = str((generation or {}).get("model", MODEL_LTX2))
    return model if model in (MODEL_LTX2, MODEL_TINY) else MODEL_LTX2


# --- the worker side (runs on the engine thread) ------------------------------------------------------------


@dataclass
class InpaintSource:
    """The source clip read at full precision, ready for Engine.inpaint."""

    frames: np.ndarray  # [F, H, W, 3] float32 0..1, exactly the master's 16-bit codes / 65535
    audio: np.ndarray | None  # [2, N] float32, the file's samples as stored
    sample_rate: int
    fps: float
    mask: np.ndarray  # [H, W] float32 0..1
    latents: Any = None  # the master's saved latents ({"video_latents", "audio_latents"}), if any

    @property
    def size(self) -> tuple[int, int]:
        return int(self.frames.shape[2]), int(self.frames.shape[1])


def read_source(spec: InpaintSpec, cancel: threading.Event | None = None) -> InpaintSource:
    """Read and check everything an inpaint needs before the model is loaded, so a bad job fails in a
    moment, not after a minute of loading. JobError/MaskError with what to do; GenerationCancelled."""
    from app.masks import MaskStore
    from app.media.clip_reader import read_frames
    from app.media.probe import probe_media

    path = Path(spec.source_path)
    if not path.is_file():
        raise JobError(f"{MISSING_MEDIA} ({path.name} is not at {path.parent})")
    mask8 = MaskStore(spec.masks_dir).load(spec.mask_id)
    try:
        info = probe_media(path)
    except MediaError as exc:
        raise JobError(f"the clip's media cannot be read ({exc}); relink it to a working file") from exc
    if not info.has_video or not info.width or not info.height:
        raise JobError(f"'{path.name}' has no video to inpaint")
    width, height, count = int(info.width), int(info.height), int(info.frame_count)
    start, end = spec.frame_range
    if not 0 <= start < end <= count:
        raise JobError(
            f"the frame range {start}..{end - 1} is outside the clip's frames 0..{count - 1}; "
            "set the in and out marks inside the clip and paint the mask again"
        )
    if mask8.shape != (height, width):
        raise JobError(
            f"the mask is {mask8.shape[1]} x {mask8.shape[0]} pixels but the clip's frames are "
            f"{width} x {height}; clear the mask and paint it again on this clip"
        )
    if not mask8.any():
        raise JobError("the mask is empty: paint over the region to regenerate first (Invert selects all)")
    frames = read_frames(path, info, count, cancel)
    audio, rate = read_audio_exact(path)
    return InpaintSource(
        frames=frames,
        audio=audio,
        sample_rate=rate,
        fps=float(info.fps) if info.fps else 24.0,
        mask=mask8.astype(np.float32) / np.float32(255.0),
        latents=_latents_beside(path),
    )


def read_audio_exact(path: str | os.PathLike[str]) -> tuple[np.ndarray | None, int]:
    """A file's whole first audio stream at its own rate as float32 [2, N], without resampling: the
    float32 PCM of our masters comes back bit for bit (integer PCM exactly scaled). (None, 0) without
    sound. Mono is doubled to stereo; beyond two channels the first two are kept."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                return None, 0
            stream = container.streams.audio[0]
            rate = int(stream.rate or stream.codec_context.sample_rate)
            chunks = [_planar_float(frame) for frame in container.decode(stream)]
    except (av.FFmpegError, OSError) as exc:
        raise JobError(f"the clip's sound cannot be read ({exc}); relink it to a working file") from exc
    if not chunks:
        return None, 0
    samples = np.concatenate(chunks, axis=1)
    if samples.shape[0] == 1:
        samples = np.concatenate([samples, samples], axis=0)
    return np.ascontiguousarray(samples[:2]), rate


_INT_SCALE = {"u8": 128.0, "s16": 32768.0, "s32": 2147483648.0, "s64": 9223372036854775808.0}


def _planar_float(frame: av.AudioFrame) -> np.ndarray:
    array = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if not frame.format.is_planar:  # packed: one row of interleaved samples
        array = array.reshape(-1, channels).T
    base = frame.format.name.rstrip("p")
    if base in ("flt", "dbl"):
        return array.astype(np.float32, copy=False)
    if base == "u8":
        return ((array.astype(np.float64) - 128.0) / 128.0).astype(np.float32)
    return (array.astype(np.float64) / _INT_SCALE[base]).astype(np.float32)


def _latents_beside(master: Path) -> Any:
    """The latents kept at generation time (`<stem>.latents.safetensors`), or None. A damaged file only
    costs a re-encode, so it is logged, not fatal."""
    stem = master.name[: -len(MASTER_SUFFIX)] if master.name.endswith(MASTER_SUFFIX) else master.stem
    path = master.with_name(f"{stem}{LATENTS_SUFFIX}")
    if not path.is_file():
        return None
    try:
        return read_latents(path)
    except Exception as exc:  # noqa: BLE001 -- safetensors raises several kinds; all mean "not usable"
        log.warning("ignoring unreadable latents %s: %s", path, exc)
        return None


def run_inpaint(
    engine: Any,
    spec: InpaintSpec,
    source: InpaintSource,
    on_progress: Callable[[int, int], None] | None = None,
    on_preview: Callable[[Any], None] | None = None,
    cancel: threading.Event | None = None,
) -> Any:
    """Engine.inpaint on the source (docs/inpainting.md); returns the engine's GenerationResult."""
    width, height = source.size
    request = spec.to_request(width, height, len(source.frames), source.fps)
    video_latents = source.latents.get("video_latents") if isinstance(source.latents, dict) else None
    return engine.inpaint(
        source.frames,
        source.audio,
        source.sample_rate,
        source.mask,
        tuple(spec.frame_range),
        request,
        strength=float(spec.strength),
        regenerate_audio=bool(spec.regenerate_audio),
        source_latents=video_latents,
        on_progress=on_progress,
        on_preview=on_preview,
        cancel=cancel,
    )


def inpaint_record(
    spec: InpaintSpec, engine: Any, source: InpaintSource, result: Any = None
) -> dict[str, Any]:
    """Everything a take was made with: the inpaint parameters, the model that ran, and the identity of
    the model that made the source (provenance never gets stripped). Built by `app.provenance`. With the
    engine's `result`, the values left to the model (None) are recorded as the engine resolved them."""
    from app.jobs.result import job_record

    width, height = source.size
    source_generation = spec.source_generation or {}
    parameters = spec.generation_parameters()
    parameters.update(
        {"width": width, "height": height, "frames": len(source.frames), "fps": float(source.fps)}
    )
    return job_record(
        spec,
        engine,
        parameters,
        result,
        source_model=provenance.model_name(source_generation, "") or None,
        source_checkpoint_identity=provenance.checkpoint(source_generation),
        source_seed=source_generation.get("seed"),
        source_prompt=source_generation.get("prompt"),
    )


def build_take(media_dir: Path, spec: InpaintSpec, source: InpaintSource, result: Any, generation: dict):
    """Write the take's lossless master (+ latents) as a new file and describe it as a bin item, a take of
    the original. Without `regenerate_audio` a source without sound gives a take without sound."""
    from app.document import MediaItem
    from app.jobs.result import master_metadata
    from app.media.probe import probe_media

    media_dir = Path(media_dir)
    stem = unique_stem(media_dir, spec.display_name())
    audio = result.audio
    if source.audio is None and not spec.regenerate_audio:
        audio = None
    rate = int(result.sample_rate or source.sample_rate)
    path = write_master(
        media_dir,
        stem,
        result.frames,
        result.fps or source.fps,
        audio,
        rate,
        master_metadata(generation),
        video_latents=getattr(result, "video_latents", None),
        audio_latents=getattr(result, "audio_latents", None),
    )
    latents = media_dir / f"{stem}{LATENTS_SUFFIX}"
    generation = dict(generation, sample_rate=rate, latents=latents.name if latents.is_file() else None)
    return MediaItem(
        id=uuid.uuid4().hex,
        path=str(path.resolve()),
        name=stem,
        info=probe_media(path),
        generation=generation,
        take_of=spec.take_of,
        kind="generated",
    )


# --- back on the UI thread ----------------------------------------------------------------------------------


def apply_inpaint_result(stack: Any, doc: Any, item: Any, clip_id: str | None) -> str:
    """Add a finished take to the bin and show it in `clip_id` (and its linked sound) -- one undo step.
    Undo brings the original clip back and takes the take out of the bin (its file stays on disk, so redo
    and a later re-import still work). `clip_id` None only files the take. Returns the take's media id.

    Raises EditError (nothing pushed) when the clip is gone or cannot show the take.
    """
    from app.commands import push_edit

    def apply(document: Any) -> str:
        take = item
        known = {i.id for i in document.bin_items()}
        if take.take_of in known:
            take = replace(take, take=len(document.takes(take.take_of)))
        else:  # the original was deleted meanwhile: the take stands alone
            take = replace(take, take_of=None, take=0)
        media_id = document.add_bin_item(take)
        if clip_id is not None:
            document.set_clip_media(clip_id, media_id)
        return media_id

    return push_edit(stack, doc, f"Inpaint {item.name}", apply)


def switch_take(stack: Any, doc: Any, clip_id: str, media_id: str) -> list[str]:
    """Show another take (or the original) of the clip's media in `clip_id` and its linked sound, as one
    undo step; the take switcher calls this. Returns the clips switched; EditError (nothing pushed) when
    `media_id` is not of the same family or cannot fill the clip."""
    from app.commands import push_edit
    from app.errors import EditError

    current = doc.clip(clip_id).media_id
    if current == media_id:
        return []
    family = {i.id for i in doc.takes(current)} if current is not None else set()
    if media_id not in family:
        raise EditError("that media is not a take of this clip; drag it onto the timeline instead")
    name = doc.bin_item(media_id).name
    return push_edit(
        stack, doc, f"Switch to {name}", lambda document: document.set_clip_media(clip_id, media_id)
    )
