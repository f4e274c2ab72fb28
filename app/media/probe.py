"""Probe a media file into a :class:`MediaInfo`, refusing what the editor cannot use (Qt-free).

Probing also decodes the first video frame and the first audio frame: a file whose header reads fine but
whose streams will not decode (an unknown codec, a damaged first GOP) is refused at import, with a message,
rather than failing later in the viewer.
"""

from __future__ import annotations

import os
import stat
from fractions import Fraction
from pathlib import Path

import av

from app.errors import MediaError
from app.media.info import MediaInfo

# Demuxers FFmpeg uses for single pictures and picture sequences.
_IMAGE_FORMATS = ("image2", "_pipe", "gif", "webp", "apng")
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".exr", ".dpx", ".tga"}
VFR_SCAN_PACKETS = 300  # packets read to tell a variable frame rate where the container does not say
_IMAGE_CODECS = {"png", "mjpeg", "bmp", "tiff", "webp", "gif", "exr", "dpx", "targa"}
STILL_CODECS = {"png", "mjpeg", "tiff", "exr"}  # the still formats the timeline takes (8-16 bit, EXR float)


# FFmpeg demuxers and decoders that turn any text file into "video" (the tty demuxer draws /etc/passwd as
# ANSI art): never media a user meant to edit.
_TEXT_FORMATS = ("tty",)
_TEXT_CODECS = {"ansi", "bintext", "xbin", "idf", "text", "subrip", "ass"}
# Pseudo file systems: their "files" are process memory, kernel state and devices, never footage.
_SYSTEM_ROOTS = ("/proc", "/sys", "/dev")


def path_problem(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` cannot be a media file without opening it, or None: it does not exist, is not a regular
    file (a folder, a pipe, a device: opening a pipe would block forever) or lies under /proc, /sys or /dev.
    Cheap (one stat), so a project load can ask it of every bin entry."""
    text = os.fspath(path)
    if not text:
        return "has no file"
    try:
        mode = os.stat(text).st_mode
    except (OSError, ValueError):
        return "is missing"
    if not stat.S_ISREG(mode):
        return "is not a regular file (a folder, pipe or device)"
    real = os.path.realpath(text)
    if any(real == root or real.startswith(root + os.sep) for root in _SYSTEM_ROOTS):
        return "is a system file (under /proc, /sys or /dev), not media"
    return None


def probe_media(path: str | os.PathLike[str]) -> MediaInfo:
    """Describe ``path`` (first video and first audio stream).

    Raises:
        MediaError: the file is missing, unreadable, has no audio or video stream, is a still image, or its
            streams cannot be decoded. The message names the file and says what to do.
    """
    file = Path(os.fspath(path)).expanduser()
    problem = path_problem(file)
    if problem == "is missing":
        raise MediaError(f"'{file}' was not found. Check that the file exists and the drive is connected.")
    if problem is not None:
        raise MediaError(f"'{file}' {problem}; choose a video or audio file.")
    stat = file.stat()
    if file.suffix.lower() in _IMAGE_SUFFIXES:
        return probe_still(file, stat)
    try:
        container = av.open(str(file))
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise MediaError(
            f"'{file.name}' cannot be read as a video or audio file (it may be damaged or of an unknown "
            f"format): {exc}"
        ) from exc
    with container:
        format_name = container.format.name
        codecs = {stream.codec_context.name for stream in container.streams if stream.codec_context}
        if format_name in _TEXT_FORMATS or codecs & _TEXT_CODECS:
            raise MediaError(
                f"'{file.name}' is not a video or audio file (FFmpeg reads it as text); choose a media file."
            )
        if any(marker in format_name for marker in _IMAGE_FORMATS):
            return probe_still(file, stat)
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        if video is None and audio is None:
            raise MediaError(f"'{file.name}' has no video or audio stream; there is nothing to edit in it.")
        fields: dict[str, object] = {}
        if video is not None:
            fields.update(_video_fields(container, video, file.name))
        if audio is not None:
            fields.update(_audio_fields(container, audio, file.name))
    return MediaInfo(
        path=str(file.resolve()),
        container=format_name,
        has_video=video is not None,
        has_audio=audio is not None,
        size_bytes=stat.st_size,
        mtime_ns=stat.st_mtime_ns,
        **fields,  # type: ignore[arg-type]
    )


def probe_still(file: Path, stat: os.stat_result) -> MediaInfo:
    """A still picture (PNG, JPEG, TIFF, EXR) as one-frame video without a rate (``still=True``): its clip
    lasts as long as it is trimmed to. The picture is decoded once here so a damaged file is refused now.

    Raises:
        MediaError: the file is not a picture the timeline takes, or it does not decode.
    """
    try:
        container = av.open(str(file))
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise MediaError(f"'{file.name}' cannot be read as a picture (it may be damaged): {exc}") from exc
    with container:
        if not container.streams.video:
            raise MediaError(f"'{file.name}' holds no picture; choose a PNG, JPEG, TIFF or EXR file.")
        stream = container.streams.video[0]
        codec = stream.codec_context.name
        if codec not in STILL_CODECS:
            raise MediaError(
                f"'{file.name}' is a {codec.upper()} picture; the timeline takes PNG, JPEG, TIFF and EXR "
                "stills (convert it to PNG)."
            )
        try:
            frame = next(container.decode(stream), None)
        except (av.FFmpegError, ValueError) as exc:
            raise MediaError(f"'{file.name}' is damaged: its picture does not decode ({exc}).") from exc
        if frame is None or not frame.width or not frame.height:
            raise MediaError(f"'{file.name}' is damaged: it holds no decodable picture.")
        return MediaInfo(
            path=str(file.resolve()),
            container=container.format.name,
            has_video=True,
            has_audio=False,
            width=int(frame.width),
            height=int(frame.height),
            fps=None,
            frame_count=1,
            video_codec=codec,
            pix_fmt=frame.format.name,
            size_bytes=stat.st_size,
            mtime_ns=stat.st_mtime_ns,
            still=True,
        )


def _first_frame(container: av.container.InputContainer, stream: av.stream.Stream, name: str) -> av.Frame:
    try:
        container.seek(0)
        for frame in container.decode(stream):
            return frame
    except av.FFmpegError as exc:
        raise MediaError(
            f"The {stream.type} in '{name}' cannot be decoded ({stream.codec_context.name}): {exc}. "
            "Convert the file to ProRes or H.264 and import it again."
        ) from exc
    raise MediaError(f"The {stream.type} stream in '{name}' contains no frames; the file may be truncated.")


def _video_fields(container: av.container.InputContainer, stream: av.video.VideoStream, name: str) -> dict:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate:
        raise MediaError(f"'{name}' does not say its frame rate, so its frames cannot be placed in time.")
    fps = Fraction(rate.numerator, rate.denominator)
    first = _first_frame(container, stream, name)
    frame_count = stream.frames
    variable = False
    # Matroska says neither frame count nor rate: every packet is demuxed anyway (no decoding), and its
    # times tell a variable rate. Elsewhere a container whose average rate differs from its base rate may
    # be variable: the first VFR_SCAN_PACKETS packets decide.
    if not frame_count or (stream.base_rate and Fraction(stream.base_rate) != fps):
        times = presentation_times(container, stream, None if not frame_count else VFR_SCAN_PACKETS)
        variable = _irregular(times)
        if not frame_count:
            frame_count = len(times)
            if variable and len(times) > 1 and stream.time_base:
                # the container's rate guess is not the average of irregular frames; the times are
                span = (times[-1] - times[0] + _typical_step(times)) * Fraction(stream.time_base)
                fps = Fraction(len(times)) / span if span > 0 else fps
    if frame_count <= 1 and stream.codec_context.name in _IMAGE_CODECS:
        raise MediaError(
            f"'{name}' is a single picture inside a video file; save it as a PNG, JPEG, TIFF or EXR still."
        )
    return {
        "width": first.width,
        "height": first.height,
        "fps": fps,
        "frame_count": int(frame_count),
        "video_codec": stream.codec_context.name,
        "pix_fmt": stream.codec_context.pix_fmt or first.format.name,
        "variable_frame_rate": variable,
    }


def presentation_times(
    container: av.container.InputContainer, stream: av.stream.Stream, limit: int | None = None
) -> list[int]:
    """The sorted presentation timestamps of the stream's frames (demux only, no decoding; the first
    ``limit`` packets when given)."""
    container.seek(0)
    times: list[int] = []
    for packet in container.demux(stream):
        if packet.size:
            times.append(packet.pts if packet.pts is not None else (times[-1] + 1 if times else 0))
            if limit is not None and len(times) >= limit:
                break
    times.sort()
    return times


def _typical_step(times: list[int]) -> int:
    steps = sorted(b - a for a, b in zip(times, times[1:], strict=False) if b > a)
    return steps[len(steps) // 2] if steps else 0


def _irregular(times: list[int]) -> bool:
    """True when frames are not evenly spaced: some step differs from the typical one by more than a
    quarter of it (and more than two ticks: timestamps rounded to a millisecond time base jitter by one)."""
    typical = _typical_step(times)
    if not typical:
        return False
    slack = max(2, typical / 4)
    return any(abs((b - a) - typical) > slack for a, b in zip(times, times[1:], strict=False) if b > a)


def _audio_fields(container: av.container.InputContainer, stream: av.audio.AudioStream, name: str) -> dict:
    first = _first_frame(container, stream, name)
    rate = stream.codec_context.sample_rate or first.sample_rate
    if stream.duration is not None and stream.time_base is not None:
        seconds = float(stream.duration * stream.time_base)
    else:
        # Matroska does not store a stream duration: the end of the last packet is exact enough.
        container.seek(0)
        end = max(((p.pts or 0) + (p.duration or 0) for p in container.demux(stream) if p.size), default=0)
        seconds = float((end - (stream.start_time or 0)) * stream.time_base) if stream.time_base else 0.0
        if not seconds and container.duration:
            seconds = container.duration / av.time_base
    return {
        "audio_codec": stream.codec_context.name,
        "sample_rate": int(rate),
        "channels": int(stream.codec_context.channels or len(first.layout.channels)),
        "audio_samples": round(seconds * rate),
    }
