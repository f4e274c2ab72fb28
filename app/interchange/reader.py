"""Import a timeline from OTIO, CMX 3600 EDL, FCP 7 XML or FCPXML into a new document (Qt-free).

The adapters do the parsing; this module turns what they return into what the document relies on:

* media paths: file URLs become local paths; every referenced file becomes a bin item, probed when it
  exists, flagged (``info`` None, ``extra["missing"]``) when it does not, so relink can fix it later;
* dissolves: the EDL's "transition starts at the cut" form becomes a dissolve centred on the cut;
* placement: an EDL track's record offset becomes a leading gap (a sequence starting at 01:00:00:00
  counts from there);
* markers: clip markers (EDL ``* LOC``, FCPXML) become timeline markers;
* provenance: the generation parameters written on export come back as clip metadata;
* links: a video clip and an audio clip of the same file at the same place are linked again;
* the adapters' own metadata is dropped: it holds the other application's element ids, which copies made
  by our edits would duplicate on the next export.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from pathlib import Path

import opentimelineio as otio

from app.document import MediaItem, TimelineDocument
from app.document.layout import NS, meta
from app.errors import InterchangeError, MediaError, ProjectError
from app.interchange import provenance
from app.interchange.edl import prepare_for_reader
from app.interchange.formats import InterchangeFormat, format_for
from app.interchange.paths import to_local_path
from app.interchange.timeline import clips_with_ranges
from app.media.probe import probe_media
from app.project.validation import check_document, check_tree

RationalTime = otio.opentime.RationalTime
TimeRange = otio.opentime.TimeRange
_ADAPTER_KEYS = ("fcp_xml", "cmx_3600", "fcpx")
_HOUR_SECONDS = 3600.0


def import_timeline(path: str | os.PathLike[str], *, rate: float | None = None) -> TimelineDocument:
    """A new document holding the timeline in ``path`` (.otio, .edl, .xml or .fcpxml).

    ``rate`` (an addition to the contract) is the frame rate to read an EDL's timecodes at; EDLs do not
    say, so without it the rate of the first media file that exists is used, else 24. Raises
    InterchangeError, naming the file and the format, when the file is missing, unreadable or malformed.
    """
    file = Path(os.fspath(path)).expanduser().absolute()
    form = format_for(file)
    if not file.is_file():
        raise InterchangeError(
            f"'{file}' was not found. Check the file name and that the drive is connected."
        )
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise _unreadable(file, form, exc) from exc
    timeline = _read(text, file, form, rate)
    if form.key == "edl" and rate is None:
        guessed = _media_rate(timeline)
        if guessed is not None and not math.isclose(guessed, _rate_of_clips(timeline, 24.0)):
            timeline = _read(text, file, form, guessed)
    if form.key != "otio":
        _normalise_foreign(timeline, form)
    _local_paths(timeline)
    if not timeline.name:
        timeline.name = file.stem
    try:
        doc = TimelineDocument.from_otio(timeline)
    except Exception as exc:  # a structure the document cannot hold (nested stacks in odd places...)
        raise _unreadable(file, form, exc) from exc
    try:  # the checks a project file gets: rates, times, grades, gains... a clear error, not a crash later
        check_document(doc, file)
    except ProjectError as exc:
        raise _refused(exc) from exc
    _probe_bin(doc)
    return doc


# ---------------------------------------------------------------------------------------- reading
def _read(text: str, file: Path, form: InterchangeFormat, rate: float | None) -> otio.schema.Timeline:
    if not text.strip():
        raise InterchangeError(f"'{file.name}' is empty: there is no {form.label} timeline in it.")
    if form.key == "otio":
        _check_otio_json(text, file, form)
    options = {}
    if form.key == "edl":
        options = {"rate": rate or 24.0}
        text = prepare_for_reader(text)
    try:
        result = otio.adapters.read_from_string(text, form.adapter, **options)
    except Exception as exc:  # adapters raise anything from ParseError to KeyError on bad input
        raise _unreadable(file, form, exc) from exc
    if isinstance(result, otio.schema.Timeline):
        timeline = result
    else:
        found = list(result.find_children(descended_from_type=otio.schema.Timeline)) if result else []
        if not found:
            raise InterchangeError(
                f"'{file.name}' holds no timeline ({form.label}); export a sequence again."
            )
        timeline = found[0]
    if not any(True for _ in timeline.find_clips()):
        raise InterchangeError(f"'{file.name}' has no clips in it ({form.label}); nothing to import.")
    return timeline


def _check_otio_json(text: str, file: Path, form: InterchangeFormat) -> None:
    """OTIO's C++ reader recurses once per nesting level and overflows the stack (a crash, not an error)
    on JSON nested ~100,000 deep; Python's parser and the project checks bound the depth and the values
    first."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError:
        return  # OTIO's own reader says what is wrong with it
    except RecursionError as exc:
        raise _unreadable(file, form, ValueError("data nested too deeply")) from exc
    try:
        check_tree(raw, file)
    except ProjectError as exc:
        raise _refused(exc) from exc


def _refused(exc: ProjectError) -> InterchangeError:
    return InterchangeError(f"{exc} It cannot be imported; export it again from the other application.")


def _unreadable(file: Path, form: InterchangeFormat, exc: BaseException) -> InterchangeError:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InterchangeError(
        f"'{file.name}' is not a readable {form.label} file ({detail}). It may be damaged or cut short; "
        "export it again from the other application."
    )


def _rate_of_clips(timeline: otio.schema.Timeline, default: float) -> float:
    for clip in timeline.find_clips():
        if clip.source_range is not None:
            return float(clip.source_range.duration.rate)
    return default


def _media_rate(timeline: otio.schema.Timeline) -> float | None:
    """The frame rate of the first referenced video file that exists (an EDL's best rate guess)."""
    for clip in timeline.find_clips():
        ref = clip.media_reference
        if not isinstance(ref, otio.schema.ExternalReference) or not ref.target_url:
            continue
        try:
            info = probe_media(to_local_path(ref.target_url))
        except MediaError:
            continue
        if info.fps:
            return float(info.fps)
    return None


# ---------------------------------------------------------------------------------------- normalising
def _normalise_foreign(timeline: otio.schema.Timeline, form: InterchangeFormat) -> None:
    hour_based = _all_start_after_an_hour(timeline)
    for track in timeline.tracks:
        if not isinstance(track, otio.schema.Track):
            continue
        _record_offset_as_gap(track, hour_based)
        _black_as_gaps(track)
        _centre_dissolves(track)
    _provenance(timeline)
    _clip_markers_to_timeline(timeline)
    _relink_sound(timeline)
    _drop_adapter_metadata(timeline)


def _record_offset_as_gap(track: otio.schema.Track, hour_based: bool) -> None:
    """The EDL reader keeps a track's first record timecode as a negative source start; make it a gap."""
    source = track.source_range
    if source is None:
        return
    track.source_range = None
    offset = -source.start_time
    if hour_based:
        offset -= RationalTime.from_seconds(_HOUR_SECONDS, offset.rate)
    if offset.value > 0:
        track.insert(0, otio.schema.Gap(source_range=TimeRange(RationalTime(0, offset.rate), offset)))


def _all_start_after_an_hour(timeline: otio.schema.Timeline) -> bool:
    """Sequences conventionally start at 01:00:00:00; read positions from there when every track does."""
    starts = [-t.source_range.start_time.to_seconds() for t in timeline.tracks if t.source_range is not None]
    starts += [0.0 for t in timeline.tracks if t.source_range is None and len(t)]
    return bool(starts) and min(starts) >= _HOUR_SECONDS


def _black_as_gaps(track: otio.schema.Track) -> None:
    """EDL black (``BL``) and bars events are generator clips; on our timeline they are empty space."""
    for index, item in enumerate(list(track)):
        if isinstance(item, otio.schema.Clip) and isinstance(
            item.media_reference, otio.schema.GeneratorReference
        ):
            track[index] = otio.schema.Gap(source_range=item.trimmed_range())


def _centre_dissolves(track: otio.schema.Track) -> None:
    """Move each dissolve's cut to its middle (the document's form): an EDL dissolve starts at the cut."""
    items = list(track)
    for index, item in enumerate(items):
        if not isinstance(item, otio.schema.Transition) or not 0 < index < len(items) - 1:
            continue
        left, right = items[index - 1], items[index + 1]
        if not (isinstance(left, otio.schema.Clip) and isinstance(right, otio.schema.Clip)):
            continue
        rate = item.in_offset.rate
        total = item.in_offset + item.out_offset
        before = RationalTime(math.floor(total.value / 2), total.rate)
        shift = before - item.in_offset
        left_range, right_range = left.trimmed_range(), right.trimmed_range()
        if (
            shift.value
            and (right_range.duration - shift).value >= 1
            and (left_range.duration + shift).value >= 1
        ):
            left.source_range = TimeRange(left_range.start_time, left_range.duration + shift)
            right.source_range = TimeRange(right_range.start_time + shift, right_range.duration - shift)
        item.in_offset = RationalTime(before.value_rescaled_to(rate), rate)
        item.out_offset = RationalTime((total - before).value_rescaled_to(rate), rate)


def _provenance(timeline: otio.schema.Timeline) -> None:
    """Generation parameters from EDL comments, FCP 7 log notes or FCPXML metadata into clip metadata."""
    for clip in timeline.find_clips():
        generation = None
        comments = (clip.metadata.get("cmx_3600") or {}).get("comments") or []
        for comment in comments:
            generation = generation or provenance.decode(comment)
        logging = (clip.metadata.get("fcp_xml") or {}).get("logginginfo") or {}
        if logging.get("lognote"):
            generation = generation or provenance.decode(str(logging["lognote"]))
        ref = clip.media_reference
        fcpx = (ref.metadata.get("fcpx") or {}) if ref is not None else {}
        for entry in fcpx.get("metadata") or []:
            if provenance.FCPX_KEY in entry:
                generation = generation or provenance.decode(str(entry[provenance.FCPX_KEY]))
        if generation:
            meta(clip)["generation"] = generation


def _clip_markers_to_timeline(timeline: otio.schema.Timeline) -> None:
    """Clip markers (in the clip's source time) as timeline markers; the same marker twice is kept once."""
    seen = {(m.name, m.marked_range.start_time.to_seconds()) for m in timeline.tracks.markers}
    for marker in timeline.tracks.markers:
        marker.comment = _marker_note(marker)
    for track in timeline.tracks:
        for marker in list(track.markers):
            _add_marker(timeline, marker, marker.marked_range.start_time, seen)
        del track.markers[:]
        for clip, record in clips_with_ranges(track):
            source_start = clip.trimmed_range().start_time
            for marker in list(clip.markers):
                at = record.start_time + (marker.marked_range.start_time - source_start)
                _add_marker(timeline, marker, at, seen)
            del clip.markers[:]


def _add_marker(
    timeline: otio.schema.Timeline, marker: otio.schema.Marker, at: RationalTime, seen: set
) -> None:
    key = (marker.name, at.to_seconds())
    if key in seen:
        return
    seen.add(key)
    copy = otio.schema.Marker(
        name=marker.name, marked_range=TimeRange(at, RationalTime(0, at.rate)), color=marker.color or "RED"
    )
    copy.comment = _marker_note(marker)
    timeline.tracks.markers.append(copy)


def _marker_note(marker: otio.schema.Marker) -> str:
    """A marker's note: OTIO's comment, else FCP 7's <comment> (which the adapter keeps as metadata)."""
    fcp = marker.metadata.get("fcp_xml")
    comment = fcp.get("comment") if hasattr(fcp, "get") else None
    return str(marker.comment or comment or "")


def _relink_sound(timeline: otio.schema.Timeline) -> None:
    """Link each video clip to the audio clip of the same file, place and source range (formats that drop
    A/V links still keep this much)."""
    audio: dict[tuple, list[otio.schema.Clip]] = {}
    for track in timeline.audio_tracks():
        for clip, record in clips_with_ranges(track):
            audio.setdefault(_place_key(clip, record), []).append(clip)
    for track in timeline.video_tracks():
        for clip, record in clips_with_ranges(track):
            partners = audio.get(_place_key(clip, record))
            if not partners:
                continue
            link = uuid.uuid4().hex
            meta(clip)["link_id"] = link
            meta(partners.pop(0))["link_id"] = link


def _place_key(clip: otio.schema.Clip, record: TimeRange) -> tuple:
    ref = clip.media_reference
    url = to_local_path(getattr(ref, "target_url", "") or "")
    source = clip.trimmed_range()
    return (url, record.start_time.to_seconds(), record.duration.to_seconds(), source.start_time.to_seconds())


def _drop_adapter_metadata(timeline: otio.schema.Timeline) -> None:
    objects = [timeline, timeline.tracks, *timeline.tracks, *timeline.tracks.markers]
    for track in timeline.tracks:
        objects += list(track)
    objects += [c.media_reference for c in timeline.find_clips() if c.media_reference is not None]
    for obj in objects:
        for key in _ADAPTER_KEYS:
            if key in obj.metadata:
                del obj.metadata[key]


def _local_paths(timeline: otio.schema.Timeline) -> None:
    for clip in timeline.find_clips():
        ref = clip.media_reference
        if isinstance(ref, otio.schema.ExternalReference) and ref.target_url:
            ref.target_url = to_local_path(ref.target_url)
    data = timeline.metadata.get(NS)
    if data is not None and data.get("bin"):
        entries = [dict(entry) for entry in data["bin"]]
        for entry in entries:
            entry["path"] = to_local_path(str(entry["path"]))
        data["bin"] = entries


# ---------------------------------------------------------------------------------------- media
def _probe_bin(doc: TimelineDocument) -> None:
    """Probe every bin item's file; missing or unreadable files stay in the bin, flagged, for relink."""
    for item in doc.bin_items():
        extra = {k: v for k, v in item.extra.items() if k not in ("missing", "unreadable")}
        info = None
        try:
            present = Path(item.path).is_file()
        except (OSError, ValueError):  # a name too long for the file system, a NUL byte...
            present = False
        if not present:
            extra["missing"] = True
        else:
            try:
                info = probe_media(item.path)
            except MediaError as exc:
                extra["unreadable"] = str(exc)
        name = item.name if item.name and item.name != item.path else Path(item.path).name
        generation = item.generation or _clip_generation_of(doc, item.id)
        doc.add_bin_item(
            MediaItem(
                **{**item.__dict__, "name": name, "info": info, "extra": extra, "generation": generation}
            )
        )
        doc.relink(item.id, item.path, info)


def _clip_generation_of(doc: TimelineDocument, media_id: str) -> dict | None:
    for track in doc.tracks():
        for clip in doc.clips(track.id):
            if clip.media_id == media_id and clip.generation:
                return clip.generation
    return None
