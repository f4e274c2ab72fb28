"""Writes the shipped looks (``luts/*.cube``) from colour maths in this file. Deterministic: the same
numpy code gives the same bytes, and tests/app/test_looks.py checks the committed files against a fresh run.

    python luts/make_looks.py            # rewrite the looks next to this script
    python luts/make_looks.py OUT_DIR    # write them somewhere else

Every look maps display-referred Rec.709/sRGB code values (0..1, what generated clips hold) to the same
kind of values. "Linear" below means the sRGB curve undone (IEC 61966-2-1), for the steps that model light
(white balance, exposure); tone and saturation steps act on the code values, as a colourist's curves do.
Saturation is around Rec.709 luma (0.2126, 0.7152, 0.0722). The files are 33^3 .cube LUTs (Resolve/Adobe
format: red varies fastest), our own work, dedicated to the public domain under CC0 1.0.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SIZE = 33
LUMA = np.array([0.2126, 0.7152, 0.0722])
HERE = Path(__file__).resolve().parent


# ------------------------------------------------------------------------------------------ building blocks
def to_linear(v: np.ndarray) -> np.ndarray:
    v = np.clip(v, 0.0, 1.0)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def to_srgb(v: np.ndarray) -> np.ndarray:
    v = np.clip(v, 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1 / 2.4) - 0.055)


def luma(rgb: np.ndarray) -> np.ndarray:
    return (rgb @ LUMA)[..., None]


def saturate(rgb: np.ndarray, amount: float) -> np.ndarray:
    y = luma(rgb)
    return y + amount * (rgb - y)


def s_curve(v: np.ndarray, strength: float, pivot: float = 0.5) -> np.ndarray:
    """A logistic contrast curve through (0, 0), (pivot, pivot) and (1, 1); ``strength`` is its steepness."""
    v = np.clip(v, 0.0, 1.0)

    def logistic(x: np.ndarray | float) -> np.ndarray | float:
        return 1.0 / (1.0 + np.exp(-strength * (x - pivot)))

    low, high = logistic(0.0), logistic(1.0)
    curved = (logistic(v) - low) / (high - low)
    # Re-anchor so the pivot maps to itself even when it is not 0.5.
    mid = (logistic(pivot) - low) / (high - low)
    return np.where(v <= pivot, curved * pivot / mid, pivot + (curved - mid) * (1 - pivot) / (1 - mid))


def white_balance(rgb: np.ndarray, gains: tuple[float, float, float]) -> np.ndarray:
    """Per-channel gains in linear light, normalised so mid-grey keeps its luminance."""
    g = np.asarray(gains) / float(np.asarray(gains) @ LUMA)
    return to_srgb(to_linear(rgb) * g)


def lift_gain(rgb: np.ndarray, black: float, white: float) -> np.ndarray:
    return black + (white - black) * rgb


def tint(
    rgb: np.ndarray, shadows: tuple[float, float, float], highlights: tuple[float, float, float]
) -> np.ndarray:
    """Split toning: add ``shadows`` weighted by (1 - luma)^2 and ``highlights`` by luma^2."""
    y = np.clip(luma(rgb), 0.0, 1.0)
    return rgb + (1 - y) ** 2 * np.asarray(shadows) + y**2 * np.asarray(highlights)


# ------------------------------------------------------------------------------------------------ the looks
def warm(rgb: np.ndarray) -> np.ndarray:
    return white_balance(rgb, (1.10, 1.0, 0.84))


def cool(rgb: np.ndarray) -> np.ndarray:
    return white_balance(rgb, (0.88, 0.98, 1.16))


def teal_orange(rgb: np.ndarray) -> np.ndarray:
    # Push every hue towards the orange-teal axis: keep the chroma's projection on that axis, shrink the rest.
    y = luma(rgb)
    chroma = rgb - y
    axis = np.array([1.0, 0.35, -0.55])
    axis = axis - axis @ LUMA  # a pure chroma direction (zero luma)
    axis /= np.linalg.norm(axis)
    along = (chroma @ axis)[..., None] * axis
    pushed = y + 1.25 * along + 0.6 * (chroma - along)
    toned = tint(pushed, shadows=(-0.04, 0.015, 0.045), highlights=(0.035, 0.01, -0.03))
    return s_curve(toned, 5.0)


def bleach_bypass(rgb: np.ndarray) -> np.ndarray:
    # Silver retained: a black-and-white layer over the colour one (overlay blend), then less colour.
    y = np.clip(luma(rgb), 0.0, 1.0)
    overlay = np.where(rgb < 0.5, 2 * rgb * y, 1 - 2 * (1 - rgb) * (1 - y))
    mixed = rgb + 0.75 * (overlay - rgb)
    return saturate(mixed, 0.55)


def bw_high_contrast(rgb: np.ndarray) -> np.ndarray:
    # A red-filter black and white (skies darken, skin lightens), then a strong S-curve.
    grey = rgb @ np.array([0.45, 0.45, 0.10])
    grey = s_curve(grey, 9.0)
    return np.repeat(grey[..., None], 3, axis=-1)


def faded_film(rgb: np.ndarray) -> np.ndarray:
    # Lifted blacks, rolled-off whites, softer colour, a little warmth in the highlights.
    curved = s_curve(rgb, 3.0)
    faded = lift_gain(curved, 0.07, 0.93)
    faded = saturate(faded, 0.72)
    return tint(faded, shadows=(0.0, 0.012, 0.018), highlights=(0.02, 0.008, -0.015))


def day_for_night(rgb: np.ndarray) -> np.ndarray:
    # Two stops darker, most colour gone, moonlight blue, deeper shadows.
    dark = to_linear(saturate(rgb, 0.35)) * 0.25 * np.array([0.72, 0.92, 1.35])
    night = to_srgb(dark)
    return s_curve(night, 4.0, pivot=0.35)


def punchy(rgb: np.ndarray) -> np.ndarray:
    return saturate(s_curve(rgb, 4.5), 1.35)


def sepia(rgb: np.ndarray) -> np.ndarray:
    # Toned print: luma mapped onto a brown-to-cream ramp.
    y = np.clip(luma(rgb), 0.0, 1.0)
    dark, light = np.array([0.10, 0.06, 0.03]), np.array([1.0, 0.94, 0.80])
    return dark + y * (light - dark)


def cross_process(rgb: np.ndarray) -> np.ndarray:
    # Slide film in negative chemistry: contrasty red and green, flat lifted blue, yellow-green highlights.
    r = s_curve(rgb[..., 0], 6.0)
    g = s_curve(rgb[..., 1], 4.0, pivot=0.45)
    b = lift_gain(rgb[..., 2], 0.12, 0.82)
    return np.stack([r, g, b], axis=-1)


@dataclass(frozen=True)
class LookSpec:
    name: str
    title: str
    description: str
    transform: Callable[[np.ndarray], np.ndarray]


LOOKS = [
    LookSpec("warm", "Warm", "Warmer white balance: +10 % red, -16 % blue in linear light, grey kept.", warm),
    LookSpec("cool", "Cool", "Cooler white balance: -12 % red, +16 % blue in linear light, grey kept.", cool),
    LookSpec(
        "teal_orange",
        "Teal and Orange",
        "Hues pulled to the orange-teal axis, teal shadows, warm highlights, gentle S-curve.",
        teal_orange,
    ),
    LookSpec(
        "bleach_bypass",
        "Bleach Bypass",
        "Silver-retention look: luma overlaid on the image, then 55 % saturation.",
        bleach_bypass,
    ),
    LookSpec(
        "bw_high_contrast",
        "Black and White, High Contrast",
        "Red-filter monochrome with a strong S-curve.",
        bw_high_contrast,
    ),
    LookSpec(
        "faded_film",
        "Faded Film",
        "Lifted blacks, soft whites, 72 % saturation, cool shadows and warm highlights.",
        faded_film,
    ),
    LookSpec(
        "day_for_night",
        "Day for Night",
        "Two stops under, 35 % saturation, moonlight blue, deeper shadows.",
        day_for_night,
    ),
    LookSpec("punchy", "Punchy", "More contrast and 135 % saturation.", punchy),
    LookSpec("sepia", "Sepia", "Monochrome toned from dark brown to cream.", sepia),
    LookSpec(
        "cross_process",
        "Cross Process",
        "Contrasty red and green, flat lifted blue: slide film in negative chemistry.",
        cross_process,
    ),
]


# ---------------------------------------------------------------------------------------------- the files
def lattice(size: int = SIZE) -> np.ndarray:
    """Lattice inputs in .cube order (red fastest), float64 ``[size**3, 3]``."""
    axis = np.linspace(0.0, 1.0, size)
    b, g, r = np.meshgrid(axis, axis, axis, indexing="ij")
    return np.stack([r, g, b], axis=-1).reshape(-1, 3)


def cube_text(spec: LookSpec, size: int = SIZE) -> str:
    values = np.clip(spec.transform(lattice(size)), 0.0, 1.0)
    header = [
        f"# {spec.description}",
        "#",
        "# Made by luts/make_looks.py (AIPROD Studio) from our own colour maths; CC0 1.0 (public domain).",
        "# Input and output: display-referred Rec.709/sRGB code values, 0..1.",
        f'TITLE "{spec.title}"',
        f"LUT_3D_SIZE {size}",
        "DOMAIN_MIN 0.0 0.0 0.0",
        "DOMAIN_MAX 1.0 1.0 1.0",
    ]
    rows = [f"{r:.4f} {g:.4f} {b:.4f}" for r, g, b in values.tolist()]
    return "\n".join(header + rows) + "\n"


def write_all(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for spec in LOOKS:
        path = folder / f"{spec.name}.cube"
        path.write_text(cube_text(spec), encoding="utf-8", newline="\n")
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    for written_path in write_all(target):
        print(written_path)
