"""Where a clip's picture sits in the sequence frame: fit, fill or stretch, then scale, position and crop.

One function places a picture for both the viewer (uint8) and the export (float32), so both show the
same pixels. Qt-free.

- ``mode``: "fit" (whole picture, black bars: the default), "fill" (covers the frame, edges cut off) or
  "stretch" (exactly the frame, aspect not kept);
- ``scale``: a factor on top of the mode (0.05..10);
- ``x``, ``y``: offset of the picture's centre from the frame's centre, in sequence pixels;
- ``crop``: (left, top, right, bottom) fractions of the source cut away (each 0..0.45); the rest of the
  picture stays where it was (a crop masks, it does not re-centre).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from app.errors import EditError

MODES = ("fit", "fill", "stretch")
MIN_SCALE, MAX_SCALE = 0.05, 10.0
MAX_CROP = 0.45
MAX_OFFSET = 20000.0


@dataclass(frozen=True)
class ClipTransform:
    mode: str = "fit"
    scale: float = 1.0
    x: float = 0.0
    y: float = 0.0
    crop: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise EditError(f"A clip's transform mode is one of {', '.join(MODES)} (asked: {self.mode!r}).")
        if not _finite(self.scale) or not MIN_SCALE <= self.scale <= MAX_SCALE:
            raise EditError(
                f"A clip's scale must be from {MIN_SCALE:g} to {MAX_SCALE:g} (asked: {self.scale!r})."
            )
        for name, value in (("x", self.x), ("y", self.y)):
            if not _finite(value) or abs(value) > MAX_OFFSET:
                raise EditError(
                    f"A clip's position {name} must be within ±{MAX_OFFSET:g} pixels (asked: {value!r})."
                )
        if len(self.crop) != 4 or not all(_finite(c) and 0.0 <= c <= MAX_CROP for c in self.crop):
            raise EditError(
                f"Crop values are fractions from 0 to {MAX_CROP:g} of the picture (asked: {self.crop!r})."
            )

    @property
    def is_fit(self) -> bool:
        return self == ClipTransform()

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "scale": self.scale, "x": self.x, "y": self.y, "crop": list(self.crop)}

    @classmethod
    def from_dict(cls, data: Any) -> ClipTransform:
        if data is None:
            return cls()
        if not hasattr(data, "get"):
            raise EditError("A clip's transform is not a table of mode, scale, position and crop.")
        try:
            crop = tuple(float(c) for c in (data.get("crop") or (0, 0, 0, 0)))
            return cls(
                str(data.get("mode", "fit")),
                float(data.get("scale", 1.0)),
                float(data.get("x", 0.0)),
                float(data.get("y", 0.0)),
                crop,  # type: ignore[arg-type]
            )
        except (TypeError, ValueError) as exc:
            raise EditError(f"A clip's transform holds a value that is not a number: {exc}") from None

    # ------------------------------------------------------------------------------------ geometry
    def rect(
        self, src_w: int, src_h: int, width: int, height: int
    ) -> tuple[int, int, int, int, tuple[int, ...]]:
        """(x0, y0, w, h, (crop x0, y0, x1, y1 in source pixels)): where the kept part of the picture lands
        (may reach outside the frame)."""
        if self.is_fit:  # exactly the letterbox the viewer always drew
            scale = min(width / src_w, height / src_h)
            fit_w, fit_h = max(1, round(src_w * scale)), max(1, round(src_h * scale))
            return (width - fit_w) // 2, (height - fit_h) // 2, fit_w, fit_h, (0, 0, src_w, src_h)
        if self.mode == "fit":
            sx = sy = min(width / src_w, height / src_h)
        elif self.mode == "fill":
            sx = sy = max(width / src_w, height / src_h)
        else:
            sx, sy = width / src_w, height / src_h
        sx, sy = sx * self.scale, sy * self.scale
        full_w, full_h = src_w * sx, src_h * sy
        left, top = (width - full_w) / 2 + self.x, (height - full_h) / 2 + self.y
        cl, ct, cr, cb = self.crop
        cx0, cy0 = round(cl * src_w), round(ct * src_h)
        cx1, cy1 = max(cx0 + 1, src_w - round(cr * src_w)), max(cy0 + 1, src_h - round(cb * src_h))
        x0, y0 = round(left + cx0 * sx), round(top + cy0 * sy)
        x1, y1 = round(left + cx1 * sx), round(top + cy1 * sy)
        return x0, y0, max(1, x1 - x0), max(1, y1 - y0), (cx0, cy0, cx1, cy1)

    def coverage(self, src_w: int, src_h: int, width: int, height: int) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1): the frame pixels the picture covers (clipped to the frame)."""
        x0, y0, w, h, _ = self.rect(src_w, src_h, width, height)
        return max(x0, 0), max(y0, 0), min(x0 + w, width), min(y0 + h, height)


def place(
    source: np.ndarray, width: int, height: int, transform: dict | ClipTransform | None = None
) -> np.ndarray:
    """``source`` (uint8 or float32 [h, w, 3]) placed in a ``width`` x ``height`` black frame, same dtype."""
    spec = transform if isinstance(transform, ClipTransform) else ClipTransform.from_dict(transform)
    src_h, src_w = source.shape[:2]
    if spec.is_fit and (src_w, src_h) == (width, height):
        return source if source.dtype == np.uint8 else source.astype(np.float32, copy=False)
    x0, y0, w, h, (cx0, cy0, cx1, cy1) = spec.rect(src_w, src_h, width, height)
    out = np.zeros((height, width, 3), np.uint8 if source.dtype == np.uint8 else np.float32)
    fx0, fy0, fx1, fy1 = max(x0, 0), max(y0, 0), min(x0 + w, width), min(y0 + h, height)
    if fx1 <= fx0 or fy1 <= fy0:
        return out
    part = source[cy0:cy1, cx0:cx1]
    if (part.shape[1], part.shape[0]) != (w, h):
        part = _resize(part, w, h)
    out[fy0:fy1, fx0:fx1] = part[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0]
    return out


def _resize(picture: np.ndarray, w: int, h: int) -> np.ndarray:
    if picture.dtype == np.uint8:
        return np.asarray(
            Image.fromarray(np.ascontiguousarray(picture)).resize((w, h), Image.Resampling.BILINEAR)
        )
    channels = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(picture[..., c], np.float32)).resize(
                (w, h), Image.Resampling.BILINEAR
            )
        )
        for c in range(3)
    ]
    return np.stack(channels, axis=-1)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
