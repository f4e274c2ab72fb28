"""Playback resolution: which media (and where in it) sounds and shows at a timeline time. Qt-free.

Used by the viewer now and by export later, so both agree on dissolves and fades.
"""

from __future__ import annotations

import math

import opentimelineio as otio

from app.document.layout import NS, Dis, Seg, TrackLayout, plain, rt
from app.document.model import AudioSegment, VideoSample


def _path(seg: Seg) -> str:
    ref = seg.clip.media_reference
    return ref.target_url if isinstance(ref, otio.schema.ExternalReference) else ""


def source_offset(offset: int, speed: float) -> int:
    """The media frame (counted from the clip's source start) shown ``offset`` frames into a clip playing
    at ``speed`` (OTIO LinearTimeWarp.time_scalar): ``floor(offset * speed)`` -- nearest earlier frame, no
    frame blending. The epsilon keeps exact products (10 * 0.3) from falling a frame short."""
    if speed == 1.0:
        return offset
    return int(math.floor(offset * speed + 1e-6))


def source_frame(seg: Seg, frame: int) -> int:
    """The media frame a clip shows at timeline ``frame`` (held on the media's last frame past its end,
    which only a retimed clip trimmed longer than its media can reach)."""
    src = seg.src + source_offset(frame - seg.start, seg.speed)
    if seg.avail is not None and seg.speed != 1.0:
        src = min(src, seg.avail[1] - 1)
    return src


def _seconds(seg: Seg, frame: int, rate: float) -> float:
    return source_frame(seg, frame) / rate


def _dissolves_by_clip(layout: TrackLayout) -> tuple[dict[str, Dis], dict[str, Dis]]:
    """(dissolve at each clip's head, dissolve at each clip's tail)."""
    heads = {d.right: d for d in layout.dissolves}
    tails = {d.left: d for d in layout.dissolves}
    return heads, tails


def _transform(seg: Seg) -> dict | None:
    value = seg.clip.metadata[NS].get("transform")
    return None if value is None else plain(value)


def _title(seg: Seg) -> dict | None:
    value = seg.clip.metadata[NS].get("title")
    return None if value is None else plain(value)


def resolve_video(layouts: list[TrackLayout], frame: int, rate: float) -> VideoSample | None:
    """The sample of the first layout (top track first) with a picture clip at ``frame``.

    Inside a dissolve [cut - in, cut + out) the frame mixes both clips; the second clip's weight grows
    as (k + 1) / (d + 1) over the d frames, so no frame of the dissolve is a pure picture of either clip.
    Title clips above the picture are drawn over it (``overlays``); titles over nothing show on black
    (``path`` empty).
    """
    overlays: list[tuple[dict, float, float]] = []
    sample = _resolve_picture(layouts, frame, rate, overlays)
    if not overlays:
        return sample
    overlays.reverse()  # bottom first
    if sample is None:
        return VideoSample("", "", 0.0, overlays=tuple(overlays))
    return VideoSample(**{**sample.__dict__, "overlays": tuple(overlays)})


def _resolve_picture(
    layouts: list[TrackLayout], frame: int, rate: float, overlays: list[tuple[dict, float, float]]
) -> VideoSample | None:
    for layout in layouts:
        seg = layout.at(frame)
        if seg is None or not seg.clip.enabled:  # a disabled clip is transparent: the tracks below show
            continue
        title = _title(seg)
        if title is not None:
            overlays.append((title, (frame - seg.start) / rate, seg.dur / rate))
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
            if not (left.clip.enabled and right.clip.enabled):
                continue  # nothing to dissolve to: the enabled clip plays alone
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
                _transform(seg),
                _transform(other),
            )
        return VideoSample(seg.id, _path(seg), _seconds(seg, frame, rate), transform=_transform(seg))
    return None


def resolve_audio(
    layouts: list[TrackLayout], first: int, last: int, rate: float, track_db: list[float] | None = None
) -> list[AudioSegment]:
    """Every clip sounding in [first, last) frames, each extended by its crossfade handles.

    A segment's gain is its clip's gain plus its track's volume (``track_db``, one per layout); its
    fades are the crossfade at a dissolve or the clip's own fade, whichever is longer."""
    out: list[AudioSegment] = []
    for number, layout in enumerate(layouts):
        track_gain = track_db[number] if track_db else 0.0
        heads, tails = _dissolves_by_clip(layout)
        for seg in layout.segs:
            if not seg.clip.enabled:
                continue  # a disabled clip is silent
            head, tail = heads.get(seg.id), tails.get(seg.id)
            lead = head.in_frames if head else 0
            start = seg.start - lead
            end = seg.end + (tail.out_frames if tail else 0)
            if end <= first or start >= last:
                continue
            data = seg.clip.metadata[NS]
            # A clip's own fades, limited to its length (a trim after the fades were set may have made it
            # shorter than they are): the fade in keeps its share, the fade out gets what is left.
            own_in = min(max(int(data.get("fade_in", 0) or 0), 0), seg.dur)
            own_out = min(max(int(data.get("fade_out", 0) or 0), 0), seg.dur - own_in)
            fade_in = max(head.frames if head else 0, lead + own_in if own_in else 0)
            trail = end - seg.end
            fade_out = max(tail.frames if tail else 0, trail + own_out if own_out else 0)
            out.append(
                AudioSegment(
                    clip_id=seg.id,
                    path=_path(seg),
                    timeline_start=rt(start, rate),
                    source_seconds=(seg.src - lead * seg.speed) / rate,
                    duration=rt(end - start, rate),
                    fade_in=rt(fade_in, rate),
                    fade_out=rt(fade_out, rate),
                    gain_db=float(data.get("gain_db", 0.0)) + track_gain,
                    speed=seg.speed,
                )
            )
    out.sort(key=lambda s: s.timeline_start.value)
    return out
