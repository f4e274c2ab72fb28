"""AI provenance (the clip's ``app.provenance`` record) written into and read back from interchange files.

The LTX-2 licence forbids stripping provenance, so every format that can carry text per clip carries it:
a human-readable statement ("AI-generated with ltx-2") plus the full generation parameters as compact
JSON behind a fixed tag, which import turns back into the clip's ``generation`` dict.

    EDL        comment lines  * AI-GENERATED: ltx-2        * AIPROD GENERATION: {...}
    FCP 7 XML  <logginginfo><description>AI-generated ...</description><lognote>AIPROD GENERATION: {...}
    FCPXML     the asset-clip's <note> and <metadata><md key="com.aiprod.generation" value="{...}"/>
    OTIO       clip.metadata["aiprod"]["generation"] as the document stores it
"""

from __future__ import annotations

import json
from typing import Any

from app import provenance as record  # the one record; this module only writes it into formats

TAG = "AIPROD GENERATION:"
STATEMENT = "AI-GENERATED:"
FCPX_KEY = "com.aiprod.generation"


def model_name(generation: dict[str, Any]) -> str:
    return record.model_name(generation, "an AI model")


def statement(generation: dict[str, Any]) -> str:
    """One line a person reads: which model made the clip."""
    return f"AI-generated with {model_name(generation)}"


def encode(generation: dict[str, Any]) -> str:
    """The parameters as one ASCII line of JSON (EDL comments must stay one line, and plain ASCII)."""
    return json.dumps(
        record.normalize(generation), ensure_ascii=True, separators=(",", ":"), sort_keys=True, default=str
    )


def tagged(generation: dict[str, Any]) -> str:
    return f"{TAG} {encode(generation)}"


def decode(text: str) -> dict[str, Any] | None:
    """The generation dict from a tagged line (or bare JSON); None when ``text`` carries none."""
    text = str(text).strip().lstrip("*").strip()
    if text.startswith(TAG):
        text = text[len(TAG) :].strip()
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None  # a damaged comment loses the parameters, never the import
    return record.normalize(value) if isinstance(value, dict) else None  # old vocabularies migrated
