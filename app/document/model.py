"""Plain data the document hands out: track, clip, dissolve, marker and media-bin records.

These are snapshots (frozen dataclasses) of the OTIO timeline at the moment they were asked for; the
timeline itself stays the single source of truth. Qt-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import opentimelineio as otio

from app.media.info import MediaInfo

RationalTime = otio.opentime.RationalTime
TimeRange = otio.opentime.TimeRange


class TrackKind(StrEnum):
    """Track kinds; the values are OTIO's so a track's ``kind`` string maps straight onto this enum."""

    VIDEO = "Video"
    AUDIO = "Audio"

    @property
    def prefix(self) -> str:
        return "V" if self is TrackKind.VIDEO else "A"


@dataclass(frozen=True)
class TrackInfo:
    id: str
    kind: TrackKind
    name: str
    index: int  # position among the tracks of its kind, 0 = V1/A1 (bottom)
    enabled: bool
    volume_db: float = 0.0  # audio tracks: level change in dB
    mute: bool = False
    solo: bool = False
    locked: bool = False  # a locked track refuses every edit of its clips (the padlock in its header)


@dataclass(frozen=True)
class ClipInfo:
    id: str
    track_id: str
    media_id: str | None
    name: str
    start: RationalTime  # on the timeline
    duration: RationalTime
    source_start: RationalTime  # into the media, at the timeline rate
    available: TimeRange | None  # the media's extent at the timeline rate; None when unknown
    link_id: str | None
    generation: dict | None
    grade: dict | None = None  # app.color.Grade.to_dict(); None = ungraded
    gain_db: float = 0.0  # audio clips: level change in dB
    mask: dict | None = None  # inpainting mask: {"id": mask file id, "in": frame, "out": frame, ...}
    transform: dict | None = None  # app.media.transform.ClipTransform.to_dict(); None = fit
    fade_in: int = 0  # sound fade in, frames
    fade_out: int = 0  # sound fade out, frames
    title: dict | None = None  # a title clip's app.media.title.TitleSpec.to_dict() (no media)
    enabled: bool = True  # False: the clip shows and sounds as nothing (OTIO's Item.enabled)
    speed: float = 1.0  # constant retime (OTIO LinearTimeWarp.time_scalar): media frames per timeline frame

    @property
    def end(self) -> RationalTime:
        return self.start + self.duration


@dataclass(frozen=True)
class DissolveInfo:
    id: str
    left_id: str
    right_id: str
    cut: RationalTime  # where the left clip ends and the right one starts
    duration: RationalTime  # centred on the cut: duration // 2 before it, the rest after


@dataclass(frozen=True)
class Marker:
    id: str
    time: RationalTime
    name: str
    color: str
    note: str = ""  # OTIO's Marker.comment


@dataclass(frozen=True)
class DocumentChange:
    """What changed: ``kind`` in {"reset", "tracks", "clips", "bin", "markers"}; ``ids`` the touched ids."""

    kind: str
    ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class VideoSample:
    """What to show at one timeline frame: ``seconds`` into ``path``; during a dissolve ``mix`` names the
    other clip's picture and its weight (the shown frame is ``(1 - w) * this + w * mix``)."""

    clip_id: str
    path: str
    seconds: float
    mix: tuple[str, float, float] | None = None
    mix_clip_id: str | None = None  # the clip ``mix`` shows (for its grade)
    transform: dict | None = None  # how the picture sits in the frame (None: fit)
    mix_transform: dict | None = None
    # titles above the picture, bottom first: (title dict, seconds into the title clip, its length in s)
    overlays: tuple[tuple[dict, float, float], ...] = ()


@dataclass(frozen=True)
class AudioSegment:
    """One clip's sound on the timeline. ``timeline_start``/``duration`` include the handles a crossfade
    uses; ``fade_in``/``fade_out`` are linear ramps over the segment's first/last frames (0 when none)."""

    clip_id: str
    path: str
    timeline_start: RationalTime
    source_seconds: float  # where in the file the segment's first sample is
    duration: RationalTime
    fade_in: RationalTime
    fade_out: RationalTime
    gain_db: float = 0.0
    speed: float = 1.0  # a retimed clip's sound: duration * speed seconds resampled to fit (pitch moves)


@dataclass(frozen=True)
class MediaItem:
    """One entry of the media bin: a file the timeline can use.

    ``path`` is absolute in memory (the project layer maps it to/from a relative path). ``generation``
    holds the full parameters a generated clip was made with (model, checkpoint identity, prompt, seed,
    settings) so it can be regenerated; ``take_of`` points at the original of an inpainting take.
    """

    id: str
    path: str
    name: str
    info: MediaInfo | None = None
    generation: dict | None = None
    take_of: str | None = None
    take: int = 0
    kind: str = "imported"  # "imported" | "generated"
    extra: dict = field(default_factory=dict)  # room for later fields without a format change

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "path": self.path,
            "name": self.name,
            "info": None if self.info is None else self.info.to_dict(),
            "generation": self.generation,
            "take_of": self.take_of,
            "take": self.take,
            "kind": self.kind,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MediaItem:
        info = data.get("info")
        return cls(
            id=str(data["id"]),
            path=str(data["path"]),
            name=str(data.get("name", "")),
            info=None if info is None else MediaInfo.from_dict(dict(info)),
            generation=None if data.get("generation") is None else dict(data["generation"]),
            take_of=data.get("take_of"),
            take=int(data.get("take", 0)),
            kind=str(data.get("kind", "imported")),
            extra=dict(data.get("extra") or {}),
        )
