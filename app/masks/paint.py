"""Painting on a mask: brush, eraser, rectangle, ellipse, invert, clear. Pure numpy, no Qt.

Every function returns a new array and leaves its input alone, so the painter can keep the mask from
before a stroke for undo. Coordinates are image pixels as floats; pixel (row i, column j) covers
[j, j+1) x [i, i+1), so its centre is (j + 0.5, i + 0.5) and a brush at (10.5, 10.5) is centred on it.

One coverage rule serves every shape. With `d` the distance of a pixel centre inside the shape's edge
(negative outside), coverage = clip((d + 0.5) / (feather + 1), 0, 1):
- feather 0 gives a one-pixel anti-aliased edge (a pixel half inside is half covered);
- feather f ramps linearly over f + 1 pixels just inside the edge, so the shape never grows past the size
  the user chose: a brush of radius r touches nothing beyond r + 0.5 pixels from its centre.
Painting keeps the larger value (max), erasing the smaller (min): overlapping dabs of one stroke do not
build up, and a stroke over already-painted pixels changes nothing.
"""

from __future__ import annotations

import math

import numpy as np

from app.errors import MaskError

Rect = tuple[float, float, float, float]  # x, y, width, height in pixels (negative sizes are flipped)


def new_mask(width: int, height: int) -> np.ndarray:
    """An empty mask (nothing to regenerate) of the given size."""
    if width <= 0 or height <= 0:
        raise MaskError(f"a mask needs a positive size, not {width} x {height}")
    return np.zeros((int(height), int(width)), np.uint8)


def paint_brush(
    mask: np.ndarray, x: float, y: float, radius: float, feather: float = 0.0, erase: bool = False
) -> np.ndarray:
    """One round dab of the brush (or eraser) centred at (x, y)."""
    mask = _checked(mask)
    radius, feather = max(float(radius), 0.0), max(float(feather), 0.0)
    reach = radius + 1.0
    box = _box(mask, x - reach, y - reach, x + reach, y + reach)
    if box is None:
        return mask.copy()
    px, py = _centres(box)
    inside = radius - np.hypot(px - x, py - y)
    return _apply(mask, box, _coverage(inside, feather), erase)


def paint_stroke(
    mask: np.ndarray,
    points: list[tuple[float, float]],
    radius: float,
    feather: float = 0.0,
    erase: bool = False,
) -> np.ndarray:
    """A brush stroke through `points`: dabs spaced a quarter radius apart, so a fast mouse drag that
    reports far-apart positions still paints a continuous line."""
    mask = _checked(mask).copy()
    if not points:
        return mask
    step = max(float(radius) / 4.0, 0.5)
    previous = points[0]
    mask = paint_brush(mask, previous[0], previous[1], radius, feather, erase)
    for point in points[1:]:
        distance = math.hypot(point[0] - previous[0], point[1] - previous[1])
        count = max(1, math.ceil(distance / step))
        for k in range(1, count + 1):
            t = k / count
            x = previous[0] + (point[0] - previous[0]) * t
            y = previous[1] + (point[1] - previous[1]) * t
            mask = paint_brush(mask, x, y, radius, feather, erase)
        previous = point
    return mask


def paint_rect(mask: np.ndarray, rect: Rect, feather: float = 0.0, erase: bool = False) -> np.ndarray:
    """A filled rectangle (x, y, width, height), feathered inwards."""
    mask = _checked(mask)
    x0, y0, x1, y1 = _normalised(rect)
    box = _box(mask, x0 - 1, y0 - 1, x1 + 1, y1 + 1)
    if box is None:
        return mask.copy()
    px, py = _centres(box)
    inside = np.minimum(np.minimum(px - x0, x1 - px), np.minimum(py - y0, y1 - py))
    return _apply(mask, box, _coverage(inside, max(float(feather), 0.0)), erase)


def paint_ellipse(mask: np.ndarray, rect: Rect, feather: float = 0.0, erase: bool = False) -> np.ndarray:
    """A filled ellipse inscribed in `rect` (x, y, width, height), feathered inwards."""
    mask = _checked(mask)
    x0, y0, x1, y1 = _normalised(rect)
    a, b = (x1 - x0) / 2.0, (y1 - y0) / 2.0
    if a <= 0 or b <= 0:
        return mask.copy()
    box = _box(mask, x0 - 1, y0 - 1, x1 + 1, y1 + 1)
    if box is None:
        return mask.copy()
    px, py = _centres(box)
    ux, uy = (px - (x0 + a)) / a, (py - (y0 + b)) / b
    r = np.hypot(ux, uy)
    # Distance to the edge to first order: (1 - r) / |grad r|, with |grad r| = |(ux/a, uy/b)| / r.
    # Exact for circles; at the centre (r = 0) the shorter semi-axis.
    grad = np.hypot(ux / a, uy / b)
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = np.where(r > 1e-9, (1.0 - r) * r / np.maximum(grad, 1e-12), min(a, b))
    return _apply(mask, box, _coverage(inside, max(float(feather), 0.0)), erase)


def invert(mask: np.ndarray) -> np.ndarray:
    """Regenerate what was kept and keep what was regenerated (feathered edges stay feathered)."""
    return (255 - _checked(mask)).astype(np.uint8)


def clear(mask: np.ndarray) -> np.ndarray:
    """An empty mask of the same size."""
    return np.zeros_like(_checked(mask))


def is_empty(mask: np.ndarray) -> bool:
    """True when nothing would be regenerated."""
    return not np.any(_checked(mask))


# --- internals ---------------------------------------------------------------------------------------------


def _checked(mask: np.ndarray) -> np.ndarray:
    array = np.asarray(mask)
    if array.ndim != 2 or array.dtype != np.uint8:
        raise MaskError(f"a mask must be a one-channel 8-bit image, not {array.shape} {array.dtype}")
    return array


def _normalised(rect: Rect) -> tuple[float, float, float, float]:
    x, y, w, h = (float(v) for v in rect)
    return min(x, x + w), min(y, y + h), max(x, x + w), max(y, y + h)


def _box(mask: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int] | None:
    """The pixel rows/columns [r0, r1) x [c0, c1) a shape can touch, clipped to the mask; None if none."""
    height, width = mask.shape
    c0, c1 = max(int(math.floor(x0)), 0), min(int(math.ceil(x1)), width)
    r0, r1 = max(int(math.floor(y0)), 0), min(int(math.ceil(y1)), height)
    if c0 >= c1 or r0 >= r1:
        return None
    return r0, r1, c0, c1


def _centres(box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    r0, r1, c0, c1 = box
    py, px = np.mgrid[r0:r1, c0:c1].astype(np.float64)
    return px + 0.5, py + 0.5


def _coverage(inside: np.ndarray, feather: float) -> np.ndarray:
    return np.clip((inside + 0.5) / (feather + 1.0), 0.0, 1.0)


def _apply(mask: np.ndarray, box: tuple[int, int, int, int], coverage: np.ndarray, erase: bool) -> np.ndarray:
    r0, r1, c0, c1 = box
    out = mask.copy()
    region = out[r0:r1, c0:c1]
    if erase:
        out[r0:r1, c0:c1] = np.minimum(region, np.round((1.0 - coverage) * 255.0).astype(np.uint8))
    else:
        out[r0:r1, c0:c1] = np.maximum(region, np.round(coverage * 255.0).astype(np.uint8))
    return out
