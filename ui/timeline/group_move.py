"""Moving several clips by the same time in one edit, built on the document's one-clip move.

`TimelineDocument.move_clip` is overwrite-style: the moved clip carves out whatever lies at its target. Moved
one after another, clips of a group could carve each other (A moves right onto B, which has not moved yet).
Moving the clips on each track in the direction of travel, the front one first, makes every clip land where
its group neighbour has already left, so the result is the same as moving them all at once: clips outside
the group that lie under a target are overwritten, as with a single-clip drag.

A dissolve between two clips that both move stays (it is removed for a moment by the first of the two
moves, which breaks the cut, and is put back with its length once both have moved). Qt-free; the caller
runs it inside one push_edit (wrapped by all_or_nothing) so the whole group is one undo step and a failure
part way leaves the document as it was.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app.errors import EditError
from ui.timeline.geometry import frame_time, to_frames


def move_clips_by(doc: Any, clip_ids: Iterable[str], delta: int) -> list[str]:
    """Move every clip in `clip_ids` (each on its own track) `delta` frames; returns the moved ids.

    The ids are taken as given (linked partners are not added): pass the whole group.
    """
    ids = list(dict.fromkeys(clip_ids))
    if delta == 0 or not ids:
        return []
    rate = float(doc.rate)
    clips = [doc.clip(clip_id) for clip_id in ids]
    starts = {clip.id: to_frames(clip.start, rate) for clip in clips}
    if min(starts.values()) + delta < 0:
        raise EditError("The clips would start before the beginning of the timeline; drag them less far.")
    moving = set(ids)
    kept_dissolves = [
        (dissolve.left_id, dissolve.duration)
        for track in doc.tracks()
        for dissolve in doc.dissolves(track.id)
        if dissolve.left_id in moving and dissolve.right_id in moving
    ]
    # Front clip first (the rightmost when moving right): it never lands on a group clip still in place.
    for clip in sorted(clips, key=lambda c: starts[c.id], reverse=delta > 0):
        doc.move_clip(clip.id, clip.track_id, frame_time(starts[clip.id] + delta, rate), linked=False)
    present = {d.left_id for track in doc.tracks() for d in doc.dissolves(track.id)}
    for left_id, duration in kept_dissolves:
        if left_id not in present:
            doc.add_dissolve(left_id, duration, linked=False)
    return ids
