"""From an engine result to a bin item, and from a bin item to an undoable edit.

The worker calls `build_media_item` (on its thread: it writes and probes files); the main window calls
`apply_result` (on the UI thread: it edits the document through the undo stack), so the UI stays thin.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from app import provenance
from app.errors import AppError
from app.jobs.master import unique_stem, write_master
from app.jobs.settings import TINY_IDENTITY
from app.jobs.spec import MODEL_TINY, JobSpec


def generation_record(spec: JobSpec, engine: Any, result: Any = None) -> dict[str, Any]:
    """Everything a clip was made with: enough to regenerate it (`JobSpec.from_generation`) and to credit
    the model (provenance never gets stripped). The one record `app.provenance` builds for the CLI too."""
    metadata = getattr(result, "metadata", None) or {}
    return job_record(
        spec,
        engine,
        spec.generation_parameters(),
        result,
        # each fused LoRA's file identity and strength, and the recipe's stages, as the engine ran them
        loras_fused=metadata.get("loras") or None,
        stages=metadata.get("stages"),
    )


def job_record(
    spec: Any, engine: Any, parameters: dict[str, Any], result: Any = None, **extra: Any
) -> dict[str, Any]:
    """The provenance record of a studio job (generation, inpaint, extend): its `parameters` and the model
    that ran. With the engine's `result`, the values the job left to the model (steps, guidance, STG,
    negative prompt: None in the spec) are recorded as the engine resolved them, so a rerun is exact."""
    parameters = dict(parameters)
    for key, value in provenance.resolved_parameters(getattr(result, "metadata", None)).items():
        if parameters.get(key) is None:
            parameters[key] = value
    return provenance.build(
        parameters,
        model=spec.model,
        model_name=getattr(engine, "model_name", spec.model),
        checkpoint_identity=TINY_IDENTITY if spec.model == MODEL_TINY else getattr(engine, "identity", ""),
        quantization=getattr(engine, "quantization", spec.quantization),
        engine_version=_engine_version(),
        **extra,
    )


def _engine_version() -> str:
    from engine.engine import ENGINE_VERSION

    return ENGINE_VERSION


def master_metadata(generation: dict[str, Any]) -> dict[str, object]:
    """Container tags for the master: the same tags as a CLI clip's (`app.provenance.file_tags`)."""
    return provenance.file_tags(generation)


def build_media_item(media_dir: Path, spec: JobSpec, result: Any, generation: dict[str, Any]):
    """Write the lossless master of `result` into `media_dir` and describe it as a generated bin item."""
    from app.document import MediaItem
    from app.media.probe import probe_media

    media_dir = Path(media_dir)
    stem = unique_stem(media_dir, spec.display_name())
    path = write_master(
        media_dir,
        stem,
        result.frames,
        result.fps,
        result.audio,
        result.sample_rate,
        master_metadata(generation),
        video_latents=result.video_latents,
        audio_latents=result.audio_latents,
    )
    generation = dict(generation, sample_rate=int(result.sample_rate), latents=f"{stem}.latents.safetensors")
    return MediaItem(
        id=uuid.uuid4().hex,
        path=str(path.resolve()),
        name=stem,
        info=probe_media(path),
        generation=generation,
        take_of=spec.take_of,
        kind="generated",
    )


def apply_result(
    stack: Any, doc: Any, item: Any, place_at: Any = None, track_id: str | None = None
) -> list[str]:
    """Add a finished clip to the bin and, if `place_at` is given, put it on `track_id` (default: the first
    video track) -- as one undoable command. Returns the new clip ids. `place_at` "append": after the last
    clip of the track; a RationalTime: inserted there, or at the end of the shot it falls inside (never
    cutting it; app.document.placement.place_generated).

    A new take of an existing item gets the next take number. Raises EditError (nothing pushed) if the
    insert is impossible; the caller may then add the clip to the bin alone.
    """
    from app.commands import push_edit
    from app.document import TrackKind, placement

    if item.take_of is not None:
        try:
            item = replace(item, take=len(doc.takes(item.take_of)))
        except AppError:  # the original was deleted meanwhile: keep it a plain clip
            item = replace(item, take_of=None)

    def apply(document: Any) -> list[str]:
        media_id = document.add_bin_item(item)
        if place_at is None:
            return []
        target = track_id or document.tracks(TrackKind.VIDEO)[0].id
        if isinstance(place_at, str):
            return list(placement.place_generated(document, media_id, target))
        frame = round(place_at.rescaled_to(document.rate).value)
        return list(placement.place_generated(document, media_id, target, playhead=frame))

    text = f"Generate {item.name}" + (" onto the timeline" if place_at is not None else "")
    return push_edit(stack, doc, text, apply)
