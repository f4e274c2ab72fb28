"""Decode a file's audio as float32 stereo at a chosen rate, from any point (PyAV, Qt-free).

:class:`AudioReader` keeps its decoder open and remembers where it stopped, so the player reading the
timeline in consecutive chunks decodes each sample once; a jump elsewhere seeks. Samples before the start or
after the end of the file read as silence, so callers can ask for any window.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from app.errors import MediaError

# Seconds decoded before the wanted start: seek points of compressed audio are approximate and a decoder
# needs a packet or two (AAC overlap) before its output is right. Matroska stores times in milliseconds, so
# a window read from .mkv may sit up to half a millisecond off (inaudible).
_SEEK_MARGIN = 0.25


class AudioReader:
    """Reads windows of one file's first audio stream; thread-confined like :class:`VideoReader`."""

    def __init__(self, path: str | os.PathLike[str], sample_rate: int = 48000) -> None:
        self.path = str(os.fspath(path))
        self.sample_rate = int(sample_rate)
        name = Path(self.path).name
        try:
            self._container = av.open(self.path)
        except (av.FFmpegError, OSError) as exc:
            raise MediaError(f"'{name}' cannot be opened for its sound: {exc}") from exc
        if not self._container.streams.audio:
            self._container.close()
            raise MediaError(f"'{name}' has no audio stream.")
        self._stream = self._container.streams.audio[0]
        self._start = self._stream.start_time or 0
        self._frames: Iterator[av.AudioFrame] | None = None
        self._resampler: av.AudioResampler | None = None
        self._buffer = np.zeros((2, 0), np.float32)
        self._buffer_start = 0  # output-rate sample index (from the stream start) of _buffer[:, 0]
        self._ended = False
        self.seeks = 0

    def read(self, start_seconds: float, duration_seconds: float) -> np.ndarray:
        """``[2, round(duration * rate)]`` float32 samples from ``start_seconds`` into the file."""
        first = round(start_seconds * self.sample_rate)
        count = max(round(duration_seconds * self.sample_rate), 0)
        out = np.zeros((2, count), np.float32)
        if count == 0:
            return out
        end = first + count
        if end <= 0:
            return out
        wanted = max(first, 0)
        buffered_end = self._buffer_start + self._buffer.shape[1]
        if self._frames is None or not self._buffer_start <= wanted <= buffered_end + self.sample_rate // 10:
            self._seek(wanted)
        try:
            while self._buffer_start + self._buffer.shape[1] < end and not self._ended:
                self._decode_more()
        except av.FFmpegError as exc:
            raise MediaError(f"The sound of '{Path(self.path).name}' cannot be decoded: {exc}") from exc
        lo = max(wanted, self._buffer_start)
        hi = min(end, self._buffer_start + self._buffer.shape[1])
        if hi > lo:
            base = self._buffer_start
            out[:, lo - first : hi - first] = self._buffer[:, lo - base : hi - base]
        # Keep only what a following chunk may still need.
        drop = max(0, min(end, self._buffer_start + self._buffer.shape[1]) - self._buffer_start)
        self._buffer = self._buffer[:, drop:]
        self._buffer_start += drop
        return out

    def read_at_speed(self, start_seconds: float, count: int, speed: float = 1.0) -> np.ndarray:
        """``[2, count]`` samples of a clip playing at ``speed`` (a retime): ``count * speed`` samples of
        the file from ``start_seconds``, linearly resampled to ``count`` -- like a tape run faster or
        slower, the pitch moves with the speed (no time stretching)."""
        if speed == 1.0 or count <= 0:
            return self.read(start_seconds, count / self.sample_rate)
        wanted = int(math.ceil(count * speed)) + 1  # one extra sample to interpolate the last one
        sound = self.read(start_seconds, wanted / self.sample_rate)
        positions = np.arange(count, dtype=np.float64) * speed
        index = np.arange(sound.shape[1], dtype=np.float64)
        return np.stack([np.interp(positions, index, channel) for channel in sound]).astype(np.float32)

    def close(self) -> None:
        self._frames = None
        self._container.close()

    def __enter__(self) -> AudioReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _seek(self, sample: int) -> None:
        seconds = max(sample / self.sample_rate - _SEEK_MARGIN, 0.0)
        if seconds == 0.0 and self.seeks:
            # Reopen rather than seek to the start: a fresh demuxer applies the codec's start padding
            # (AAC priming); after a seek to 0 the decoder's first ~10 ms come out silent.
            self._container.close()
            self._container = av.open(self.path)
            self._stream = self._container.streams.audio[0]
        elif seconds > 0.0:
            tb = self._stream.time_base
            self._container.seek(self._start + int(seconds / tb), stream=self._stream, backward=True)
        self._frames = self._container.decode(self._stream)
        self._resampler = av.AudioResampler(format="fltp", layout="stereo", rate=self.sample_rate)
        self._buffer = np.zeros((2, 0), np.float32)
        self._buffer_start = -1  # set by the first decoded frame
        self._ended = False
        self.seeks += 1

    def _decode_more(self) -> None:
        assert self._frames is not None and self._resampler is not None
        frame = next(self._frames, None)
        if frame is None:
            chunks = self._resampler.resample(None)
            self._ended = True
        else:
            if self._buffer_start < 0:
                pts = frame.pts if frame.pts is not None else self._start
                seconds = float((pts - self._start) * self._stream.time_base)
                self._buffer_start = round(seconds * self.sample_rate)
            chunks = self._resampler.resample(frame)
        if self._buffer_start < 0:
            self._buffer_start = 0
        arrays = [self._buffer] + [chunk.to_ndarray().astype(np.float32, copy=False) for chunk in chunks]
        self._buffer = np.concatenate(arrays, axis=1)


def read_audio(
    path: str | os.PathLike[str], start_seconds: float, duration_seconds: float, sample_rate: int = 48000
) -> np.ndarray:
    """One window of sound as float32 ``[2, N]`` (N = round(duration * rate)); silence outside the file."""
    with AudioReader(path, sample_rate) as reader:
        return reader.read(start_seconds, duration_seconds)
