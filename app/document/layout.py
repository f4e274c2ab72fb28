"""A track as a flat, editable list of frame-placed clips, read from and written back to OTIO.

Edits never touch OTIO objects directly: they read each track they need into a ``TrackLayout`` (whole
frames at the timeline rate), change the plain ``Seg`` values, and only after every check passed are the
layouts written back. That is what keeps a failed edit from leaving the document half changed, and it is
O(clips on the touched tracks) per edit rather than a deep copy of the timeline.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

import opentimelineio as otio

from app.errors import EditError

RationalTime = otio.opentime.RationalTime
TimeRange = otio.opentime.TimeRange
NS = "aiprod"


def new_id() -> str:
    return uuid.uuid4().hex


def plain(value: Any) -> Any:
    """OTIO's AnyDictionary/AnyVector as plain dicts and lists (deeply), for handing out to callers."""
    if isinstance(value, (otio._otio.AnyDictionary, dict)):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (otio._otio.AnyVector, list, tuple)):
        return [plain(v) for v in value]
    return value


def meta(obj: otio.core.SerializableObject) -> Any:
    """The object's ``metadata["aiprod"]`` dictionary, created on first use."""
    if NS not in obj.metadata:
        obj.metadata[NS] = {}
    return obj.metadata[NS]


def clip_id(clip: otio.schema.Clip) -> str:
    return str(clip.metadata[NS]["id"])


def link_of(clip: otio.schema.Clip) -> str | None:
    value = clip.metadata[NS].get("link_id")
    return None if value is None else str(value)


def rt(frames: int, rate: float) -> RationalTime:
    return RationalTime(frames, rate)


def frames_of(t: RationalTime, rate: float) -> int:
    """A time as whole frames at ``rate``, rounded to the nearest frame (the contract for every edit)."""
    return int(math.floor(t.value_rescaled_to(rate) + 0.5))


def speed_of(clip: otio.core.SerializableObject) -> float:
    """A clip's constant speed: the product of its OTIO ``LinearTimeWarp`` effects' ``time_scalar`` (2.0
    plays twice as fast, 0.5 half as fast); 1.0 without one. Other effects (a FreezeFrame is a warp of 0,
    kept as 1x here) do not change it."""
    effects = getattr(clip, "effects", None)
    if not effects:
        return 1.0
    speed = 1.0
    for effect in effects:
        if isinstance(effect, otio.schema.LinearTimeWarp) and not isinstance(effect, otio.schema.FreezeFrame):
            speed *= float(effect.time_scalar)
    return speed if speed > 0 else 1.0


def source_frames_used(dur: int, speed: float) -> int:
    """How many media frames ``dur`` timeline frames at ``speed`` read: the last one shown is
    ``floor((dur - 1) * speed)`` frames after the first (see app.document.resolve.source_offset)."""
    if dur < 1:
        return 0
    return int(math.floor((dur - 1) * speed + 1e-6)) + 1


def available_frames(clip: otio.schema.Clip, rate: float) -> tuple[int, int] | None:
    """The clip's media extent as (first, end) frames at ``rate``; None when the media length is unknown."""
    ref = clip.media_reference
    avail = None if ref is None else ref.available_range
    if avail is None:
        return None
    first = frames_of(avail.start_time, rate)
    return first, first + frames_of(avail.duration, rate)


@dataclass
class Seg:
    """One clip placed on a track: ``start``/``dur`` on the timeline, ``src`` its first frame in the media.

    ``id``, ``link_id`` and ``media_id`` mirror the clip's metadata, read once: OTIO metadata lookups are
    slow enough to dominate an edit on a long timeline.
    """

    clip: otio.schema.Clip
    start: int
    dur: int
    src: int
    avail: tuple[int, int] | None
    id: str = ""
    link_id: str | None = None
    media_id: str | None = None
    speed: float = 1.0  # the clip's LinearTimeWarp (speed_of), read once

    @classmethod
    def of(cls, clip: otio.schema.Clip, start: int, dur: int, src: int, avail: tuple[int, int] | None) -> Seg:
        data = clip.metadata[NS]
        link, media = data.get("link_id"), data.get("media_id")
        ident, link, media = str(data["id"]), link and str(link), media and str(media)
        return cls(clip, start, dur, src, avail, ident, link, media, speed_of(clip))

    @property
    def end(self) -> int:
        return self.start + self.dur

    def moved(self, start: int) -> Seg:
        """A copy placed at ``start`` (dataclasses.replace is several times slower, and long tracks copy
        every segment per edit)."""
        return Seg(
            self.clip, start, self.dur, self.src, self.avail, self.id, self.link_id, self.media_id, self.speed
        )

    def head_room(self) -> float:
        """Frames of media before ``src`` (media of unknown length, a title's, still starts at frame 0: a
        roll or trim never makes a source start negative)."""
        return self.src if self.avail is None else self.src - self.avail[0]

    def media_delta(self, frames: int) -> int:
        """How far the source start moves when the head moves ``frames`` timeline frames (at the speed)."""
        return frames if self.speed == 1.0 else int(round(frames * self.speed))

    def tail_room(self) -> float:
        """Frames of media after the clip's last frame."""
        if self.avail is None:
            return math.inf
        if self.speed == 1.0:
            return self.avail[1] - (self.src + self.dur)
        return self.avail[1] - (self.src + source_frames_used(self.dur, self.speed))


@dataclass
class Dis:
    """A dissolve between two adjacent clips, centred on their cut."""

    id: str
    left: str
    right: str
    frames: int
    name: str = ""

    @property
    def in_frames(self) -> int:  # before the cut, taken from the right clip's head handle
        return self.frames // 2

    @property
    def out_frames(self) -> int:  # after the cut, taken from the left clip's tail handle
        return self.frames - self.frames // 2


def copy_clip(seg: Seg, new_clip_id: str, new_link_id: str | None) -> otio.schema.Clip:
    """A fresh OTIO clip for the new half of a split (same media, generation and name; a new id)."""
    clip = seg.clip.clone()
    data = meta(clip)
    data["id"] = new_clip_id
    data["link_id"] = new_link_id
    return clip


def max_dissolve(left: Seg, right: Seg, left_head_used: int, right_tail_used: int) -> int:
    """Longest dissolve that fits on the cut between ``left`` and ``right``.

    Bounds: the left media must run ``out_frames`` past the left clip's end, the right media must start
    ``in_frames`` before the right clip's source start, and the dissolve may not reach into another
    dissolve at the far end of either clip (``*_used`` frames are already taken there).
    """
    out_bound = min(left.tail_room(), right.dur - right_tail_used)
    in_bound = min(right.head_room(), left.dur - left_head_used)
    out_bound, in_bound = max(0, out_bound), max(0, in_bound)
    # out = ceil(d / 2) <= out_bound and in = floor(d / 2) <= in_bound
    best = 2 * in_bound + 1 if out_bound > in_bound else 2 * out_bound
    return int(best)


@dataclass
class TrackLayout:
    """The clips and dissolves of one OTIO track in frames; ``write`` puts them back."""

    track: otio.schema.Track
    rate: float
    segs: list[Seg] = field(default_factory=list)
    dissolves: list[Dis] = field(default_factory=list)
    # metadata changes to clips already on the timeline, made by ``write`` (an edit that fails changes none)
    meta_on_write: list[tuple[otio.schema.Clip, str, Any]] = field(default_factory=list)
    meta_written: list[otio.schema.Clip] = field(default_factory=list)  # the clips the last write changed

    @classmethod
    def read(cls, track: otio.schema.Track, rate: float, known: dict[int, Seg] | None = None) -> TrackLayout:
        """The layout of ``track``. ``known``: segments of clips read before, by ``id()`` of their (live,
        unchanged) OTIO clip; such a clip's segment is reused with its new start (an undo re-reads a
        long track in a fraction of the time: OTIO metadata lookups dominate a read)."""
        layout = cls(track, rate)
        cursor = 0
        pending: list[tuple[otio.schema.Transition, str | None]] = []
        last_clip: str | None = None
        for item in track:
            if isinstance(item, otio.schema.Transition):
                pending.append((item, last_clip))
                continue
            seen = None if known is None else known.get(id(item))
            if seen is not None:
                dur = seen.dur
                seg = seen.moved(cursor)
            else:
                used = item.trimmed_range()  # a foreign clip may have no source_range (then: all its media)
                dur = frames_of(used.duration, rate)
                seg = None
                if isinstance(item, otio.schema.Clip):
                    src = frames_of(used.start_time, rate)
                    seg = Seg.of(item, cursor, dur, src, available_frames(item, rate))
            if seg is not None:
                layout.segs.append(seg)
                for transition, left in pending:
                    if left is not None:
                        frames = frames_of(transition.in_offset + transition.out_offset, rate)
                        dis_id = str(meta(transition).get("id") or new_id())
                        layout.dissolves.append(Dis(dis_id, left, seg.id, frames, transition.name))
                pending = []
                last_clip = seg.id
            else:
                pending, last_clip = [], None
            cursor += dur
        return layout

    def copy(self) -> TrackLayout:
        """An independent copy to edit (the OTIO clips are shared but untouched until ``write``)."""
        segs = [s.moved(s.start) for s in self.segs]
        return TrackLayout(self.track, self.rate, segs, [replace(d) for d in self.dissolves])

    # ---------------------------------------------------------------------------------------- queries
    def index_of(self, seg_id: str) -> int:
        for i, seg in enumerate(self.segs):
            if seg.id == seg_id:
                return i
        raise EditError("That clip is no longer on the timeline; refresh and try again.")

    def seg(self, seg_id: str) -> Seg:
        return self.segs[self.index_of(seg_id)]

    def end(self) -> int:
        return self.segs[-1].end if self.segs else 0

    def at(self, frame: int) -> Seg | None:
        for seg in self.segs:
            if seg.start <= frame < seg.end:
                return seg
        return None

    def dissolve_between(self, left: str, right: str) -> Dis | None:
        for dis in self.dissolves:
            if dis.left == left and dis.right == right:
                return dis
        return None

    def neighbours_used(self, left: Seg, right: Seg, exclude: str | None = None) -> tuple[int, int]:
        """Frames already taken by other dissolves at the left clip's head and the right clip's tail."""
        head = tail = 0
        for dis in self.dissolves:
            if dis.id == exclude:
                continue
            if dis.right == left.id:
                head = dis.out_frames
            if dis.left == right.id:
                tail = dis.in_frames
        return head, tail

    # ---------------------------------------------------------------------------------------- edits
    def sort(self) -> None:
        self.segs.sort(key=lambda s: s.start)

    def split(
        self, frame: int, ids: dict[str, str] | None = None, links: dict[str, str] | None = None
    ) -> Seg | None:
        """Cut the clip strictly containing ``frame`` in two; returns the new right half (a new id).

        A dissolve on the clip's far cut moves to the right half. ``links`` maps old link ids to the new
        link id shared by every right half made in the same operation, so split video and audio stay
        linked to each other.
        """
        for i, seg in enumerate(self.segs):
            if seg.start < frame < seg.end:
                old_link = seg.link_id
                new_link = None
                if old_link is not None and links is not None:
                    new_link = links.setdefault(old_link, new_id())
                right_id = new_id()
                right = Seg.of(
                    copy_clip(seg, right_id, new_link),
                    frame,
                    seg.end - frame,
                    seg.src + int(math.floor((frame - seg.start) * seg.speed + 1e-6)),  # shown there
                    seg.avail,
                )
                seg.dur = frame - seg.start
                # sound fades: the fade in stays on the left half, the fade out goes with the right half
                if meta(right.clip).get("fade_in"):
                    meta(right.clip)["fade_in"] = 0  # a fresh clone: not on the timeline yet
                if meta(seg.clip).get("fade_out"):
                    self.meta_on_write.append((seg.clip, "fade_out", 0))  # the live clip: at commit
                self.segs.insert(i + 1, right)
                for dis in self.dissolves:
                    if dis.left == seg.id:
                        dis.left = right_id
                if ids is not None:
                    ids[seg.id] = right_id
                return right
        return None

    def carve(self, start: int, end: int, links: dict[str, str] | None = None) -> list[str]:
        """Empty [start, end): clips inside go, clips across the edges are trimmed. Returns removed ids."""
        if end <= start:
            return []
        self.split(start, links=links)
        self.split(end, links=links)
        removed = [s.id for s in self.segs if start <= s.start and s.end <= end]
        self.segs = [s for s in self.segs if not (start <= s.start and s.end <= end)]
        return removed

    def shift_from(self, frame: int, delta: int, exclude: set[str] = frozenset()) -> None:
        """Ripple: move every clip starting at or after ``frame`` by ``delta`` frames."""
        for seg in self.segs:
            if seg.start >= frame and seg.id not in exclude:
                seg.start += delta

    def remove(self, seg_id: str) -> Seg:
        return self.segs.pop(self.index_of(seg_id))

    # ---------------------------------------------------------------------------------------- checks
    def check(self, names: dict[str, str]) -> None:
        """Refuse a layout no timeline can hold (overlaps, empty clips, running off the media)."""
        self.sort()
        cursor = 0
        for seg in self.segs:
            label = seg.clip.name or "a clip"
            if seg.dur < 1:
                raise EditError(f"'{label}' would be shorter than one frame; make a smaller edit.")
            if seg.start < 0:
                raise EditError(f"'{label}' would start before the beginning of the timeline.")
            if seg.start < cursor:
                raise EditError(f"'{label}' would overlap another clip on {names.get('track', 'the track')}.")
            if seg.head_room() < 0 or seg.tail_room() < 0:
                raise EditError(f"'{label}' would run past the ends of its media; make a smaller edit.")
            cursor = seg.end

    def settle_dissolves(self) -> list[str]:
        """Drop dissolves whose clips are no longer adjacent or whose handles no longer suffice.

        This is the one rule for every edit: trims, moves, slips and deletes never fail because of a
        dissolve; the dissolve goes instead. Returns the dropped ids.
        """
        by_id = {s.id: i for i, s in enumerate(self.segs)}
        kept: list[Dis] = []
        dropped: list[str] = []
        seen_cuts: set[str] = set()
        for dis in sorted(self.dissolves, key=lambda d: by_id.get(d.left, -1)):
            li, ri = by_id.get(dis.left), by_id.get(dis.right)
            ok = li is not None and ri == li + 1 and dis.left not in seen_cuts
            if ok:
                left, right = self.segs[li], self.segs[ri]
                ok = left.end == right.start
                if ok:
                    head = kept[-1].out_frames if kept and kept[-1].right == left.id else 0
                    ok = dis.frames <= max_dissolve(left, right, head, 0) and dis.frames >= 1
            if ok:
                kept.append(dis)
                seen_cuts.add(dis.left)
            else:
                dropped.append(dis.id)
        # a second pass with both neighbours known: a dissolve may not reach into the next one
        final: list[Dis] = []
        for i, dis in enumerate(kept):
            nxt = kept[i + 1] if i + 1 < len(kept) and kept[i + 1].left == dis.right else None
            right = self.segs[by_id[dis.right]]
            if nxt is not None and dis.out_frames + nxt.in_frames > right.dur:
                dropped.append(dis.id)
                continue
            final.append(dis)
        self.dissolves = final
        return dropped

    def write(self) -> None:
        """Replace the OTIO track's children with gaps, clips and transitions matching this layout."""
        rate = self.rate
        for clip, key, value in self.meta_on_write:
            meta(clip)[key] = value
        self.meta_written = [clip for clip, _, _ in self.meta_on_write]
        self.meta_on_write.clear()
        by_left = {d.left: d for d in self.dissolves}
        children: list[otio.core.Composable] = []
        cursor = 0
        for seg in self.segs:
            if seg.start > cursor:
                children.append(
                    otio.schema.Gap(source_range=TimeRange(rt(0, rate), rt(seg.start - cursor, rate)))
                )
            seg.clip.source_range = TimeRange(rt(seg.src, rate), rt(seg.dur, rate))
            children.append(seg.clip)
            dis = by_left.get(seg.id)
            if dis is not None:
                transition = otio.schema.Transition(
                    name=dis.name or "Dissolve",
                    transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                    in_offset=rt(dis.in_frames, rate),
                    out_offset=rt(dis.out_frames, rate),
                    metadata={NS: {"id": dis.id}},
                )
                children.append(transition)
            cursor = seg.end
        # every touched track was emptied first (detach), so a clip moving between tracks has no parent
        self.track.extend(children)

    def detach(self) -> None:
        del self.track[:]
