"""What the timeline looks and sounds like at any moment: frames and mixed audio from the document.

The document answers *which* source frame and sound belong where (``video_at``, ``audio_segments``); this
module decodes them and composes the result: the top track's picture (a dissolve mixes two) letterboxed to
the project frame size, black where there is no clip, and the audio tracks summed with their fades.

A compositor keeps decoders open per thread that uses it (FFmpeg contexts are thread-confined); the frame
cache it is given may be shared between threads.
"""

from __future__ import annotations

import math
import threading
from typing import TYPE_CHECKING

import numpy as np
from opentimelineio.opentime import RationalTime
from PIL import Image

from app.errors import MediaError
from app.media.audio import AudioReader
from app.media.cache import FrameCache
from app.media.info import MediaInfo
from app.media.probe import probe_media
from app.media.reader import VideoReader

if TYPE_CHECKING:
    from app.document import AudioSegment, TimelineDocument, VideoSample

DEFAULT_SIZE = (1280, 720)  # an empty timeline still has a frame to show


class TimelineCompositor:
    """Renders timeline frames as RGB uint8 ``[H, W, 3]`` and audio as float32 ``[2, N]``."""

    def __init__(
        self,
        doc: TimelineDocument,
        frame_cache: FrameCache | None = None,
        size: tuple[int, int] | None = None,
    ) -> None:
        self.doc = doc
        self.cache = frame_cache if frame_cache is not None else FrameCache(max_frames=64)
        self._size = size
        self._infos: dict[str, MediaInfo] = {}
        self._local = threading.local()  # per-thread {path: VideoReader}, {path: AudioReader}

    # ------------------------------------------------------------------------------------------ picture
    def frame_size(self) -> tuple[int, int]:
        """(width, height): the given size, else that of the first video clip's media, else 1280 x 720."""
        if self._size is not None:
            return self._size
        from app.document import TrackKind

        for track in self.doc.tracks(TrackKind.VIDEO):
            for clip in self.doc.clips(track.id):
                if clip.media_id is None:
                    continue
                try:
                    info = self.doc.bin_item(clip.media_id).info
                except Exception:  # noqa: BLE001 - a clip whose media left the bin has no size to offer
                    continue
                if info is not None and info.has_video and info.width and info.height:
                    return info.width, info.height
        return DEFAULT_SIZE

    def frame_at(self, t: RationalTime | int) -> np.ndarray:
        """The picture at timeline time ``t`` (a RationalTime, or a frame number at the timeline rate)."""
        when = t if isinstance(t, RationalTime) else RationalTime(int(t), self.doc.rate)
        return self.frame_for(self.doc.video_at(when), self.frame_size())

    def frame_for(self, sample: VideoSample | None, size: tuple[int, int]) -> np.ndarray:
        """The picture for an already resolved ``sample`` (the player resolves on the UI thread, which owns
        the document, and decodes here on its worker thread)."""
        width, height = size
        if sample is None:
            return np.zeros((height, width, 3), np.uint8)
        picture = self._fitted(sample.path, sample.seconds, width, height)
        if sample.mix is not None:
            path_b, seconds_b, weight = sample.mix
            other = self._fitted(path_b, seconds_b, width, height)
            mixed = picture.astype(np.float32) * (1.0 - weight) + other.astype(np.float32) * weight
            picture = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
        return picture

    def source_frame(self, path: str, seconds: float) -> np.ndarray:
        """The file's frame shown at ``seconds`` into it (``floor(seconds * fps)``), through the cache."""
        info = self._info(path)
        index = math.floor(seconds * float(info.fps or 24) + 1e-9)
        index = min(max(index, 0), max(info.frame_count - 1, 0))
        key = (path, index)
        frame = self.cache.get(key)
        if frame is None:
            frame = self._video_reader(path).frame(index)
            frame.setflags(write=False)
            self.cache.put(key, frame)
        return frame

    def _fitted(self, path: str, seconds: float, width: int, height: int) -> np.ndarray:
        try:
            source = self.source_frame(path, seconds)
        except MediaError:
            # A missing or broken file shows as black here; the bin and the timeline flag it to the user.
            return np.zeros((height, width, 3), np.uint8)
        return letterbox(source, width, height)

    # -------------------------------------------------------------------------------------------- sound
    def audio(self, start: RationalTime | float, end: RationalTime | float, rate: int = 48000) -> np.ndarray:
        """Every enabled audio track mixed over [start, end) (seconds or RationalTime), float32 ``[2, N]``."""
        start_s = start.to_seconds() if isinstance(start, RationalTime) else float(start)
        end_s = end.to_seconds() if isinstance(end, RationalTime) else float(end)
        count = max(round((end_s - start_s) * rate), 0)
        out = np.zeros((2, count), np.float32)
        if count == 0:
            return out
        tl_rate = self.doc.rate
        segments = self.doc.audio_segments(
            RationalTime(start_s * tl_rate, tl_rate), RationalTime(end_s * tl_rate, tl_rate)
        )
        return self.audio_for(segments, start_s, end_s, rate)

    def audio_for(self, segments: list[AudioSegment], start_s: float, end_s: float, rate: int) -> np.ndarray:
        """Mix already resolved ``segments`` over [start_s, end_s) seconds of the timeline."""
        count = max(round((end_s - start_s) * rate), 0)
        out = np.zeros((2, count), np.float32)
        for seg in segments:
            seg_start = seg.timeline_start.to_seconds()
            seg_end = seg_start + seg.duration.to_seconds()
            lo, hi = max(start_s, seg_start), min(end_s, seg_end)
            first = round((lo - start_s) * rate)
            n = min(round((hi - start_s) * rate), count) - first
            if n <= 0:
                continue
            try:
                sound = self._audio_reader(seg.path, rate).read(
                    seg.source_seconds + (lo - seg_start), n / rate
                )
            except MediaError:
                continue  # missing media is silent, as it is black in the picture
            times = lo + np.arange(n) / rate - seg_start  # seconds into the segment
            gain = np.ones(n, np.float32)
            fade_in, fade_out = seg.fade_in.to_seconds(), seg.fade_out.to_seconds()
            if fade_in > 0:
                gain *= np.clip(times / fade_in, 0.0, 1.0)
            if fade_out > 0:
                gain *= np.clip((seg_end - seg_start - times) / fade_out, 0.0, 1.0)
            out[:, first : first + n] += sound[:, :n] * gain
        np.clip(out, -1.0, 1.0, out=out)
        return out

    def close(self) -> None:
        """Close the decoders the calling thread opened."""
        for readers in (getattr(self._local, "video", {}), getattr(self._local, "audio", {})):
            for reader in readers.values():
                reader.close()
            readers.clear()

    # --------------------------------------------------------------------------------------- internals
    def _info(self, path: str) -> MediaInfo:
        info = self._infos.get(path)
        if info is None:
            info = self._infos[path] = probe_media(path)
        return info

    def _video_reader(self, path: str) -> VideoReader:
        readers = self._local.__dict__.setdefault("video", {})
        reader = readers.get(path)
        if reader is None:
            reader = readers[path] = VideoReader(path, self._info(path))
        return reader

    def _audio_reader(self, path: str, rate: int) -> AudioReader:
        readers = self._local.__dict__.setdefault("audio", {})
        reader = readers.get((path, rate))
        if reader is None:
            reader = readers[(path, rate)] = AudioReader(path, rate)
        return reader


def letterbox(source: np.ndarray, width: int, height: int) -> np.ndarray:
    """``source`` scaled to fit ``width`` x ``height`` keeping its aspect, centred on black."""
    src_h, src_w = source.shape[:2]
    if (src_w, src_h) == (width, height):
        return source
    scale = min(width / src_w, height / src_h)
    fit_w, fit_h = max(1, round(src_w * scale)), max(1, round(src_h * scale))
    scaled = np.asarray(Image.fromarray(source).resize((fit_w, fit_h), Image.Resampling.BILINEAR))
    out = np.zeros((height, width, 3), np.uint8)
    x0, y0 = (width - fit_w) // 2, (height - fit_h) // 2
    out[y0 : y0 + fit_h, x0 : x0 + fit_w] = scaled
    return out
