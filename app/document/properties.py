"""Per-clip and per-track properties of TimelineDocument, as a mixin (see document.py). Qt-free.

Stored in the OTIO objects' ``metadata["aiprod"]`` so save/load and undo (snapshots) cover them:
- a clip's ``transform`` (app.media.transform.ClipTransform.to_dict(): fit/fill/stretch, scale, position,
  crop),
- a clip's ``fade_in`` / ``fade_out`` (sound, in frames at the timeline rate),
- a title clip's ``title`` (app.media.title.TitleSpec.to_dict()); title clips have no media,
- a track's ``volume_db``, ``mute`` and ``solo`` (audio tracks).
Every setter checks its values first (EditError, document unchanged) and emits one change.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import opentimelineio as otio

from app.document.layout import NS, Seg, frames_of, meta, new_id, rt, source_frames_used
from app.document.model import TrackKind
from app.errors import EditError

if TYPE_CHECKING:
    from app.document.document import TimelineDocument

RationalTime = otio.opentime.RationalTime
TimeRange = otio.opentime.TimeRange
TITLE_KIND = "aiprod.title"  # the GeneratorReference kind of a title clip
MIN_TRACK_DB, MAX_TRACK_DB = -60.0, 12.0
MIN_SPEED, MAX_SPEED = 0.01, 100.0  # 1% .. 10000%
# OTIO's marker colours (otio.schema.MarkerColor), the ones interchange formats map
MARKER_COLORS = (
    "RED", "PINK", "ORANGE", "YELLOW", "GREEN", "CYAN", "BLUE", "PURPLE", "MAGENTA", "BLACK", "WHITE",
)  # fmt: skip
DEFAULT_STILL_SECONDS = 5.0
DEFAULT_TITLE_SECONDS = 4.0


class PropertyOps:
    """Clip transform, sound fades, titles; track volume, mute and solo; track lock, clip enable, markers."""

    # ------------------------------------------------------------------------------------ picture
    def set_clip_transform(self: TimelineDocument, clip_id: str, transform: dict | None) -> None:
        """Set (None: remove, i.e. fit) how a clip's picture sits in the sequence frame."""
        from app.media.transform import ClipTransform

        clip = self._clip_object(clip_id)
        data = meta(clip)
        if transform is None:
            if "transform" not in data:
                return
            del data["transform"]
        else:
            data["transform"] = ClipTransform.from_dict(transform).to_dict()  # checked before stored
        self._emit("clips", (clip_id,))

    # ------------------------------------------------------------------------------------ speed
    def set_clip_speed(self: TimelineDocument, clip_id: str, speed: float, linked: bool = True) -> list[str]:
        """A constant retime: the clip (and, ``linked``, the clips linked to it, so sound stays in sync)
        keeps its place, length and source in, and plays ``speed`` media frames per timeline frame (2.0:
        twice as fast; 0.5: slow motion). Stored the OTIO way, as a ``LinearTimeWarp`` effect with
        ``time_scalar = speed`` (none at 1.0). Returns the clips changed.

        Raises:
            EditError: the speed is not a number in 1%..10000%, a clip is a title, a track is locked, or
                the faster clip would read past the end of its media (shorten it first).
        """
        try:
            value = float(speed)
        except (TypeError, ValueError):
            raise EditError(f"A speed is a number (1.0 = 100%), not {speed!r}.") from None
        if not math.isfinite(value) or not MIN_SPEED <= value <= MAX_SPEED:
            raise EditError(
                f"The speed must be between {MIN_SPEED:.0%} and {MAX_SPEED:.0%} (asked: {speed!r})."
            )
        ids = self.linked_clips(clip_id) if linked else [clip_id]
        self._refuse_locked([self._clip_track[cid] for cid in ids])
        segs = [self._cached_layout(self._clip_track[cid]).seg(cid) for cid in ids]
        for seg in segs:  # every check before the first change
            label = seg.clip.name or "the clip"
            if meta(seg.clip).get("title") is not None:
                raise EditError("A title has no media to retime.")
            if seg.avail is not None and seg.src + source_frames_used(seg.dur, value) > seg.avail[1]:
                room, need = seg.avail[1] - seg.src, source_frames_used(seg.dur, value)
                raise EditError(
                    f"At {value:.0%} '{label}' would need {need} frames of media "
                    f"from its source in, but only {room} are left; shorten the clip or choose a lower speed."
                )
        for seg in segs:
            set_time_warp(seg.clip, value)
            seg.speed = value  # the cached layout reads a clip's speed once
        self._emit("clips", tuple(ids))
        return ids

    # ------------------------------------------------------------------------------------ sound
    def set_clip_fades(self: TimelineDocument, clip_id: str, fade_in: int, fade_out: int) -> None:
        """A clip's sound fade in / fade out, in frames (0 = none); together no longer than the clip."""
        info = self.clip(clip_id)
        length = frames_of(info.duration, self.rate)
        for name, value in (("fade in", fade_in), ("fade out", fade_out)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise EditError(f"The {name} must be a whole number of frames, 0 or more (asked: {value!r}).")
        if fade_in + fade_out > length:
            raise EditError(
                f"The fades ({fade_in} + {fade_out} frames) are longer than the clip ({length} frames); "
                "shorten them."
            )
        data = meta(self._clip_object(clip_id))
        data["fade_in"], data["fade_out"] = int(fade_in), int(fade_out)
        self._emit("clips", (clip_id,))

    def set_track_audio(
        self: TimelineDocument,
        track_id: str,
        *,
        volume_db: float | None = None,
        mute: bool | None = None,
        solo: bool | None = None,
    ) -> None:
        """An audio track's volume (dB, -60..+12), mute and solo; unnamed values stay."""
        info = self.track_info(track_id)
        if info.kind is not TrackKind.AUDIO:
            raise EditError("Volume, mute and solo belong to audio tracks.")
        if volume_db is not None and (
            not isinstance(volume_db, (int, float))
            or not math.isfinite(volume_db)
            or not MIN_TRACK_DB <= volume_db <= MAX_TRACK_DB
        ):
            raise EditError(
                f"A track's volume must be between {MIN_TRACK_DB:g} dB and +{MAX_TRACK_DB:g} dB "
                f"(asked: {volume_db!r})."
            )
        data = meta(self._track(track_id))
        if volume_db is not None:
            data["volume_db"] = float(volume_db)
        if mute is not None:
            data["mute"] = bool(mute)
        if solo is not None:
            data["solo"] = bool(solo)
        self._emit("tracks", (track_id,))

    def audible_tracks(self: TimelineDocument) -> list[tuple[str, float]]:
        """(track id, volume dB) of every audio track that sounds: enabled, not muted, and soloed when any
        track is soloed. The player, the meter and the export all hear these."""
        tracks = [t for t in self.tracks(TrackKind.AUDIO) if t.enabled and not t.mute]
        if any(t.solo for t in self.tracks(TrackKind.AUDIO)):
            tracks = [t for t in tracks if t.solo]
        return [(t.id, t.volume_db) for t in tracks]

    # ------------------------------------------------------------------------------------ titles
    def insert_title(
        self: TimelineDocument,
        track_id: str,
        at: RationalTime,
        title: dict,
        duration: RationalTime | None = None,
        ripple: bool = False,
    ) -> str:
        """A title clip (text rendered by app.media.title) on a video track at ``at``; default 4 s long.
        Overwrites what lies there unless ``ripple``. Returns the clip id."""
        from app.document.edits import Transaction
        from app.media.title import TitleSpec

        spec = TitleSpec.from_dict(title)
        if self.track_info(track_id).kind is not TrackKind.VIDEO:
            raise EditError("A title goes on a video track.")
        frame = self._frame(at)
        frames = round(DEFAULT_TITLE_SECONDS * self.rate) if duration is None else self._frame(duration)
        if frames < 1:
            raise EditError("A title must be at least one frame long.")
        txn = Transaction(self)
        layout = txn.layout(track_id)
        if ripple:
            layout.split(frame, links=txn.links)
            layout.shift_from(frame, frames)
        else:
            layout.carve(frame, frame + frames, links=txn.links)
        cid = new_id()
        clip = otio.schema.Clip(
            name=spec.label(),
            media_reference=otio.schema.GeneratorReference(generator_kind=TITLE_KIND),
            source_range=TimeRange(rt(0, self.rate), rt(frames, self.rate)),
            metadata={
                NS: {
                    "id": cid,
                    "media_id": None,
                    "link_id": None,
                    "generation": None,
                    "title": spec.to_dict(),
                }
            },
        )
        layout.segs.append(Seg.of(clip, frame, frames, 0, None))
        layout.sort()
        txn.commit([cid])
        return cid

    # ------------------------------------------------------------------------------------ lock, enable
    def set_track_locked(self: TimelineDocument, track_id: str, locked: bool) -> None:
        """Lock (or unlock) a track: while locked, every edit that would change its clips is refused."""
        self.track_info(track_id)
        meta(self._track(track_id))["locked"] = bool(locked)
        self._emit("tracks", (track_id,))

    def _refuse_locked(self: TimelineDocument, track_ids) -> None:
        """EditError naming the first locked track among ``track_ids`` (nothing has changed yet)."""
        for track_id in track_ids:
            try:
                track = self._track(track_id)
            except EditError:
                continue  # a track made by the edit itself
            if (track.metadata.get(NS) or {}).get("locked"):
                raise EditError(
                    f"Track {track.name} is locked; unlock it (the padlock in its header) to edit it."
                )

    def set_clips_enabled(self: TimelineDocument, clip_ids, enabled: bool) -> list[str]:
        """Enable or disable clips (a disabled clip shows as nothing and is silent in the viewer, the mix and
        every export, and keeps its place). Refused as a whole when one of them is on a locked track."""
        ids = list(dict.fromkeys(clip_ids))
        if not ids:
            raise EditError("Select the clips to enable or disable first.")
        clips = [self._clip_object(cid) for cid in ids]  # every check before the first change
        for clip in clips:
            clip.enabled = bool(enabled)
        self._emit("clips", tuple(ids))
        return ids

    def clip_otio_copy(self: TimelineDocument, clip_id: str) -> otio.schema.Clip:
        """A detached copy of a clip's OTIO object (media, grade, mask, gain, generation: all its metadata);
        read-only access, so clips of locked tracks can be copied."""
        track_id = self._clip_track.get(clip_id)
        if track_id is None:
            raise EditError("That clip is no longer on the timeline; refresh and try again.")
        return self._cached_layout(track_id).seg(clip_id).clip.clone()

    # ------------------------------------------------------------------------------------ markers
    def edit_marker(
        self: TimelineDocument,
        marker_id: str,
        *,
        name: str | None = None,
        note: str | None = None,
        color: str | None = None,
    ) -> None:
        """A marker's name, note (OTIO's ``comment``) and colour (one of MARKER_COLORS); None keeps one."""
        marker = self._timeline.tracks.markers[self._marker_index(marker_id)]
        if color is not None:
            color = str(color).upper()
            if color not in MARKER_COLORS:
                raise EditError(
                    f"'{color}' is not a marker colour; use one of "
                    f"{', '.join(c.title() for c in MARKER_COLORS)}."
                )
        for what, text in (("marker name", name), ("marker note", note)):
            if text is not None:
                if not isinstance(text, str):
                    raise EditError(f"The {what} must be text.")
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError:
                    raise EditError(f"The {what} has characters a project cannot store; retype it.") from None
        if name is not None:
            marker.name = name
        if note is not None:
            marker.comment = note
        if color is not None:
            marker.color = color
        self._emit("markers", (marker_id,))

    def set_clip_title(self: TimelineDocument, clip_id: str, title: dict) -> None:
        """Change a title clip's text, font, colours, position, box or fades."""
        from app.media.title import TitleSpec

        clip = self._clip_object(clip_id)
        if "title" not in meta(clip):
            raise EditError("That clip is not a title.")
        spec = TitleSpec.from_dict(title)
        meta(clip)["title"] = spec.to_dict()
        clip.name = spec.label()
        self._emit("clips", (clip_id,))


def set_time_warp(clip: otio.schema.Clip, speed: float) -> None:
    """Replace the clip's LinearTimeWarp effects by one of ``time_scalar = speed`` (none at 1.0); other
    effects stay."""
    keep = [
        e.clone()
        for e in clip.effects
        if not isinstance(e, otio.schema.LinearTimeWarp) or isinstance(e, otio.schema.FreezeFrame)
    ]
    if speed != 1.0:
        keep.append(otio.schema.LinearTimeWarp(name="Speed", time_scalar=float(speed)))
    clip.effects[:] = keep


def still_frames(rate: float) -> int:
    return max(1, round(DEFAULT_STILL_SECONDS * rate))


def plain_or_none(value: Any) -> Any:
    from app.document.layout import plain

    return None if value is None else plain(value)
