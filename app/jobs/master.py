"""The lossless master of a generated clip: what the engine produced, kept bit-for-bit where possible.

Video is FFV1 in 16-bit planar RGB (gbrp16le): the engine's float frames survive to 1/65535, with no
Y'CbCr matrix in between, so grading and export start from the model's own pixels. Sound is 32-bit float
PCM (exactly the engine's samples). The latents go beside it as safetensors, so a later inpaint or
re-decode needs no second generation. Both files are written to temporary names and renamed into place:
a crash or a full disk leaves no half-written clip behind.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from app.errors import JobError
from app.project.atomic import commit, discard, remove_stale_temporaries, reserve_temp

VIDEO_CODEC = "ffv1"
VIDEO_PIX_FMT = "gbrp16le"
AUDIO_CODEC = "pcm_f32le"
AUDIO_CHUNK = 4096
MASTER_SUFFIX = ".mkv"
LATENTS_SUFFIX = ".latents.safetensors"


def safe_stem(name: str) -> str:
    """A file-name-safe stem (letters, digits, '-', '_'), never empty."""
    cleaned = "".join(c if c.isalnum() or c in "-_" else "_" for c in name).strip("_")
    return cleaned[:60] or "clip"


def unique_stem(folder: Path, name: str) -> str:
    """`name`, or `name_2`, `name_3`... so a new clip never overwrites an earlier one."""
    stem = safe_stem(name)
    candidate, n = stem, 1
    while (folder / f"{candidate}{MASTER_SUFFIX}").exists() or (
        folder / f"{candidate}{LATENTS_SUFFIX}"
    ).exists():
        n += 1
        candidate = f"{stem}_{n}"
    return candidate


def write_master(
    folder: str | os.PathLike[str],
    stem: str,
    frames: np.ndarray,
    fps: float,
    audio: np.ndarray | None,
    sample_rate: int,
    metadata: Mapping[str, object],
    video_latents: Any = None,
    audio_latents: Any = None,
) -> Path:
    """Write `<folder>/<stem>.mkv` (+ `<stem>.latents.safetensors` when latents are given); return the .mkv.

    `frames` is [F, H, W, 3] float in 0..1; `audio` [channels, samples] float in -1..1.
    Raises JobError (folder missing/unwritable, disk full, encoder missing); nothing partial remains.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise JobError(
            f"cannot create the media folder {folder} ({exc.strerror}); check the disk and rights"
        ) from exc
    if VIDEO_CODEC not in av.codecs_available or AUDIO_CODEC not in av.codecs_available:
        raise JobError("this PyAV build lacks the FFV1 or PCM encoder; reinstall the studio's dependencies")
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
        raise JobError(f"the generated frames have an unexpected shape {frames.shape}; please report this")
    dest = folder / f"{stem}{MASTER_SUFFIX}"
    latents_dest = folder / f"{stem}{LATENTS_SUFFIX}"
    remove_stale_temporaries(folder)  # what a killed generation left here
    tmp: Path | None = None
    tmp_latents: Path | None = None
    try:
        tmp = reserve_temp(dest)
        _encode(tmp, frames, fps, audio, sample_rate, metadata)
        if video_latents is not None or audio_latents is not None:
            tmp_latents = reserve_temp(latents_dest)
            _save_latents(tmp_latents, video_latents, audio_latents, metadata)
            commit(tmp_latents, latents_dest)
            tmp_latents = None
        commit(tmp, dest)
    except BaseException as exc:
        for path in (tmp, tmp_latents):
            discard(path)
        if isinstance(exc, OSError):
            if exc.errno == errno.ENOSPC:
                raise JobError(
                    f"the disk holding {folder} is full; free some space and generate again"
                ) from exc
            raise JobError(f"could not write the clip to {folder} ({exc}); check the folder") from exc
        if isinstance(exc, av.FFmpegError):
            raise JobError(f"encoding the clip failed ({exc}); please report this") from exc
        raise
    return dest


def _encode(
    path: Path,
    frames: np.ndarray,
    fps: float,
    audio: np.ndarray | None,
    rate: int,
    metadata: Mapping[str, object],
) -> None:
    from app.export.encoder import build_metadata, normalise_fps  # the same provenance tags as exports

    frame_rate = normalise_fps(fps)
    height, width = frames.shape[1:3]
    with av.open(str(path), "w", format="matroska") as container:
        container.metadata.update(build_metadata(metadata))
        video = container.add_stream(VIDEO_CODEC, rate=frame_rate)
        video.width, video.height, video.pix_fmt = width, height, VIDEO_PIX_FMT
        video.time_base = Fraction(1, 1) / frame_rate
        sound = None
        if audio is not None:
            samples = np.atleast_2d(np.asarray(audio, dtype=np.float32))
            sound = container.add_stream(AUDIO_CODEC, rate=int(rate))
            sound.layout = "mono" if samples.shape[0] == 1 else "stereo"
        for index, frame in enumerate(frames):
            # float64: the code of a float32 value must not depend on float32 rounding of the product.
            rgb = np.round(np.clip(frame.astype(np.float64), 0.0, 1.0) * 65535.0).astype(np.uint16)
            packed = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb48le")
            planar = packed.reformat(format=VIDEO_PIX_FMT)  # a lossless shuffle into planes
            planar.pts = index
            container.mux(video.encode(planar))
        container.mux(video.encode())
        if sound is not None:
            layout = sound.layout.name
            clipped = np.clip(samples, -1.0, 1.0)
            for start in range(0, clipped.shape[1], AUDIO_CHUNK):
                chunk = clipped[:, start : start + AUDIO_CHUNK]
                # Packed float ("flt"): one row of interleaved samples.
                out = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(chunk.T).reshape(1, -1), format="flt", layout=layout
                )
                out.sample_rate = int(rate)
                out.pts = start
                container.mux(sound.encode(out))
            container.mux(sound.encode())


def _save_latents(path: Path, video_latents: Any, audio_latents: Any, metadata: Mapping[str, object]) -> None:
    import torch
    from safetensors.torch import save_file

    tensors = {}
    for key, value in (("video_latents", video_latents), ("audio_latents", audio_latents)):
        if value is not None:
            tensors[key] = torch.as_tensor(value).detach().to("cpu", torch.float32).contiguous()
    meta = {k: str(v) for k, v in metadata.items() if isinstance(v, (str, int, float, bool))}
    meta["space"] = "denoiser (normalized)"
    save_file(tensors, str(path), metadata=meta)


def read_latents(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The latents saved beside a master (torch tensors by name)."""
    from safetensors.torch import load_file

    return load_file(str(path))
