"""What the studio knows about one media file: plain data, JSON round-trippable, Qt-free."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from fractions import Fraction
from typing import Any


@dataclass(frozen=True)
class MediaInfo:
    """Properties of a media file, as probed.

    ``fps`` is exact (``Fraction(24000, 1001)``); ``frame_count`` counts video frames; for audio-only files
    ``fps`` is None and ``frame_count`` is 0. With ``variable_frame_rate`` ``fps`` is the average rate
    (``frame_count / duration``) and frames are found by presentation time (``VideoReader.index_at``).
    ``audio_samples`` counts samples per channel.
    """

    path: str
    container: str
    has_video: bool
    has_audio: bool
    width: int = 0
    height: int = 0
    fps: Fraction | None = None
    frame_count: int = 0
    video_codec: str | None = None
    pix_fmt: str | None = None
    audio_codec: str | None = None
    sample_rate: int = 0
    channels: int = 0
    audio_samples: int = 0
    size_bytes: int = 0
    mtime_ns: int = 0
    variable_frame_rate: bool = False  # frames unevenly spaced: placed by presentation time, not by fps
    still: bool = False  # a single picture (PNG, JPEG, TIFF, EXR): shown for as long as its clip lasts

    @property
    def duration_seconds(self) -> float:
        if self.has_video and self.fps:
            return float(self.frame_count / self.fps)
        if self.has_audio and self.sample_rate:
            return self.audio_samples / self.sample_rate
        return 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["fps"] = None if self.fps is None else f"{self.fps.numerator}/{self.fps.denominator}"
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MediaInfo:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if values.get("fps") is not None:
            values["fps"] = Fraction(values["fps"])
        return cls(**values)
