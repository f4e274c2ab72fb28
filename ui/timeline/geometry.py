"""Where things sit on the timeline: frames <-> scene x, tracks <-> scene rows.

Pure arithmetic (no widgets) so the scene items, the ruler, the headers and the gestures all agree on one
layout. Video tracks are stacked above audio tracks with the top video track drawn highest (V2, V1, A1, A2),
as in Premiere and Resolve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import opentimelineio as otio

VIDEO_ROW_HEIGHT = 64
AUDIO_ROW_HEIGHT = 48
ROW_GAP = 2  # a thin gutter between tracks makes the rows readable at a glance
DIVIDER_HEIGHT = 6  # between the video and the audio half
CLIP_MARGIN = 2  # vertical inset of a clip inside its track row

MIN_PIXELS_PER_FRAME = 0.02  # about 2 minutes of 24 fps material in 60 px
MAX_PIXELS_PER_FRAME = 64.0


@dataclass(frozen=True)
class TrackRow:
    """One track as drawn: its id, kind ("video"/"audio"), name, enabled flag, vertical extent, lock."""

    track_id: str
    kind: str
    name: str
    enabled: bool
    top: float
    height: float
    locked: bool = False  # edits of its clips are refused (the padlock in the header)

    @property
    def bottom(self) -> float:
        return self.top + self.height

    @property
    def is_video(self) -> bool:
        return self.kind == "video"


def kind_name(kind: object) -> str:
    """TrackKind may be an enum (VIDEO/AUDIO, values "Video"/"Audio" as OTIO's) or a string: normalise it."""
    text = str(getattr(kind, "value", kind)).lower()
    return "audio" if "audio" in text else "video"


def layout_rows(tracks: list) -> list[TrackRow]:
    """Rows top to bottom from the document's TrackInfo list (ordered bottom -> top per kind)."""
    video = [t for t in tracks if kind_name(t.kind) == "video"]
    audio = [t for t in tracks if kind_name(t.kind) == "audio"]
    rows: list[TrackRow] = []
    y = 0.0
    for track in reversed(video):  # top video track first
        locked = bool(getattr(track, "locked", False))
        rows.append(TrackRow(track.id, "video", track.name, bool(track.enabled), y, VIDEO_ROW_HEIGHT, locked))
        y += VIDEO_ROW_HEIGHT + ROW_GAP
    y += DIVIDER_HEIGHT
    for track in audio:  # A1 right under the divider
        locked = bool(getattr(track, "locked", False))
        rows.append(TrackRow(track.id, "audio", track.name, bool(track.enabled), y, AUDIO_ROW_HEIGHT, locked))
        y += AUDIO_ROW_HEIGHT + ROW_GAP
    return rows


def rows_height(rows: list[TrackRow]) -> float:
    return max((row.bottom for row in rows), default=0.0) + ROW_GAP


def row_at(rows: list[TrackRow], y: float, kind: str | None = None) -> TrackRow | None:
    """The row under scene y; with `kind`, the nearest row of that kind (a drop slightly off still lands)."""
    candidates = [row for row in rows if kind is None or row.kind == kind]
    for row in candidates:
        if row.top <= y < row.bottom + ROW_GAP:
            return row
    if kind is None or not candidates:
        return None
    return min(candidates, key=lambda row: min(abs(y - row.top), abs(y - row.bottom)))


def to_frames(time: otio.opentime.RationalTime, rate: float) -> int:
    """A RationalTime as whole frames at the timeline rate (edit math is whole frames)."""
    return int(round(time.rescaled_to(rate).value))


def frame_time(frame: int, rate: float) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(int(frame), rate)


def clamp_pixels_per_frame(value: float) -> float:
    if not math.isfinite(value):
        return 1.0
    return min(MAX_PIXELS_PER_FRAME, max(MIN_PIXELS_PER_FRAME, float(value)))


def timecode(frame: int, rate: float) -> str:
    """HH:MM:SS:FF at the nominal rate (23.976 counts 24 frames a second, non-drop, as editors show it)."""
    fps = max(1, int(round(rate)))
    frame = max(0, int(frame))
    seconds, frames = divmod(frame, fps)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}:{frames:02d}"


def tick_step(pixels_per_frame: float, rate: float, min_spacing_px: float = 90.0) -> int:
    """Frames between labelled ruler ticks: the smallest "nice" step whose labels do not collide."""
    fps = max(1, int(round(rate)))
    nice = [1, 2, 5, 10]
    nice += [fps * s for s in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)]
    for step in nice:
        if step * pixels_per_frame >= min_spacing_px:
            return step
    return nice[-1]
