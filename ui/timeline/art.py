"""Thumbnails and waveforms for clip items, fetched lazily through app.media's ThumbnailProvider.

An item asks while painting; a miss sends one request to the provider (which decodes on its thread pool)
and remembers which items wanted it, and when the picture arrives only those items repaint. Nothing is
decoded on the UI thread. The provider caches too; the small cache here saves converting the same key and
keeps painting free of signal round trips.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QGraphicsItem

WAVE_BUCKETS_PER_SECOND = 200  # 1 bucket per 5 ms: detail enough to zoom to single frames at 24 fps
MAX_WAVE_BUCKETS = 400_000
MAX_THUMBNAILS = 1500


class ClipArt(QObject):
    """Caches the provider's answers for the timeline and repaints the items that are waiting for them."""

    def __init__(self, provider: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._provider = provider
        self._thumbs: OrderedDict[tuple, QImage] = OrderedDict()
        self._waves: dict[str, np.ndarray] = {}
        self._waiting: dict[tuple, list[QGraphicsItem]] = {}
        provider.ready.connect(self._on_thumbnail)
        provider.waveform_ready.connect(self._on_waveform)

    def thumbnail(self, path: str, index: int, height: int, item: QGraphicsItem) -> QImage | None:
        key = ("thumb", path, int(index), int(height))
        image = self._thumbs.get(key)
        if image is not None:
            self._thumbs.move_to_end(key)
            return image
        if key not in self._waiting:
            # The provider answers at once when it has the picture cached, else later through `ready`.
            image = self._provider.request_thumbnail(path, int(index), int(height))
            if image is not None and not image.isNull():
                self._store(key, image)
                return image
        self._wait(key, item)
        return None

    def waveform(self, path: str, seconds: float, item: QGraphicsItem) -> np.ndarray | None:
        peaks = self._waves.get(path)
        if peaks is not None:
            return peaks
        key = ("wave", path)
        if key not in self._waiting:
            buckets = int(min(MAX_WAVE_BUCKETS, max(1, round(seconds * WAVE_BUCKETS_PER_SECOND))))
            peaks = self._provider.request_waveform(path, buckets)
            if peaks is not None:
                self._waves[path] = np.asarray(peaks, dtype=np.float32).reshape(-1, 2)
                return self._waves[path]
        self._wait(key, item)
        return None

    def _wait(self, key: tuple, item: QGraphicsItem) -> None:
        """Remember who wants `key`; a key stays here until it arrives (or forever if it failed: no retries
        of a file that cannot be read on every repaint)."""
        waiting = self._waiting.setdefault(key, [])
        if item not in waiting:
            waiting.append(item)

    def _store(self, key: tuple, image: QImage) -> None:
        self._thumbs[key] = image
        while len(self._thumbs) > MAX_THUMBNAILS:
            self._thumbs.popitem(last=False)

    def _on_thumbnail(self, key: object, image: QImage) -> None:
        ours = self._key_for_thumbnail(key)
        if ours is None or image is None or image.isNull():
            return
        self._store(ours, image)
        self._repaint(ours)

    def _on_waveform(self, key: object, peaks: object) -> None:
        path = self._path_for_waveform(key)
        if path is None or peaks is None:
            return
        self._waves[path] = np.asarray(peaks, dtype=np.float32).reshape(-1, 2)
        self._repaint(("wave", path))

    def _key_for_thumbnail(self, key: object) -> tuple | None:
        """The provider's key is (path, index, height) (see app.media.workers); anything else is not ours."""
        if isinstance(key, tuple) and len(key) >= 3:
            return ("thumb", str(key[0]), int(key[1]), int(key[2]))
        return None

    def _path_for_waveform(self, key: object) -> str | None:
        if isinstance(key, tuple) and key:
            return str(key[0])
        return str(key) if isinstance(key, str) else None

    def _repaint(self, key: tuple) -> None:
        for item in self._waiting.pop(key, []):
            try:
                if item.scene() is not None:
                    item.update()
            except RuntimeError:  # the item was deleted by a rebuild in the meantime
                continue
