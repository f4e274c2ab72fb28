"""The project's timeline document: an OTIO timeline behind a façade with stable ids and undoable edits.

Qt-free; ``app.document.qt`` bridges change notifications to Qt signals.
"""

from app.document.document import TimelineDocument
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

__all__ = [
    "AudioSegment",
    "ClipInfo",
    "DissolveInfo",
    "DocumentChange",
    "Marker",
    "MediaItem",
    "TimelineDocument",
    "TrackInfo",
    "TrackKind",
    "VideoSample",
]
