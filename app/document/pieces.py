"""The document as pieces, so an undo step stores and restores only what an edit changed.

A whole-document snapshot (``TimelineDocument.snapshot``) is exact but costs O(project) per edit: at 500
clips and 1,000 bin entries it is 3.9 MB of JSON per step and an undo re-parses all of it and rebuilds
every index. ``PieceTracker`` keeps the document's current state split into pieces instead:

========================  =============================================================================
``head``                  timeline name and metadata (sequence, colour, rate; the bin excluded), the
                          track stack's name and metadata
``order``                 the track ids, bottom to top
``track:<id>``            one track's own fields (name, kind, enabled, metadata: volume, lock, ...)
``items:<id>``            the track's children in order: ``"c:<clip id>"``, a plain gap as
                          ``("g", start, rate, duration, rate)``, anything else as ``("x", its JSON)``
``clip:<id>``             one clip as OTIO JSON (media, source range, grade, generation, ...)
``markers``               the timeline's markers, as OTIO JSON each
``bin-order``             the bin's media ids in order
``bin:<id>``              one bin entry (a frozen ``MediaItem``)
========================  =============================================================================

``settle()`` brings the pieces up to date and returns ``{key: (old, new)}`` for the pieces that differ
(``None`` = absent). It only recomputes what the document said it touched: every mutation ends in
``TimelineDocument._emit(kind, ids)``, which notes it here ("clips" ids -> those clips and their tracks,
"tracks" -> every track's own fields and the order, "markers", anything else such as "reset" -> all), and
``_reindex`` notes the tracks an edit wrote back; within a written track a clip is re-serialized when its
OTIO object, source start or duration changed (positions are implicit in OTIO, so a ripple changes only
gaps). The bin is compared entry by entry every time (entries are immutable, so by identity).
``apply(targets)`` puts pieces back: only the named tracks are rebuilt (clips that did not change are
reused, so they keep their objects) and the document emits narrow changes ("clips", "tracks", "bin",
"markers"; "reset" only when the head changed).

The contract for a new edit: mutate, then ``_emit`` what was touched (a clip's id for a change to that
clip, a track's id for a change to the track, "reset" for anything else). ``PieceTracker.verify`` (on in
the tests of undo, or with ``AIPROD_VERIFY_UNDO=1``) checks every settle against a full capture and names
the pieces an edit changed without saying so. Qt-free.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import opentimelineio as otio

from app.document.layout import NS, TrackLayout, rt

if TYPE_CHECKING:
    from app.document.document import TimelineDocument

RationalTime = otio.opentime.RationalTime
TimeRange = otio.opentime.TimeRange

HEAD, ORDER, MARKERS, BIN_ORDER = "head", "order", "markers", "bin-order"
TRACK, ITEMS, CLIP, BIN = "track:", "items:", "clip:", "bin:"
# the change kinds that name what they touched; any other kind ("reset") makes everything dirty
NARROW_KINDS = ("clips", "tracks", "bin", "markers")

Pieces = dict[str, Any]
Changes = dict[str, tuple[Any, Any]]


def tracker_of(doc: TimelineDocument) -> PieceTracker:
    """The document's tracker, made on first use (a document never undone pays nothing)."""
    tracker = getattr(doc, "_pieces", None)
    if tracker is None:
        tracker = PieceTracker(doc)
        doc._pieces = tracker
    return tracker


class PieceTracker:
    """The current pieces of one document and what changed since the last ``settle``."""

    verify = bool(os.environ.get("AIPROD_VERIFY_UNDO"))

    def __init__(self, doc: TimelineDocument) -> None:
        self.doc = doc
        self.pieces: Pieces = {}
        # per track: clip id -> (OTIO clip object, source start, duration) when its piece was made
        self._prints: dict[str, dict[str, tuple[Any, int, int]]] = {}
        self._clips: set[str] = set()  # the clip ids that have a piece
        self._all = True
        self._headers = self._markers = False
        self._tracks: set[str] = set()
        self._dirty_clips: set[str] = set()
        self._quiet = False
        self._skip_note = False

    # ------------------------------------------------------------------------------------ noting
    def note(self, kind: str, ids: Iterable[str] = ()) -> None:
        """What a mutation touched (called by ``TimelineDocument._emit`` before its subscribers)."""
        if self._skip_note:
            self._skip_note = False
            return
        ids = tuple(ids)
        if kind == "clips":
            self._dirty_clips.update(ids)
            where = self.doc._clip_track
            # no ids: some clip somewhere; every track is read again (clips by their prints)
            self._tracks.update((where[c] for c in ids if c in where) if ids else self.doc._layouts)
        elif kind == "tracks":
            self._headers = True
            self._tracks.update(ids)
        elif kind == "markers":
            self._markers = True
        elif kind != "bin":  # the bin is compared in full every time
            self._all = True

    def note_written(self, layouts: dict[str, TrackLayout] | None) -> None:
        """Tracks whose children were rewritten (None: every track was read again)."""
        if self._quiet:
            return
        if layouts is None:
            self._tracks.update(self.doc._layouts)
            return
        self._tracks.update(layouts)
        for layout in layouts.values():
            self._dirty_clips.update(str(clip.metadata[NS]["id"]) for clip in layout.meta_written)

    # ------------------------------------------------------------------------------------ settle
    def settle(self) -> Changes:
        """Bring the pieces up to date; the pieces that changed since the last settle, as (old, new)."""
        changes: Changes = {}
        if self._all:
            fresh = capture(self.doc)
            for key in self.pieces.keys() | fresh.keys():
                old, new = self.pieces.get(key), fresh.get(key)
                if old is not new and old != new:
                    changes[key] = (old, new)
            self.pieces = fresh
            self._prints = {tid: _prints(layout) for tid, layout in self.doc._layouts.items()}
            self._clips = set(self.doc._clip_track)
        else:
            self._settle_dirty(changes)
        self._all = self._headers = self._markers = False
        self._tracks.clear()
        self._dirty_clips.clear()
        if self.verify:
            self._check()
        return changes

    def _put(self, changes: Changes, key: str, value: Any) -> None:
        old = self.pieces.get(key)
        if old is value or old == value:
            return
        changes[key] = (old, value)
        if value is None:
            del self.pieces[key]
        else:
            self.pieces[key] = value

    def _settle_dirty(self, changes: Changes) -> None:
        doc, pieces = self.doc, self.pieces
        order = tuple(doc._layouts)
        before = pieces.get(ORDER, ())
        if order != before:
            self._put(changes, ORDER, order)
            self._headers = True
            gone = set(before) - set(order)
            for tid in gone:
                self._put(changes, TRACK + tid, None)
                self._put(changes, ITEMS + tid, None)
                self._prints.pop(tid, None)
            self._tracks.update(t for t in order if t not in before)
        layouts = doc._layouts
        if self._headers:
            for tid in order:
                self._put(changes, TRACK + tid, track_piece(layouts[tid].track))
        dirty = self._dirty_clips
        for tid in self._tracks:
            layout = layouts.get(tid)
            if layout is None:
                continue
            self._put(changes, ITEMS + tid, items_piece(layout))
            old, new = self._prints.get(tid, {}), _prints(layout)
            for cid, mark in new.items():
                was = old.get(cid)
                if was is None or was[0] is not mark[0] or was[1:] != mark[1:]:
                    dirty.add(cid)
            self._prints[tid] = new
        where = doc._clip_track
        dirty.update(self._clips.symmetric_difference(where.keys()))
        if dirty:
            segs: dict[str, dict] = {}
            for cid in dirty:
                tid = where.get(cid)
                if tid is None:
                    self._put(changes, CLIP + cid, None)
                    continue
                if tid not in segs:
                    segs[tid] = {s.id: s for s in layouts[tid].segs}
                self._put(changes, CLIP + cid, clip_piece(segs[tid][cid].clip))
            self._clips = set(where)
        if self._markers:
            self._put(changes, MARKERS, markers_piece(doc))
        for mid, item in doc._bin.items():
            key = BIN + mid
            if pieces.get(key) is not item:
                self._put(changes, key, item)
        bin_order = tuple(doc._bin)
        if bin_order != pieces.get(BIN_ORDER):
            for mid in set(pieces.get(BIN_ORDER, ())) - doc._bin.keys():
                self._put(changes, BIN + mid, None)
            self._put(changes, BIN_ORDER, bin_order)

    def _check(self) -> None:
        fresh = capture(self.doc)
        wrong = sorted(k for k in self.pieces.keys() | fresh.keys() if self.pieces.get(k) != fresh.get(k))
        if wrong:
            raise AssertionError(
                "The document changed pieces it did not report (an edit must _emit what it touched): "
                + ", ".join(wrong[:10])
            )

    # ------------------------------------------------------------------------------------ apply
    def apply(self, targets: Pieces) -> None:
        """Put the pieces in ``targets`` (None = absent) back into the document and notify its views.

        The caller settled first, so ``self.pieces`` is the document's state; only the tracks named in
        ``targets`` or holding a clip named there are rebuilt."""
        if not targets:
            return
        doc, pieces = self.doc, self.pieces
        was_items = {key[len(ITEMS):]: pieces.get(key) for key in targets if key.startswith(ITEMS)}
        for key, value in targets.items():
            if value is None:
                pieces.pop(key, None)
            else:
                pieces[key] = value
        head = HEAD in targets
        if head:
            _restore_head(doc, pieces[HEAD])
        bin_ids = [k[len(BIN):] for k in targets if k.startswith(BIN)]
        if bin_ids or BIN_ORDER in targets:
            doc._bin = {mid: pieces[BIN + mid] for mid in pieces.get(BIN_ORDER, ())}
            doc._write_bin()
        clip_ids = [k[len(CLIP):] for k in targets if k.startswith(CLIP)]
        headers = [k[len(TRACK):] for k in targets if k.startswith(TRACK)]
        rebuilt = {k[len(ITEMS):] for k in targets if k.startswith(ITEMS)} | set(headers)
        rebuilt.update(doc._clip_track[c] for c in clip_ids if c in doc._clip_track)
        order = pieces.get(ORDER, ())
        rate = _rate_of(doc)
        changed_ids = set(clip_ids)
        tracks = self._rebuild(rebuilt, set(headers), order, changed_ids, was_items)
        if MARKERS in targets:
            markers = doc._timeline.tracks.markers
            del markers[:]
            markers.extend(otio.core.deserialize_json_from_string(m) for m in pieces.get(MARKERS, ()))
        self._quiet = True
        try:
            if rate != doc._rate:  # a sequence rate undone: every layout is in frames of the old rate
                doc._rate = rate
                doc._timeline.global_start_time = rt(0, rate)
                doc._reindex()
                rebuilt = set(doc._layouts)
            else:
                known = {id(s.clip): s for t in tracks if t in doc._layouts for s in doc._layouts[t].segs}
                known = {key: seg for key, seg in known.items() if seg.id not in changed_ids}
                doc._reindex({tid: TrackLayout.read(track, rate, known) for tid, track in tracks.items()})
        finally:
            self._quiet = False
        for tid in rebuilt:
            if tid in doc._layouts:
                self._prints[tid] = _prints(doc._layouts[tid])
            else:
                self._prints.pop(tid, None)
        self._clips = set(doc._clip_track)
        if self.verify:
            self._check()
        # the pieces are exact now: these changes are for the views, not notes to self (a view that edits
        # the document from its handler still gets noted: the skip covers only the emit made here)
        if head:
            self._say("reset")
            return
        if ORDER in targets or headers:
            self._say("tracks", tuple(order))
        if bin_ids or BIN_ORDER in targets:
            self._say("bin", tuple(bin_ids))
        if rebuilt or clip_ids:
            self._say("clips", tuple(c for c in clip_ids if c in doc._clip_track))
        if MARKERS in targets:
            self._say("markers")

    def _say(self, kind: str, ids: tuple[str, ...] = ()) -> None:
        self._skip_note = True
        try:
            self.doc._emit(kind, ids)
        finally:
            self._skip_note = False

    def _rebuild(
        self, rebuilt: set[str], headers: set[str], order: tuple, changed: set[str], was_items: dict[str, Any]
    ) -> dict[str, Any]:
        """Rebuild the children of the ``rebuilt`` tracks (and the stack when tracks came, went or were
        replaced); returns the rebuilt tracks that remain, by id.

        A track that stays (same header) is edited in place: only the run of children between the parts
        its old and new ``items`` share is replaced, and clips whose piece changed are swapped for new
        objects, so an undo costs OTIO operations in proportion to the change, not to the track."""
        doc, pieces = self.doc, self.pieces
        live = {tid: layout.track for tid, layout in doc._layouts.items()}
        pool: dict[str, Any] = {}
        for tid in rebuilt:
            layout = doc._layouts.get(tid)
            if layout is not None:
                pool.update((s.id, s.clip) for s in layout.segs)
        for cid in changed:
            text = pieces.get(CLIP + cid)
            if text is not None:
                pool[cid] = otio.core.deserialize_json_from_string(text)
        tracks: dict[str, Any] = {}
        fill: dict[str, tuple[int, tuple, list[int]]] = {}  # id -> (where, keys to put there, swaps)
        for tid in rebuilt:  # first take out every child that goes (a clip may move to another track)
            track = live.get(tid)
            new = pieces.get(ITEMS + tid, ())
            if tid in order and track is not None and tid not in headers:
                old = was_items.get(tid, new)  # items unchanged: only clips inside it changed
                head, tail = common_ends(old, new)
                del track[head : len(old) - tail]
                # clips that kept their place but not their piece: new objects, swapped in below
                swaps = [i for i, key in enumerate(new) if isinstance(key, str) and key[2:] in changed]
                fill[tid] = (head, new[head : len(new) - tail], swaps)
                tracks[tid] = track
                continue
            if track is not None:
                del track[:]
            if tid not in order:
                continue
            if tid in headers or track is None:
                tracks[tid] = otio.core.deserialize_json_from_string(pieces[TRACK + tid])
            else:
                tracks[tid] = track
            fill[tid] = (0, new, [])
        for tid, track in tracks.items():
            where, keys, swaps = fill[tid]
            children = [_item(key, pool) for key in keys if _known(key, pool)]
            for offset, child in enumerate(children):
                track.insert(where + offset, child)
            for index in swaps:
                cid = pieces[ITEMS + tid][index][2:]
                if cid in pool:  # (not yet placed: it was outside the replaced run)
                    del track[index]
                    track.insert(index, pool.pop(cid))
        stack = doc._timeline.tracks
        if tuple(live) != order or any(tracks[t] is not live.get(t) for t in tracks):
            del stack[:]
            stack.extend([tracks[tid] if tid in tracks else live[tid] for tid in order])
        return tracks


# ---------------------------------------------------------------------------------------- pieces
def capture(doc: TimelineDocument) -> Pieces:
    """Every piece of the document, made from scratch."""
    pieces: Pieces = {HEAD: head_piece(doc), ORDER: tuple(doc._layouts), MARKERS: markers_piece(doc)}
    for tid, layout in doc._layouts.items():
        pieces[TRACK + tid] = track_piece(layout.track)
        pieces[ITEMS + tid] = items_piece(layout)
        for seg in layout.segs:
            pieces[CLIP + seg.id] = clip_piece(seg.clip)
    for mid, item in doc._bin.items():
        pieces[BIN + mid] = item
    pieces[BIN_ORDER] = tuple(doc._bin)
    return pieces


def head_piece(doc: TimelineDocument) -> str:
    timeline = doc._timeline
    data = timeline.metadata
    metadata: dict[str, Any] = {key: data[key] for key in data.keys() if key != NS}
    if NS in data:
        ours = data[NS]
        metadata[NS] = {key: ours[key] for key in ours.keys() if key != "bin"}
    stack = timeline.tracks
    holder = otio.core.SerializableObjectWithMetadata(
        name=timeline.name,
        metadata={"timeline": metadata, "stack": {"name": stack.name, "metadata": stack.metadata}},
    )
    return holder.to_json_string(-1)


def track_piece(track: otio.schema.Track) -> str:
    """The track without its children."""
    header = otio.schema.Track(
        name=track.name, kind=track.kind, metadata=track.metadata, source_range=track.source_range
    )
    header.enabled = track.enabled
    header.color = track.color
    header.effects.extend(e.clone() for e in track.effects)
    header.markers.extend(m.clone() for m in track.markers)
    return header.to_json_string(-1)


def items_piece(layout: TrackLayout) -> tuple:
    """The track's children in order; clips by id (the layout's segments are the clips in order)."""
    segs = iter(layout.segs)
    out: list[Any] = []
    for item in layout.track:
        if isinstance(item, otio.schema.Clip):
            out.append("c:" + next(segs).id)
        elif isinstance(item, otio.schema.Gap) and _plain_gap(item):
            used = item.source_range
            start, dur = used.start_time, used.duration
            out.append(("g", start.value, start.rate, dur.value, dur.rate))
        else:
            out.append(("x", item.to_json_string(-1)))
    return tuple(out)


def clip_piece(clip: otio.schema.Clip) -> str:
    return clip.to_json_string(-1)


def markers_piece(doc: TimelineDocument) -> tuple:
    return tuple(m.to_json_string(-1) for m in doc._timeline.tracks.markers)


def _plain_gap(gap: otio.schema.Gap) -> bool:
    return (
        gap.source_range is not None
        and not gap.name
        and gap.enabled
        and gap.color is None
        and not len(gap.metadata)
        and not len(gap.effects)
        and not len(gap.markers)
    )


def _prints(layout: TrackLayout) -> dict[str, tuple[Any, int, int]]:
    return {s.id: (s.clip, s.src, s.dur) for s in layout.segs}


def common_ends(old: tuple, new: tuple) -> tuple[int, int]:
    """How many entries ``old`` and ``new`` share at their start and (after that) at their end."""
    limit = min(len(old), len(new))
    head = 0
    while head < limit and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < limit - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    return head, tail


def _known(key: Any, pool: dict[str, Any]) -> bool:
    return not isinstance(key, str) or key[2:] in pool


def _item(key: Any, pool: dict[str, Any]) -> Any:
    if isinstance(key, str):
        return pool.pop(key[2:])
    if key[0] == "g":
        _, sv, sr, dv, dr = key
        return otio.schema.Gap(source_range=TimeRange(RationalTime(sv, sr), RationalTime(dv, dr)))
    return otio.core.deserialize_json_from_string(key[1])


def _restore_head(doc: TimelineDocument, text: str) -> None:
    holder = otio.core.deserialize_json_from_string(text)
    timeline = doc._timeline
    timeline.name = holder.name
    saved = holder.metadata["timeline"]
    data = timeline.metadata
    for key in list(data.keys()):
        del data[key]
    for key in saved.keys():
        data[key] = saved[key]
    if NS not in data:
        data[NS] = {}
    stack_saved = holder.metadata["stack"]
    stack = timeline.tracks
    stack.name = stack_saved["name"]
    for key in list(stack.metadata.keys()):
        del stack.metadata[key]
    for key in stack_saved["metadata"].keys():
        stack.metadata[key] = stack_saved["metadata"][key]
    doc._write_bin()  # the bin's copy in the metadata is written again when read


def _rate_of(doc: TimelineDocument) -> float:
    rate = (doc._timeline.metadata.get(NS) or {}).get("rate")
    return float(rate) if rate else doc._rate


# ---------------------------------------------------------------------------------------- sizes
def deep_size(value: Any, seen: set[int] | None = None) -> int:
    """Bytes held by ``value`` (containers, strings, frozen bin entries), each object counted once."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return 0
    seen.add(id(value))
    size = sys.getsizeof(value)
    if isinstance(value, dict):
        size += sum(deep_size(k, seen) + deep_size(v, seen) for k, v in value.items())
    elif isinstance(value, (tuple, list, set, frozenset)):
        size += sum(deep_size(v, seen) for v in value)
    elif hasattr(value, "__dataclass_fields__"):
        size += sum(deep_size(getattr(value, f), seen) for f in value.__dataclass_fields__)
    return size
