"""The interchange formats: which suffix means which OTIO adapter, and what each one loses.

``LOSSES`` is measured, not guessed: tests/app/test_interchange_roundtrip.py exports a document with two
video and two audio tracks, linked sound, a dissolve, coloured markers and generation metadata to each
format, reads it back, and asserts every loss listed here really happens (and that nothing else is lost),
so the table in the README stays honest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.errors import InterchangeError


@dataclass(frozen=True)
class InterchangeFormat:
    key: str  # "otio" | "edl" | "fcp_xml" | "fcpx_xml"
    suffix: str
    adapter: str  # the OTIO adapter that reads and writes it
    label: str  # for messages
    can_import: bool


FORMATS: dict[str, InterchangeFormat] = {
    f.key: f
    for f in (
        InterchangeFormat("otio", ".otio", "otio_json", "OpenTimelineIO", True),
        InterchangeFormat("edl", ".edl", "cmx_3600", "CMX 3600 EDL", True),
        InterchangeFormat("fcp_xml", ".xml", "fcp_xml", "Final Cut Pro 7 XML", True),
        InterchangeFormat("fcpx_xml", ".fcpxml", "fcpx_xml", "FCPXML", True),
    )
}

LOSSES: dict[str, list[str]] = {
    "otio": [],  # our own format: tracks, links, grades, gain, markers and the media bin all come back
    "edl": [
        "one video track per file: each video track is written as <stem>_V1.edl, <stem>_V2.edl ...",
        "at most two audio tracks (channels A and A2, written into the _V1.edl file); more are dropped",
        "marker names come back in upper case; markers with no video clip under them are dropped",
        "marker notes",
        "disabled clips (left out of the EDL)",
        "grades (look, LUT, CDL, exposure) and audio gain",
        "links between picture and sound in different files (within _V1.edl they are restored by "
        "matching file, position and source range)",
        "the frame rate: import reads timecodes at the rate of the first media file found (or the "
        "rate= given)",
    ],
    "fcp_xml": [
        "track names (the XML's tracks are unnamed; the tracks come back numbered V1, V2, A1, A2)",
        "marker colours (every marker comes back red)",
        "clip disable (disabled clips come back enabled)",
        "grades (look, LUT, CDL, exposure) and audio gain",
        "clip speed (retimed / fit-to-fill clips come back at 100%, same length and source in)",
    ],
    "fcpx_xml": [
        "dissolves (the FCPXML adapter writes no transitions)",
        "marker colours other than red and green (FCPXML markers are to-dos: red open, green done; any "
        "other colour comes back purple, a plain marker); markers with no video clip under them",
        "track names (FCPXML has lanes, not named tracks)",
        "marker notes",
        "clip disable (disabled clips come back enabled)",
        "non-integer frame rates (23.976, 29.97): the adapter cannot write them, so export is refused",
        "grades (look, LUT, CDL, exposure) and audio gain",
        "clip speed (retimed / fit-to-fill clips come back at 100%, same length and source in)",
    ],
}


def format_for(path: Path, fmt: str | None = None) -> InterchangeFormat:
    """The format named by ``fmt`` (a key, a suffix or an adapter name) or else by ``path``'s suffix."""
    wanted = (fmt or Path(path).suffix).lower().strip()
    for candidate in FORMATS.values():
        if wanted in (candidate.key, candidate.suffix, candidate.suffix[1:], candidate.adapter):
            return candidate
    names = ", ".join(f.suffix for f in FORMATS.values())
    shown = wanted or "no suffix"
    raise InterchangeError(
        f"'{Path(path).name}' has {shown!r}, which is not a timeline interchange format. Use one of {names}."
    )
