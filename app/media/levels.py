"""Sound levels: one gain envelope for the player and the export, and a stereo peak meter with hold. Qt-free.

``segment_gain`` is the single place a segment's level is computed (clip gain + track volume in dB, fades
as linear ramps), so what the viewer plays, what the meter shows and what the export writes agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SILENCE_DB = -90.0  # the meter's floor


def db_to_gain(db: float) -> float:
    return 10.0 ** (db / 20.0)


def gain_to_db(gain: float) -> float:
    return SILENCE_DB if gain <= 10 ** (SILENCE_DB / 20) else max(SILENCE_DB, 20.0 * math.log10(gain))


def segment_gain(seg, times: np.ndarray) -> np.ndarray:
    """float32 gains for ``times`` (seconds into the segment ``seg``, an AudioSegment): its dB gain with
    its fade in / fade out ramps."""
    length = seg.duration.to_seconds()
    gain = np.full(times.shape, db_to_gain(float(getattr(seg, "gain_db", 0.0))), np.float64)
    fade_in, fade_out = seg.fade_in.to_seconds(), seg.fade_out.to_seconds()
    if fade_in > 0:
        gain *= np.clip(times / fade_in, 0.0, 1.0)
    if fade_out > 0:
        gain *= np.clip((length - times) / fade_out, 0.0, 1.0)
    return gain.astype(np.float32)


def peak_db(samples: np.ndarray) -> tuple[float, float]:
    """(left, right) sample peak in dBFS of float32 ``[2, N]`` (a mono ``[1, N]`` shows on both)."""
    if samples.size == 0:
        return SILENCE_DB, SILENCE_DB
    peaks = np.max(np.abs(samples), axis=1)
    left = gain_to_db(float(peaks[0]))
    right = gain_to_db(float(peaks[1] if len(peaks) > 1 else peaks[0]))
    return left, right


@dataclass(frozen=True)
class MeterReading:
    peak: tuple[float, float]  # dBFS now (after the fall-off)
    hold: tuple[float, float]  # the highest peak of the last ``hold_seconds``
    clipped: tuple[bool, bool]  # a sample reached full scale since the last reset


class PeakMeter:
    """Stereo sample-peak meter: ``feed`` it the samples as they play; the bar falls at ``fall_db_per_s``
    and the hold mark stays at the highest peak for ``hold_seconds``."""

    def __init__(self, rate: int = 48000, hold_seconds: float = 1.5, fall_db_per_s: float = 24.0) -> None:
        self.rate = int(rate)
        self.hold_seconds = float(hold_seconds)
        self.fall = float(fall_db_per_s)
        self.reset()

    def reset(self) -> None:
        self._peak = [SILENCE_DB, SILENCE_DB]
        self._hold = [SILENCE_DB, SILENCE_DB]
        self._hold_age = [0.0, 0.0]
        self._clipped = [False, False]
        self.max_seen = [SILENCE_DB, SILENCE_DB]  # the loudest peak since reset (for tests and a readout)

    def feed(self, samples: np.ndarray) -> MeterReading:
        seconds = samples.shape[-1] / self.rate if samples.ndim else 0.0
        now = peak_db(samples)
        for ch in (0, 1):
            fallen = self._peak[ch] - self.fall * seconds
            self._peak[ch] = max(now[ch], fallen, SILENCE_DB)
            self._hold_age[ch] += seconds
            if now[ch] >= self._hold[ch] or self._hold_age[ch] > self.hold_seconds:
                self._hold[ch], self._hold_age[ch] = now[ch], 0.0
            self.max_seen[ch] = max(self.max_seen[ch], now[ch])
            if now[ch] >= -0.001:
                self._clipped[ch] = True
        return self.reading()

    def reading(self) -> MeterReading:
        return MeterReading(
            (self._peak[0], self._peak[1]),
            (max(self._hold[0], self._peak[0]), max(self._hold[1], self._peak[1])),
            (self._clipped[0], self._clipped[1]),
        )
