"""What the timeline looks and sounds like at any moment: frames and mixed audio from the document.

The document answers *which* source frame and sound belong where (``video_at``, ``audio_segments``); this
module decodes them and composes the result: the top track's picture (a dissolve mixes two) letterboxed to
the project frame size, black where there is no clip, and the audio tracks summed with their fades.

Grading happens here, so the viewer and the export get the same pixels: each clip's picture goes through
its grade (``app.color.GradePipeline.render``, from ``doc.color_settings()``) at its own resolution,
*before* a dissolve mixes it with the other clip's graded picture and before it is fitted to the frame.
``graded = False`` skips grading (the viewer's A/B compare). ``frame_at`` (uint8, the viewer) shows a clip
whose grade cannot be applied ungraded and records why in ``grade_errors``; ``frame_at_float`` (float32
from 16-bit decodes, the export) raises the ColorError instead, so an export never silently drops a grade.

A compositor keeps decoders open per thread that uses it (FFmpeg contexts are thread-confined); the frame
cache it is given may be shared between threads.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from opentimelineio.opentime import RationalTime
from PIL import Image

from app.color import GradePipeline
from app.errors import ColorError, MediaError
from app.media.audio import AudioReader
from app.media.cache import FrameCache
from app.media.info import MediaInfo
from app.media.levels import segment_gain
from app.media.probe import probe_media
from app.media.reader import VideoReader
from app.media.title import composite
from app.media.transform import place

if TYPE_CHECKING:
    from app.document import AudioSegment, TimelineDocument, VideoSample

DEFAULT_SIZE = (1280, 720)  # an empty timeline still has a frame to show


class TimelineCompositor:
    """Renders timeline frames as graded RGB uint8 ``[H, W, 3]`` (viewer) or float32 (export) and audio as
    float32 ``[2, N]``."""

    def __init__(
        self,
        doc: TimelineDocument,
        frame_cache: FrameCache | None = None,
        size: tuple[int, int] | None = None,
    ) -> None:
        self.doc = doc
        self.cache = frame_cache if frame_cache is not None else FrameCache(max_frames=64)
        self._size = size
        self._seq_size: tuple[int, int] | None = None
        self._infos: dict[str, MediaInfo] = {}
        self._local = threading.local()  # per-thread {path: VideoReader}, {path: AudioReader}
        self.graded = True  # False: pictures as decoded (the viewer's ungraded side of A/B)
        self.grade_errors: dict[str, str] = {}  # clip id -> why its grade is not shown (viewer path)
        self._pipeline: GradePipeline | None = None
        self._pipeline_key: str | None = None
        self._pipeline_lock = threading.Lock()

    # ------------------------------------------------------------------------------------------ picture
    def frame_size(self) -> tuple[int, int]:
        """(width, height): the given size, else the sequence settings' (``doc.sequence_settings()``)."""
        if self._size is not None:
            return self._size
        self._seq_size = self.doc.sequence_settings().size  # read here, on the document's thread
        return self._seq_size

    def frame_at(self, t: RationalTime | int) -> np.ndarray:
        """The picture at timeline time ``t`` (a RationalTime, or a frame number at the timeline rate)."""
        sample = self.doc.video_at(self._when(t))
        return self.frame_for(sample, self.frame_size(), self.grades_for(sample), self.doc.color_settings())

    def frame_at_float(self, t: RationalTime | int) -> np.ndarray:
        """The picture at ``t`` as float32 ``[H, W, 3]`` (0..1, graded values may leave that range), decoded
        at 16 bits per channel: what the export encodes.

        Raises:
            ColorError: a visible clip's grade cannot be applied (missing LUT, unknown space...).
        """
        width, height = self.frame_size()
        sample = self.doc.video_at(self._when(t))
        if sample is None:
            return np.zeros((height, width, 3), np.float32)
        pipeline = self.pipeline(self.doc.color_settings()) if self.graded else None
        grades = self.grades_for(sample)
        picture = self._fitted_float(
            sample.path, sample.seconds, width, height, pipeline, grades.get(sample.clip_id), sample.transform
        )
        if sample.mix is not None:
            path_b, seconds_b, weight = sample.mix
            grade_b = grades.get(sample.mix_clip_id) if sample.mix_clip_id else None
            other = self._fitted_float(
                path_b, seconds_b, width, height, pipeline, grade_b, sample.mix_transform
            )
            picture = picture * np.float32(1.0 - weight) + other * np.float32(weight)
        return composite(picture, sample.overlays, width, height)

    def frame_for(
        self,
        sample: VideoSample | None,
        size: tuple[int, int],
        grades: Mapping[str, Any] | None = None,
        color: Mapping[str, Any] | None = None,
    ) -> np.ndarray:
        """The picture for an already resolved ``sample`` (the player resolves on the UI thread, which owns
        the document, and decodes here on its worker thread). ``grades`` ({clip id: grade dict}, from
        :meth:`grades_for`) and ``color`` (``doc.color_settings()``) should be read on the document's thread
        too; when left None they are read from the document here."""
        width, height = size
        if sample is None:
            return np.zeros((height, width, 3), np.uint8)
        if grades is None:
            grades = self.grades_for(sample)
        pipeline = self._viewer_pipeline(color) if self.graded else None
        picture = self._fitted(
            sample.path, sample.seconds, width, height, pipeline, sample.clip_id, grades, sample.transform
        )
        if sample.mix is not None:
            path_b, seconds_b, weight = sample.mix
            other = self._fitted(
                path_b, seconds_b, width, height, pipeline, sample.mix_clip_id, grades, sample.mix_transform
            )
            mixed = picture.astype(np.float32) * (1.0 - weight) + other.astype(np.float32) * weight
            picture = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
        return composite(picture, sample.overlays, width, height)

    # ------------------------------------------------------------------------------------------ grading
    def grades_for(self, sample: VideoSample | None) -> dict[str, dict | None]:
        """{clip id: grade dict or None} for the clips ``sample`` shows (read on the document's thread)."""
        if sample is None:
            return {}
        ids = [sample.clip_id] + ([sample.mix_clip_id] if sample.mix_clip_id else [])
        grades: dict[str, dict | None] = {}
        for clip_id in ids:
            if not clip_id:  # a title over nothing
                continue
            try:
                grades[clip_id] = self.doc.clip(clip_id).grade
            except Exception:  # noqa: BLE001 - a clip edited away meanwhile shows ungraded
                grades[clip_id] = None
        return grades

    def pipeline(self, color: Mapping[str, Any] | None = None) -> GradePipeline:
        """The grading pipeline for ``color`` (default: the document's settings); rebuilt when they change.

        Raises:
            ColorError: the settings cannot be used (unreadable config, unknown space...).
        """
        settings = dict(self.doc.color_settings() if color is None else color)
        key = json.dumps(settings, sort_keys=True)
        with self._pipeline_lock:
            if self._pipeline is not None and self._pipeline_key == key:
                return self._pipeline
        pipeline = GradePipeline(settings)
        with self._pipeline_lock:
            self._pipeline, self._pipeline_key = pipeline, key
        return pipeline

    def _viewer_pipeline(self, color: Mapping[str, Any] | None) -> GradePipeline | None:
        try:
            pipeline = self.pipeline(color)
        except ColorError as exc:
            self.grade_errors["*"] = str(exc)
            return None
        self.grade_errors.pop("*", None)
        return pipeline

    def _graded_uint8(
        self,
        source: np.ndarray,
        pipeline: GradePipeline | None,
        clip_id: str | None,
        grades: Mapping[str, Any],
    ) -> np.ndarray:
        grade = grades.get(clip_id) if clip_id else None
        if pipeline is None or grade is None:
            return source
        try:
            if pipeline.is_identity(grade):
                return source
            graded = pipeline.render(source.astype(np.float32) * np.float32(1 / 255), grade)
        except ColorError as exc:
            self.grade_errors[clip_id] = str(exc)  # type: ignore[index]
            return source
        self.grade_errors.pop(clip_id, None)  # type: ignore[arg-type]
        return np.clip(graded * 255.0 + 0.5, 0, 255).astype(np.uint8)

    def source_frame(self, path: str, seconds: float) -> np.ndarray:
        """The file's frame shown at ``seconds`` into it (``floor(seconds * fps)``), through the cache."""
        index = self._index_at(path, seconds)
        key = (path, index)
        frame = self.cache.get(key)
        if frame is None:
            frame = self._video_reader(path).frame(index)
            frame.setflags(write=False)
            self.cache.put(key, frame)
        return frame

    def source_frame_float(self, path: str, seconds: float) -> np.ndarray:
        """The file's frame at ``seconds`` decoded at 16 bits, as float32 0..1 (not cached: export reads
        sequentially and the reader keeps its last frame)."""
        index = self._index_at(path, seconds)
        return self._video_reader(path).frame(index, depth=16).astype(np.float32) * np.float32(1 / 65535)

    def source_av_frame(self, path: str, seconds: float):  # -> av.VideoFrame
        """The file's frame at ``seconds`` as FFmpeg decoded it (the export's fast path converts it)."""
        return self._video_reader(path).decoded(self._index_at(path, seconds))

    def _fitted(
        self,
        path: str,
        seconds: float,
        width: int,
        height: int,
        pipeline: GradePipeline | None = None,
        clip_id: str | None = None,
        grades: Mapping[str, Any] | None = None,
        transform: dict | None = None,
    ) -> np.ndarray:
        if not path:  # nothing under a title
            return np.zeros((height, width, 3), np.uint8)
        try:
            source = self.source_frame(path, seconds)
        except MediaError:
            # A missing or broken file shows as black here; the bin and the timeline flag it to the user.
            return np.zeros((height, width, 3), np.uint8)
        picture = self._graded_uint8(source, pipeline, clip_id, grades or {})
        return place(picture, width, height, self.scaled_transform(transform, width, height))

    def _fitted_float(
        self,
        path: str,
        seconds: float,
        width: int,
        height: int,
        pipeline: GradePipeline | None,
        grade: dict | None,
        transform: dict | None = None,
    ) -> np.ndarray:
        if not path:
            return np.zeros((height, width, 3), np.float32)
        try:
            source = self.source_frame_float(path, seconds)
        except MediaError:
            return np.zeros((height, width, 3), np.float32)
        if pipeline is not None and grade is not None and not pipeline.is_identity(grade):
            source = pipeline.render(source, grade)
        return place(source, width, height, self.scaled_transform(transform, width, height))

    def scaled_transform(self, transform: dict | None, width: int, height: int) -> dict | None:
        """``transform`` for a frame of ``width`` x ``height``: positions are in sequence pixels, so a
        render at another size (an export scaled down, a viewer preview) moves them in proportion."""
        if not transform or not (transform.get("x") or transform.get("y")):
            return transform
        seq_w, seq_h = self._sequence_size()
        if (seq_w, seq_h) == (width, height):
            return transform
        return {**transform, "x": transform["x"] * width / seq_w, "y": transform["y"] * height / seq_h}

    def _sequence_size(self) -> tuple[int, int]:
        # The player asks frame_size() on the UI thread before every render request, so the decode thread
        # never reads the document; a headless render (one thread) reads it here the first time.
        if self._seq_size is None:
            self._seq_size = self.doc.sequence_settings().size
        return self._seq_size

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
                sound = self._audio_reader(seg.path, rate).read_at_speed(
                    seg.source_seconds + (lo - seg_start) * seg.speed, n, seg.speed
                )
            except MediaError:
                continue  # missing media is silent, as it is black in the picture
            times = lo + np.arange(n) / rate - seg_start  # seconds into the segment
            out[:, first : first + n] += sound[:, :n] * segment_gain(seg, times)
        np.clip(out, -1.0, 1.0, out=out)
        return out

    def close(self) -> None:
        """Close the decoders the calling thread opened."""
        for readers in (getattr(self._local, "video", {}), getattr(self._local, "audio", {})):
            for reader in readers.values():
                reader.close()
            readers.clear()

    # --------------------------------------------------------------------------------------- internals
    def _when(self, t: RationalTime | int) -> RationalTime:
        return t if isinstance(t, RationalTime) else RationalTime(int(t), self.doc.rate)

    def _index_at(self, path: str, seconds: float) -> int:
        info = self._info(path)
        if info.variable_frame_rate:  # no frame grid: the frame whose presentation time covers ``seconds``
            return self._video_reader(path).index_at(seconds)
        index = math.floor(seconds * float(info.fps or 24) + 1e-9)
        return min(max(index, 0), max(info.frame_count - 1, 0))

    def know_media(self, infos: Mapping[str, MediaInfo]) -> None:
        """Use these probes (a render's preflight just made them afresh) instead of probing again."""
        self._infos.update(infos)

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


def letterbox_float(source: np.ndarray, width: int, height: int) -> np.ndarray:
    """:func:`letterbox` for float32 pictures (each channel scaled in float, no 8-bit step)."""
    src_h, src_w = source.shape[:2]
    if (src_w, src_h) == (width, height):
        return source.astype(np.float32, copy=False)
    scale = min(width / src_w, height / src_h)
    fit_w, fit_h = max(1, round(src_w * scale)), max(1, round(src_h * scale))
    channels = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(source[..., c], np.float32)).resize(
                (fit_w, fit_h), Image.Resampling.BILINEAR
            )
        )
        for c in range(3)
    ]
    out = np.zeros((height, width, 3), np.float32)
    x0, y0 = (width - fit_w) // 2, (height - fit_h) // 2
    out[y0 : y0 + fit_h, x0 : x0 + fit_w] = np.stack(channels, axis=-1)
    return out
