"""Read back the properties of a video file with PyAV (no ffprobe dependency).

:func:`probe` returns a JSON-serialisable dict used by the CLI (``--json``) and tests.
Colour properties use FFmpeg's names (``bt709``, ``tv`` ...).
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from app.errors import AppError

# FFmpeg's av_color_*_name() strings for the H.273 code points.
# fmt: off
_PRIMARIES = {
    1: "bt709", 2: "unknown", 4: "bt470m", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m",
    8: "film", 9: "bt2020", 10: "smpte428", 11: "smpte431", 12: "smpte432", 22: "ebu3213",
}
_TRANSFER = {
    1: "bt709", 2: "unknown", 4: "gamma22", 5: "gamma28", 6: "smpte170m", 7: "smpte240m",
    8: "linear", 9: "log100", 10: "log316", 11: "iec61966-2-4", 12: "bt1361e",
    13: "iec61966-2-1", 14: "bt2020-10", 15: "bt2020-12", 16: "smpte2084", 17: "smpte428",
    18: "arib-std-b67",
}
_MATRIX = {
    0: "gbr", 1: "bt709", 2: "unknown", 4: "fcc", 5: "bt470bg", 6: "smpte170m",
    7: "smpte240m", 8: "ycgco", 9: "bt2020nc", 10: "bt2020c", 11: "smpte2085",
    12: "chroma-derived-nc", 13: "chroma-derived-c", 14: "ictcp",
}
_RANGE = {0: "unknown", 1: "tv", 2: "pc"}
# fmt: on


def _name(table: dict[int, str], value: object) -> str | None:
    if value is None:
        return None
    code = int(value)  # type: ignore[call-overload]
    return table.get(code, f"reserved({code})")


def _seconds(value: int | None, time_base: Fraction | None) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def probe(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Describe the first video and first audio stream of ``path``.

    Keys (``None`` where not applicable): ``path``, ``container``, ``duration`` (s),
    ``metadata`` (container tags), ``video_codec``, ``profile``, ``pix_fmt``, ``width``,
    ``height``, ``frame_count`` (decoded and counted if the container does not say),
    ``fps`` (float), ``fps_fraction`` ("24000/1001"), ``video_duration`` (s),
    ``color_primaries``, ``color_trc``, ``colorspace``, ``color_range``, ``codec_tag``,
    ``audio_codec``, ``sample_rate``, ``channels``, ``audio_duration`` (s),
    ``audio_samples`` (from the stream duration).

    Raises:
        AppError: the file is missing or cannot be read as a media file.
    """
    file = Path(os.fspath(path))
    if not file.is_file():
        raise AppError(f"Cannot probe '{file}': no such file.")
    try:
        container = av.open(str(file))
    except av.FFmpegError as exc:
        raise AppError(f"Cannot read '{file.name}' as a video file: {exc}") from exc

    with container:
        info: dict[str, Any] = {
            "path": str(file),
            "container": container.format.name,
            "duration": container.duration / av.time_base if container.duration else None,
            "metadata": dict(container.metadata),
        }
        info.update(_video_info(container))
        info.update(_audio_info(container))
    return info


def _video_info(container: av.container.InputContainer) -> dict[str, Any]:
    keys = (
        "video_codec", "profile", "pix_fmt", "width", "height", "frame_count", "fps",
        "fps_fraction", "video_duration", "color_primaries", "color_trc", "colorspace",
        "color_range", "codec_tag",
    )  # fmt: skip
    if not container.streams.video:
        return dict.fromkeys(keys)
    stream = container.streams.video[0]
    cc = stream.codec_context
    rate = stream.average_rate or stream.base_rate or stream.guessed_rate
    frame_count = stream.frames or None
    if not frame_count:
        frame_count = sum(1 for _ in container.decode(stream))
    duration = _seconds(stream.duration, stream.time_base)
    if duration is None and rate:
        duration = float(frame_count / rate)
    return {
        "video_codec": cc.name,
        "profile": cc.profile,
        "pix_fmt": cc.pix_fmt,
        "width": cc.width,
        "height": cc.height,
        "frame_count": frame_count,
        "fps": float(rate) if rate else None,
        "fps_fraction": f"{rate.numerator}/{rate.denominator}" if rate else None,
        "video_duration": duration,
        "color_primaries": _name(_PRIMARIES, cc.color_primaries),
        "color_trc": _name(_TRANSFER, cc.color_trc),
        "colorspace": _name(_MATRIX, cc.colorspace),
        "color_range": _name(_RANGE, cc.color_range),
        "codec_tag": stream.codec_tag or None,
    }


def _audio_info(container: av.container.InputContainer) -> dict[str, Any]:
    keys = ("audio_codec", "sample_rate", "channels", "audio_duration", "audio_samples")
    if not container.streams.audio:
        return dict.fromkeys(keys)
    stream = container.streams.audio[0]
    cc = stream.codec_context
    duration = _seconds(stream.duration, stream.time_base)
    return {
        "audio_codec": cc.name,
        "sample_rate": cc.sample_rate,
        "channels": cc.channels,
        "audio_duration": duration,
        "audio_samples": round(duration * cc.sample_rate) if duration is not None else None,
    }
