"""The timeline's sound for an export: every enabled audio track summed with per-clip gain and fades.

The same sum the player hears (``TimelineCompositor.audio_for``), plus each clip's level
(``AudioSegment.gain_db``), computed window by window so a long export never holds all of its audio.
Segments are resolved from the document once, up front; decoding happens on whichever thread reads.
"""

from __future__ import annotations

import math

import numpy as np
from opentimelineio.opentime import RationalTime

from app.document import AudioSegment, TimelineDocument
from app.errors import MediaError
from app.export.encoder import AudioStream
from app.media.audio import AudioReader
from app.media.levels import db_to_gain, segment_gain

__all__ = ["SAMPLE_RATE", "TimelineAudioMix", "db_to_gain"]

SAMPLE_RATE = 48_000


class TimelineAudioMix:
    """Stereo mix of the timeline between ``start_s`` and ``end_s`` seconds, read as sample windows."""

    def __init__(self, doc: TimelineDocument, start_s: float, end_s: float, rate: int = SAMPLE_RATE) -> None:
        self.rate = int(rate)
        self.start_s = float(start_s)
        self.samples = max(round((end_s - start_s) * self.rate), 0)
        tl_rate = doc.rate
        self.segments: list[AudioSegment] = doc.audio_segments(
            RationalTime(start_s * tl_rate, tl_rate), RationalTime(end_s * tl_rate, tl_rate)
        )
        self._readers: dict[str, AudioReader] = {}
        self._broken: set[str] = set()

    @property
    def silent(self) -> bool:
        return not self.segments

    def stream(self) -> AudioStream:
        return AudioStream(read=self.read, samples=self.samples, channels=2, sample_rate=self.rate)

    def read(self, first: int, end: int) -> np.ndarray:
        """float32 ``[2, end - first]``: samples ``first..end`` counted from the start of the range."""
        count = max(end - first, 0)
        out = np.zeros((2, count), np.float32)
        win_lo = self.start_s + first / self.rate
        win_hi = self.start_s + end / self.rate
        for seg in self.segments:
            seg_start = seg.timeline_start.to_seconds()
            seg_end = seg_start + seg.duration.to_seconds()
            lo, hi = max(win_lo, seg_start), min(win_hi, seg_end)
            # Whole samples of this window the segment covers (sample k sounds at start_s + k / rate).
            k0 = max(math.ceil((lo - self.start_s) * self.rate - 1e-6), first)
            k1 = min(math.ceil((hi - self.start_s) * self.rate - 1e-6), end)
            n = k1 - k0
            if n <= 0:
                continue
            into = self.start_s + k0 / self.rate - seg_start  # seconds into the segment
            sound = self._read(seg.path, seg.source_seconds + into * seg.speed, n, seg.speed)
            if sound is None:
                continue  # missing media is silent, as it is black in the picture
            times = into + np.arange(n, dtype=np.float64) / self.rate
            out[:, k0 - first : k1 - first] += sound[:, :n] * segment_gain(seg, times)
        np.clip(out, -1.0, 1.0, out=out)
        return out

    def close(self) -> None:
        for reader in self._readers.values():
            reader.close()
        self._readers.clear()

    def _read(self, path: str, seconds: float, n: int, speed: float = 1.0) -> np.ndarray | None:
        if path in self._broken:
            return None
        try:
            reader = self._readers.get(path)
            if reader is None:
                reader = self._readers[path] = AudioReader(path, self.rate)
            return reader.read_at_speed(seconds, n, speed)  # a retimed clip's sound resampled to fit
        except MediaError:
            self._broken.add(path)
            return None
