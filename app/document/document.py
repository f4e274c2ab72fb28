"""TimelineDocument: the project's OTIO timeline behind a façade with stable ids and change notifications.

The OTIO ``Timeline`` is the single source of truth: clip ids, media ids, link ids and generation
parameters live in ``metadata["aiprod"]`` of the OTIO objects, the media bin in the timeline's metadata.
This module holds state, tracks, the bin, markers, queries and the commit machinery; the edit operations
are in ``edits.py`` and playback resolution in ``resolve.py``. Qt-free.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import opentimelineio as otio

from app import provenance
from app.document.edits import EditOps
from app.document.layout import NS, Seg, TrackLayout, clip_id, frames_of, meta, new_id, plain, rt
from app.document.model import (
    AudioSegment,
    ClipInfo,
    DissolveInfo,
    DocumentChange,
    Marker,
    MediaItem,
    TrackInfo,
    TrackKind,
    VideoSample,
)
from app.document.properties import PropertyOps
from app.document.resolve import resolve_audio, resolve_video
from app.document.sequence import SequenceSettings
from app.errors import EditError
from app.media.info import MediaInfo

RationalTime = otio.opentime.RationalTime
TimeRange = otio.opentime.TimeRange
PathMap = Callable[[str], str]


class TimelineDocument(EditOps, PropertyOps):
    """The editable timeline and media bin of one project (see docs/editor-architecture.md)."""

    def __init__(
        self, name: str = "Untitled", rate: float = 24, sequence: SequenceSettings | None = None
    ) -> None:
        """``sequence`` fixes the frame size, rate (it wins over ``rate``) and audio rate; without it the
        document derives them as older projects did (see ``sequence_settings``) until they are set."""
        self._subscribers: list[Callable[[DocumentChange], None]] = []
        timeline = otio.schema.Timeline(name=name)
        for kind in (TrackKind.VIDEO, TrackKind.AUDIO):
            timeline.tracks.append(_new_track(kind, 1))
        if sequence is not None:
            meta(timeline)["sequence"] = sequence.to_dict()
            rate = sequence.rate
        self._adopt(timeline, float(rate))

    # ------------------------------------------------------------------------------------ sequence
    def has_sequence_settings(self) -> bool:
        """True once the settings were chosen (a new project, the dialog, the CLI, or a loaded project)."""
        return "sequence" in (self._timeline.metadata.get(NS) or {})

    def sequence_settings(self) -> SequenceSettings:
        """The frame size, rate and audio rate everything plays and exports at.

        Never chosen (a project from before sequence settings): what such a project showed, i.e. the first
        video clip's size (1280 x 720 on an empty timeline), the timeline rate and 48 kHz.
        """
        stored = (self._timeline.metadata.get(NS) or {}).get("sequence")
        if stored is not None:
            settings = SequenceSettings.from_dict(plain(stored))
            return settings if settings.rate == self._rate else SequenceSettings(
                settings.width, settings.height, self._rate, settings.audio_rate
            )
        from app.document.sequence import settings_for_media

        for track in self.tracks(TrackKind.VIDEO):  # (segments, not ClipInfo: the player asks every frame)
            for seg in self._cached_layout(track.id).segs:
                item = self._bin.get(seg.media_id or "")
                info = item.info if item is not None else None
                if info is not None and info.has_video and info.width and info.height:
                    width, height = settings_for_media(info.width, info.height, None).size
                    return SequenceSettings(width, height, self._rate, 48000)
        return SequenceSettings(1280, 720, self._rate if 1 <= self._rate <= 240 else 24.0, 48000)

    def set_sequence_settings(self, settings: SequenceSettings) -> None:
        """Change the sequence's size, rate and audio rate (undoable through a snapshot command).

        A new rate keeps every clip, gap, dissolve and marker at the same *time*: positions and lengths
        are rescaled to the new rate and rounded to whole frames (a clip keeps at least one frame and never
        runs past its media). Emits "reset".
        """
        if not isinstance(settings, SequenceSettings):
            settings = SequenceSettings.from_dict(settings)
        if abs(settings.rate - self._rate) > 1e-9:
            self._rescale(settings.rate)
        meta(self._timeline)["sequence"] = settings.to_dict()
        self._emit("reset")

    def _rescale(self, new_rate: float) -> None:
        old_rate = self._rate
        k = new_rate / old_rate
        layouts = [TrackLayout.read(track, old_rate) for track in self._timeline.tracks]
        for layout in layouts:
            for seg in layout.segs:
                start, end = round(seg.start * k), round(seg.end * k)
                seg.src = int(math.floor(seg.src * k + 1e-9))
                item = self._bin.get(seg.media_id or "")
                frames = None
                if item is not None:
                    self._rate = new_rate  # _media_frames counts at the new rate
                    frames = self._media_frames(item)
                    self._rate = old_rate
                seg.avail = None if frames is None else (0, frames)
                end = max(end, start + 1)
                if frames is not None:
                    end = min(end, start + max(int((frames - seg.src) / seg.speed), 1))  # at the clip's speed
                seg.start, seg.dur = start, end - start
            for dis in layout.dissolves:
                dis.frames = max(1, round(dis.frames * k))
            layout.rate = new_rate
            layout.settle_dissolves()
        for layout in layouts:
            layout.detach()
        for layout in layouts:
            layout.write()
            for seg in layout.segs:
                ref = seg.clip.media_reference
                if isinstance(ref, otio.schema.ExternalReference):
                    ref.available_range = (
                        None if seg.avail is None else TimeRange(rt(0, new_rate), rt(seg.avail[1], new_rate))
                    )
        for marker in self._timeline.tracks.markers:
            frame = round(marker.marked_range.start_time.to_seconds() * new_rate)
            marker.marked_range = TimeRange(rt(frame, new_rate), rt(0, new_rate))
        self._rate = new_rate
        meta(self._timeline)["rate"] = new_rate
        self._timeline.global_start_time = rt(0, new_rate)
        self._reindex()

    # ------------------------------------------------------------------------------------ state
    @property
    def rate(self) -> float:
        return self._rate

    @property
    def name(self) -> str:
        return self._timeline.name

    @name.setter
    def name(self, value: str) -> None:
        self._timeline.name = value
        self._emit("reset")

    @property
    def timeline(self) -> otio.schema.Timeline:
        """The live OTIO timeline; read-only outside app/document (mutate through the document)."""
        self._sync_bin()
        return self._timeline

    def subscribe(self, callback: Callable[[DocumentChange], None]) -> Callable[[], None]:
        """Call ``callback(DocumentChange)`` after every mutation; returns the function that unsubscribes."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def snapshot(self) -> str:
        """The whole document (timeline, bin, markers) as an OTIO JSON string.

        Cached until the next change: undo commands take one before and one after every edit, and the
        "before" of an edit is the "after" of the previous one.
        """
        if self._snapshot is None:
            self._sync_bin()
            self._snapshot = otio.adapters.write_to_string(self._timeline, "otio_json")
        return self._snapshot

    def restore(self, snapshot: str) -> None:
        """Put back exactly the state of an earlier ``snapshot()``; emits "reset"."""
        timeline = otio.adapters.read_from_string(snapshot, "otio_json")
        self._adopt(timeline, _rate_of(timeline, self._rate))
        self._emit("reset")

    def to_otio(self, path_map: PathMap | None = None) -> otio.schema.Timeline:
        """A deep copy of the timeline, every media path passed through ``path_map``."""
        entries = [item.to_dict() for item in self._bin.values()]
        timeline = self._timeline.deepcopy()
        if path_map is not None:
            _map_paths(timeline, path_map, entries)
        meta(timeline)["bin"] = entries
        return timeline

    @classmethod
    def from_otio(
        cls,
        timeline: otio.schema.Timeline,
        path_map: PathMap | None = None,
        *,
        bin_entries: list[dict] | None = None,
        adopt: bool = False,
    ) -> TimelineDocument:
        """A document from an OTIO timeline (ours or another application's; missing ids are assigned).

        ``bin_entries``: the timeline's bin as plain records, when the caller has them already (the project
        loader does, from its JSON checks); they are taken over. ``adopt``: the caller hands ``timeline``
        over, so the document keeps it instead of a copy.
        """
        if not adopt:
            timeline = timeline.deepcopy()
        # The bin is read once as plain data and written back once, lazily: converting it to and from
        # OTIO's AnyVector is what made a large bin slow to load (three round trips, ~1 ms an entry).
        entries = plain(meta(timeline).get("bin") or []) if bin_entries is None else bin_entries
        if path_map is not None:
            _map_paths(timeline, path_map, entries)
        doc = cls.__new__(cls)
        doc._subscribers = []
        rate = _rate_of(timeline, 24.0)
        _normalise(timeline, entries)
        _migrate_provenance(timeline, entries)
        doc._adopt(timeline, rate, entries)
        return doc

    # ------------------------------------------------------------------------------------ tracks
    def tracks(self, kind: TrackKind | None = None) -> list[TrackInfo]:
        """Tracks bottom -> top (V1 first), optionally of one kind."""
        out: list[TrackInfo] = []
        counts = {TrackKind.VIDEO: 0, TrackKind.AUDIO: 0}
        for track in self._timeline.tracks:
            track_kind = TrackKind(track.kind)
            index = counts[track_kind]
            counts[track_kind] += 1
            if kind is None or kind == track_kind:
                data = meta(track)
                out.append(
                    TrackInfo(
                        str(data["id"]),
                        track_kind,
                        track.name,
                        index,
                        bool(track.enabled),
                        float(data.get("volume_db", 0.0)),
                        bool(data.get("mute", False)),
                        bool(data.get("solo", False)),
                        bool(data.get("locked", False)),
                    )
                )
        return out

    def add_track(self, kind: TrackKind) -> str:
        """A new empty track on top of the tracks of ``kind``; returns its id."""
        kind = TrackKind(kind)
        track = _new_track(kind, len(self.tracks(kind)) + 1)
        self._timeline.tracks.append(track)
        self._reindex()
        self._emit("tracks", (str(meta(track)["id"]),))
        return str(meta(track)["id"])

    def remove_track(self, track_id: str) -> None:
        """Remove a track and its clips; the last track of a kind stays (EditError)."""
        track = self._track(track_id)
        self._refuse_locked([track_id])
        kind = TrackKind(track.kind)
        if len(self.tracks(kind)) <= 1:
            raise EditError(f"The timeline needs at least one {kind.value.lower()} track; add another first.")
        stack = self._timeline.tracks
        del stack[list(stack).index(track)]
        _renumber(self._timeline)
        self._reindex()
        self._emit("tracks", (track_id,))

    def set_track_enabled(self, track_id: str, enabled: bool) -> None:
        """Hide a video track or mute an audio track (disabled tracks are skipped by playback and export)."""
        self._track(track_id).enabled = bool(enabled)
        self._emit("tracks", (track_id,))

    def track_info(self, track_id: str) -> TrackInfo:
        """One track's info (an addition to the contract)."""
        for info in self.tracks():
            if info.id == track_id:
                return info
        raise EditError("That track no longer exists; refresh and try again.")

    # ------------------------------------------------------------------------------------ clips
    def clips(self, track_id: str) -> list[ClipInfo]:
        """The clips of a track in timeline order (gaps and transitions skipped)."""
        layout = self._cached_layout(track_id)
        return [self._clip_info(seg, track_id) for seg in layout.segs]

    def clip(self, clip_id: str) -> ClipInfo:
        track_id = self._clip_track.get(clip_id)
        if track_id is None:
            raise EditError("That clip is no longer on the timeline; refresh and try again.")
        return self._clip_info(self._cached_layout(track_id).seg(clip_id), track_id)

    def linked_clips(self, clip_id: str) -> list[str]:
        """Ids of the clips that move with ``clip_id`` (itself included; an addition to the contract)."""
        self.clip(clip_id)
        return self._group([clip_id], True)

    def duration(self) -> RationalTime:
        end = max((self._cached_layout(t.id).end() for t in self.tracks()), default=0)
        return rt(end, self._rate)

    def dissolves(self, track_id: str) -> list[DissolveInfo]:
        layout = self._cached_layout(track_id)
        by_id = {s.id: s for s in layout.segs}
        return [
            DissolveInfo(d.id, d.left, d.right, rt(by_id[d.left].end, self._rate), rt(d.frames, self._rate))
            for d in layout.dissolves
        ]

    # ------------------------------------------------------------------------------------ media bin
    def bin_items(self) -> list[MediaItem]:
        return list(self._bin.values())

    def bin_item(self, media_id: str) -> MediaItem:
        item = self._bin.get(media_id)
        if item is None:
            raise EditError("That media is no longer in the bin; import it again.")
        return item

    def add_bin_item(self, item: MediaItem) -> str:
        """Add (or replace, for the same id) a bin entry; returns its id."""
        if not item.id:
            raise EditError("A media item needs an id.")
        _check_storable(item.path, "file path")
        _check_storable(item.name, "name")
        self._bin[item.id] = item
        self._write_bin()
        self._emit("bin", (item.id,))
        return item.id

    def remove_bin_item(self, media_id: str) -> None:
        """Remove a bin entry; refused while any clip on the timeline uses it."""
        self.bin_item(media_id)
        users = sum(1 for m in self._clip_media.values() if m == media_id)
        if users:
            raise EditError(
                f"'{self._bin[media_id].name}' is used by {users} clip(s) on the timeline; delete them first."
            )
        del self._bin[media_id]
        self._write_bin()
        self._emit("bin", (media_id,))

    def relink(self, media_id: str, new_path: str, info: MediaInfo | None) -> None:
        """Point a bin item and every clip using it at another file (a moved or replaced media file)."""
        item = self.bin_item(media_id)
        item = MediaItem(**{**item.__dict__, "path": new_path, "info": info})
        self._bin[media_id] = item
        self._write_bin()
        touched: list[str] = []
        for track in self._timeline.tracks:
            for clip in track.find_clips(shallow_search=True):
                if meta(clip).get("media_id") == media_id:
                    clip.media_reference = self._reference(item)
                    touched.append(clip_id(clip))
        self._reindex()
        self._emit("bin", (media_id,))
        if touched:
            self._emit("clips", tuple(touched))

    def takes(self, media_id: str) -> list[MediaItem]:
        """The original of ``media_id`` and all its takes, original first then by take number."""
        item = self.bin_item(media_id)
        root = item.take_of if item.take_of in self._bin else item.id
        family = [i for i in self._bin.values() if i.id == root or i.take_of == root]
        return sorted(family, key=lambda i: (i.id != root, i.take))

    def set_clip_generation(self, clip_id: str, generation: dict) -> None:
        """Record the parameters a clip was generated with (kept through save/load and undo)."""
        track_id = self._clip_track.get(clip_id)
        if track_id is None:
            raise EditError("That clip is no longer on the timeline; refresh and try again.")
        clip = self._cached_layout(track_id).seg(clip_id).clip
        meta(clip)["generation"] = dict(generation)
        self._emit("clips", (clip_id,))

    def set_clip_grade(self, clip_id: str, grade: dict | None) -> None:
        """Set (or with None remove) a clip's colour grade: a plain dict (app.color.Grade.to_dict())."""
        clip = self._clip_object(clip_id)
        data = meta(clip)
        if grade is None:
            if "grade" not in data:
                return
            del data["grade"]
        else:
            data["grade"] = dict(grade)
        self._emit("clips", (clip_id,))

    def set_clip_gain(self, clip_id: str, gain_db: float) -> None:
        """A clip's sound level in dB (audio clips; -60 to +24)."""
        if not -60.0 <= float(gain_db) <= 24.0:
            raise EditError(f"A clip's gain must be between -60 dB and +24 dB (asked: {gain_db:g} dB).")
        meta(self._clip_object(clip_id))["gain_db"] = float(gain_db)
        self._emit("clips", (clip_id,))

    def set_clip_mask(self, clip_id: str, mask: dict | None) -> None:
        """Attach (or with None remove) an inpainting mask: a plain dict naming the mask file (app.masks)
        and the source frame range it applies to. Mask pixels live in files, so undo swaps references."""
        data = meta(self._clip_object(clip_id))
        if mask is None:
            if "mask" not in data:
                return
            del data["mask"]
        else:
            data["mask"] = dict(mask)
        self._emit("clips", (clip_id,))

    def set_clip_media(self, clip_id: str, media_id: str, linked: bool = True) -> list[str]:
        """Show another bin item in this clip's place (switching takes): timing and source range stay, and
        linked clips showing the same media switch with it. Returns the clips switched.

        Raises:
            EditError: the new media is shorter than the part of it the clip uses.
        """
        item = self.bin_item(media_id)
        clip = self.clip(clip_id)
        old = clip.media_id
        ids = [clip_id] + [c for c in (self.linked_clips(clip_id) if linked else []) if c != clip_id]
        ids = [c for c in ids if self.clip(c).media_id == old]
        frames = self._media_frames(item)
        for cid in ids:
            info = self.clip(cid)
            needed = info.source_start.value + info.duration.value
            if frames is not None and frames < needed:
                raise EditError(
                    f"'{item.name}' is {frames} frames long; this clip uses its frames up to {int(needed)}. "
                    "Trim the clip first."
                )
        for cid in ids:
            obj = self._clip_object(cid)
            meta(obj)["media_id"] = media_id
            obj.media_reference = self._reference(item)
            obj.name = item.name
        self._reindex()
        self._emit("clips", tuple(ids))
        return ids

    def color_settings(self) -> dict:
        """The project's colour settings (app.color.ColorSettings.to_dict()); empty = the defaults."""
        return plain(self._timeline.metadata.get(NS, {}).get("color") or {})

    def set_color_settings(self, settings: dict) -> None:
        data = self._timeline.metadata.get(NS)
        if data is None:
            self._timeline.metadata[NS] = {}
            data = self._timeline.metadata[NS]
        data["color"] = dict(settings)
        self._emit("reset")

    def _clip_object(self, clip_id: str) -> otio.schema.Clip:
        track_id = self._clip_track.get(clip_id)
        if track_id is None:
            raise EditError("That clip is no longer on the timeline; refresh and try again.")
        self._refuse_locked([track_id])  # every caller is a setter: a locked track's clips stay as they are
        return self._cached_layout(track_id).seg(clip_id).clip

    # ------------------------------------------------------------------------------------ markers
    def markers(self) -> list[Marker]:
        out = [
            Marker(
                str(meta(m)["id"]),
                rt(frames_of(m.marked_range.start_time, self._rate), self._rate),
                m.name,
                str(m.color),
                str(m.comment or ""),
            )
            for m in self._timeline.tracks.markers
        ]
        return sorted(out, key=lambda m: m.time.value)

    def add_marker(self, at: RationalTime, name: str = "", color: str = "RED") -> str:
        frame = self._frame(at)
        marker = otio.schema.Marker(
            name=name,
            marked_range=TimeRange(rt(frame, self._rate), rt(0, self._rate)),
            color=color,
            metadata={NS: {"id": new_id()}},
        )
        self._timeline.tracks.markers.append(marker)
        self._emit("markers", (str(meta(marker)["id"]),))
        return str(meta(marker)["id"])

    def remove_marker(self, marker_id: str) -> None:
        markers = self._timeline.tracks.markers
        index = self._marker_index(marker_id)
        del markers[index]
        self._emit("markers", (marker_id,))

    def move_marker(self, marker_id: str, at: RationalTime) -> None:
        frame = self._frame(at)
        marker = self._timeline.tracks.markers[self._marker_index(marker_id)]
        marker.marked_range = TimeRange(rt(frame, self._rate), rt(0, self._rate))
        self._emit("markers", (marker_id,))

    # ------------------------------------------------------------------------------------ snapping
    def edit_points(self, exclude_ids: Iterable[str] = ()) -> list[RationalTime]:
        """Every clip start and end on every track, every marker and 0, sorted, without duplicates."""
        excluded = set(exclude_ids)
        frames = {0}
        for track in self.tracks():
            for seg in self._cached_layout(track.id).segs:
                if seg.id not in excluded:
                    frames.update((seg.start, seg.end))
        frames.update(frames_of(m.time, self._rate) for m in self.markers() if m.id not in excluded)
        return [rt(f, self._rate) for f in sorted(frames)]

    def snap(
        self,
        t: RationalTime,
        threshold_frames: int,
        extra: Iterable[RationalTime] = (),
        exclude_ids: Iterable[str] = (),
    ) -> RationalTime | None:
        """The edit point (or ``extra`` time) nearest ``t`` within ``threshold_frames``, else None."""
        target = t.value_rescaled_to(self._rate)
        points = [frames_of(p, self._rate) for p in self.edit_points(exclude_ids)]
        points += [frames_of(p, self._rate) for p in extra]
        best = min(points, key=lambda p: abs(p - target), default=None)
        if best is None or abs(best - target) > threshold_frames:
            return None
        return rt(best, self._rate)

    # ------------------------------------------------------------------------------------ playback
    def video_at(self, t: RationalTime) -> VideoSample | None:
        """What the top enabled video track shows at ``t`` (None: nothing, i.e. black)."""
        frame = int(math.floor(t.value_rescaled_to(self._rate) + 1e-6))
        layouts = [
            self._cached_layout(info.id) for info in reversed(self.tracks(TrackKind.VIDEO)) if info.enabled
        ]
        return resolve_video(layouts, frame, self._rate)

    def audio_segments(self, start: RationalTime, end: RationalTime) -> list[AudioSegment]:
        """Every enabled audio track's clips that sound in [start, end), crossfade handles included."""
        first = int(math.floor(start.value_rescaled_to(self._rate) + 1e-6))
        last = int(math.ceil(end.value_rescaled_to(self._rate) - 1e-6))
        audible = self.audible_tracks()
        layouts = [self._cached_layout(track_id) for track_id, _ in audible]
        return resolve_audio(layouts, first, last, self._rate, [db for _, db in audible])

    # ------------------------------------------------------------------------------------ internals
    def _adopt(self, timeline: otio.schema.Timeline, rate: float, entries: list | None = None) -> None:
        self._snapshot: str | None = None
        self._timeline = timeline
        self._rate = rate
        data = meta(timeline)
        data["rate"] = rate
        timeline.global_start_time = rt(0, rate)
        self._bin: dict[str, MediaItem] = {}
        for entry in plain(data.get("bin") or []) if entries is None else entries:
            item = MediaItem.from_dict(entry)
            self._bin[item.id] = item
        self._write_bin()
        self._reindex()

    def _write_bin(self) -> None:
        """Mark the timeline's copy of the bin out of date; ``_sync_bin`` writes it when it is read."""
        self._bin_synced = False

    def _sync_bin(self) -> None:
        if not self._bin_synced:
            meta(self._timeline)["bin"] = [item.to_dict() for item in self._bin.values()]
            self._bin_synced = True

    def _reindex(self, committed: dict[str, TrackLayout] | None = None) -> None:
        """Rebuild the id lookups after a change.

        ``committed`` are layouts an edit just wrote back: they are exactly the tracks' state, so only the
        other tracks are read from OTIO (and after an edit none are).
        """
        previous = getattr(self, "_layouts", {}) if committed is not None else {}
        self._layouts: dict[str, TrackLayout] = {}
        self._clip_track: dict[str, str] = {}
        self._clip_media: dict[str, str | None] = {}
        self._links: dict[str, list[str]] = {}
        self._dissolve_track: dict[str, str] = {}
        for track in self._timeline.tracks:
            track_id = str(meta(track)["id"])
            layout = (committed or {}).get(track_id) or previous.get(track_id)
            if layout is None or layout.track is not track:
                layout = TrackLayout.read(track, self._rate)
            self._layouts[track_id] = layout
            for seg in layout.segs:
                self._clip_track[seg.id] = track_id
                self._clip_media[seg.id] = seg.media_id
                if seg.link_id is not None:
                    self._links.setdefault(seg.link_id, []).append(seg.id)
            for dis in layout.dissolves:
                self._dissolve_track[dis.id] = track_id
        for layout in (committed or {}).values():  # metadata an edit wrote to clips it kept
            for clip in layout.meta_written:
                self.__dict__.get("_infos", {}).pop(clip_id(clip), None)
        pieces = self.__dict__.get("_pieces")
        if pieces is not None:
            pieces.note_written(committed)

    def _cached_layout(self, track_id: str) -> TrackLayout:
        """The read-only layout of a track as of the last change (never edit it: edits read their own)."""
        layout = self._layouts.get(track_id)
        if layout is None:
            self._track(track_id)
            raise EditError("That track no longer exists; refresh and try again.")
        return layout

    def _track(self, track_id: str) -> otio.schema.Track:
        for track in self._timeline.tracks:
            if meta(track).get("id") == track_id:
                return track
        raise EditError("That track no longer exists; refresh and try again.")

    def _group(self, clip_ids: Iterable[str], linked: bool) -> list[str]:
        """The clips plus (when ``linked``) every clip sharing a link id with one of them, in order."""
        out: list[str] = []
        for cid in clip_ids:
            if cid not in self._clip_track:
                raise EditError("That clip is no longer on the timeline; refresh and try again.")
            members = [cid]
            link = self._cached_layout(self._clip_track[cid]).seg(cid).link_id if linked else None
            if link is not None:
                members += [m for m in self._links.get(link, []) if m != cid]
            out += [m for m in members if m not in out]
        return out

    def _frame(self, t: RationalTime) -> int:
        if not isinstance(t, RationalTime):
            raise EditError("Times must be given as RationalTime values.")
        frame = frames_of(t, self._rate)
        if frame < 0:
            raise EditError("That time is before the start of the timeline.")
        return frame

    def _clip_info(self, seg: Seg, track_id: str) -> ClipInfo:
        """The clip's record; kept per clip until the clip's placement changes or a change names it (the
        timeline view asks for every clip after every change, and reading OTIO metadata is slow)."""
        cache: dict = self.__dict__.setdefault("_infos", {})
        key = (seg.start, seg.dur, seg.src, seg.avail, seg.link_id, seg.media_id, track_id, self._rate)
        key += (seg.speed,)
        hit = cache.get(seg.id)
        if hit is not None and hit[0] is seg.clip and hit[1] == key:
            return hit[2]
        info = self._read_clip_info(seg, track_id)
        cache[seg.id] = (seg.clip, key, info)
        return info

    def _forget_clip_infos(self, kind: str, ids: tuple[str, ...]) -> None:
        cache = self.__dict__.get("_infos")
        if not cache:
            return
        if kind == "clips" and ids:
            for cid in ids:
                cache.pop(cid, None)
        elif kind not in ("bin", "markers", "tracks"):
            cache.clear()  # "reset", an unnamed change to clips, anything new
        if len(cache) > 2 * len(self._clip_track) + 64:  # clips that left the timeline
            for cid in [c for c in cache if c not in self._clip_track]:
                del cache[cid]

    def _read_clip_info(self, seg: Seg, track_id: str) -> ClipInfo:
        # one pass over the keys there are: a missing key costs OTIO a raised KeyError (dozens of µs)
        stored = meta(seg.clip)
        data = {key: stored[key] for key in stored.keys()}
        rate = self._rate
        avail = (
            None
            if seg.avail is None
            else TimeRange(rt(seg.avail[0], rate), rt(seg.avail[1] - seg.avail[0], rate))
        )
        generation = data.get("generation")
        grade = data.get("grade")
        mask = data.get("mask")
        return ClipInfo(
            id=seg.id,
            track_id=track_id,
            media_id=seg.media_id,
            name=seg.clip.name,
            start=rt(seg.start, rate),
            duration=rt(seg.dur, rate),
            source_start=rt(seg.src, rate),
            available=avail,
            link_id=seg.link_id,
            generation=None if generation is None else plain(generation),
            grade=None if grade is None else plain(grade),
            gain_db=float(data.get("gain_db", 0.0)),
            mask=None if mask is None else plain(mask),
            transform=None if data.get("transform") is None else plain(data["transform"]),
            fade_in=int(data.get("fade_in", 0)),
            fade_out=int(data.get("fade_out", 0)),
            title=None if data.get("title") is None else plain(data["title"]),
            enabled=bool(seg.clip.enabled),
            speed=seg.speed,
        )

    def _reference(self, item: MediaItem) -> otio.schema.ExternalReference:
        frames = self._media_frames(item)
        avail = None if frames is None else TimeRange(rt(0, self._rate), rt(frames, self._rate))
        return otio.schema.ExternalReference(target_url=item.path, available_range=avail)

    def _media_frames(self, item: MediaItem) -> int | None:
        """The media's length on this timeline: floor(seconds * rate) frames; None when unknown."""
        if item.info is None or item.info.duration_seconds <= 0:
            return None
        return int(math.floor(item.info.duration_seconds * self._rate + 1e-9))

    def _marker_index(self, marker_id: str) -> int:
        for i, marker in enumerate(self._timeline.tracks.markers):
            if meta(marker).get("id") == marker_id:
                return i
        raise EditError("That marker no longer exists; refresh and try again.")

    def _emit(self, kind: str, ids: tuple[str, ...] = ()) -> None:
        self._snapshot = None  # every mutation ends here
        self._forget_clip_infos(kind, ids)
        pieces = self.__dict__.get("_pieces")
        if pieces is not None:  # undo keeps what changed (app.document.pieces)
            pieces.note(kind, ids)
        change = DocumentChange(kind, tuple(ids))
        for callback in list(self._subscribers):
            callback(change)


# ---------------------------------------------------------------------------------------- helpers
def _new_track(kind: TrackKind, number: int) -> otio.schema.Track:
    return otio.schema.Track(name=f"{kind.prefix}{number}", kind=kind.value, metadata={NS: {"id": new_id()}})


def _renumber(timeline: otio.schema.Timeline) -> None:
    counts = {TrackKind.VIDEO: 0, TrackKind.AUDIO: 0}
    for track in timeline.tracks:
        kind = TrackKind(track.kind)
        counts[kind] += 1
        track.name = f"{kind.prefix}{counts[kind]}"


def _rate_of(timeline: otio.schema.Timeline, default: float) -> float:
    data = timeline.metadata.get(NS) or {}
    if data.get("rate"):
        return float(data["rate"])
    if timeline.global_start_time is not None:
        return float(timeline.global_start_time.rate)
    for clip in timeline.find_clips():
        if clip.source_range is not None:
            return float(clip.source_range.duration.rate)
    return default


def _map_paths(timeline: otio.schema.Timeline, path_map: PathMap, entries: list[dict]) -> None:
    """Every clip's media path and every bin entry's (``entries``: plain bin records) through ``path_map``
    (once per distinct path: a clip's path is its bin entry's, and mapping resolves files)."""
    mapped: dict[str, str] = {}

    def once(path: str) -> str:
        if path not in mapped:
            mapped[path] = path_map(path)
        return mapped[path]

    for clip in timeline.find_clips():
        ref = clip.media_reference
        if isinstance(ref, otio.schema.ExternalReference) and ref.target_url:
            ref.target_url = once(ref.target_url)
    for entry in entries:
        entry["path"] = once(entry["path"])


def _normalise(timeline: otio.schema.Timeline, bin_entries: list[dict]) -> None:
    """Give a foreign (or hand-made) timeline what the document relies on: ids, kinds, names, bin items
    (appended to ``bin_entries``, the plain bin records)."""
    stack = timeline.tracks
    for track in list(stack):
        if not isinstance(track, otio.schema.Track) or track.kind not in (
            TrackKind.VIDEO.value,
            TrackKind.AUDIO.value,
        ):
            del stack[list(stack).index(track)]
    for kind in (TrackKind.VIDEO, TrackKind.AUDIO):
        if not any(t.kind == kind.value for t in stack):
            stack.append(_new_track(kind, 1))
    _renumber(timeline)
    by_path = {entry["path"]: entry["id"] for entry in bin_entries}
    clip_ids: set[str] = set()
    for track in stack:
        meta(track).setdefault("id", new_id())
        for item in track:
            if isinstance(item, otio.schema.Transition):
                meta(item).setdefault("id", new_id())
            if not isinstance(item, otio.schema.Clip):
                continue
            clip_data = meta(item)
            clip_data.setdefault("id", new_id())
            if str(clip_data["id"]) in clip_ids:  # a copied clip: edits find clips by id, so it gets its own
                clip_data["id"] = new_id()
            clip_ids.add(str(clip_data["id"]))
            clip_data.setdefault("link_id", None)
            clip_data.setdefault("generation", None)
            if clip_data.get("media_id") is None:
                ref = item.media_reference
                path = ref.target_url if isinstance(ref, otio.schema.ExternalReference) else ""
                if path and path not in by_path:
                    by_path[path] = new_id()
                    bin_entries.append(MediaItem(by_path[path], path, item.name or path).to_dict())
                clip_data["media_id"] = by_path.get(path)
    for marker in stack.markers:
        meta(marker).setdefault("id", new_id())


def _check_storable(text: str, what: str) -> None:
    """A project is UTF-8 JSON: a name with undecodable bytes (surrogate escapes, from a file system
    that is not UTF-8) cannot be stored. Refused before the bin changes, so later edits still work."""
    try:
        str(text).encode("utf-8")
    except UnicodeEncodeError:
        shown = str(text).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise EditError(
            f"The {what} {shown} is not valid UTF-8 (bytes from another encoding), so a project cannot "
            "store it. Rename the file with ordinary characters and import it again."
        ) from None


def _migrate_provenance(timeline: otio.schema.Timeline, entries: list) -> None:
    """Generation records in older vocabularies (the engine's metadata as the CLI wrote it, ``checkpoint``
    for ``checkpoint_identity``) become today's record (``app.provenance``), so nothing reads two kinds."""
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("generation"), dict):
            entry["generation"] = provenance.normalize(entry["generation"])
    for clip in timeline.find_clips():
        data = meta(clip)
        generation = data.get("generation")
        if generation is not None and hasattr(generation, "keys"):
            current = plain(generation)
            migrated = provenance.normalize(current)
            if migrated != current:
                data["generation"] = migrated
