"""Media: probing, decoding, thumbnails, waveforms, frame cache, timeline compositing.

The Qt-free core is exported here. The Qt workers (``ThumbnailProvider``, ``TimelinePlayer``) live in
``app.media.workers`` and are imported from there, so the CLI and headless code never load Qt.
"""

from app.media.audio import AudioReader, read_audio
from app.media.cache import FrameCache
from app.media.compositor import TimelineCompositor
from app.media.importer import import_files
from app.media.info import MediaInfo
from app.media.probe import probe_media
from app.media.reader import VideoReader
from app.media.thumbnails import thumbnail
from app.media.waveform import waveform_peaks

__all__ = [
    "AudioReader",
    "FrameCache",
    "MediaInfo",
    "TimelineCompositor",
    "VideoReader",
    "import_files",
    "probe_media",
    "read_audio",
    "thumbnail",
    "waveform_peaks",
]
