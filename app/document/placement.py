"""Where clips land: the one place for drops, generated clips, bin inserts and group moves. Qt-free.

The views turn a gesture into one call here, inside one ``push_edit`` (``EditCommand`` puts the document
back when a several-step apply fails part way, so nothing here needs its own rollback). Rules, as a user of
Premiere or Resolve expects them:

- several items dropped or inserted go one after another, in the order given;
- a generated clip goes after the last clip of its track (the queue finishes jobs in the order they were
  queued, so queued generations land in that order), or at the playhead when asked -- and then never inside
  a shot: a playhead inside a clip moves to that clip's end first;
- a drop below the last track (or above the top one) makes a new track instead of landing on the nearest;
- after an insert at the playhead the playhead moves past what was inserted (``end_of``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import opentimelineio as otio

from app.document.layout import frames_of
from app.document.model import TrackKind
from app.errors import EditError

if TYPE_CHECKING:
    from app.document.document import TimelineDocument

RationalTime = otio.opentime.RationalTime


def _at(frame: int, rate: float) -> RationalTime:
    return RationalTime(int(frame), rate)


def _has_video(doc: TimelineDocument, media_id: str) -> bool:
    info = doc.bin_item(media_id).info
    return info is None or info.has_video


def track_for_media(doc: TimelineDocument, media_id: str, track_id: str | None = None) -> str:
    """``track_id`` if given, else V1 for pictures and A1 for sound-only media."""
    if track_id is not None:
        return track_id
    kind = TrackKind.VIDEO if _has_video(doc, media_id) else TrackKind.AUDIO
    return doc.tracks(kind)[0].id


def new_track_for(doc: TimelineDocument, media_ids: Iterable[str]) -> str:
    """A new track for a drop outside the tracks: video when any item has a picture, else audio."""
    ids = list(media_ids)
    kind = TrackKind.VIDEO if any(_has_video(doc, m) for m in ids) or not ids else TrackKind.AUDIO
    return doc.add_track(kind)


def track_end(doc: TimelineDocument, track_id: str) -> int:
    """The frame after the last clip of a track (0 when empty)."""
    clips = doc.clips(track_id)
    return max((frames_of(c.end, doc.rate) for c in clips), default=0)


def outside_clips(doc: TimelineDocument, track_id: str, frame: int) -> int:
    """``frame``, or the end of the clip it falls inside (so an insert there never cuts a shot)."""
    for clip in doc.clips(track_id):
        start, end = frames_of(clip.start, doc.rate), frames_of(clip.end, doc.rate)
        if start < frame < end:
            return end
    return frame


def end_of(doc: TimelineDocument, clip_ids: Iterable[str]) -> int | None:
    """The frame after the last of ``clip_ids`` (where the playhead goes after an insert)."""
    ends = [frames_of(doc.clip(c).end, doc.rate) for c in clip_ids]
    return max(ends) if ends else None


def place_one_after_another(
    doc: TimelineDocument,
    media_ids: Iterable[str],
    track_id: str | None,
    frame: int,
    overwrite: bool = False,
) -> list[str]:
    """Insert (or overwrite) each item at the end of the previous one, starting at ``frame``; returns every
    created clip id. ``track_id`` None: each item on V1 (pictures) or A1 (sound only)."""
    at = frame
    created: list[str] = []
    for media_id in media_ids:
        place = doc.overwrite if overwrite else doc.insert
        ids = place(media_id, track_for_media(doc, media_id, track_id), _at(at, doc.rate))
        if not ids:
            continue
        created.extend(ids)
        first = doc.clip(ids[0])
        at = frames_of(first.end, doc.rate)
    return created


def drop(
    doc: TimelineDocument,
    media_ids: Iterable[str],
    track_id: str | None,
    frame: int,
    overwrite: bool = False,
) -> list[str]:
    """A drop from the bin or the file manager: on ``track_id``, or (None: below the last track or above
    the top one) on a new track made for it."""
    ids = list(media_ids)
    if not ids:
        raise EditError("Nothing to place.")
    if track_id is None:
        track_id = new_track_for(doc, ids)
    return place_one_after_another(doc, ids, track_id, frame, overwrite)


def append(doc: TimelineDocument, media_ids: Iterable[str], track_id: str | None = None) -> list[str]:
    """Each item after the last clip of its track (V1 for pictures, A1 for sound only, by default) and of
    the track its sound goes to, so appending never cuts or pushes a clip already there; in order."""
    created: list[str] = []
    for media_id in media_ids:
        target = track_for_media(doc, media_id, track_id)
        frame = max(track_end(doc, t) for t in _tracks_touched(doc, media_id, target))
        created += doc.insert(media_id, target, _at(frame, doc.rate))
    return created


def place_generated(
    doc: TimelineDocument,
    media_id: str,
    track_id: str | None = None,
    playhead: int | None = None,
) -> list[str]:
    """A finished generation: appended after the last clip of ``track_id`` (default V1), or inserted at
    ``playhead`` when given -- moved to the end of a shot it falls inside, never cutting it."""
    target = track_for_media(doc, media_id, track_id)
    tracks = _tracks_touched(doc, media_id, target)
    if playhead is None:
        frame = max(track_end(doc, t) for t in tracks)
    else:
        frame = max(0, int(playhead))
        moved = True
        while moved:  # out of every shot on the picture's track and its sound's track
            moved = False
            for t in tracks:
                later = outside_clips(doc, t, frame)
                moved, frame = moved or later != frame, later
    return doc.insert(media_id, target, _at(frame, doc.rate))


def _tracks_touched(doc: TimelineDocument, media_id: str, target: str) -> list[str]:
    """The target track and, for media with sound placed on a video track, the audio track its sound goes
    to (when it exists): an insert ripples both, so neither may be cut."""
    info = doc.bin_item(media_id).info
    track = doc.track_info(target)
    tracks = [target]
    if track.kind is TrackKind.VIDEO and info is not None and info.has_audio:
        audio = doc.tracks(TrackKind.AUDIO)
        if track.index < len(audio):
            tracks.append(audio[track.index].id)
    return tracks


def move_clips_by(doc: TimelineDocument, clip_ids: Iterable[str], delta: int) -> list[str]:
    """Move every clip in ``clip_ids`` (each on its own track) ``delta`` frames; returns the moved ids.

    ``TimelineDocument.move_clip`` is overwrite-style: a moved clip carves out whatever lies at its target.
    Moved one after another, clips of a group could carve each other (A moves right onto B, which has not
    moved yet). Moving the front clip first (in the direction of travel) makes every clip land where its
    group neighbour has already left, so the result is that of moving them all at once. A dissolve between
    two moving clips is put back with its length once both have moved. The ids are taken as given (linked
    partners are not added): pass the whole group.
    """
    ids = list(dict.fromkeys(clip_ids))
    if delta == 0 or not ids:
        return []
    rate = float(doc.rate)
    clips = [doc.clip(clip_id) for clip_id in ids]
    starts = {clip.id: frames_of(clip.start, rate) for clip in clips}
    if min(starts.values()) + delta < 0:
        raise EditError("The clips would start before the beginning of the timeline; drag them less far.")
    moving = set(ids)
    kept_dissolves = [
        (dissolve.left_id, dissolve.duration)
        for track in doc.tracks()
        for dissolve in doc.dissolves(track.id)
        if dissolve.left_id in moving and dissolve.right_id in moving
    ]
    for clip in sorted(clips, key=lambda c: starts[c.id], reverse=delta > 0):
        doc.move_clip(clip.id, clip.track_id, _at(starts[clip.id] + delta, rate), linked=False)
    present = {d.left_id for track in doc.tracks() for d in doc.dissolves(track.id)}
    for left_id, duration in kept_dissolves:
        if left_id not in present:
            doc.add_dissolve(left_id, duration, linked=False)
    return ids


def add_title(doc: TimelineDocument, frame: int, title: dict, frames: int | None = None) -> str:
    """A title at ``frame`` on the lowest video track above V1 that is free for its length (4 s by default),
    else on a new video track on top: a title never covers or cuts a shot. Returns the clip id."""
    from app.document.properties import DEFAULT_TITLE_SECONDS

    length = frames if frames is not None else round(DEFAULT_TITLE_SECONDS * doc.rate)
    target = None
    for track in doc.tracks(TrackKind.VIDEO)[1:]:
        if all(
            frames_of(c.end, doc.rate) <= frame or frames_of(c.start, doc.rate) >= frame + length
            for c in doc.clips(track.id)
        ):
            target = track.id
            break
    if target is None:
        target = doc.add_track(TrackKind.VIDEO)
    return doc.insert_title(target, _at(frame, doc.rate), title, _at(length, doc.rate))
