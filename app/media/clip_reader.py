"""A whole clip read as frames for the engine (extend): every frame decoded at 16 bits, float32 0..1, plus the
provenance record the file carries. Qt-free (the CLI uses it)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.errors import JobError, MediaError


@dataclass
class ClipSource:
    """A clip read for extending: frames [F, H, W, 3] float32 0..1 and its provenance record (its sound is
    read by `source_sound` when it kept no audio latents)."""

    path: Path
    frames: np.ndarray
    fps: float
    generation: dict | None = None
    audio_latents: object = None  # the denoiser-space audio latents kept beside a studio master, if any


def read_clip(path: str | Path, cancel: threading.Event | None = None) -> ClipSource:
    """Every frame of `path` (16-bit decode, float 0..1) and its record; JobError saying what to do."""
    from app.media.importer import _generation_in
    from app.media.probe import probe_media

    path = Path(path)
    if not path.is_file():
        raise JobError(f"the clip {path} does not exist; relink it or choose another")
    try:
        info = probe_media(path)
    except MediaError as exc:
        raise JobError(f"the clip's media cannot be read ({exc}); relink it to a working file") from exc
    if not info.has_video or not info.width or not info.height or not info.frame_count:
        raise JobError(f"'{path.name}' has no video to extend")
    fps = float(info.fps or 24.0)
    frames = read_frames(path, info, int(info.frame_count), cancel)
    return ClipSource(path, frames, fps, _generation_in(str(path)), _audio_latents_beside(path))


def read_frames(path: Path, info, count: int, cancel: threading.Event | None = None) -> np.ndarray:  # noqa: ANN001
    """The first ``count`` frames of ``path`` as float32 RGB in 0..1, (count, height, width, 3), decoded at
    16 bits. Frame ``index`` is the one presented at ``index / fps`` (a variable-rate file's frames are not
    evenly spaced); 16-bit code k becomes float32(k / 65535), what the master writer rounds back. A cancel
    raises GenerationCancelled; an undecodable file is a JobError that says to relink it."""
    from app.media.reader import VideoReader
    from engine.errors import GenerationCancelled

    fps = float(info.fps or 24.0)
    frames = np.empty((count, int(info.height), int(info.width), 3), np.float32)
    try:
        with VideoReader(path, info) as reader:
            for index in range(count):
                if cancel is not None and cancel.is_set():
                    raise GenerationCancelled(0)
                frames[index] = reader.frame(reader.index_at(index / fps), depth=16)
    except (MediaError, IndexError) as exc:
        raise JobError(f"the clip's media cannot be decoded ({exc}); relink it to a working file") from exc
    frames /= np.float32(65535.0)
    return frames


# The file a studio master's latents are kept in: `<stem>.latents.safetensors` (app.jobs.master).
LATENTS_SUFFIX = ".latents.safetensors"


def _audio_latents_beside(path: Path):
    """The audio latents saved beside a generated clip, or None (a foreign or damaged file: its sound is
    read and encoded instead, see `source_sound`)."""
    latents = path.with_name(f"{path.stem}{LATENTS_SUFFIX}")
    if not latents.is_file():
        return None
    try:
        from safetensors.torch import load_file

        return load_file(str(latents)).get("audio_latents")
    except Exception:  # noqa: BLE001 -- any unreadable file means "not usable"
        return None


# the rate a source's sound is read at for the audio encoder (the engine resamples it to the audio VAE's)
SOURCE_SOUND_RATE = 48000


def source_sound(source: ClipSource) -> tuple[np.ndarray | None, int | None]:
    """The source's sound ([2, samples] float32 at SOURCE_SOUND_RATE) for the engine to encode when the
    clip kept no audio latents (an imported file), or (None, None): latents kept, or no audio stream."""
    if source.audio_latents is not None:
        return None, None
    from app.errors import MediaError
    from app.media.audio import read_audio

    seconds = source.frames.shape[0] / float(source.fps)
    try:
        return read_audio(source.path, 0.0, seconds, SOURCE_SOUND_RATE), SOURCE_SOUND_RATE
    except MediaError:  # no audio stream, or one that cannot be decoded: the sound follows the picture
        return None, None
