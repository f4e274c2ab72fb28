"""Pluggable graders for the export: who runs a clip's OCIO processor on a decoded frame (Qt-free).

The export core only knows the :class:`Grader` protocol. :class:`CpuGrader` (OpenColorIO's CPU processor,
rows split over threads; ``GradePipeline.render``) is the default, the reference and the fallback. The
studio may register a GPU grader (``app.gl_grading.GLGrader``: the viewer's OCIO GLSL shader run
offscreen) with :func:`set_default_grader`; the core then uses it for every export that does not name a
grader, and falls back to the CPU for a frame the GPU grader refuses (:class:`GraderUnavailable`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np

log = logging.getLogger(__name__)


class GraderUnavailable(RuntimeError):
    """A grader cannot grade (no GL context, a shader the driver refuses): use the CPU for this frame."""


@runtime_checkable
class Grader(Protocol):
    """Grades float32 ``[H, W, 3]`` R'G'B' through ``pipeline``'s processor for ``grade`` (a new array)."""

    name: str
    parallel: bool  # True: several export threads may call grade() at once

    def grade(self, pipeline: Any, rgb: np.ndarray, grade: Any) -> np.ndarray: ...


class CpuGrader:
    """OpenColorIO's CPU processor (``GradePipeline.render``): the reference every other grader matches."""

    name = "cpu"
    parallel = True

    def grade(self, pipeline: Any, rgb: np.ndarray, grade: Any) -> np.ndarray:
        return pipeline.render(rgb, grade)


class FallbackGrader:
    """``primary`` (a GPU grader) with the CPU behind it: a frame the primary refuses is graded on the CPU,
    and after the first refusal the CPU grades the rest of the export (the reason is kept in ``error``)."""

    parallel = False

    def __init__(self, primary: Grader, fallback: Grader | None = None) -> None:
        self.primary = primary
        self.fallback = fallback or CpuGrader()
        self.error: str | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.fallback.name if self.error else self.primary.name

    def grade(self, pipeline: Any, rgb: np.ndarray, grade: Any) -> np.ndarray:
        if self.error is None:
            try:
                return self.primary.grade(pipeline, rgb, grade)
            except GraderUnavailable as exc:
                with self._lock:
                    if self.error is None:
                        self.error = str(exc)
                        log.warning("GPU grading stopped (%s); the CPU grades the rest of the export", exc)
        return self.fallback.grade(pipeline, rgb, grade)


_default_factory: Callable[[], Grader | None] | None = None


def set_default_grader(factory: Callable[[], Grader | None] | None) -> None:
    """What grades exports that name no grader: ``factory()`` is asked once per export (None: the CPU)."""
    global _default_factory
    _default_factory = factory


def default_grader() -> Grader:
    """The registered grader (wrapped with the CPU fallback), else the CPU grader."""
    if _default_factory is not None:
        try:
            grader = _default_factory()
        except Exception as exc:  # noqa: BLE001 - a broken GPU grader must never stop an export
            log.warning("the registered grader could not be made (%s); grading on the CPU", exc)
            grader = None
        if grader is not None:
            return grader if isinstance(grader, (CpuGrader, FallbackGrader)) else FallbackGrader(grader)
    return CpuGrader()
