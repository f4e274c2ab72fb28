"""Playback resolution: which media (and where in it) sounds and shows at a timeline time. Qt-free.

Used by the viewer now and by export later, so both agree on dissolves and fades.
"""

from __future__ import annotations

import opentimelineio as otio

from app.document.layout import NS, Dis, Seg, TrackLayout, rt
from app.document.model import AudioSegment, VideoSample


def _path(seg: Seg) -> str:
    ref = seg.clip.media_reference
    return ref.target_url if isinstance(ref, otio.schema.ExternalReference) else ""


def _seconds(seg: Seg, frame: int, rate: float) -> float:
    return (seg.src + frame - seg.start) / rate


def _dissolves_by_clip(layout: TrackLayout) -> tuple[dict[str, Dis], dict[str, Dis]]:
    """(dissolve at each clip's head, dissolve at each clip's tail)."""
    heads = {d.right: d for d in layout.dissolves}
    tails = {d.left: d for d in layout.dissolves}
    return heads, tails


def resolve_video(layouts: list[TrackLayout], frame: int, rate: float) -> VideoSample | None:
    """The sample of the first layout (top track first) with a clip at ``frame``.

    Inside a dissolve [cut - in, cut + out) the frame mixes both clips; the second clip's weight grows
    as (k + 1) / (d + 1) over the d frames, so no frame of the dissolve is a pure picture of either clip.
    """
    for layout in layouts:
        seg = layout.at(frame)
        if seg is None:
            continue
        heads, tails = _dissolves_by_clip(layout)
        by_id = {s.id: s for s in layout.segs}
        for dis, left_id, right_id in (
            (tails.get(seg.id), seg.id, None),
            (heads.get(seg.id), None, seg.id),
        ):
            if dis is None:
                continue
            left = by_id[left_id or dis.left]
            right = by_id[right_id or dis.right]
            cut = left.end
            first = cut - dis.in_frames
            if not first <= frame < cut + dis.out_frames:
                continue
            weight_right = (frame - first + 1) / (dis.frames + 1)
            other, weight = (right, weight_right) if seg is left else (left, 1.0 - weight_right)
            return VideoSample(
                seg.id,
                _path(seg),
                _seconds(seg, frame, rate),
                (_path(other), _seconds(other, frame, rate), weight),
                other.id,
            )
        return VideoSample(seg.id, _path(seg), _seconds(seg, frame, rate))
    return None


def resolve_audio(layouts: list[TrackLayout], first: int, last: int, rate: float) -> list[AudioSegment]:
    """Every clip sounding in [first, last) frames, each extended by its crossfade handles."""
    out: list[AudioSegment] = []
    for layout in layouts:
        heads, tails = _dissolves_by_clip(layout)
        for seg in layout.segs:
            head, tail = heads.get(seg.id), tails.get(seg.id)
            lead = head.in_frames if head else 0
            start = seg.start - lead
            end = seg.end + (tail.out_frames if tail else 0)
            if end <= first or start >= last:
                continue
            out.append(
                AudioSegment(
                    clip_id=seg.id,
                    path=_path(seg),
                    timeline_start=rt(start, rate),
                    source_seconds=(seg.src - lead) / rate,
                    duration=rt(end - start, rate),
                    fade_in=rt(head.frames if head else 0, rate),
                    fade_out=rt(tail.frames if tail else 0, rate),
                    gain_db=float(seg.clip.metadata[NS].get("gain_db", 0.0)),
                )
            )
    out.sort(key=lambda s: s.timeline_start.value)
    return out
