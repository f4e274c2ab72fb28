"""Shared by the timeline view tests: bin items without files, time helpers, a view at a known zoom, and
where a frame of a track sits in the viewport."""

from __future__ import annotations

from fractions import Fraction

import opentimelineio as otio
from PySide6.QtCore import QPoint, QPointF
from PySide6.QtGui import QUndoStack

from app.document import MediaItem, TimelineDocument
from app.media.info import MediaInfo
from ui.timeline_view import TimelineView

RATE = 24
PPF = 4.0  # pixels per frame in these tests: 8 px of snapping = 2 frames


def fake_media(
    doc: TimelineDocument, name: str, frames: int = 240, audio: bool = False, video: bool = True
) -> str:
    """A bin item with believable MediaInfo and no file behind it: enough for layout and edits."""
    info = MediaInfo(
        path=f"/nonexistent/{name}.mp4",
        container="mp4",
        has_video=video,
        has_audio=audio,
        width=64 if video else 0,
        height=48 if video else 0,
        fps=Fraction(RATE) if video else None,
        frame_count=frames if video else 0,
        video_codec="h264" if video else None,
        pix_fmt="yuv420p" if video else None,
        audio_codec="aac" if audio else None,
        sample_rate=48000 if audio else 0,
        channels=2 if audio else 0,
        audio_samples=frames * 48000 // RATE if audio else 0,
    )
    return doc.add_bin_item(MediaItem(id=f"m-{name}", path=info.path, name=name, info=info))


def fake_still(doc: TimelineDocument, name: str) -> str:
    """A still picture in the bin (``MediaInfo.still``), no file behind it."""
    info = MediaInfo(
        path=f"/nonexistent/{name}.png", container="png_pipe", has_video=True, has_audio=False, width=64,
        height=48, still=True,
    )  # fmt: skip
    return doc.add_bin_item(MediaItem(id=f"m-{name}", path=info.path, name=name, info=info))


def rt(frames: int) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(frames, RATE)


def span(start: int, duration: int) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(rt(start), rt(duration))


def frames(t: otio.opentime.RationalTime) -> int:
    return int(round(t.rescaled_to(RATE).value))


def track_id(doc: TimelineDocument, name: str) -> str:
    return next(t.id for t in doc.tracks() if t.name == name)


def make_view(qtbot, doc: TimelineDocument, stack: QUndoStack, size: tuple[int, int]) -> TimelineView:  # noqa: ANN001
    widget = TimelineView(doc, stack)
    qtbot.addWidget(widget)
    widget.resize(*size)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_pixels_per_frame(PPF)
    widget.horizontalScrollBar().setValue(0)
    return widget


def point(view: TimelineView, frame: float, track: str, dy: float = 0.0) -> QPoint:
    """Viewport position of `frame` in the middle of the row of the track named `track` (plus dy)."""
    view.clip_item("")  # bring the scene up to date first
    row = next(r for r in view.rows() if r.name == track)
    return view.mapFromScene(QPointF(frame * view.pixels_per_frame(), row.top + row.height / 2 + dy))
