"""Three-point and four-point editing: which source frames go where on the timeline. Qt-free.

A source viewer shows one media item with its own in/out marks (the *source* marks); the timeline viewer has
its own (the *record* marks). An insert or overwrite needs a source range and a record range of the same
length; any three of the four marks fix the fourth, as in Premiere, Avid and Resolve:

- both source marks: the length is the source range (the record range starts at the record in, or ends at
  the record out when only that is set -- "backtimed" -- or starts at the playhead when neither is);
- otherwise both record marks: the length is the record range; the source starts at its in mark, or ends at
  its out mark (backtimed), or starts at the media's first frame;
- otherwise the source is open-ended: from its in mark (or the first frame) to the end of the media, or from
  the first frame to its out mark.
- all four with equal lengths: used as they are. With different lengths a choice is needed:
  ``"trim"`` keeps both in marks and uses the shorter length; ``"fit"`` (fit to fill) keeps all four: the
  clip lasts the record range and plays the whole source range at speed ``source / record`` (an OTIO
  ``LinearTimeWarp`` on the clip; app.document.resolve shows the nearest earlier source frame, no blending).

Marks are frame numbers at the timeline rate (the source viewer plays its media at the timeline rate, so its
frame *n* is the media's frame *n* as every clip counts it). An out mark includes its frame, as the viewers
show it: in 10, out 19 is ten frames. Missing marks are None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import opentimelineio as otio

from app.document.layout import frames_of, source_frames_used
from app.document.model import TrackKind
from app.document.resolve import source_offset
from app.errors import EditError

if TYPE_CHECKING:
    from app.document.document import TimelineDocument

RationalTime = otio.opentime.RationalTime
TimeRange = otio.opentime.TimeRange

FOUR_POINT_MODES = ("trim", "fit")
SPEED_CHANGES_SUPPORTED = True  # a fit to fill places a clip with an OTIO LinearTimeWarp (its speed)


@dataclass(frozen=True)
class Marks:
    """An in and an out mark (frames; the out frame included); None where not set."""

    in_frame: int | None = None
    out_frame: int | None = None

    @property
    def complete(self) -> bool:
        return self.in_frame is not None and self.out_frame is not None

    def frames(self) -> int | None:
        """How many frames the marks span (both set), else None."""
        if not self.complete:
            return None
        return int(self.out_frame) - int(self.in_frame) + 1  # type: ignore[operator]


@dataclass(frozen=True)
class ThreePointEdit:
    """The resolved edit: ``source_frames`` of the media from ``source_start`` fill ``record_frames`` of the
    timeline from ``record_start``. The two lengths differ only for a fit to fill (``speed`` != 1)."""

    source_start: int
    source_frames: int
    record_start: int
    record_frames: int
    note: str = ""  # what a four-point trim cut off, for the status bar

    @property
    def speed(self) -> float:
        """Media frames per timeline frame: 1.0, or source / record for a fit to fill."""
        return self.source_frames / self.record_frames

    @property
    def record_end(self) -> int:
        """The frame after the edit (where the playhead goes after it)."""
        return self.record_start + self.record_frames


def needs_four_point_choice(source: Marks, record: Marks) -> bool:
    """True when all four marks are set and the two ranges differ in length (fit or trim must be chosen)."""
    return source.complete and record.complete and source.frames() != record.frames()


def resolve(
    source: Marks,
    record: Marks,
    *,
    playhead: int,
    media_frames: int | None,
    default_frames: int | None = None,
    four_point: str | None = None,
) -> ThreePointEdit:
    """The edit the marks ask for (see the module's rules).

    ``playhead``: where the record range starts when no record mark is set. ``media_frames``: the media's
    length at the timeline rate (None: unknown or unlimited, e.g. a still). ``default_frames``: the length
    used when nothing else fixes one and the media's length is unknown (a still's 5 s). ``four_point``:
    "trim" or "fit" when all four marks are set with different lengths.

    Raises:
        EditError: a mark is negative, an out mark is before its in mark, a source mark is past the end of
            the media, the range needs media before its first or after its last frame, the record range
            would start before the timeline, or four marks disagree and no (valid) choice was given.
    """
    _check_marks(source, "source")
    _check_marks(record, "timeline")
    if four_point is not None and four_point not in FOUR_POINT_MODES:
        raise EditError(f"A four-point edit is either 'trim' or 'fit', not {four_point!r}.")
    if playhead < 0:
        raise EditError("The playhead is before the start of the timeline.")
    if media_frames is not None:
        for name, frame in (("in", source.in_frame), ("out", source.out_frame)):
            if frame is not None and frame >= media_frames:
                raise EditError(
                    f"The source {name} mark (frame {frame}) is past the end of the media, which is "
                    f"{media_frames} frames long; mark a frame inside it."
                )

    source_len, record_len = source.frames(), record.frames()
    if source_len is not None and record_len is not None:
        return _four_point(source, record, four_point)
    if source_len is not None:
        length = source_len
    elif record_len is not None:
        length = record_len
    else:
        length = _open_source_length(source, media_frames, default_frames)

    if source.in_frame is not None:
        source_start = source.in_frame
    elif source.out_frame is not None:
        source_start = source.out_frame + 1 - length
        if source_start < 0:
            raise EditError(
                f"The edit needs {length} frames of source up to the out mark, but the media has only "
                f"{source.out_frame + 1} before it; move the source out mark later or shorten the timeline "
                "range."
            )
    else:
        source_start = 0
    if media_frames is not None and source_start + length > media_frames:
        raise EditError(
            f"The edit needs {length} frames of source from frame {source_start}, but the media has only "
            f"{media_frames - source_start} from there; move the source in mark earlier or shorten the "
            "timeline range."
        )

    if record.in_frame is not None:
        record_start = record.in_frame
    elif record.out_frame is not None:
        record_start = record.out_frame + 1 - length
        if record_start < 0:
            raise EditError(
                f"The {length}-frame edit ending at the timeline out mark would start before the timeline; "
                "move the out mark later or mark a shorter source range."
            )
    else:
        record_start = playhead
    return ThreePointEdit(source_start, length, record_start, length)


def _check_marks(marks: Marks, side: str) -> None:
    for name, frame in (("in", marks.in_frame), ("out", marks.out_frame)):
        if frame is not None and frame < 0:
            raise EditError(f"The {side} {name} mark is before the first frame; mark it again.")
    if marks.complete and marks.out_frame < marks.in_frame:  # type: ignore[operator]
        raise EditError(f"The {side} out mark is before its in mark; mark the range again.")


def _four_point(source: Marks, record: Marks, mode: str | None) -> ThreePointEdit:
    source_len, record_len = source.frames(), record.frames()
    assert source_len is not None and record_len is not None
    s_in, r_in = int(source.in_frame), int(record.in_frame)  # type: ignore[arg-type]
    if source_len == record_len:
        return ThreePointEdit(s_in, source_len, r_in, record_len)
    if mode is None:
        raise EditError(
            f"The source range is {source_len} frames and the timeline range {record_len}: choose fit to "
            "fill (a speed change) or trim to the shorter, or clear one of the four marks."
        )
    if mode == "fit":
        note = f"fit to fill: {source_len} source frames at {source_len / record_len:.0%} speed"
        return ThreePointEdit(s_in, source_len, r_in, record_len, note)
    length = min(source_len, record_len)
    cut = "source" if source_len > record_len else "timeline"
    note = f"trimmed the {cut} range to {length} frames (it was {max(source_len, record_len)})"
    return ThreePointEdit(s_in, length, r_in, length, note)


def _open_source_length(source: Marks, media_frames: int | None, default_frames: int | None) -> int:
    """The length of a source range with at most one mark and no record range to fix it."""
    if source.out_frame is not None:  # from the first frame to the out mark
        return source.out_frame + 1
    start = source.in_frame or 0
    if media_frames is None:
        if default_frames is None:
            raise EditError(
                "The media's length is unknown: mark a source out point, or mark in and out on the timeline."
            )
        return int(default_frames)
    return media_frames - start


# ------------------------------------------------------------------------------------ on a document
def media_length(doc: TimelineDocument, media_id: str) -> tuple[int | None, int | None]:
    """(``media_frames``, ``default_frames``) of a bin item for :func:`resolve`: its length at the timeline
    rate (None when unknown or a still) and, for a still, the length a still gets when placed."""
    item = doc.bin_item(media_id)
    if item.info is not None and item.info.still:
        from app.document.properties import still_frames

        return None, still_frames(doc.rate)
    return doc._media_frames(item), None


def resolve_for(
    doc: TimelineDocument,
    media_id: str,
    source: Marks,
    record: Marks,
    playhead: int,
    four_point: str | None = None,
) -> ThreePointEdit:
    """:func:`resolve` with the media's length read from the document's bin."""
    media_frames, default_frames = media_length(doc, media_id)
    return resolve(
        source,
        record,
        playhead=playhead,
        media_frames=media_frames,
        default_frames=default_frames,
        four_point=four_point,
    )


def place(
    doc: TimelineDocument,
    media_id: str,
    edit: ThreePointEdit,
    track_id: str,
    *,
    overwrite: bool,
    with_audio: bool = True,
) -> list[str]:
    """Make the edit on ``track_id`` (a video track: the media's sound goes to the audio track of the same
    number unless ``with_audio`` is False; sound-only media goes there too): an insert ripples the target
    tracks, an overwrite replaces what lies in the record range. Returns the new clip ids (video first).

    A fit to fill (``edit.source_frames != edit.record_frames``) places ``record_frames`` of timeline from
    the source in at speed ``edit.speed`` (video and its sound alike, so they stay in sync): the clip plays
    source frames ``source_start + floor(k * speed)`` for k in 0..record_frames-1: the first marked frame
    first, and the last one (slow motion) or one less than ``speed`` frames before it (fast) last.

    Raises:
        EditError: a fit to fill of a still (it has no frames to retime), sound-only media with its sound
            patched off (nothing would be placed), or the document refused.
    """
    info = doc.bin_item(media_id).info
    speed = 1.0
    if edit.source_frames != edit.record_frames:
        if info is not None and info.still:
            raise EditError("A still has no frames to fit; trim to the shorter range instead.")
        speed = edit.speed
    if not with_audio and info is not None and not info.has_video:
        raise EditError("The source has only sound and its sound is patched off; turn the audio target on.")
    rate = doc.rate
    at = RationalTime(edit.record_start, rate)
    # OTIO's convention for a retimed clip: source_range starts at the source in and lasts the time the clip
    # takes on the timeline; the LinearTimeWarp says how much media that covers.
    source_range = TimeRange(RationalTime(edit.source_start, rate), RationalTime(edit.record_frames, rate))
    method = doc.overwrite if overwrite else doc.insert
    return method(media_id, track_id, at, source_range, with_audio, speed=speed)


@dataclass(frozen=True)
class MatchFrame:
    """Where a timeline frame comes from: ``source_frame`` of ``media_id``, in a clip that uses its frames
    ``source_in`` .. ``source_out`` (included)."""

    clip_id: str
    media_id: str
    source_frame: int
    source_in: int
    source_out: int


def match_frame(doc: TimelineDocument, frame: int, prefer: list[str] | tuple[str, ...] = ()) -> MatchFrame:
    """The media frame shown at timeline ``frame``: a clip of ``prefer`` (the selection) under the frame
    first, else the topmost enabled video track's clip there, else the first audio clip there. Titles have
    no media and are skipped.

    Raises:
        EditError: no clip with media lies under ``frame``.
    """
    rate = doc.rate

    def covering(clip_ids) -> MatchFrame | None:
        for cid in clip_ids:
            try:
                clip = doc.clip(cid)
            except EditError:
                continue
            start, length = frames_of(clip.start, rate), frames_of(clip.duration, rate)
            if clip.media_id is None or not start <= frame < start + length:
                continue
            src = frames_of(clip.source_start, rate)
            used = source_frames_used(length, clip.speed)  # a retimed clip covers more or less media
            shown = src + source_offset(frame - start, clip.speed)
            return MatchFrame(clip.id, clip.media_id, shown, src, src + used - 1)
        return None

    found = covering(prefer)
    if found is not None:
        return found
    video = [t for t in reversed(doc.tracks(TrackKind.VIDEO)) if t.enabled]
    audio = doc.tracks(TrackKind.AUDIO)
    for track in (*video, *audio):
        found = covering(c.id for c in doc.clips(track.id))
        if found is not None:
            return found
    raise EditError("There is no clip under the playhead to match; move the playhead onto a clip.")
