"""'Suggest a duration': LTX-2.5's duration head asked for a prompt's length, as a small job on the engine
worker (the model stays loaded there; Gemma runs once and its contexts are cached for the generation)."""

from __future__ import annotations

from dataclasses import dataclass

from app.errors import JobError
from app.jobs.spec import MODEL_LTX2


@dataclass(frozen=True)
class DurationSpec:
    prompt: str
    fps: float = 24.0
    model: str = MODEL_LTX2
    quantization: str = "none"
    steps: int | None = 1  # one "step" for the queue's progress bar

    def display_name(self) -> str:
        return "duration suggestion"

    @property
    def detail(self) -> str:
        return "suggesting a duration (LTX-2.5 duration head)"

    def validate(self) -> None:
        if not self.prompt.strip():
            raise JobError("write the prompt first: the duration is suggested from it")
        if self.model != MODEL_LTX2:
            raise JobError("only the LTX-2.5 model has a duration head; choose it in Settings")


@dataclass(frozen=True)
class DurationSuggestion:
    seconds: float
    frames: int
    fps: float


def suggest(engine, spec: DurationSpec) -> DurationSuggestion:
    seconds, frames = engine.suggest_duration(spec.prompt, spec.fps)
    return DurationSuggestion(float(seconds), int(frames), float(spec.fps))
