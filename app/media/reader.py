"""Frame-accurate random access to a video file by frame index (PyAV, Qt-free).

Codecs store frames in groups that start at a keyframe, so frame ``n`` is found by seeking to the last
keyframe at or before it and decoding forward. Frame indices come from presentation timestamps measured from
the stream's ``start_time`` (files that do not start at zero are common: cameras, transport streams, edited
Matroska), never from counting decoded frames, so B-frame reordering and seeks land on the right picture.

Variable-frame-rate files (phones, screen recordings: ``MediaInfo.variable_frame_rate``) have no frame grid:
there a frame index is the frame's position in presentation order, and ``index_at(seconds)`` gives the frame
whose presentation time covers a moment (the last one starting at or before it), from a table of every
frame's timestamp read once per file (demux only). Constant-rate files keep ``floor(seconds * fps)``.

A reader remembers where its decoder is: reading ``n`` then ``n + 1`` decodes one frame, it never re-seeks.
A reader belongs to the thread that first uses it (FFmpeg contexts are not thread-safe); use one per thread.
"""

from __future__ import annotations

import bisect
import math
import os
import threading
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from app.errors import MediaError
from app.media.info import MediaInfo
from app.media.probe import probe_media

# Decoding forward beats a seek for short distances; beyond this many frames (and whenever a keyframe is
# known to lie in between) the reader seeks.
FORWARD_DECODE_LIMIT = 36


class VideoReader:
    """Decodes frames of one file's first video stream as RGB ``[H, W, 3]`` arrays: uint8, or uint16 with
    ``depth=16`` (16-bit RGB masters and 10-bit ProRes at full precision, for export)."""

    def __init__(self, path: str | os.PathLike[str], info: MediaInfo | None = None) -> None:
        self.path = str(Path(os.fspath(path)))
        self.info = info if info is not None else probe_media(self.path)
        if not self.info.has_video:
            raise MediaError(f"'{Path(self.path).name}' has no video to show.")
        try:
            self._container = av.open(self.path)
        except av.FFmpegError as exc:
            raise MediaError(f"'{Path(self.path).name}' cannot be opened any more: {exc}") from exc
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"  # frame + slice threads: faster, decode order is unchanged
        self._time_base: Fraction = self._stream.time_base or Fraction(1, 90000)
        self._start = self._stream.start_time or 0
        self._fps = self.info.fps or Fraction(24)
        # every frame's pts in presentation order, for variable-rate files only (None: constant rate)
        self._times: list[int] | None = _frame_times(self.path) if self.info.variable_frame_rate else None
        self._owner: int | None = None
        self._frames: Iterator[av.VideoFrame] | None = None  # the decoder's position, None after close/EOF
        self._last_index = -1
        self._last_frame: av.VideoFrame | None = None
        self._last_rgb: dict[int, np.ndarray] = {}  # the last frame converted, per depth
        self._converters: dict[tuple, _RgbConverter] = {}
        self._keyframes: set[int] = set()
        self._pending: tuple[int, av.VideoFrame] | None = None  # decoded past a target, not yet shown
        self.seeks = 0  # how many times the reader had to seek (tests and the benchmark read it)

    @property
    def frame_count(self) -> int:
        return len(self._times) if self._times is not None else self.info.frame_count

    @property
    def last_decoded_index(self) -> int:
        """The index of the frame the last ``frame()`` call decoded; lower than the index asked for when the
        file ended first (the reader then holds its last frame), -1 before any."""
        return self._last_index

    def index_at(self, seconds: float) -> int:
        """The frame shown ``seconds`` into the file, clamped to the file's frames: ``floor(seconds * fps)``
        at a constant rate; with a variable rate, the last frame presented at or before ``seconds``."""
        last = max(self.frame_count - 1, 0)
        if self._times is None:
            return min(max(math.floor(seconds * float(self._fps) + 1e-9), 0), last)
        # a microsecond of slack: ``seconds`` is a float, and a frame starting exactly then is the one shown
        ticks = self._start + (Fraction(seconds) + Fraction(1, 1_000_000)) / self._time_base
        return min(max(bisect.bisect_right(self._times, ticks) - 1, 0), last)

    def frame(self, index: int, depth: int = 8) -> np.ndarray:
        """Frame ``index`` (0-based, in display order) as a new RGB array: uint8 for ``depth=8``, uint16
        (0..65535) for ``depth=16``.

        Raises:
            IndexError: ``index`` is outside ``0 .. frame_count - 1``.
            MediaError: the file cannot be decoded at that point (damaged, or changed on disk).
        """
        if depth not in (8, 16):
            raise ValueError(f"depth must be 8 or 16, not {depth}")
        self._decode_to(index)
        try:
            return self._converted(depth).copy()
        except av.FFmpegError as exc:
            raise MediaError(f"Frame {index} of '{Path(self.path).name}' cannot be converted: {exc}") from exc

    def decoded(self, index: int) -> av.VideoFrame:
        """Frame ``index`` as FFmpeg decoded it (its own pixel format, matrix and range tags), unconverted:
        for the export's fast path, which converts it in an FFmpeg filter graph. The frame is shared with
        this reader (do not change it); it stays valid after the reader moves on.

        Raises:
            IndexError: ``index`` is outside ``0 .. frame_count - 1``.
            MediaError: the file cannot be decoded at that point (damaged, or changed on disk).
        """
        self._decode_to(index)
        assert self._last_frame is not None
        return self._last_frame

    def reach(self, index: int, decoded_through: int = -1) -> bool:
        """Cheaply check that the file still holds frame ``index``: seek to the keyframe before it, decode
        that keyframe, then read (without decoding) packets until one at or after the frame's time. False
        when the file ends first. Damage between that keyframe and the frame is not found here.

        ``decoded_through``: frames up to this index are known to decode (the caller decoded them); a
        keyframe at or before it is not decoded again (for a short clip, the one keyframe is frame 0).

        Raises:
            MediaError: the keyframe cannot be decoded.
        """
        self._check_thread()
        target = self._pts_of(min(max(index, 0), max(self.frame_count - 1, 0)))
        known = self._pts_of(decoded_through) if decoded_through >= 0 else None
        self._frames, self._pending = None, None  # the next frame() seeks afresh (and flushes the codec)
        self._last_index, self._last_frame, self._last_rgb = -1, None, {}
        try:
            self._container.seek(target, stream=self._stream, backward=True, any_frame=False)
            found = decoded = False
            for packet in self._container.demux(self._stream):
                if not decoded and known is not None and packet.is_keyframe and packet.pts is not None:
                    decoded = packet.pts <= known  # a keyframe the caller has decoded already
                if not decoded:  # a threaded decoder may hold frames back: the empty packet at the end
                    decoded = bool(packet.decode())  # of the file drains it
                found = found or (packet.pts is not None and packet.pts >= target)
                if found and decoded:
                    return True
            return False
        except av.FFmpegError as exc:
            raise MediaError(f"Frame {index} of '{Path(self.path).name}' cannot be decoded: {exc}") from exc

    def _decode_to(self, index: int) -> None:
        """Make frame ``index`` the last decoded one (seeking when decoding forward would not reach it)."""
        self._check_thread()
        if not 0 <= index < max(self.frame_count, 1):
            raise IndexError(f"frame {index} is outside 0..{self.frame_count - 1} of {self.path}")
        if index == self._last_index and self._last_frame is not None:
            return
        try:
            if not self._can_decode_forward_to(index):
                self._seek_before(index)
            found = self._decode_until(index)
            if found is None:  # landed past it: the seek point was too late (open GOPs, odd muxers)
                self._seek_before(index, back_off=FORWARD_DECODE_LIMIT)
                found = self._decode_until(index)
            if found is None:  # demuxers without an index (MPEG-TS) cannot always seek to their start
                self._reopen()
                found = self._decode_until(index, late_ok=True)
            if found is None:
                raise MediaError(f"Frame {index} of '{Path(self.path).name}' could not be found in the file.")
        except av.FFmpegError as exc:
            raise MediaError(f"Frame {index} of '{Path(self.path).name}' cannot be decoded: {exc}") from exc

    def close(self) -> None:
        self._frames = None
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------ internals
    def _check_thread(self) -> None:
        me = threading.get_ident()
        if self._owner is None:
            self._owner = me
        elif self._owner != me:
            raise RuntimeError("a VideoReader is used from one thread only; open another reader per thread")

    def _index_of(self, frame: av.VideoFrame) -> int:
        pts = frame.pts if frame.pts is not None else frame.dts
        if pts is None:
            return self._last_index + 1
        if self._times is not None:  # its position among the file's frames
            return min(bisect.bisect_left(self._times, pts), max(len(self._times) - 1, 0))
        return round((pts - self._start) * self._time_base * self._fps)

    def _pts_of(self, index: int) -> int:
        if self._times is not None and self._times:
            return self._times[min(index, len(self._times) - 1)]
        return self._start + int(Fraction(index) / self._fps / self._time_base)

    def _can_decode_forward_to(self, index: int) -> bool:
        if self._frames is None or index <= self._last_index:
            return False
        if index - self._last_index > FORWARD_DECODE_LIMIT:
            return False
        return not any(self._last_index < key <= index for key in self._keyframes)

    def _reopen(self) -> None:
        self._container.close()
        self._container = av.open(self.path)
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self._frames = self._container.decode(self._stream)
        self._pending = None
        self._last_index = -1
        self._last_frame = None
        self._last_rgb = {}
        self.seeks += 1

    def _seek_before(self, index: int, back_off: int = 0) -> None:
        target = max(index - back_off, 0)
        # backward=True lands on the last keyframe at or before the target; the codec is flushed by seek().
        self._container.seek(self._pts_of(target), stream=self._stream, backward=True, any_frame=False)
        self._frames = self._container.decode(self._stream)
        self._pending = None
        self._last_index = -1
        self._last_frame = None
        self._last_rgb = {}
        self.seeks += 1

    def _next(self) -> tuple[int, av.VideoFrame] | None:
        if self._pending is not None:
            item, self._pending = self._pending, None
            return item
        frame = next(self._frames, None) if self._frames is not None else None
        if frame is None:
            self._frames = None
            return None
        found = self._index_of(frame)
        if frame.key_frame:
            self._keyframes.add(found)
        return found, frame

    def _decode_until(self, index: int, late_ok: bool = False) -> av.VideoFrame | None:
        """Decode forward to ``index``. A frame missing from the file shows the one before it (held).

        Returns the frame now remembered as the last one, or None when the first frame after a seek is
        already past ``index`` (unless ``late_ok``).
        """
        previous: tuple[int, av.VideoFrame] | None = None
        while (item := self._next()) is not None:
            found, frame = item
            if found < index:
                previous = item
                continue
            if found == index:
                return self._remember(found, frame)
            self._pending = item  # past the target: keep it for the next sequential read
            if previous is not None:
                return self._remember(*previous)
            if self._last_frame is not None:
                return self._last_frame
            if late_ok:
                self._pending = None
                return self._remember(found, frame)
            return None
        # End of stream before ``index`` (the container overstated its length): hold the last frame.
        if previous is not None:
            return self._remember(*previous)
        return self._last_frame

    def _remember(self, index: int, frame: av.VideoFrame) -> av.VideoFrame:
        self._last_index = index
        self._last_frame = frame
        self._last_rgb = {}
        return frame

    def _converted(self, depth: int) -> np.ndarray:
        """The last frame as RGB at ``depth`` bits, converted once per depth."""
        rgb = self._last_rgb.get(depth)
        if rgb is None:
            assert self._last_frame is not None
            # rgb48le packs 16-bit RGB sources losslessly and keeps 10/12-bit YUV at full precision.
            fmt = "rgb24" if depth == 8 else "rgb48le"
            frame = self._last_frame
            key = (frame.format.name, frame.width, frame.height, fmt, frame.colorspace, frame.color_range)
            converter = self._converters.get(key)
            if converter is None:
                converter = self._converters[key] = _RgbConverter(frame, fmt)
            rgb = self._last_rgb[depth] = converter.convert(frame)
        return rgb


_TIMES: dict[tuple[str, int, int], list[int]] = {}  # (path, size, mtime_ns) -> frame times; few VFR files
_TIMES_LOCK = threading.Lock()  # readers live on the viewer's, the thumbnailers' and the export's threads


def _frame_times(path: str) -> list[int]:
    """Every video frame's pts in presentation order (demux only), cached per file version."""
    from app.media.probe import presentation_times

    try:
        stat = os.stat(path)
        key = (path, stat.st_size, stat.st_mtime_ns)
        with _TIMES_LOCK:
            times = _TIMES.get(key)
        if times is None:
            with av.open(path) as container:
                times = presentation_times(container, container.streams.video[0])
            with _TIMES_LOCK:
                _TIMES[key] = times
                while len(_TIMES) > 64:
                    _TIMES.pop(next(iter(_TIMES)))
        return times
    except (OSError, av.FFmpegError) as exc:
        raise MediaError(f"'{Path(path).name}' cannot be read any more: {exc}") from exc


class _RgbConverter:
    """YUV (or RGB) -> packed RGB through libswscale with accurate rounding and full chroma interpolation.

    PyAV's plain ``reformat`` uses swscale's fast path, which turns 10-bit ProRes into 8-bit RGB about
    1.8/255 too dark on average (measured on a BT.709 test picture); with ``accurate_rnd`` and
    ``full_chroma_int`` the error is 0.3/255 without bias, so the viewer shows what the export (read at
    16 bits) contains. The matrix and range follow the stream's tags (BT.709 limited when untagged).
    """

    def __init__(self, frame: av.VideoFrame, fmt: str) -> None:
        self._fmt = fmt
        self._graph: av.filter.Graph | None = None
        to_rgb = rgb_filters(frame)
        if to_rgb:  # an RGB source has no YUV conversion to get right: plain reformat
            self._graph = filter_graph(frame, [*to_rgb, ("format", f"pix_fmts={fmt}")])

    def convert(self, frame: av.VideoFrame) -> np.ndarray:
        if self._graph is None:
            return frame.reformat(format=self._fmt).to_ndarray()
        self._graph.push(frame)
        return self._graph.pull().to_ndarray()


_MATRIX = {1: "bt709", 5: "bt470bg", 6: "smpte170m", 9: "bt2020"}
_RGB_FORMATS = ("rgb", "bgr", "gbr", "argb", "abgr", "rgba", "bgra", "gray")


def rgb_filters(frame: av.VideoFrame) -> list[tuple[str, str]]:
    """The FFmpeg filters that turn ``frame`` into full-range R'G'B' the way the reader does: libswscale
    with accurate rounding and full chroma interpolation, the matrix and range from the frame's tags
    (BT.709 limited when untagged). Empty for a frame that is RGB already."""
    if frame.format.name.startswith(_RGB_FORMATS):
        return []
    matrix = _MATRIX.get(int(frame.colorspace or 0), "bt709")
    in_range = "pc" if int(frame.color_range or 0) == 2 or frame.format.name.startswith("yuvj") else "tv"
    return [
        (
            "scale",
            f"in_color_matrix={matrix}:in_range={in_range}:out_range=pc:flags=accurate_rnd+full_chroma_int",
        )
    ]


def filter_graph(frame: av.VideoFrame, filters: list[tuple[str, str]]) -> av.filter.Graph:
    """A configured graph: a buffer source for frames like ``frame``, ``filters`` in a chain, a sink."""
    graph = av.filter.Graph()
    node = graph.add_buffer(
        width=frame.width, height=frame.height, format=frame.format.name, time_base=Fraction(1, 24)
    )
    for name, args in filters:
        following = graph.add(name, args)
        node.link_to(following)
        node = following
    sink = graph.add("buffersink")
    node.link_to(sink)
    graph.configure()
    return graph
