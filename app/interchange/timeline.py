"""Small OTIO helpers shared by the writers and the reader: where clips sit, markers, provenance."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import opentimelineio as otio

from app.document.layout import NS, plain

RationalTime = otio.opentime.RationalTime
TimeRange = otio.opentime.TimeRange


def clips_with_ranges(track: otio.schema.Track) -> Iterator[tuple[otio.schema.Clip, TimeRange]]:
    """Each clip of ``track`` with its range on the track (transitions take no time; gaps do)."""
    cursor: RationalTime | None = None
    for item in track:
        if isinstance(item, otio.schema.Transition):
            continue
        duration = item.trimmed_range().duration
        start = cursor if cursor is not None else RationalTime(0, duration.rate)
        if isinstance(item, otio.schema.Clip):
            yield item, TimeRange(start, duration)
        cursor = start + duration


def clip_generation(clip: otio.schema.Clip) -> dict | None:
    data = clip.metadata.get(NS) or {}
    generation = data.get("generation")
    return plain(generation) if generation else None


def local_markers(
    clip: otio.schema.Clip, record: TimeRange, markers: Iterable[otio.schema.Marker]
) -> list[tuple[int, otio.schema.Marker]]:
    """Copies of the timeline ``markers`` that fall on ``clip`` (at ``record``), in the clip's source time
    (OTIO's convention for clip markers), with their index in ``markers``."""
    out = []
    source_start = clip.trimmed_range().start_time
    for index, marker in enumerate(markers):
        at = marker.marked_range.start_time
        if record.start_time <= at < record.end_time_exclusive():
            local = marker.deepcopy()
            local.marked_range = TimeRange(
                source_start + (at - record.start_time), marker.marked_range.duration
            )
            out.append((index, local))
    return out
