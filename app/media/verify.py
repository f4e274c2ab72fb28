"""Check that a media file still decodes where a render will read it, before the render starts (Qt-free).

A render that meets an undecodable frame halfway would otherwise show black (the viewer's fallback) and
finish "successfully". So before the first frame the renderer asks, for every file it will use: does it
still probe (a file cut short loses its index, or its header now lies), does it still hold the frames and
the sound the clips use, does the first frame decode, and are the last frame's data and its keyframe there
(decoding every frame up to the last would cost a second decode of most short clips). That is a seek, a
few decoded frames and a packet scan per file, not a full decode: damage inside a clip is found only when
the render reaches it (it then stops and writes nothing).
"""

from __future__ import annotations

import os
from pathlib import Path

import av

from app.errors import MediaError
from app.media.info import MediaInfo
from app.media.probe import probe_media

# Frames a container may overstate its length by (rounding of durations) without the file being damaged.
FRAME_SLACK = 1


def verify_media(
    path: str | os.PathLike[str],
    video_seconds: tuple[float, float] | None = None,
    audio_seconds: tuple[float, float] | None = None,
) -> MediaInfo:
    """Probe ``path`` afresh and decode the edges of what will be read from it.

    ``video_seconds`` / ``audio_seconds``: the span ``(start, end)`` (end exclusive, seconds into the file)
    whose pictures / sound the render reads; None when it reads none.

    Raises:
        MediaError: the file cannot be probed, lacks the stream, is shorter than the span, or the first or
            last frame of the span cannot be decoded. The message says which.
    """
    info = probe_media(path)  # missing, not a regular file, not media, unreadable header, first frames
    name = Path(os.fspath(path)).name
    if video_seconds is not None:
        if not info.has_video:
            raise MediaError(f"'{name}' has no video any more")
        _check_video(path, info, *video_seconds)
    if audio_seconds is not None:
        if not info.has_audio:
            raise MediaError(f"'{name}' has no sound any more")
        _check_audio(path, *audio_seconds)
    return info


def _check_video(path: str | os.PathLike[str], info: MediaInfo, start: float, end: float) -> None:
    from app.media.reader import VideoReader  # the reader imports probe: import late

    name = Path(os.fspath(path)).name
    with VideoReader(path, info) as reader:
        if info.still:  # one picture, shown for any span
            try:
                reader.frame(0)
            except MediaError as exc:
                raise MediaError(f"'{name}' no longer decodes: {exc}") from exc
            return
        wanted_last = _index_unclamped(info, end)
        if wanted_last is not None and wanted_last - FRAME_SLACK > reader.frame_count - 1:
            raise MediaError(
                f"'{name}' now holds {reader.frame_count} frames but the clip uses frames up to "
                f"{wanted_last}; the file was cut short or replaced"
            )
        first = reader.index_at(max(start, 0.0))
        last = reader.index_at(max(end - 1e-6, start, 0.0))
        if first > 0:  # frame 0 was decoded by the probe just now
            reader.decoded(first)
            reached = reader.last_decoded_index
            if reached < first - FRAME_SLACK:
                raise MediaError(
                    f"'{name}' ends at frame {reached}, before frame {first} that the clip uses; the file "
                    "is truncated or damaged"
                )
        # The last frame: its keyframe decodes and its data is there (decoding the whole group of pictures
        # up to it would cost an extra decode of most short clips; damage inside it is found when reached).
        # A keyframe at or before the first frame was decoded above (or by the probe): not again.
        if last > first and not reader.reach(last - FRAME_SLACK, decoded_through=first):
            raise MediaError(
                f"'{name}' ends before frame {last} that the clip uses; the file is truncated or damaged"
            )


def _index_unclamped(info: MediaInfo, end: float) -> int | None:
    """The last frame index a span ending at ``end`` seconds needs, at the file's (average) rate."""
    if not info.fps:
        return None
    return max(int(end * float(info.fps) - 1e-6), 0)


def _check_audio(path: str | os.PathLike[str], start: float, end: float) -> None:
    """Decode the sound at the start and near the end of the span; the stream must reach the end."""
    name = Path(os.fspath(path)).name
    try:
        with av.open(os.fspath(path)) as container:
            stream = container.streams.audio[0]
            for at in dict.fromkeys((max(start, 0.0), max(end - 0.05, start, 0.0))):
                reached = _decode_audio_at(container, stream, at)
                if reached is None or reached < at - 0.1:
                    where = "no sound" if reached is None else f"sound only up to {reached:.2f} s"
                    raise MediaError(
                        f"'{name}' has {where}, but the clip uses its sound up to {end:.2f} s; the file is "
                        "truncated or damaged"
                    )
    except av.FFmpegError as exc:
        raise MediaError(f"The sound of '{name}' cannot be decoded: {exc}") from exc


def _decode_audio_at(container, stream, seconds: float) -> float | None:
    """Seek to ``seconds`` and decode until a frame ending past it; the time reached (None: nothing)."""
    base = stream.time_base
    begin = stream.start_time or 0
    container.seek(begin + int(seconds / base), stream=stream, backward=True, any_frame=False)
    reached = None
    for frame in container.decode(stream):
        if frame.pts is None:
            continue
        frame_end = float((frame.pts - begin) * base) + frame.samples / frame.sample_rate
        reached = frame_end
        if frame_end >= seconds:
            break
    return reached
