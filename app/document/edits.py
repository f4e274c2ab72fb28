"""The edit operations of TimelineDocument, as a mixin over its state (see document.py).

Every edit reads the tracks it touches into ``TrackLayout``s (whole frames), changes them, lets
``Transaction.commit`` check every layout and only then writes them back and notifies. A failed edit
raises ``EditError`` before anything was written, so the document is unchanged.

Dissolves follow one rule for all edits: an edit never fails because of a dissolve; a dissolve whose two
clips stop being adjacent, or whose media handles stop being long enough, is removed by the same edit
(undo brings it back).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

import opentimelineio as otio

from app.document.layout import (
    NS,
    Dis,
    Seg,
    TrackLayout,
    frames_of,
    max_dissolve,
    meta,
    new_id,
    rt,
    source_frames_used,
)
from app.document.model import TrackKind
from app.errors import EditError

if TYPE_CHECKING:
    from app.document.document import TimelineDocument

RationalTime = otio.opentime.RationalTime
TimeRange = otio.opentime.TimeRange


class Transaction:
    """The layouts one edit works on; nothing reaches the OTIO timeline before ``commit``."""

    def __init__(self, doc: TimelineDocument) -> None:
        self.doc = doc
        self.layouts: dict[str, TrackLayout] = {}
        self.new_tracks: dict[str, otio.schema.Track] = {}
        self.links: dict[str, str] = {}  # old link id -> the link id of right halves made by this edit

    def layout(self, track_id: str) -> TrackLayout:
        if track_id not in self.layouts:
            track = self.new_tracks.get(track_id)  # (an empty OTIO track is falsy: no `or` here)
            if track is not None:
                self.layouts[track_id] = TrackLayout(track, self.doc.rate)
            else:
                self.layouts[track_id] = self.doc._cached_layout(track_id).copy()
        return self.layouts[track_id]

    def find(self, cid: str) -> tuple[str, TrackLayout, Seg]:
        track_id = self.doc._clip_track.get(cid)
        if track_id is None:
            raise EditError("That clip is no longer on the timeline; refresh and try again.")
        layout = self.layout(track_id)
        return track_id, layout, layout.seg(cid)

    def audio_track_for(self, number: int) -> str:
        """The id of audio track A<number>, created (at commit) with any missing below it."""
        audio = self.doc.tracks(TrackKind.AUDIO)
        pending = list(self.new_tracks)
        have = len(audio) + len(pending)
        while have < number:
            have += 1
            track = otio.schema.Track(
                name=f"A{have}", kind=TrackKind.AUDIO.value, metadata={NS: {"id": new_id()}}
            )
            track_id = str(meta(track)["id"])
            self.new_tracks[track_id] = track
            pending.append(track_id)
        ids = [t.id for t in audio] + pending
        return ids[number - 1]

    def commit(self, ids: Iterable[str] = ()) -> None:
        self.doc._refuse_locked([t for t, layout in self.layouts.items() if self._changed(t, layout)])
        for track_id, layout in self.layouts.items():
            layout.check({"track": self._track_name(track_id)})
        for layout in self.layouts.values():
            layout.settle_dissolves()
        # from here on nothing can fail
        for track in self.new_tracks.values():
            self.doc._timeline.tracks.append(track)
        for layout in self.layouts.values():
            layout.detach()
        for layout in self.layouts.values():
            layout.write()
        self.doc._reindex(self.layouts)
        if self.new_tracks:
            self.doc._emit("tracks", tuple(self.new_tracks))
        self.doc._emit("clips", tuple(dict.fromkeys(ids)))

    def _changed(self, track_id: str, layout: TrackLayout) -> bool:
        """Whether this edit changes the track's clips or dissolves (a locked track is only read)."""
        if track_id in self.new_tracks:
            return False
        before = self.doc._cached_layout(track_id)

        def shape(lay: TrackLayout) -> tuple:
            segs = sorted((s.start, s.dur, s.src, s.id, s.link_id) for s in lay.segs)
            return segs, sorted((d.id, d.left, d.right, d.frames) for d in lay.dissolves)

        return bool(layout.meta_on_write) or shape(layout) != shape(before)

    def _track_name(self, track_id: str) -> str:
        track = self.new_tracks.get(track_id)
        return track.name if track is not None else self.doc._track(track_id).name


def _clamp(delta: int, lows: list[float], highs: list[float], verb: str) -> int:
    """``delta`` limited to what every clip of the group allows; EditError when nothing is possible."""
    low, high = max(lows, default=-math.inf), min(highs, default=math.inf)
    if low > high:
        raise EditError(f"The linked clips cannot {verb} together; unlink them or edit one at a time.")
    clamped = int(min(max(delta, low), high))
    if delta != 0 and clamped == 0:
        raise EditError(f"Cannot {verb} further: a neighbouring clip or the end of the media is in the way.")
    return clamped


class EditOps:
    """Insert, overwrite, move, reorder, trim, roll, slip, split, delete and dissolves."""

    # ----------------------------------------------------------------------------- placing media
    def insert(
        self: TimelineDocument,
        media_id: str,
        track_id: str,
        at: RationalTime,
        source_range: TimeRange | None = None,
        with_audio: bool = True,
        speed: float = 1.0,
    ) -> list[str]:
        """Ripple insert at ``at`` (a clip under ``at`` is split, everything after moves right).

        Only the target tracks ripple (the video track and, for media with sound, the audio track with
        the same number, created if missing). Returns the new clip ids (video first).
        """
        return self._place(media_id, track_id, at, source_range, with_audio, ripple=True, speed=speed)

    def overwrite(
        self: TimelineDocument,
        media_id: str,
        track_id: str,
        at: RationalTime,
        source_range: TimeRange | None = None,
        with_audio: bool = True,
        speed: float = 1.0,
    ) -> list[str]:
        """Place media at ``at`` over whatever is there (clips underneath are trimmed, split or removed)."""
        return self._place(media_id, track_id, at, source_range, with_audio, ripple=False, speed=speed)

    def _place(
        self: TimelineDocument,
        media_id: str,
        track_id: str,
        at: RationalTime,
        source_range: TimeRange | None,
        with_audio: bool,
        ripple: bool,
        speed: float = 1.0,
    ) -> list[str]:
        item = self.bin_item(media_id)
        frame = self._frame(at)
        info = self.track_info(track_id)
        has_video = item.info is None or item.info.has_video
        has_audio = item.info is not None and item.info.has_audio
        txn = Transaction(self)
        targets: list[str] = []
        if info.kind is TrackKind.AUDIO:
            if not has_audio:
                raise EditError(f"'{item.name}' has no sound; drop it on a video track.")
            targets.append(track_id)
        elif has_video:
            targets.append(track_id)
            if has_audio and with_audio:
                targets.append(txn.audio_track_for(info.index + 1))
        else:  # sound-only media dropped on a video track goes to the matching audio track
            targets.append(txn.audio_track_for(info.index + 1))
        src, dur = self._source_frames(item, source_range, speed)
        link = new_id() if len(targets) > 1 else None
        created: list[str] = []
        for target in targets:
            layout = txn.layout(target)
            if ripple:
                layout.split(frame, links=txn.links)
                layout.shift_from(frame, dur)
            else:
                layout.carve(frame, frame + dur, links=txn.links)
            cid = new_id()
            clip = otio.schema.Clip(
                name=item.name,
                media_reference=self._reference(item),
                source_range=TimeRange(rt(src, self.rate), rt(dur, self.rate)),
                metadata={
                    NS: {"id": cid, "media_id": item.id, "link_id": link, "generation": item.generation}
                },
            )
            if speed != 1.0:  # a retime (fit to fill): OTIO's LinearTimeWarp, duration = timeline frames
                from app.document.properties import set_time_warp

                set_time_warp(clip, speed)
            frames = self._media_frames(item)
            seg = Seg.of(clip, frame, dur, src, None if frames is None else (0, frames))
            layout.segs.append(seg)
            layout.sort()
            created.append(cid)
        txn.commit(created)
        return created

    def _source_frames(
        self: TimelineDocument, item, source_range: TimeRange | None, speed: float = 1.0
    ) -> tuple[int, int]:
        """(source in, timeline frames) of a placement; ``source_range`` gives the timeline length and, at
        ``speed`` != 1, reads ``source_frames_used(duration, speed)`` media frames."""
        frames = self._media_frames(item)
        if source_range is None:
            if item.info is not None and item.info.still:
                from app.document.properties import still_frames

                return 0, still_frames(self.rate)  # a still lasts 5 s until trimmed
            if frames is None:
                raise EditError(
                    f"The length of '{item.name}' is unknown; give a source range or relink the media."
                )
            return 0, frames
        src = self._frame(source_range.start_time)
        dur = self._frame(source_range.duration)
        if dur < 1:
            raise EditError("The source range is shorter than one frame; mark a longer range.")
        if frames is not None and src + source_frames_used(dur, speed) > frames:
            raise EditError(f"'{item.name}' is only {frames} frames long; mark a range inside it.")
        return src, dur

    # ----------------------------------------------------------------------------- moving clips
    def move_clip(
        self: TimelineDocument, clip_id: str, track_id: str, at: RationalTime, linked: bool = True
    ) -> None:
        """Move a clip to ``at`` on ``track_id`` (same kind), overwrite-style: it leaves a gap behind and
        overwrites what lies at the target. Linked clips shift by the same time on their own tracks."""
        frame = self._frame(at)
        target_kind = self.track_info(track_id).kind
        txn = Transaction(self)
        main_track, _, main = txn.find(clip_id)
        if self.track_info(main_track).kind is not target_kind:
            raise EditError(
                "A clip can only move to a track of its own kind (video to video, audio to audio)."
            )
        delta = frame - main.start
        moving: list[tuple[str, Seg]] = []
        for cid in self._group([clip_id], linked):
            source_track, layout, seg = txn.find(cid)
            layout.remove(cid)
            moving.append((track_id if cid == clip_id else source_track, seg))
        for destination, seg in moving:
            seg.start += delta
            if seg.start < 0:
                raise EditError("The clip would start before the beginning of the timeline.")
            layout = txn.layout(destination)
            layout.carve(seg.start, seg.end, links=txn.links)
        for destination, seg in moving:
            txn.layout(destination).segs.append(seg)
        txn.commit(cid for _, seg in moving for cid in [seg.id])

    def reorder_clip(self: TimelineDocument, clip_id: str, index: int, linked: bool = True) -> None:
        """Ripple-move a scene to position ``index`` among its track's clips (clamped to the ends).

        The clip's old place closes up and its new place opens up; linked clips do the same on their own
        tracks, keeping their offset to the clip.
        """
        txn = Transaction(self)
        _, layout, seg = txn.find(clip_id)
        old_index = layout.index_of(clip_id)
        index = max(0, min(int(index), len(layout.segs) - 1))
        if index == old_index:
            return
        offsets = {}
        for cid in self._group([clip_id], linked):
            if cid != clip_id:
                _, other_layout, other = txn.find(cid)
                if other_layout is layout:
                    raise EditError("Linked clips on the same track cannot be reordered; unlink them first.")
                offsets[cid] = other.start - seg.start
        layout.remove(clip_id)
        layout.shift_from(seg.end, -seg.dur)
        others = layout.segs
        new_start = others[index].start if index < len(others) else others[-1].end
        layout.shift_from(new_start, seg.dur)
        seg.start = new_start
        layout.segs.append(seg)
        for cid, offset in offsets.items():
            _, other_layout, other = txn.find(cid)
            other_layout.remove(cid)
            other_layout.shift_from(other.end, -other.dur)
            other.start = max(0, new_start + offset)
            other_layout.split(other.start, links=txn.links)
            other_layout.shift_from(other.start, other.dur)
            other_layout.segs.append(other)
        txn.commit([clip_id, *offsets])

    # ----------------------------------------------------------------------------- trims
    def trim_in(
        self: TimelineDocument, clip_id: str, delta: RationalTime, ripple: bool = False, linked: bool = True
    ) -> None:
        """Move the clip's head: +delta shortens it (later source start), -delta lengthens it.

        Plain: the clip's start moves, never over the previous clip. Ripple: the start stays and the
        clips after it move by -delta. ``delta`` is clamped to what the media and neighbours allow;
        EditError only when nothing is possible.
        """
        d = self._delta(delta)
        txn = Transaction(self)
        group = [txn.find(cid) for cid in self._group([clip_id], linked)]
        lows: list[float] = []
        highs: list[float] = []
        for _, layout, seg in group:
            highs.append(seg.dur - 1)
            lows.append(-seg.head_room() / seg.speed)  # in timeline frames (a retimed clip reads faster)
            if not ripple:
                i = layout.index_of(seg.id)
                lows.append((layout.segs[i - 1].end if i > 0 else 0) - seg.start)
        d = _clamp(d, lows, highs, "trim")
        for _, layout, seg in group:
            if ripple:
                layout.shift_from(seg.end, -d, exclude={seg.id})
            else:
                seg.start += d
            seg.src += seg.media_delta(d)
            seg.dur -= d
        txn.commit(seg.id for _, _, seg in group)

    def trim_out(
        self: TimelineDocument, clip_id: str, delta: RationalTime, ripple: bool = False, linked: bool = True
    ) -> None:
        """Move the clip's tail: +delta lengthens it, -delta shortens it.

        Plain: never over the next clip. Ripple: the clips after it move by +delta. Clamped like trim_in.
        """
        d = self._delta(delta)
        txn = Transaction(self)
        group = [txn.find(cid) for cid in self._group([clip_id], linked)]
        lows: list[float] = []
        highs: list[float] = []
        for _, layout, seg in group:
            lows.append(1 - seg.dur)
            highs.append(seg.tail_room() / seg.speed)
            if not ripple:
                i = layout.index_of(seg.id)
                if i + 1 < len(layout.segs):
                    highs.append(layout.segs[i + 1].start - seg.end)
        d = _clamp(d, lows, highs, "trim")
        for _, layout, seg in group:
            if ripple:
                layout.shift_from(seg.end, d, exclude={seg.id})
            seg.dur += d
        txn.commit(seg.id for _, _, seg in group)

    def roll(self: TimelineDocument, clip_id: str, delta: RationalTime) -> None:
        """Move the cut between ``clip_id`` and the clip right after it by ``delta`` (clamped); linked
        pairs on other tracks whose cut matches roll with it."""
        d = self._delta(delta)
        txn = Transaction(self)
        _, layout, left = txn.find(clip_id)
        i = layout.index_of(clip_id)
        if i + 1 >= len(layout.segs) or layout.segs[i + 1].start != left.end:
            raise EditError("Rolling needs a clip directly after this one; there is a gap or nothing there.")
        right = layout.segs[i + 1]
        pairs = [(left, right)]
        for cid in self._group([clip_id], True):
            if cid == clip_id:
                continue
            _, other_layout, other_left = txn.find(cid)
            j = other_layout.index_of(cid)
            if j + 1 < len(other_layout.segs):
                other_right = other_layout.segs[j + 1]
                same_link = right.link_id is not None and other_right.link_id == right.link_id
                if same_link and other_right.start == other_left.end:
                    pairs.append((other_left, other_right))
        lows: list[float] = []
        highs: list[float] = []
        for a, b in pairs:
            lows += [1 - a.dur, -b.head_room() / b.speed]
            highs += [a.tail_room() / a.speed, b.dur - 1]
        d = _clamp(d, lows, highs, "roll")
        for a, b in pairs:
            a.dur += d
            b.start += d
            b.src += b.media_delta(d)
            b.dur -= d
        txn.commit(s.id for pair in pairs for s in pair)

    def slip(self: TimelineDocument, clip_id: str, delta: RationalTime, linked: bool = True) -> None:
        """Show a later (+delta) or earlier part of the media; position and duration stay (clamped)."""
        d = self._delta(delta)
        txn = Transaction(self)
        group = [txn.find(cid) for cid in self._group([clip_id], linked)]
        d = _clamp(d, [-s.head_room() for _, _, s in group], [s.tail_room() for _, _, s in group], "slip")
        for _, _, seg in group:
            seg.src += d
        txn.commit(seg.id for _, _, seg in group)

    # ----------------------------------------------------------------------------- split and delete
    def split(self: TimelineDocument, clip_id: str, at: RationalTime, linked: bool = True) -> list[str]:
        """Cut the clip (and linked clips under ``at``) at ``at``; returns the ids of the right halves."""
        frame = self._frame(at)
        txn = Transaction(self)
        _, _, seg = txn.find(clip_id)
        if not seg.start < frame < seg.end:
            raise EditError(
                "Put the playhead inside the clip (not on its first frame or past its end) to split it."
            )
        created: list[str] = []
        for cid in self._group([clip_id], linked):
            _, layout, _ = txn.find(cid)
            right = layout.split(frame, links=txn.links)
            if right is not None:
                created.append(right.id)
        txn.commit([clip_id, *created])
        return created

    def split_all(self: TimelineDocument, at: RationalTime) -> list[str]:
        """Cut every clip on every track under ``at``; returns the ids of the right halves."""
        frame = self._frame(at)
        txn = Transaction(self)
        created: list[str] = []
        for info in self.tracks():
            right = txn.layout(info.id).split(frame, links=txn.links)
            if right is not None:
                created.append(right.id)
        if not created:
            raise EditError("There is no clip under the playhead to split.")
        txn.commit(created)
        return created

    def lift(self: TimelineDocument, clip_ids: Iterable[str], linked: bool = True) -> None:
        """Remove clips, leaving gaps where they were."""
        txn = Transaction(self)
        group = self._group(list(clip_ids), linked)
        for cid in group:
            txn.find(cid)[1].remove(cid)
        txn.commit(group)

    def ripple_delete(self: TimelineDocument, clip_ids: Iterable[str], linked: bool = True) -> None:
        """Remove clips and close up: later clips on the same track move left by the removed lengths."""
        txn = Transaction(self)
        group = self._group(list(clip_ids), linked)
        removed: dict[int, list[Seg]] = {}
        for cid in group:
            _, layout, seg = txn.find(cid)
            layout.remove(cid)
            removed.setdefault(id(layout), []).append(seg)
        for layout in txn.layouts.values():
            gone = removed.get(id(layout), [])
            for seg in layout.segs:
                seg.start -= sum(r.dur for r in gone if r.start < seg.start)
        txn.commit(group)

    # ----------------------------------------------------------------------------- dissolves
    def add_dissolve(
        self: TimelineDocument, left_clip_id: str, duration: RationalTime, linked: bool = True
    ) -> str:
        """A dissolve centred on the cut after ``left_clip_id`` (replacing one already there, same id).

        Needs the clip after it to start where it ends and media handles on both sides: ``duration // 2``
        frames before the right clip's source start and the rest after the left clip's end. With
        ``linked``, the linked clips' matching cut (the picture's sound) gets a crossfade of the same
        length too, where one fits; the id returned is the dissolve on ``left_clip_id``'s track.
        """
        frames = self._delta(duration)
        if frames < 1:
            raise EditError("A dissolve must be at least one frame long.")
        txn = Transaction(self)
        _, layout, left = txn.find(left_clip_id)
        right = _right_neighbour(layout, left)
        if right is None:
            raise EditError("A dissolve needs a clip directly after this one; close the gap first.")
        possible = _fit_dissolve(layout, left, right)
        if frames > possible:
            if possible == 0:
                raise EditError(
                    "No dissolve fits here: the clips' media have no frames beyond the cut; trim them."
                )
            raise EditError(
                f"A {frames}-frame dissolve does not fit here; at most {possible} "
                f"frame{'s are' if possible > 1 else ' is'} possible (the clips' media are too short)."
            )
        dis_id = _set_dissolve(layout, left, right, frames)
        touched = [left.id, right.id]
        for cid in self._group([left_clip_id], linked):
            _, other_layout, other_left = txn.find(cid)
            other_right = _right_neighbour(other_layout, other_left)
            if other_layout is layout or other_right is None or right.link_id is None:
                continue
            if other_right.link_id == right.link_id and frames <= _fit_dissolve(
                other_layout, other_left, other_right
            ):
                _set_dissolve(other_layout, other_left, other_right, frames)
                touched += [other_left.id, other_right.id]
        txn.commit(touched)
        return dis_id

    def remove_dissolve(self: TimelineDocument, transition_id: str) -> None:
        track_id = self._dissolve_track.get(transition_id)
        if track_id is None:
            raise EditError("That dissolve no longer exists; refresh and try again.")
        txn = Transaction(self)
        layout = txn.layout(track_id)
        gone = [d for d in layout.dissolves if d.id == transition_id]
        layout.dissolves = [d for d in layout.dissolves if d.id != transition_id]
        txn.commit([gone[0].left, gone[0].right] if gone else [])

    # ----------------------------------------------------------------------------- helpers
    def _delta(self: TimelineDocument, delta: RationalTime) -> int:
        if not isinstance(delta, RationalTime):
            raise EditError("Times must be given as RationalTime values.")
        return frames_of(delta, self.rate)


def _right_neighbour(layout: TrackLayout, left: Seg) -> Seg | None:
    """The clip starting exactly where ``left`` ends, if any."""
    i = layout.index_of(left.id)
    if i + 1 < len(layout.segs) and layout.segs[i + 1].start == left.end:
        return layout.segs[i + 1]
    return None


def _fit_dissolve(layout: TrackLayout, left: Seg, right: Seg) -> int:
    existing = layout.dissolve_between(left.id, right.id)
    head, tail = layout.neighbours_used(left, right, exclude=existing.id if existing else None)
    return max_dissolve(left, right, head, tail)


def _set_dissolve(layout: TrackLayout, left: Seg, right: Seg, frames: int) -> str:
    existing = layout.dissolve_between(left.id, right.id)
    if existing is not None:
        existing.frames = frames
        return existing.id
    dis = Dis(new_id(), left.id, right.id, frames)
    layout.dissolves.append(dis)
    return dis.id
