"""Engine error hierarchy: every message says what went wrong and what the user can do about it."""

from __future__ import annotations

from pathlib import Path


class EngineError(Exception):
    """Base class for errors raised by the inference engine."""


class CheckpointError(EngineError):
    """A checkpoint file or folder cannot be used (wrong format, damaged, mismatched config)."""

    def __init__(self, message: str, *, path: str | Path | None = None, component: str | None = None):
        self.path = Path(path) if path is not None else None
        self.component = component
        self.detail = message
        where = []
        if self.path is not None:
            where.append(f"file {self.path}")
        if component:
            where.append(f"component '{component}'")
        prefix = f"{', '.join(where)}: " if where else ""
        super().__init__(prefix + message)


class TextEncoderError(EngineError):
    """The Gemma text encoder root is missing or unusable."""


class QuantizationError(EngineError):
    """A quantization mode is unknown or cannot run on this machine."""


class RequestError(EngineError):
    """A generation request has impossible or inconsistent settings."""


class GenerationCancelled(EngineError):
    """The caller cancelled a generation; nothing was decoded."""

    def __init__(self, step: int | None = None):
        self.step = step
        where = f" after step {step}" if step is not None else ""
        super().__init__(f"generation cancelled{where}")


class OutOfMemoryError(EngineError):
    """The device ran out of memory; the message suggests a lighter setting."""
