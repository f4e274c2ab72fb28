"""Small media files for tests, written with PyAV: videos whose pixels say which frame they are.

Every video frame carries its index as a 16-bit code drawn as a 4 x 4 grid of black/white blocks (bit 0 at the
top left, row-major), so a decoded frame tells which frame it really is: ``decoded_index(rgb) == n`` proves a
seek landed on frame ``n``. Blocks are a quarter of the width each, so lossy codecs keep them readable.

    make_video(tmp_path / "a.mp4")                                  # H.264, GOP 12, 48 frames, 24 fps, sound
    make_video(tmp_path / "p.mov", codec="prores_ks")               # ProRes (every frame a keyframe)
    make_video(tmp_path / "f.mkv", codec="ffv1", audio=False)       # lossless
    make_audio(tmp_path / "s.wav", seconds=1.0, rate=48000)         # stereo sine
    make_corrupt(tmp_path / "bad.mp4")                              # garbage with a video name
    make_image(tmp_path / "still.png")                              # a still image
    back_to_back(paths, name="Two clips")                           # a document: the files one after another
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

GRID = 4  # 4 x 4 blocks = 16 bits
BITS = GRID * GRID
TONE_HZ = 440.0
_LOW, _HIGH = 16, 235  # video-range black/white survive every codec's range handling

# codec -> (pixel format, default container suffix)
_VIDEO_CODECS = {
    "libx264": ("yuv420p", ".mp4"),
    "mpeg4": ("yuv420p", ".mp4"),
    "prores_ks": ("yuv422p10le", ".mov"),
    "ffv1": ("yuv420p", ".mkv"),
}


def frame_image(index: int, size: tuple[int, int] = (64, 48)) -> np.ndarray:
    """The RGB uint8 picture of frame ``index`` (``size`` is width, height; at least 8 x 8)."""
    width, height = size
    if not 0 <= index < 2**BITS:
        raise ValueError(f"frame index {index} does not fit in {BITS} bits")
    image = np.full((height, width, 3), _LOW, np.uint8)
    for bit in range(BITS):
        if index >> bit & 1:
            row, col = divmod(bit, GRID)
            y0, y1 = row * height // GRID, (row + 1) * height // GRID
            x0, x1 = col * width // GRID, (col + 1) * width // GRID
            image[y0:y1, x0:x1] = _HIGH
    return image


def decoded_index(rgb: np.ndarray) -> int:
    """The frame index drawn into ``rgb`` (an [H, W, 3] picture of a frame from :func:`make_video`).

    Reads the centre half of each block only, so scaling or codec ringing at block edges does not matter.
    """
    height, width = rgb.shape[:2]
    grey = rgb.astype(np.float32).mean(axis=2)
    value = 0
    for bit in range(BITS):
        row, col = divmod(bit, GRID)
        y0, y1 = row * height // GRID, (row + 1) * height // GRID
        x0, x1 = col * width // GRID, (col + 1) * width // GRID
        qy, qx = max((y1 - y0) // 4, 0), max((x1 - x0) // 4, 0)
        block = grey[y0 + qy : y1 - qy, x0 + qx : x1 - qx]
        if block.mean() > (_LOW + _HIGH) / 2:
            value |= 1 << bit
    return value


def _audio_codec_for(suffix: str) -> tuple[str, str]:
    """(codec, sample format) that the container takes."""
    if suffix in {".mp4", ".m4a"}:
        return "aac", "fltp"
    return "pcm_s16le", "s16"


def _sine(start: int, count: int, rate: int, channels: int = 2) -> np.ndarray:
    t = (np.arange(start, start + count) / rate).astype(np.float64)
    tone = 0.5 * np.sin(2 * math.pi * TONE_HZ * t)
    return np.repeat(tone[None, :], channels, axis=0).astype(np.float32)


def _write_audio(container: av.container.OutputContainer, stream, total: int, rate: int) -> None:
    codec_name = stream.codec_context.name
    chunk = stream.codec_context.frame_size or 1024
    if codec_name != "aac":
        chunk = 1024
    for start in range(0, total, chunk):
        count = min(chunk, total - start)
        samples = _sine(start, count, rate)
        if stream.codec_context.format.name == "s16":
            data = (samples.T.reshape(1, -1) * 32767).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(data, format="s16", layout="stereo")
        else:
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples), format="fltp", layout="stereo")
        frame.sample_rate = rate
        frame.pts = start
        frame.time_base = Fraction(1, rate)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def make_video(
    path: str | Path,
    frames: int = 48,
    fps: int | Fraction = 24,
    size: tuple[int, int] = (64, 48),
    codec: str = "libx264",
    gop: int = 12,
    audio: bool = True,
    sample_rate: int = 48000,
    start_frame: int = 0,
) -> Path:
    """Write a test video whose frame ``n`` shows ``frame_image(n)``; returns the path.

    ``codec`` is one of libx264 (with B-frames, so decode order differs from display order), mpeg4,
    prores_ks or ffv1; ``gop`` is the keyframe interval (ProRes is intra-only whatever it says). With
    ``audio`` the file also has a stereo 440 Hz sine as long as the video (AAC in .mp4, PCM otherwise).
    ``start_frame`` > 0 makes the video stream start later than zero (``stream.start_time != 0``; use .mkv
    or .ts: mp4 edit lists hide it); the picture still counts from 0.
    """
    path = Path(path)
    if codec not in _VIDEO_CODECS:
        raise ValueError(f"codec must be one of {sorted(_VIDEO_CODECS)}")
    pix_fmt, _ = _VIDEO_CODECS[codec]
    rate = Fraction(fps)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height = size
        stream.pix_fmt = pix_fmt
        stream.codec_context.gop_size = gop
        if codec == "libx264":
            stream.options = {"keyint_min": str(gop), "sc_threshold": "0", "bf": "2", "crf": "18"}
        elif codec == "mpeg4":
            stream.options = {"qscale": "2"}
        if audio:
            acodec, _fmt = _audio_codec_for(path.suffix.lower())
            astream = container.add_stream(acodec, rate=sample_rate)
            astream.layout = "stereo"
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(frame_image(index, size), format="rgb24")
            frame.pts = start_frame + index
            frame.time_base = 1 / rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
        if audio:
            _write_audio(container, astream, round(frames / rate * sample_rate), sample_rate)
    return path


def make_audio(path: str | Path, seconds: float = 1.0, rate: int = 48000) -> Path:
    """Write a stereo 440 Hz sine (amplitude 0.5) of ``seconds``: PCM in .wav/.mkv/.mov, AAC in .m4a/.mp4."""
    path = Path(path)
    with av.open(str(path), "w") as container:
        acodec, _fmt = _audio_codec_for(path.suffix.lower())
        stream = container.add_stream(acodec, rate=rate)
        stream.layout = "stereo"
        _write_audio(container, stream, round(seconds * rate), rate)
    return path


def make_corrupt(path: str | Path, size: int = 4096) -> Path:
    """Write bytes that no demuxer accepts, under whatever name (``bad.mp4``) the test wants."""
    path = Path(path)
    rng = np.random.default_rng(1234)
    path.write_bytes(b"NOT A VIDEO " + rng.integers(0, 256, size, dtype=np.uint8).tobytes())
    return path


def make_image(path: str | Path, size: tuple[int, int] = (64, 48)) -> Path:
    """Write a still picture (``frame_image(5)``); the format follows the suffix (.png, .jpg)."""
    from PIL import Image

    path = Path(path)
    Image.fromarray(frame_image(5, size)).save(path)
    return path


def make_vfr_video(
    path: str | Path,
    durations_ms: list[int],
    size: tuple[int, int] = (64, 48),
    codec: str = "libx264",
) -> tuple[Path, list[Fraction]]:
    """Write a variable-frame-rate video: frame ``n`` shows ``frame_image(n)`` and lasts ``durations_ms[n]``
    milliseconds (time base 1/1000, as phones and screen recorders write). Returns the path and every
    frame's presentation time in seconds (frame ``n`` covers ``[times[n], times[n + 1])``)."""
    path = Path(path)
    pix_fmt, _ = _VIDEO_CODECS[codec]
    times = [Fraction(sum(durations_ms[:n]), 1000) for n in range(len(durations_ms))]
    average = Fraction(len(durations_ms) * 1000, sum(durations_ms))
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=round(average))
        stream.width, stream.height = size
        stream.pix_fmt = pix_fmt
        stream.time_base = Fraction(1, 1000)
        stream.codec_context.time_base = Fraction(1, 1000)
        if codec == "libx264":
            stream.options = {"bf": "0", "crf": "18", "g": "6"}
        for index, start in enumerate(times):
            frame = av.VideoFrame.from_ndarray(frame_image(index, size), format="rgb24")
            frame.pts = int(start * 1000)
            frame.time_base = Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path, times


def back_to_back(paths: list[Path], name: str, rate: int = 24):  # noqa: ANN201 - a TimelineDocument
    """A document with `paths` imported and placed one after another on V1 from frame 0 (their sound on A1
    where they have it)."""
    from opentimelineio.opentime import RationalTime

    from app.document import TimelineDocument, TrackKind
    from app.media.importer import import_files

    document = TimelineDocument(name=name, rate=rate)
    ids, errors = import_files(document, paths)
    assert not errors
    video = document.tracks(TrackKind.VIDEO)[0].id
    start = 0
    for media_id in ids:
        document.insert(media_id, video, RationalTime(start, rate))
        start += document.bin_item(media_id).info.frame_count
    return document
