"""A clip's grade as plain data: exposure, an ASC CDL and a LUT (a shipped look and/or a file) with a mix.

The grade is stored in the project as ``Grade.to_dict()`` (``ClipInfo.grade``) and is hashable, so the
pipeline caches one OpenColorIO processor per distinct grade. Missing keys in a stored dict take their
defaults, so older or hand-written projects load.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.errors import ColorError

Triple = tuple[float, float, float]


MAX_EXPOSURE_STOPS = 20.0


def _triple(value: Any, name: str, default: Triple) -> Triple:
    if value is None:
        return default
    if isinstance(value, int | float):
        value = (value, value, value)
    try:
        items = tuple(float(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise ColorError(f"The grade's CDL {name} must be three numbers (got {value!r}).") from exc
    if len(items) != 3 or not all(math.isfinite(v) for v in items):
        raise ColorError(f"The grade's CDL {name} must be three finite numbers (got {value!r}).")
    return items  # type: ignore[return-value]


def _number(value: Any, name: str, default: float) -> float:
    if value is None:
        return default
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ColorError(f"The grade's {name} must be a number (got {value!r}).") from exc
    if not math.isfinite(number):
        raise ColorError(f"The grade's {name} must be a finite number (got {value!r}).")
    return number


@dataclass(frozen=True)
class CDL:
    """ASC Color Decision List: ``out = clamp(in * slope + offset) ** power``, then saturation around
    Rec.709 luma (the ASC v1.2 definition; OpenColorIO's CDLTransform in its ASC style)."""

    slope: Triple = (1.0, 1.0, 1.0)
    offset: Triple = (0.0, 0.0, 0.0)
    power: Triple = (1.0, 1.0, 1.0)
    saturation: float = 1.0

    def __post_init__(self) -> None:
        # Normalise lists and ints so equal grades hash equal whatever the caller passed.
        object.__setattr__(self, "slope", _triple(self.slope, "slope", (1.0, 1.0, 1.0)))
        object.__setattr__(self, "offset", _triple(self.offset, "offset", (0.0, 0.0, 0.0)))
        object.__setattr__(self, "power", _triple(self.power, "power", (1.0, 1.0, 1.0)))
        object.__setattr__(self, "saturation", _number(self.saturation, "CDL saturation", 1.0))
        if any(s < 0 for s in self.slope):
            raise ColorError(f"The grade's CDL slope cannot be negative (got {self.slope}).")
        if any(p <= 0 for p in self.power):
            raise ColorError(f"The grade's CDL power must be above 0 (got {self.power}).")
        if self.saturation < 0:
            raise ColorError(f"The grade's CDL saturation cannot be negative (got {self.saturation:g}).")

    def is_identity(self) -> bool:
        return self == CDL()

    def to_dict(self) -> dict:
        return {
            "slope": list(self.slope),
            "offset": list(self.offset),
            "power": list(self.power),
            "saturation": self.saturation,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> CDL:
        data = data or {}
        if not isinstance(data, Mapping):
            raise ColorError(f"A grade's CDL must be a dictionary (got {type(data).__name__}).")
        return cls(
            slope=_triple(data.get("slope"), "slope", (1.0, 1.0, 1.0)),
            offset=_triple(data.get("offset"), "offset", (0.0, 0.0, 0.0)),
            power=_triple(data.get("power"), "power", (1.0, 1.0, 1.0)),
            saturation=_number(data.get("saturation"), "CDL saturation", 1.0),
        )


@dataclass(frozen=True)
class Grade:
    """One clip's grade, applied in this order: exposure (stops, in scene-linear light), CDL (in the
    working space), LUT stage (``look`` then ``lut_path``, blended with the ungraded-by-LUT values by
    ``lut_mix``). ``input_space`` overrides the project's default input colour space for this clip."""

    look: str | None = None
    lut_path: str | None = None
    lut_mix: float = 1.0
    cdl: CDL = field(default_factory=CDL)
    exposure: float = 0.0
    input_space: str | None = None

    def __post_init__(self) -> None:
        mix = _number(self.lut_mix, "LUT mix", 1.0)
        if not 0.0 <= mix <= 1.0:
            raise ColorError(f"The LUT mix must be between 0 and 1 (got {mix:g}).")
        object.__setattr__(self, "lut_mix", mix)
        exposure = _number(self.exposure, "exposure", 0.0)
        if abs(exposure) > MAX_EXPOSURE_STOPS:  # 2 ** 1024 overflows; 20 stops is already white or black
            raise ColorError(
                f"The grade's exposure must be between -{MAX_EXPOSURE_STOPS:g} and "
                f"+{MAX_EXPOSURE_STOPS:g} stops "
                f"(got {exposure:g})."
            )
        object.__setattr__(self, "exposure", exposure)
        if isinstance(self.cdl, Mapping):
            object.__setattr__(self, "cdl", CDL.from_dict(self.cdl))
        for name in ("look", "lut_path", "input_space"):
            if getattr(self, name) == "":
                object.__setattr__(self, name, None)

    def has_lut(self) -> bool:
        """True when the LUT stage changes anything (a look or a file, mixed in above 0)."""
        return (self.look is not None or self.lut_path is not None) and self.lut_mix > 0.0

    def luts(self) -> Iterable[str]:
        """The LUT stage's entries in order: ``look:<name>`` for a shipped look, then the file path."""
        if self.look is not None:
            yield f"look:{self.look}"
        if self.lut_path is not None:
            yield self.lut_path

    def is_identity(self) -> bool:
        """True when the grade leaves pixels unchanged (no exposure, identity CDL, no LUT mixed in)."""
        return (
            self.exposure == 0.0
            and self.cdl.is_identity()
            and not self.has_lut()
            and self.input_space is None
        )

    def to_dict(self) -> dict:
        return {
            "look": self.look,
            "lut_path": self.lut_path,
            "lut_mix": self.lut_mix,
            "cdl": self.cdl.to_dict(),
            "exposure": self.exposure,
            "input_space": self.input_space,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Grade:
        data = data or {}
        if not isinstance(data, Mapping):
            raise ColorError(f"A grade must be a dictionary (got {type(data).__name__}).")
        return cls(
            look=data.get("look") or None,
            lut_path=data.get("lut_path") or None,
            lut_mix=_number(data.get("lut_mix"), "LUT mix", 1.0),
            cdl=CDL.from_dict(data.get("cdl")),
            exposure=_number(data.get("exposure"), "exposure", 0.0),
            input_space=data.get("input_space") or None,
        )

    @classmethod
    def coerce(cls, grade: Grade | Mapping[str, Any] | None) -> Grade:
        """A Grade from a Grade, a stored dict, or None (the identity grade)."""
        if grade is None:
            return cls()
        if isinstance(grade, Grade):
            return grade
        return cls.from_dict(grade)
