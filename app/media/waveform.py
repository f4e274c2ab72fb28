"""Waveform peaks (min/max per bucket over all channels) for drawing audio clips, cached (Qt-free).

A file is decoded once into a fine table of peaks (one min/max pair per ``BLOCK`` samples); any number of
buckets over any part of the file is then reduced from that table without decoding again, so zooming the
timeline never touches the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from app.errors import MediaError
from app.media.thumbnails import MemoryCache, file_key

BLOCK = 256  # samples per fine peak: ~5 ms at 48 kHz, finer than one frame at any zoom the timeline allows
_TABLES = MemoryCache(256)


@dataclass(frozen=True)
class PeakTable:
    """Fine peaks of a whole file: ``peaks[i] = (min, max)`` of samples ``i*BLOCK .. (i+1)*BLOCK``."""

    peaks: np.ndarray  # float32 [blocks, 2]
    sample_rate: int

    @property
    def seconds(self) -> float:
        return len(self.peaks) * BLOCK / self.sample_rate


def peak_table(path: str | os.PathLike[str]) -> PeakTable:
    """Decode ``path``'s first audio stream into its :class:`PeakTable` (cached by path and mtime)."""
    key = file_key(path)
    table = _TABLES.get(key)
    if table is not None:
        return table  # type: ignore[return-value]
    name = Path(key[0]).name
    try:
        with av.open(key[0]) as container:
            if not container.streams.audio:
                raise MediaError(f"'{name}' has no audio stream to draw.")
            stream = container.streams.audio[0]
            rate = stream.codec_context.sample_rate
            mins: list[np.ndarray] = []
            maxs: list[np.ndarray] = []
            carry_min = carry_max = np.zeros(0, np.float32)
            for frame in container.decode(stream):
                data = _as_float(frame)  # [channels, n]
                # min/max over channels first: the waveform shows the loudest channel at each instant
                low = np.concatenate([carry_min, data.min(axis=0)])
                high = np.concatenate([carry_max, data.max(axis=0)])
                whole = len(low) // BLOCK * BLOCK
                if whole:
                    mins.append(low[:whole].reshape(-1, BLOCK).min(axis=1))
                    maxs.append(high[:whole].reshape(-1, BLOCK).max(axis=1))
                carry_min, carry_max = low[whole:], high[whole:]
            if len(carry_min):
                mins.append(carry_min[None].min(axis=1))
                maxs.append(carry_max[None].max(axis=1))
    except av.FFmpegError as exc:
        raise MediaError(f"The sound of '{name}' cannot be decoded: {exc}") from exc
    lows = np.concatenate(mins) if mins else np.zeros(0, np.float32)
    highs = np.concatenate(maxs) if maxs else np.zeros(0, np.float32)
    table = PeakTable(np.stack([lows, highs], axis=1).astype(np.float32), int(rate))
    _TABLES.put(key, table)
    return table


def waveform_peaks(
    path: str | os.PathLike[str],
    buckets: int,
    start_seconds: float = 0.0,
    duration_seconds: float | None = None,
) -> np.ndarray:
    """``[buckets, 2]`` float32 (min, max) over all channels for a window of the file (default: all of it).

    Buckets past the end of the sound are 0.
    """
    table = peak_table(path)
    out = np.zeros((max(buckets, 0), 2), np.float32)
    if buckets <= 0 or not len(table.peaks):
        return out
    duration = table.seconds - start_seconds if duration_seconds is None else duration_seconds
    blocks_per_second = table.sample_rate / BLOCK
    step = duration * blocks_per_second / buckets
    edges = start_seconds * blocks_per_second + np.arange(buckets + 1) * step
    lo = np.clip(np.floor(edges[:-1]).astype(np.int64), 0, len(table.peaks))
    hi = np.clip(np.ceil(edges[1:]).astype(np.int64), 0, len(table.peaks))
    hi = np.maximum(hi, np.minimum(lo + 1, len(table.peaks)))  # a bucket narrower than a block: one block
    for i in np.nonzero(hi > lo)[0]:
        window = table.peaks[lo[i] : hi[i]]
        out[i, 0] = window[:, 0].min()
        out[i, 1] = window[:, 1].max()
    return out


def cached_waveform(path: str | os.PathLike[str]) -> bool:
    """Whether ``path``'s peaks are in memory (so :func:`waveform_peaks` answers without decoding)."""
    try:
        return _TABLES.get(file_key(path)) is not None
    except MediaError:
        return False


def clear_waveforms() -> None:
    _TABLES.clear()


def _as_float(frame: av.AudioFrame) -> np.ndarray:
    data = frame.to_ndarray()
    fmt = frame.format
    if not fmt.is_planar:
        data = data.reshape(-1, len(frame.layout.channels)).T
    if data.dtype == np.int16:
        return data.astype(np.float32) / 32768.0
    if data.dtype == np.int32:
        return data.astype(np.float32) / 2147483648.0
    if data.dtype == np.uint8:
        return (data.astype(np.float32) - 128.0) / 128.0
    return data.astype(np.float32, copy=False)
