"""Sequence settings: the frame size, frame rate and audio rate a project plays and exports at. Qt-free.

Stored in the timeline's ``metadata["aiprod"]["sequence"]`` as ``{"width", "height", "rate", "audio_rate"}``
(rate a float, 23.976 written as 24000/1001). A project saved before sequence settings existed has none:
it gets what it showed then (the first video clip's size, 1280 x 720 on an empty timeline, and the
timeline rate), see :meth:`TimelineDocument.sequence_settings`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from app.errors import EditError

# Presets offered by the dialog and the CLI (name -> width, height).
SIZE_PRESETS: dict[str, tuple[int, int]] = {
    "UHD": (3840, 2160),
    "1080p": (1920, 1080),
    "720p": (1280, 720),
    "9:16 vertical": (1080, 1920),
}
# The rates offered (label -> exact rate as a float).
RATE_PRESETS: dict[str, float] = {
    "23.976": 24000 / 1001,
    "24": 24.0,
    "25": 25.0,
    "29.97": 30000 / 1001,
    "30": 30.0,
    "50": 50.0,
    "60": 60.0,
}
AUDIO_RATES = (44100, 48000, 96000)
MIN_SIDE, MAX_SIDE = 16, 8192
MIN_RATE, MAX_RATE = 1.0, 240.0


@dataclass(frozen=True)
class SequenceSettings:
    width: int = 1920
    height: int = 1080
    rate: float = 24.0
    audio_rate: int = 48000

    def __post_init__(self) -> None:
        check_settings(self.width, self.height, self.rate, self.audio_rate)

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    def rate_label(self) -> str:
        return rate_label(self.rate)

    def describe(self) -> str:
        return f"{self.width} × {self.height}, {self.rate_label()} fps, {self.audio_rate / 1000:g} kHz"

    def to_dict(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "height": self.height,
            "rate": float(self.rate),
            "audio_rate": self.audio_rate,
        }

    @classmethod
    def from_dict(cls, data: Any) -> SequenceSettings:
        """Settings from stored data; EditError (naming the field) for anything impossible."""
        if not hasattr(data, "get"):
            raise EditError("The sequence settings are not a table of width, height, rate and audio rate.")
        try:
            width, height = int(data.get("width")), int(data.get("height"))
            rate = float(data.get("rate"))
            audio_rate = int(data.get("audio_rate", 48000))
        except (TypeError, ValueError) as exc:
            raise EditError(f"The sequence settings are not numbers: {exc}") from None
        return cls(width, height, snap_rate(rate), audio_rate)


def check_settings(width: Any, height: Any, rate: Any, audio_rate: Any) -> None:
    """EditError with a message a user can act on for an impossible size, rate or audio rate."""
    for name, side in (("width", width), ("height", height)):
        if not isinstance(side, int) or isinstance(side, bool) or not MIN_SIDE <= side <= MAX_SIDE:
            raise EditError(
                f"The sequence {name} must be a whole number of pixels from {MIN_SIDE} to {MAX_SIDE} "
                f"(asked: {side!r})."
            )
        if side % 2:
            raise EditError(f"The sequence {name} must be even (4:2:0 video needs it); asked {side}.")
    if not isinstance(rate, (int, float)) or not math.isfinite(rate) or not MIN_RATE <= rate <= MAX_RATE:
        raise EditError(
            f"The sequence frame rate must be from {MIN_RATE:g} to {MAX_RATE:g} fps (asked: {rate!r})."
        )
    if audio_rate not in AUDIO_RATES:
        raise EditError(
            f"The sequence audio rate must be one of {', '.join(map(str, AUDIO_RATES))} Hz "
            f"(asked: {audio_rate!r})."
        )


def snap_rate(rate: float) -> float:
    """A rate within 0.001 of a preset (29.97 typed by hand, or 30000/1001 read back) becomes the preset."""
    for exact in RATE_PRESETS.values():
        if abs(rate - exact) < 1e-3:
            return exact
    return float(rate)


def rate_label(rate: float) -> str:
    for label, exact in RATE_PRESETS.items():
        if abs(rate - exact) < 1e-6:
            return label
    return f"{rate:g}"


def parse_size(text: str) -> tuple[int, int]:
    """'1920x1080' (or a preset name such as '1080p') -> (1920, 1080); EditError otherwise."""
    if text in SIZE_PRESETS:
        return SIZE_PRESETS[text]
    parts = text.lower().replace("×", "x").split("x")
    if len(parts) != 2:
        raise EditError(f"A frame size is written WIDTHxHEIGHT, e.g. 1920x1080 (got {text!r}).")
    try:
        return int(parts[0]), int(parts[1])
    except ValueError:
        raise EditError(f"A frame size is written WIDTHxHEIGHT, e.g. 1920x1080 (got {text!r}).") from None


def parse_rate(text: str) -> float:
    """'29.97', '30000/1001' or '25' -> the rate (presets snapped); EditError otherwise."""
    try:
        if "/" in text:
            num, den = text.split("/", 1)
            value = float(num) / float(den)
        else:
            value = float(text)
    except (ValueError, ZeroDivisionError):
        raise EditError(f"A frame rate is a number such as 25 or 29.97 (got {text!r}).") from None
    return snap_rate(value)


def settings_for_media(
    width: int, height: int, fps: float | None, audio_rate: int = 48000
) -> SequenceSettings:
    """What the dialog offers for a first clip: its size (made even, within limits) at its rate (snapped to a
    preset; 24 when it has none, e.g. a still)."""

    def side(value: int) -> int:
        value = min(max(int(value), MIN_SIDE), MAX_SIDE)
        return value - value % 2

    rate = snap_rate(float(fps)) if fps and MIN_RATE <= float(fps) <= MAX_RATE else 24.0
    audio = audio_rate if audio_rate in AUDIO_RATES else 48000
    return SequenceSettings(side(width or 1920), side(height or 1080), rate, audio)
