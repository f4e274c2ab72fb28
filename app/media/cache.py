"""A thread-safe LRU cache of decoded frames, bounded by a frame count and a byte budget (Qt-free).

The player's decode thread fills it around the playhead while the UI thread may read it; one lock guards
the ordered dict, arrays are stored as given (treat them as read-only).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

import numpy as np

DEFAULT_MAX_BYTES = 768 * 1024 * 1024  # ~90 frames of 1080p RGB; a few seconds around the playhead


class FrameCache:
    """LRU keyed by ``(path, index)`` (any hashable key works); evicts the least recently used first."""

    def __init__(self, max_frames: int = 512, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_frames < 1 or max_bytes < 1:
            raise ValueError("a frame cache needs room for at least one frame")
        self.max_frames = max_frames
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> np.ndarray | None:
        with self._lock:
            frame = self._items.get(key)
            if frame is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return frame

    def put(self, key: Hashable, frame: np.ndarray) -> None:
        """Store ``frame`` (not copied); a frame larger than the whole budget is not kept."""
        if frame.nbytes > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            self._items[key] = frame
            self._bytes += frame.nbytes
            while len(self._items) > self.max_frames or self._bytes > self.max_bytes:
                _key, evicted = self._items.popitem(last=False)
                self._bytes -= evicted.nbytes

    def discard_path(self, path: str) -> None:
        """Forget every frame of ``path`` (the file changed on disk or was relinked)."""
        with self._lock:
            for key in [k for k in self._items if isinstance(k, tuple) and k and k[0] == path]:
                self._bytes -= self._items.pop(key).nbytes

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        return self._bytes
