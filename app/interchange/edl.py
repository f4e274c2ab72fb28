"""CMX 3600 EDLs: one file per video track, written by the OTIO cmx_3600 adapter.

The adapter writes exactly one track per call and refuses timelines with more than one video track, so
each video track becomes its own timeline (``<stem>_V1.edl``, ``<stem>_V2.edl`` ...). An EDL also has
only two standard audio channels: the first two audio tracks go into the V1 file as ``A`` and ``A2``
events (written by the same adapter, then given their channel and event numbers), further audio tracks
are dropped and reported.

What the adapter needs from us: reel names without spaces (a space splits the event line into the wrong
number of fields, which no reader can parse), markers placed on the clips they fall on (it writes
``* LOC`` comments per clip only) and the provenance lines as clip comments.
"""

from __future__ import annotations

import re
from pathlib import Path

import opentimelineio as otio
from otio_cmx3600_adapter import cmx_3600

from app.errors import InterchangeError
from app.interchange import provenance
from app.interchange.timeline import clip_generation, clips_with_ranges, local_markers

RationalTime = otio.opentime.RationalTime
MAX_AUDIO = 2  # CMX 3600: channels A and A2
DAY_SECONDS = 24 * 3600  # HH:MM:SS:FF wraps at 24 hours
_CHANNELS = ("A", "A2")
_EVENT = re.compile(r"^(\d+)(\s+\S+\s+)(A) {4}")
_NUMBER = re.compile(r"^(\d+)(?=\s)")


def edl_files(timeline: otio.schema.Timeline, path: Path, rate: float, dropped: list[str]) -> dict[Path, str]:
    """``{file path: EDL text}`` for every video track of ``timeline`` (a prepared copy: it is changed)."""
    videos = list(timeline.video_tracks())
    audios = list(timeline.audio_tracks())
    if len(audios) > MAX_AUDIO:
        names = ", ".join(t.name for t in audios[MAX_AUDIO:])
        dropped.append(f"EDL: audio tracks {names} (an EDL has two audio channels; A1 and A2 are in _V1.edl)")
    for track in videos + audios[:MAX_AUDIO]:
        _check_timecodes_fit(track)
    placed: set[int] = set()
    files: dict[Path, str] = {}
    for number, video in enumerate(videos, start=1):
        tracks = [video] + (audios[:MAX_AUDIO] if number == 1 else [])
        single = otio.schema.Timeline(name=timeline.name)
        for track in tracks:
            track = track.deepcopy()
            track.enabled = True  # the adapter skips the events of a disabled track
            single.tracks.append(track)
        _prepare_clips(single, timeline.tracks.markers, placed)
        target = path.with_name(f"{path.stem}_V{number}.edl")
        files[target] = _write(single, rate)
    lost = [m for i, m in enumerate(timeline.tracks.markers) if i not in placed]
    for marker in lost:
        at = otio.opentime.to_timecode(marker.marked_range.start_time, rate)
        dropped.append(f"EDL: marker '{marker.name}' at {at} (no video clip under it to carry it)")
    return files


def _check_timecodes_fit(track: otio.schema.Track) -> None:
    """Refuse what an EDL cannot say: its timecodes stop at 23:59:59:FF, and the adapter wraps anything
    later round to 00:00 without a word, which would put the events at the wrong time in the other editor."""
    for clip, record in clips_with_ranges(track):
        source = clip.trimmed_range()
        for what, end in (("ends on the timeline", record.end_time_exclusive()),
                          ("uses its media up to", source.end_time_exclusive())):
            if end.to_seconds() >= DAY_SECONDS or source.start_time.to_seconds() < 0:
                raise InterchangeError(
                    f"Clip '{clip.name}' on {track.name} {what} {end.to_seconds() / 3600:.1f} hours, "
                    "or starts before 0; CMX 3600 timecodes cover 0 to 24 hours only, so the EDL would be "
                    "wrong. "
                    "Move the clip, or export OpenTimelineIO (.otio) or FCP 7 XML (.xml) instead."
                )


def _prepare_clips(single: otio.schema.Timeline, markers: list[otio.schema.Marker], placed: set[int]) -> None:
    for track in single.tracks:
        is_video = track.kind == otio.schema.TrackKind.Video
        for clip, record in clips_with_ranges(track):
            data = clip.metadata.setdefault("cmx_3600", {})
            data["reel"] = reel_name(clip)
            comments = []
            generation = clip_generation(clip)
            if generation:
                comments += [
                    f"{provenance.STATEMENT} {provenance.model_name(generation)}",
                    provenance.tagged(generation),
                ]
            data["comments"] = comments
            if is_video:
                for index, marker in local_markers(clip, record, markers):
                    clip.markers.append(marker)
                    placed.add(index)


def reel_name(clip: otio.schema.Clip) -> str:
    """Up to eight letters and digits from the media's file name (``AX``, "auxiliary", when none)."""
    ref = clip.media_reference
    source = getattr(ref, "target_url", "") or clip.name or ""
    stem = Path(source.replace("\\", "/")).stem
    return re.sub(r"[^A-Za-z0-9]", "", stem)[:8] or "AX"


def _write(single: otio.schema.Timeline, rate: float) -> str:
    writer = cmx_3600.EDLWriter(tracks=single.tracks, rate=rate, style="avid", reelname_len=8)
    text = writer.get_content_for_track_at_index(0, title=single.name)
    events = _last_event(text)
    for index in range(1, len(single.tracks)):
        if not len(single.tracks[index]):
            continue
        chunk = writer.get_content_for_track_at_index(index, title=None)
        chunk = _renumber(chunk, events, _CHANNELS[index - 1])
        events = _last_event(chunk) or events
        text += chunk
    return text


def _renumber(chunk: str, offset: int, channel: str) -> str:
    lines = []
    for line in chunk.splitlines():
        match = _NUMBER.match(line)
        if match:
            line = f"{int(match.group(1)) + offset:03d}" + line[match.end(1) :]
            line = _EVENT.sub(lambda m: f"{m.group(1)}{m.group(2)}{channel:5}", line)
        lines.append(line)
    return "\n".join(lines) + "\n"


def _last_event(text: str) -> int:
    numbers = [int(m.group(1)) for m in map(_NUMBER.match, text.splitlines()) if m]
    return max(numbers, default=0)


def prepare_for_reader(text: str) -> str:
    """Rewrite what the cmx_3600 reader gets wrong in dissolve events (fades from black, comments).

    A fade up from black (``BL`` cut line, then the dissolve line) becomes a plain cut: the reader
    refuses one at the head of a track, and the document has no fades from black, only dissolves
    between clips. And each dissolve event keeps only its incoming clip's comments:

    A dissolve event lists the outgoing clip's comments (``* FROM CLIP NAME``, its ``* FROM CLIP`` path,
    locators) and then the incoming clip's (``* TO CLIP NAME``, ``* TO CLIP``...). The reader takes every
    ``FROM`` line for the clip it makes, which is the incoming one: it would point at the outgoing clip's
    file and take its locators. The outgoing clip already has its own event, so its lines are dropped
    here and the incoming clip's path is given as ``FROM CLIP``.
    """
    lines = text.splitlines()
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        number = _NUMBER.match(line.strip())
        following = lines[index + 1].strip() if index + 1 < len(lines) else ""
        twin = _NUMBER.match(following)
        if number and twin and number.group(1) == twin.group(1):
            out += _fade_from_black_as_cut(line, lines[index + 1])
            index += 2
            comments: list[str] = []
            while index < len(lines) and not _NUMBER.match(lines[index].strip()):
                comments.append(lines[index])
                index += 1
            out += _incoming_comments(comments)
            continue
        out.append(line)
        index += 1
    return "\n".join(out) + "\n"


def _fade_from_black_as_cut(cut_line: str, dissolve_line: str) -> list[str]:
    fields = cut_line.split()
    incoming = dissolve_line.split()
    if len(fields) == 8 and fields[1].upper() in ("BL", "BLACK") and len(incoming) == 9:
        number, reel, channel, _, _, *times = incoming
        return [f"{number}  {reel:8} {channel:5} C        {' '.join(times)}"]
    return [cut_line, dissolve_line]


def _incoming_comments(comments: list[str]) -> list[str]:
    starts = [i for i, c in enumerate(comments) if re.match(r"^\*\s*TO CLIP NAME", c.strip())]
    if not starts:
        return comments
    incoming = comments[starts[0] :]
    return [re.sub(r"^\*\s*TO (CLIP|FILE):", r"* FROM \1:", c.strip()) for c in incoming]
