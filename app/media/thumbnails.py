"""Small RGB pictures of video frames for the media bin and the timeline, cached in memory (Qt-free).

Entries are keyed by ``(path, index, height, mtime_ns)``: a file rewritten on disk gets new thumbnails.
Computing one opens its own reader, so it is safe on any worker thread; the cache is shared and locked.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Hashable
from pathlib import Path

import numpy as np
from PIL import Image

from app.errors import MediaError
from app.media.probe import probe_media
from app.media.reader import VideoReader

MAX_ENTRIES = 4096  # ~ 4096 x 128 x 72 x 3 bytes = 113 MB at most


class MemoryCache:
    """A small locked LRU dict, shared by the thumbnail and waveform caches."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> object | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: object) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


_THUMBNAILS = MemoryCache(MAX_ENTRIES)
_INFOS = MemoryCache(1024)  # probing Matroska counts packets: do it once per file, not per thumbnail


def file_key(path: str | os.PathLike[str]) -> tuple[str, int]:
    """(absolute path, mtime_ns): what identifies a file's current contents for the caches."""
    file = Path(os.fspath(path)).resolve()
    try:
        return str(file), file.stat().st_mtime_ns
    except OSError as exc:
        raise MediaError(f"'{file.name}' was not found; relink it to a file that exists.") from exc


def thumbnail_key(path: str | os.PathLike[str], index: int = 0, height: int = 72) -> tuple:
    resolved, mtime = file_key(path)
    return (resolved, int(index), int(height), mtime)


def cached_thumbnail(path: str | os.PathLike[str], index: int = 0, height: int = 72) -> np.ndarray | None:
    """The thumbnail if it was computed before (never decodes; cheap enough for the UI thread)."""
    try:
        return _THUMBNAILS.get(thumbnail_key(path, index, height))  # type: ignore[return-value]
    except MediaError:
        return None


def thumbnail(path: str | os.PathLike[str], index: int = 0, height: int = 72) -> np.ndarray:
    """Frame ``index`` (clamped to the clip) scaled to ``height`` pixels high, RGB uint8 ``[h, w, 3]``.

    Raises:
        MediaError: the file is missing, has no video, or cannot be decoded.
    """
    key = thumbnail_key(path, index, height)
    cached = _THUMBNAILS.get(key)
    if cached is not None:
        return cached  # type: ignore[return-value]
    info_key = (key[0], key[3])
    info = _INFOS.get(info_key)
    if info is None:
        info = probe_media(key[0])
        _INFOS.put(info_key, info)
    with VideoReader(key[0], info) as reader:  # type: ignore[arg-type]
        # ``index`` counts frames at the file's (average) rate; by time, so variable-rate files show the
        # frame presented then
        rgb = reader.frame(reader.index_at(max(index, 0) / float(info.fps or 24)))
    src_h, src_w = rgb.shape[:2]
    width = max(1, round(src_w * height / src_h))
    small = np.asarray(Image.fromarray(rgb).resize((width, height), Image.Resampling.BILINEAR))
    small.setflags(write=False)  # shared between callers
    _THUMBNAILS.put(key, small)
    return small


def clear_thumbnails() -> None:
    _THUMBNAILS.clear()
