"""One provenance record for every AI-generated clip, built one way from the CLI and the studio.

The LTX-2 licence requires that the record of how a clip was made is never lost, so it is one dict with
one vocabulary wherever it is written: a clip's and a bin entry's ``metadata["aiprod"]["generation"]`` in
OTIO, the ``aiprod_generation`` container tag of the file (with flat summary tags beside it), EDL comments
and FCP 7 / FCPXML notes (``app.interchange.provenance`` writes the same dict there).

    model                 the job's model choice ("ltx2" or "tiny"), what a regeneration loads
    model_name            the model's human name ("LTX-2 19B dev"), what a person reads
    checkpoint_identity   which weights exactly (file name and hash, or "tiny-random")
    quantization, engine_version, software, created
    prompt, negative_prompt, seed, width, height, frames, fps, steps, guidance, audio_guidance, image
    (the engine's other settings: stg_scale, modality_scale, ... under their engine names)

Records written before this vocabulary (the engine's own metadata as the CLI stored it, with ``model`` as the
human name, ``checkpoint`` instead of ``checkpoint_identity`` and the request under ``parameters``) are
migrated by :func:`normalize` when read, so old projects and files keep their provenance.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

from app import __version__

MODEL_LTX2, MODEL_TINY = "ltx2", "tiny"  # the job model choices (app.jobs.spec uses the same names)
SOFTWARE = f"AIPROD Studio {__version__}"
TAG_RECORD = "aiprod_generation"  # the container tag holding the whole record as JSON

# GenerationRequest field -> record key, where the studio's name differs from the engine's.
_FROM_REQUEST = {
    "num_frames": "frames",
    "guidance_scale": "guidance",
    "audio_guidance_scale": "audio_guidance",
}
_NOT_PROVENANCE = ("preview_every",)  # how often previews were shown changes nothing in the clip
# Older names of the same facts.
_RENAMED = {"checkpoint": "checkpoint_identity", "source_checkpoint": "source_checkpoint_identity"}


def build(
    parameters: Mapping[str, Any],
    *,
    model: str,
    model_name: str,
    checkpoint_identity: str,
    quantization: str,
    engine_version: str,
    created: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The record of one generated clip: its request ``parameters`` (record names) plus who made it."""
    record = {key: value for key, value in parameters.items() if key not in _NOT_PROVENANCE}
    record.update(
        {
            "model": model,
            "model_name": model_name,
            "checkpoint_identity": checkpoint_identity,
            "quantization": quantization,
            "engine_version": engine_version,
            "software": SOFTWARE,
            "created": created or _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        }
    )
    record.update({key: value for key, value in extra.items() if value is not None})
    return record


def from_engine(metadata: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """The record from an engine result's ``metadata`` (``Engine.metadata``): what the CLI writes.

    The engine's vocabulary stays in engine/; this is the one place it is mapped onto the record's."""
    name = str(metadata.get("model") or "")
    parameters = {
        _FROM_REQUEST.get(key, key): value for key, value in dict(metadata.get("parameters") or {}).items()
    }
    if "seed" in metadata:
        parameters["seed"] = metadata["seed"]
    return build(
        parameters,
        model=model_choice(name),
        model_name=name,
        checkpoint_identity=str(metadata.get("checkpoint_identity") or metadata.get("checkpoint") or ""),
        quantization=str(metadata.get("quantization") or "none"),
        engine_version=str(metadata.get("engine_version") or ""),
        created=metadata.get("created"),
        model_version=metadata.get("model_version"),
        model_source=metadata.get("model_source"),
        device=metadata.get("device"),
        dtype=metadata.get("dtype"),
        recipe=metadata.get("recipe"),
        stages=metadata.get("stages"),
        loras_fused=metadata.get("loras") or None,  # each LoRA's file identity and strength
        extend=metadata.get("extend"),
        **extra,
    )


def resolved_parameters(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """The request an engine really ran (``Engine.metadata``'s ``parameters``, every model default filled
    in), in the record's names: what a studio record adds to the job's own fields."""
    parameters = dict((metadata or {}).get("parameters") or {})
    out = {
        _FROM_REQUEST.get(key, key): value
        for key, value in parameters.items()
        if key not in _NOT_PROVENANCE and key != "image"
    }
    if (metadata or {}).get("model_version"):
        out["model_version"] = metadata["model_version"]
    return out


def model_choice(name: str) -> str:
    return MODEL_TINY if "tiny" in name.lower() else MODEL_LTX2


def normalize(record: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A stored record in today's vocabulary (old keys migrated); None stays None. Never loses a key."""
    if record is None:
        return None
    data = dict(record)
    if isinstance(data.get("parameters"), Mapping) and "model_name" not in data:  # the engine's metadata
        data = {**from_engine(data), **{k: v for k, v in data.items() if k not in _ENGINE_ONLY}}
    for old, new in _RENAMED.items():
        if old in data and data.get(new) in (None, "", data[old]):
            data[new] = data.pop(old)
    return data


_ENGINE_ONLY = ("parameters", "model", "checkpoint_identity", "checkpoint", "ai_generated")


def model_name(record: Mapping[str, Any] | None, default: str = "unknown") -> str:
    record = normalize(record) or {}
    return str(record.get("model_name") or record.get("model") or default)


def checkpoint(record: Mapping[str, Any] | None) -> str | None:
    record = normalize(record) or {}
    value = record.get("checkpoint_identity")
    return str(value) if value else None


def file_tags(record: Mapping[str, Any]) -> dict[str, object]:
    """Container tags for a file holding one generated clip, the same from the CLI and the studio:
    readable summary tags plus the whole record (``aiprod_generation``, JSON). ``build_metadata`` adds
    the mandatory AI-generated statement from ``model`` and ``checkpoint``."""
    record = normalize(record) or {}
    return {
        "model": model_name(record),
        "checkpoint": checkpoint(record),
        "seed": record.get("seed"),
        "prompt": record.get("prompt"),
        "negative_prompt": record.get("negative_prompt") or None,
        "quantization": record.get("quantization"),
        "engine_version": record.get("engine_version"),
        "software": record.get("software"),
        "created": record.get("created"),
        TAG_RECORD: record,
    }


def from_file_tags(tags: Mapping[str, str]) -> dict[str, Any] | None:
    """The record a generated file carries in its container tags (what import puts on the bin item), or
    None for a file that is not AI-generated. Reads today's ``aiprod_generation`` tag and the older CLI
    tags (the engine's metadata written flat, with ``parameters`` as JSON)."""
    import json

    lower = {str(key).lower(): value for key, value in tags.items()}
    try:
        if lower.get(TAG_RECORD):
            value = json.loads(lower[TAG_RECORD])
            return normalize(value) if isinstance(value, dict) else None
        if lower.get("ai_generated") == "true" and lower.get("parameters"):
            parameters = json.loads(lower["parameters"])
            if not isinstance(parameters, dict):
                return None
            seed = lower.get("seed")
            engine = {**lower, "parameters": parameters, "seed": int(seed) if str(seed).isdigit() else seed}
            for key in (
                "comment",
                "description",
                "encoder",
                "major_brand",
                "minor_version",
                "compatible_brands",
            ):
                engine.pop(key, None)
            return normalize(engine)
    except ValueError:
        return None  # a damaged tag loses the record, never the import
    return None
