"""Export a document's timeline to OTIO, CMX 3600 EDL, FCP 7 XML or FCPXML (Qt-free).

Every format is written by its OTIO adapter; this module only prepares a copy of the timeline for it
(file URLs where the format wants them, provenance where it can carry text, markers where it keeps them)
and writes the result atomically: each file goes to a temporary name in the destination folder and is
renamed into place only once every file of the export was written, so a failure leaves nothing behind.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import opentimelineio as otio

from app.document.layout import meta
from app.errors import InterchangeError
from app.interchange import provenance
from app.interchange.edl import edl_files
from app.interchange.formats import InterchangeFormat, format_for
from app.interchange.paths import to_file_url
from app.interchange.timeline import clip_generation, clips_with_ranges, local_markers
from app.project.atomic import check_name, commit, discard, reserve_temp, resolve_target
from app.project.outputs import check_output_path

FCPX_RATES = (24, 25, 30, 50, 60)  # what the fcpx_xml adapter writes and reads back correctly

if TYPE_CHECKING:
    from app.document import TimelineDocument


def export_timeline(
    doc: TimelineDocument,
    path: str | os.PathLike[str],
    fmt: str | None = None,
    *,
    dropped: list[str] | None = None,
    project_folder: str | os.PathLike[str] | None = None,
) -> list[Path]:
    """Write ``doc``'s timeline to ``path`` in the format its suffix (or ``fmt``) names; returns the files.

    An EDL is one file per video track (``<stem>_V1.edl``, ``<stem>_V2.edl`` ...). What the format cannot
    hold is left out, not refused; a description of each such loss is appended to ``dropped`` when given
    (an addition to the contract). Raises InterchangeError when the folder cannot be written or the
    adapter fails; then no file was created or changed. An output that would replace (or be written
    inside) a media file of ``doc``, ``project_folder`` or any project folder is refused (OutputRefused).
    """
    path = Path(os.fspath(path)).expanduser().absolute()
    try:
        check_name(path)
    except OSError as exc:
        raise InterchangeError(f"Cannot export to {path}: {exc.strerror}. Choose a shorter name.") from exc
    check_output_path(path, doc, project_folder)
    form = format_for(path, fmt)
    notes: list[str] = []
    folder = path.parent
    if not folder.is_dir():
        raise InterchangeError(f"The folder {folder} does not exist. Choose an existing folder to export to.")
    timeline = _prepared(doc)
    try:
        files = _render(form, timeline, path, doc.rate, notes)
    except InterchangeError:
        raise
    except Exception as exc:  # an adapter's own error: say which format, keep the cause for the log
        raise InterchangeError(
            f"Could not write the timeline as {form.label}: {exc}. Nothing was written; try another format."
        ) from exc
    for target in files:  # an EDL's per-track names too
        check_output_path(target, doc, project_folder)
    _write_all(files, form)
    if dropped is not None:
        dropped.extend(notes)
    return list(files)


def _prepared(doc: TimelineDocument) -> otio.schema.Timeline:
    """A copy of the timeline whose clips carry their media's generation parameters when they have none
    of their own (a generated clip's record lives on its bin item)."""
    timeline = doc.to_otio()
    bin_generation = {item.id: item.generation for item in doc.bin_items() if item.generation}
    for clip in timeline.find_clips():
        data = meta(clip)
        if not data.get("generation") and data.get("media_id") in bin_generation:
            data["generation"] = dict(bin_generation[data["media_id"]])
    return timeline


def _render(
    form: InterchangeFormat, timeline: otio.schema.Timeline, path: Path, rate: float, notes: list[str]
) -> dict[Path, str]:
    if form.key == "otio":
        return {path: otio.adapters.write_to_string(timeline, "otio_json")}
    if form.key == "edl":
        return edl_files(timeline, path, rate, notes)
    _titles_as_gaps(timeline, notes)  # the XML formats below have no place for a title
    if form.key == "fcp_xml":
        _for_fcp7(timeline)
        if any(t.name for t in timeline.tracks):
            notes.append("FCP 7 XML: track names (the other editor numbers the tracks itself)")
        if any(str(m.color) != "RED" for m in timeline.tracks.markers):
            notes.append("FCP 7 XML: marker colours")
        return {path: otio.adapters.write_to_string(timeline, "fcp_xml")}
    _for_fcpx(timeline, rate, notes)
    return {path: otio.adapters.write_to_string(timeline, "fcpx_xml")}


def _titles_as_gaps(timeline: otio.schema.Timeline, notes: list[str]) -> None:
    """FCP XML and FCPXML have no place for our titles (a clip without a media file): each becomes a gap of
    its length (dissolves touching it go too) and the notes say so. OTIO keeps them; an EDL lists each as an
    event named by its text."""
    dropped = 0
    for track in timeline.tracks:
        items = list(track)
        titles = {
            i for i, item in enumerate(items)
            if isinstance(item, otio.schema.Clip)
            and isinstance(item.media_reference, otio.schema.GeneratorReference)
            and item.media_reference.generator_kind == "aiprod.title"
        }  # fmt: skip
        if not titles:
            continue
        dropped += len(titles)
        rebuilt: list[otio.core.Composable] = []
        for i, item in enumerate(items):
            if i in titles:
                rebuilt.append(otio.schema.Gap(source_range=item.trimmed_range()))
            elif isinstance(item, otio.schema.Transition) and ({i - 1, i + 1} & titles):
                continue
            else:
                rebuilt.append(item)
        del track[:]
        track.extend(rebuilt)
    if dropped:
        notes.append(f"titles ({dropped}): the format has no place for them, they are left out as gaps")


def _file_urls(timeline: otio.schema.Timeline) -> None:
    for clip in timeline.find_clips():
        ref = clip.media_reference
        if isinstance(ref, otio.schema.ExternalReference) and ref.target_url:
            ref.target_url = to_file_url(ref.target_url)


def _for_fcp7(timeline: otio.schema.Timeline) -> None:
    """File URLs in <pathurl>; provenance in the clip's <logginginfo> (description and log note)."""
    _file_urls(timeline)
    for marker in timeline.tracks.markers:  # a marker's note is FCP 7's <comment>
        if marker.comment:
            marker.metadata["fcp_xml"] = {"comment": marker.comment}
    for clip in timeline.find_clips():
        generation = clip_generation(clip)
        if generation:
            clip.metadata["fcp_xml"] = {
                "logginginfo": {
                    "description": provenance.statement(generation),
                    "lognote": provenance.tagged(generation),
                }
            }


def _for_fcpx(timeline: otio.schema.Timeline, rate: float, notes: list[str]) -> None:
    """File URLs in <asset src>; provenance as the asset-clip's note and metadata; markers moved onto the
    video clips under them (the FCPXML adapter writes clip markers only)."""
    if rate not in FCPX_RATES:
        # The adapter looks frame durations up by int(rate) and reads them back as whole numbers, so
        # 23.976 or 29.97 would come out with no format or with every time wrong.
        raise InterchangeError(
            f"FCPXML export handles whole frame rates only ({', '.join(map(str, FCPX_RATES))} fps); this "
            f"timeline runs at {rate:.3f} fps. Export FCP 7 XML (.xml) or OpenTimelineIO (.otio) instead."
        )
    _file_urls(timeline)
    for clip in timeline.find_clips():
        generation = clip_generation(clip)
        if generation and clip.media_reference is not None:
            clip.media_reference.metadata["fcpx"] = {
                "note": provenance.statement(generation),
                "metadata": [{provenance.FCPX_KEY: provenance.encode(generation)}],
            }
    markers = list(timeline.tracks.markers)
    placed: set[int] = set()
    for track in timeline.video_tracks():
        for clip, record in clips_with_ranges(track):
            for index, marker in local_markers(clip, record, markers):
                if index not in placed:
                    clip.markers.append(marker)
                    placed.add(index)
    del timeline.tracks.markers[:]
    for index, marker in enumerate(markers):
        if index not in placed:
            notes.append(f"FCPXML: marker '{marker.name}' (no video clip under it to carry it)")
    dissolves = sum(1 for t in timeline.tracks for i in t if isinstance(i, otio.schema.Transition))
    if dissolves:
        notes.append(f"FCPXML: {dissolves} dissolve(s) (the FCPXML adapter does not write transitions)")


def _write_all(files: dict[Path, str], form: InterchangeFormat) -> None:
    """Every file to a temporary name first, then all renamed; any failure removes the temporary files."""
    temps: dict[Path, Path] = {}
    try:
        for target, text in files.items():
            target = resolve_target(target)
            temps[target] = reserve_temp(target)
            with open(temps[target], "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
        for target, tmp in temps.items():
            commit(tmp, target)
    except OSError as exc:
        for tmp in temps.values():
            discard(tmp)
        folder = next(iter(files)).parent
        raise InterchangeError(
            f"Could not write the {form.label} export to {folder}: {exc.strerror or exc}. "
            "Choose a folder you can write to (and check there is free space)."
        ) from exc
