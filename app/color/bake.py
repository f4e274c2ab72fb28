"""Baking a slow colour transform into a 3D LUT (with a log shaper for scene-linear sources).

The ACES 2.0 output transforms run OCIO's exact tone scale and gamut compression per pixel: measured on
the 2-core development machine at 1080p, 1050 ms per frame on one thread, 760 ms on two. Sampled on a 65^3
lattice (built once, 150 ms) and applied with tetrahedral interpolation the same view costs 69 ms (one
thread) / 48 ms (two), and its error against the exact transform on a frame of random sRGB-encoded colours
was 0.0050 max / 0.00004 mean (``tests/app/test_color_pipeline.py`` keeps it under 0.02 / 0.001). So a view
is baked when its processor holds such ops (``is_slow``); cheap views (the default one included) run as is.

Display-referred sources (values meant to lie in 0..1) are sampled directly. Scene-linear ones go through
a shaper first: the config's ``color_timing`` role (ACEScct in the ACES configs), a log encoding that
spreads the lattice evenly over stops, so shadows and highlights get the same precision.
"""

from __future__ import annotations

import numpy as np
import PyOpenColorIO as ocio

BAKE_SIZE = 65

# Ops whose per-pixel cost is high enough to bake (ACES 2.0 output transforms, gamut compression).
SLOW_OPS = (ocio.FixedFunctionTransform, ocio.GradingToneTransform, ocio.GradingRGBCurveTransform)


def is_slow(processor: ocio.Processor) -> bool:
    """True when ``processor`` holds ops that cost far more than a LUT lookup (see SLOW_OPS)."""
    return any(isinstance(op, SLOW_OPS) for op in processor.createGroupTransform())


def needs_shaper(config: ocio.Config, source_space: str) -> bool:
    """True for sources whose values are not bounded to 0..1 (scene-linear or HDR encodings)."""
    space = config.getColorSpace(source_space)
    if space is None:
        return False
    encoding = space.getEncoding() or ""
    if encoding:
        return encoding in ("scene-linear", "hdr-video")
    return "linear" in space.getName().lower()  # configs without encodings: go by the name


def lattice(size: int) -> np.ndarray:
    """The identity lattice in OCIO's Lut3D order (blue fastest), float32 ``[size**3, 3]``."""
    axis = np.linspace(0.0, 1.0, size, dtype=np.float32)
    r, g, b = np.meshgrid(axis, axis, axis, indexing="ij")
    return np.stack([r, g, b], axis=-1).reshape(-1, 3).copy()


def bake(
    config: ocio.Config,
    source_space: str,
    transform: ocio.Transform,
    size: int = BAKE_SIZE,
    mix: float = 1.0,
) -> ocio.GroupTransform:
    """``transform`` (whose input is ``source_space``) as [shaper?] + a ``size``^3 tetrahedral 3D LUT.

    ``mix`` below 1 bakes ``source + mix * (transform(source) - source)`` instead: a LUT blended with the
    ungraded picture (linear interpolation of the blend equals the blend of the interpolations)."""
    group = ocio.GroupTransform()
    shaper: str | None = None
    if needs_shaper(config, source_space):
        timing = config.getColorSpace(ocio.ROLE_COLOR_TIMING)
        shaper = timing.getName() if timing is not None else None
    points = lattice(size)
    if shaper is not None:
        # The lattice spans 0..1 of the shaper encoding: send those points back to the source first.
        to_source = config.getProcessor(shaper, source_space).getDefaultCPUProcessor()
        to_source.applyRGB(points)
        group.appendTransform(ocio.ColorSpaceTransform(src=source_space, dst=shaper))
    sampler = config.getProcessor(transform).getDefaultCPUProcessor()
    source = points.copy()
    sampler.applyRGB(points)
    if mix != 1.0:
        points = source + np.float32(mix) * (points - source)
    lut = ocio.Lut3DTransform(size)
    lut.setInterpolation(ocio.INTERP_TETRAHEDRAL)
    lut.setData(np.ascontiguousarray(points, dtype=np.float32).reshape(-1))
    group.appendTransform(lut)
    return group


def bake_error(
    exact: ocio.CPUProcessor, baked: ocio.CPUProcessor, samples: np.ndarray
) -> tuple[float, float]:
    """(max, mean) absolute difference of the two processors on ``samples`` (float32 ``[N, 3]``)."""
    a = np.ascontiguousarray(samples, dtype=np.float32).copy()
    b = a.copy()
    exact.applyRGB(a)
    baked.applyRGB(b)
    diff = np.abs(a - b)
    return float(diff.max()), float(diff.mean())
