"""Extending a clip: reading its frames and sound, and the job the studio queues for it.

The engine does the work (engine/extend.py); this reads the source (any file the media layer decodes), names
what a user can fix when it cannot be read, and describes the resulting take for the bin and the timeline.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app import provenance
from app.errors import JobError
from app.jobs.spec import MODEL_LTX2
from app.media.clip_reader import ClipSource, read_clip, source_sound

__all__ = ["ClipSource", "ExtendSpec", "apply_extend_result", "build_extension", "read_clip", "run_extend"]

MAX_EXTEND_SECONDS = 20.0


@dataclass(frozen=True)
class ExtendSpec:
    """Extend the clip `clip_id` (its media file `source_path`) by `seconds`, forward or backward."""

    source_path: str
    seconds: float
    direction: str = "forward"
    clip_id: str | None = None
    media_id: str | None = None
    prompt: str = ""
    seed: int = 0
    recipe: str | None = None
    loras: tuple[tuple[str, float], ...] = ()
    model: str = MODEL_LTX2
    quantization: str = "none"
    preview_every: int = 2
    name: str = ""
    source_generation: dict | None = field(default=None, compare=False)

    steps: int | None = None  # the queue's progress total until the engine reports the recipe's

    def display_name(self) -> str:
        return self.name or f"{Path(self.source_path).stem}_ext"

    @property
    def detail(self) -> str:
        return f"extend {self.direction} by {float(self.seconds):g} s, seed {self.seed}"

    def validate(self) -> None:
        self.check()

    def check(self) -> None:
        if self.direction not in ("forward", "backward"):
            raise JobError(f"extend direction '{self.direction}' is unknown; choose forward or backward")
        if not (0 < float(self.seconds) <= MAX_EXTEND_SECONDS):
            raise JobError(f"extend by {self.seconds:g} s: choose 0.1 to {MAX_EXTEND_SECONDS:g} seconds")
        if not self.prompt.strip():
            raise JobError("say what happens in the extension (the prompt is empty)")

    def to_request(self, width: int, height: int, fps: float):
        from engine.request import GenerationRequest, LoraChoice

        return GenerationRequest(
            prompt=self.prompt,
            width=width,
            height=height,
            fps=fps,
            seed=int(self.seed),
            recipe=self.recipe,
            loras=tuple(LoraChoice(p, s) for p, s in self.loras) if self.loras else None,
            preview_every=self.preview_every,
        )



def run_extend(engine: Any, spec: ExtendSpec, source: ClipSource, on_progress=None, on_preview=None,
               cancel=None, on_stage=None):
    from engine.extend import extend_clip

    height, width = source.frames.shape[1:3]
    sound, rate = source_sound(source)
    return extend_clip(
        engine,
        source.frames,
        float(spec.seconds),
        spec.to_request(width, height, source.fps),
        spec.direction,
        on_progress=on_progress,
        on_preview=on_preview,
        cancel=cancel,
        on_stage=on_stage,
        source_audio_latents=source.audio_latents,  # the source's sound continues when it kept them
        source_audio=sound,  # else its sound, encoded by the engine (an imported clip)
        source_sample_rate=rate,
    )


def extend_record(spec: ExtendSpec, engine: Any, source: ClipSource, result: Any) -> dict[str, Any]:
    """The take's provenance: the engine's record plus where it was extended from."""
    generation = source.generation or spec.source_generation or {}
    return provenance.from_engine(
        result.metadata,
        extended_from=spec.media_id or str(source.path),
        extend_direction=spec.direction,
        extend_seconds=float(spec.seconds),
        source_checkpoint_identity=provenance.checkpoint(generation),
        source_prompt=generation.get("prompt"),
    )


def build_extension(media_dir: Path, spec: ExtendSpec, source: ClipSource, result: Any, generation: dict):
    """Write the extension's lossless master as a new file and describe it as a bin item."""
    from app.document import MediaItem
    from app.jobs.master import unique_stem, write_master
    from app.jobs.result import master_metadata
    from app.media.probe import probe_media

    media_dir = Path(media_dir)
    stem = unique_stem(media_dir, spec.display_name())
    path = write_master(
        media_dir, stem, result.frames, result.fps, result.audio, int(result.sample_rate),
        master_metadata(generation),
        audio_latents=getattr(result, "audio_latents", None),  # so the extension can be extended in turn
    )
    return MediaItem(
        id=uuid.uuid4().hex,
        path=str(path.resolve()),
        name=stem,
        info=probe_media(path),
        generation=dict(generation, sample_rate=int(result.sample_rate)),
        kind="generated",
    )


# --- back on the UI thread ----------------------------------------------------------------------------------


def apply_extend_result(stack: Any, doc: Any, item: Any, clip_id: str | None, direction: str) -> list[str]:
    """Add a finished extension to the bin and join it to `clip_id` on the timeline -- one undo step: after
    the clip (forward) or before it (backward), rippling what follows. Undo takes it off the timeline and
    out of the bin (its file stays on disk). `clip_id` None (the clip was edited away) only files it.
    Returns the new clip ids (video first). Raises EditError (nothing pushed) when it cannot be placed."""
    from app.commands import push_edit

    def apply(document: Any) -> list[str]:
        media_id = document.add_bin_item(item)
        if clip_id is None:
            return []
        clip = document.clip(clip_id)
        at = clip.end if direction == "forward" else clip.start
        return document.insert(media_id, clip.track_id, at)

    return push_edit(stack, doc, f"Extend {item.name}", apply)
