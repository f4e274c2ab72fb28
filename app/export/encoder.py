"""Qt-free video file writer: numpy frames (+ optional audio) -> ProRes .mov / HEVC .mp4.

Used by the headless CLI and the timeline exporter. See :func:`write_clip`.

Guarantees
----------
* Atomic: the file is encoded to ``.<stem>.partial-<random><ext>`` next to the
  destination and moved into place with :func:`os.replace` only after the container was
  finalised. On any error or cancellation the temporary file is removed; an existing
  destination file is only replaced on success.
* Colour: R'G'B' -> Y'CbCr is done here with the BT.709 matrix and limited-range 10-bit
  quantisation (:mod:`app.export.yuv`); the stream is tagged BT.709 / BT.709 / BT.709, tv.
* Provenance: the container always carries ``ai_generated=true``, the model name, the
  software name/version and an AI-generated statement in ``comment``/``description``.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from fractions import Fraction
from itertools import chain
from pathlib import Path

import av
import numpy as np

from app import __version__
from app.errors import AppError, ExportCancelled, ExportError
from app.export.formats import (
    BT709,
    RANGE_LIMITED,
    DeliveryFormat,
    check_encoders,
    format_for_path,
)
from app.export.pipeline import usable_cores
from app.export.yuv import rgb_to_yuv_planes
from app.project.atomic import (
    check_name,
    commit,
    discard,
    remove_stale_temporaries,
    reserve_temp,
    resolve_target,
)

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class AudioStream:
    """Audio produced on demand (a timeline mix), so a long export never holds all of it in memory.

    ``read(first, end)`` returns float32 ``[channels, end - first]`` samples in -1..1; it is called with
    consecutive windows from the encoding thread.
    """

    read: Callable[[int, int], np.ndarray]
    samples: int
    channels: int
    sample_rate: int


SOFTWARE_NAME = f"AIPROD Studio {__version__}"
MAX_FPS = 1000
AUDIO_CHUNK = 4096
_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]*$")
# Some common NTSC-style rates are passed as rounded floats (23.976, 29.97, 59.94).
_NTSC_BASES = (24, 30, 48, 60, 120)


def write_clip(
    path: str | os.PathLike[str],
    frames: np.ndarray | Iterable[np.ndarray],
    fps: Fraction | float | int | str,
    audio: np.ndarray | None = None,
    sample_rate: int | None = None,
    metadata: Mapping[str, object] | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    *,
    frame_count: int | None = None,
    delivery: DeliveryFormat | None = None,
    overlap: bool = False,
) -> Path:
    """Encode ``frames`` (and ``audio``) to ``path`` and return the final path.

    Args:
        path: destination; ``.mov`` (ProRes 422 HQ + PCM s24le) or ``.mp4``
            (HEVC Main 10 ``hvc1`` + AAC). Existing files are replaced on success.
        frames: ``[F, H, W, 3]`` float (display-referred Rec.709 R'G'B', clipped to 0..1)
            or uint8 (0..255) array, or an iterable of ``[H, W, 3]`` frames together
            with ``frame_count`` (iterables are consumed lazily; at most ``frame_count``
            frames are taken).
        fps: frame rate; a :class:`~fractions.Fraction` (``Fraction(24000, 1001)``), an
            int, a float (23.976 / 29.97 / 59.94 are mapped to the exact NTSC rates) or a
            string such as ``"24000/1001"``.
        audio: optional float ``[channels, samples]`` (1-D = mono) in -1..1, 1 or 2
            channels, encoded exactly as given (no padding or trimming to the video); or an
            :class:`AudioStream` read window by window (its own ``sample_rate`` is used).
        sample_rate: audio sample rate in Hz (required with ``audio``; kept as is).
        metadata: provenance tags (``model``, ``checkpoint``, ``seed``, ``prompt``,
            ``software`` ...). ``ai_generated=true`` is always written.
        on_progress: called as ``on_progress(done_frames, total_frames)`` after each frame.
        cancel: when set, the export stops at the next frame with :class:`ExportCancelled`.
        frame_count: number of frames, required for iterables without ``len()``.
        delivery: the format to write (an export preset's); default: chosen by the extension.
            A format with ``alpha`` also takes ``[H, W, 4]`` R'G'B'A frames.
        overlap: convert and encode frame N on a second thread while the source produces frame
            N+1 (the timeline renderer's decode/grade runs in parallel with the encoder). The
            source may then be asked for one frame more before a cancel is seen.

    Raises:
        ExportError: preflight or encoding failure (message says what to change).
        ExportCancelled: ``cancel`` was set; nothing was written.
    """
    dest = Path(os.fspath(path)).expanduser().absolute()
    fmt = delivery if delivery is not None else format_for_path(dest)
    _check_destination(dest)
    check_encoders(fmt)
    rate = normalise_fps(fps)
    sound = _prepare_audio(audio, sample_rate, fmt)
    tags = build_metadata(metadata)
    _raise_if_cancelled(cancel, dest)

    remove_stale_temporaries(dest.parent)  # what a killed render or generation left here
    # Creating the temporary file is the writability check (os.access lies for root).
    target = resolve_target(dest)  # a symlinked destination: write its target, keep the link
    tmp = _reserve_temp(target)
    try:
        source = _FrameSource.open(frames, frame_count, channels=(3, 4) if fmt.alpha else (3,))
        _check_frame_size(fmt, source.width, source.height)
        _check_free_space(dest, fmt, source, rate, sound)
        _raise_if_cancelled(cancel, dest)
        _encode(tmp, fmt, source, rate, sound, tags, on_progress, cancel, dest, overlap)
        _raise_if_cancelled(cancel, dest)
        commit(tmp, target)
    except BaseException as exc:
        discard(tmp)
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            raise _disk_full(dest) from exc
        raise
    return dest


# --------------------------------------------------------------------------- preflight


def preflight_destination(
    path: str | os.PathLike[str],
    *,
    width: int | None = None,
    height: int | None = None,
    frame_count: int | None = None,
    fps: Fraction | float | int | str | None = None,
    audio_channels: int = 0,
    sample_rate: int = 0,
    delivery: DeliveryFormat | None = None,
) -> DeliveryFormat:
    """Check ``path`` before spending minutes generating: call this first, then write_clip.

    Always checks the extension, the destination folder (exists, is a folder, a file can
    really be created in it) and that the encoders exist. When ``width``/``height`` are
    given it also checks the frame size for the format's chroma subsampling, and when
    ``frame_count`` and ``fps`` are given as well, the free disk space estimate.
    Creates nothing that outlives the call. Returns the :class:`DeliveryFormat` (``delivery``
    when given, e.g. an export preset's, else the one the extension names).
    """
    dest = Path(os.fspath(path)).expanduser().absolute()
    fmt = delivery if delivery is not None else format_for_path(dest)
    _check_destination(dest)
    check_encoders(fmt)
    discard(_reserve_temp(resolve_target(dest)))
    if width is not None and height is not None:
        _check_frame_size(fmt, width, height)
        if frame_count is not None and fps is not None:
            rate = normalise_fps(fps)
            needed = fmt.estimate_bytes(width, height, frame_count, float(rate), audio_channels, sample_rate)
            _require_free_space(dest, needed)
    return fmt


def normalise_fps(fps: Fraction | float | int | str) -> Fraction:
    """Return ``fps`` as an exact Fraction, or raise ExportError."""
    if isinstance(fps, bool):
        raise ExportError(f"Frame rate must be a number such as 24 or 24000/1001, got {fps!r}.")
    try:
        if isinstance(fps, Fraction):
            rate = fps
        elif isinstance(fps, int):
            rate = Fraction(fps)
        elif isinstance(fps, str):
            rate = Fraction(fps.strip())
        else:
            value = float(fps)
            if not math.isfinite(value):
                raise ValueError(value)
            rate = Fraction(value).limit_denominator(1001)
            for base in _NTSC_BASES:
                ntsc = Fraction(base * 1000, 1001)
                if abs(value - float(ntsc)) < 0.0015:
                    rate = ntsc
                    break
    except (TypeError, ValueError, ZeroDivisionError):
        raise ExportError(f"Frame rate must be a number such as 24 or 24000/1001, got {fps!r}.") from None
    if not 0 < rate <= MAX_FPS:
        raise ExportError(f"Frame rate must be between 0 and {MAX_FPS} fps, got {float(rate):g}.")
    return rate


def _check_destination(dest: Path) -> None:
    try:
        check_name(dest)
    except OSError as exc:
        raise ExportError(
            f"Cannot write '{dest.name[:60]}…': {exc.strerror}. Choose a shorter name."
        ) from exc
    folder = dest.parent
    if not folder.exists():
        raise ExportError(
            f"The destination folder '{folder}' does not exist. Create it or choose another location."
        )
    if not folder.is_dir():
        raise ExportError(f"Cannot save into '{folder}': it is a file, not a folder. Choose a folder.")
    if dest.is_dir():
        raise ExportError(f"'{dest}' is a folder. Give a file name ending in {dest.suffix or '.mov'}.")


def _check_frame_size(fmt: DeliveryFormat, width: int, height: int) -> None:
    if width < 2 or height < 2:
        raise ExportError(f"Frames must be at least 2x2 pixels, got {width}x{height}.")
    odd_w = fmt.even_width and width % 2
    odd_h = fmt.even_height and height % 2
    if odd_w or odd_h:
        needs = "width and height" if fmt.even_height else "width"
        chroma = "4:2:0" if fmt.even_height else "4:2:2"
        fixed = f"{width - width % 2}x{height - (height % 2 if fmt.even_height else 0)}"
        raise ExportError(
            f"{fmt.label} needs an even {needs} ({chroma} chroma), but the frames are "
            f"{width}x{height}. Crop or pad them, e.g. to {fixed}."
        )


@dataclass(frozen=True)
class _Audio:
    read: Callable[[int, int], np.ndarray]  # float32 [channels, end - first], clipped to -1..1
    total: int
    channels: int
    sample_rate: int

    @property
    def layout(self) -> str:
        return "mono" if self.channels == 1 else "stereo"


def _prepare_audio(
    audio: np.ndarray | AudioStream | None, sample_rate: int | None, fmt: DeliveryFormat
) -> _Audio | None:
    if audio is None:
        return None
    if isinstance(audio, AudioStream):
        if audio.channels not in (1, 2) or audio.samples <= 0:
            raise ExportError(f"Audio must have 1 or 2 channels and some samples, got {audio}.")
        _check_sample_rate(audio.sample_rate, fmt)

        def read_stream(first: int, end: int) -> np.ndarray:
            return np.ascontiguousarray(np.clip(audio.read(first, end), -1.0, 1.0), dtype=np.float32)

        return _Audio(read_stream, audio.samples, audio.channels, audio.sample_rate)
    if not isinstance(audio, np.ndarray):
        raise ExportError(f"Audio must be a numpy array [channels, samples], got {type(audio).__name__}.")
    if not np.issubdtype(audio.dtype, np.floating):
        hint = " (divide int16 PCM by 32768)" if audio.dtype == np.int16 else ""
        raise ExportError(f"Audio must be float32 samples in -1..1, got dtype {audio.dtype}{hint}.")
    data = audio[np.newaxis, :] if audio.ndim == 1 else audio
    if data.ndim != 2 or data.shape[0] not in (1, 2):
        hint = ""
        if data.ndim == 2 and data.shape[1] in (1, 2):
            hint = " It looks like [samples, channels]; pass audio.T instead."
        raise ExportError(
            f"Audio must be [channels, samples] with 1 (mono) or 2 (stereo) channels, "
            f"got shape {audio.shape}.{hint}"
        )
    if data.shape[1] == 0:
        raise ExportError("The audio has no samples. Pass audio=None for a silent clip.")
    if not np.all(np.isfinite(data)):
        raise ExportError("The audio contains NaN or infinite samples.")
    if sample_rate is None:
        raise ExportError("Audio was given without sample_rate; pass the rate in Hz (e.g. 24000).")
    rate = _check_sample_rate(sample_rate, fmt)
    samples = np.ascontiguousarray(np.clip(data, -1.0, 1.0), dtype=np.float32)
    return _Audio(lambda first, end: samples[:, first:end], samples.shape[1], samples.shape[0], rate)


def _check_sample_rate(sample_rate: object, fmt: DeliveryFormat) -> int:
    if (
        isinstance(sample_rate, bool)
        or not isinstance(sample_rate, (int, float, np.integer, np.floating))
        or not math.isfinite(sample_rate)
        or int(sample_rate) != sample_rate
        or sample_rate <= 0
    ):
        raise ExportError(f"Audio sample_rate must be a positive whole number of Hz, got {sample_rate!r}.")
    rate = int(sample_rate)  # type: ignore[call-overload]
    allowed = av.Codec(fmt.audio_codec, "w").audio_rates
    if allowed and rate not in allowed:
        rates = ", ".join(str(r) for r in sorted(allowed))
        raise ExportError(
            f"{fmt.label} cannot store audio at {rate} Hz ({fmt.audio_codec} supports "
            f"{rates}). Resample the audio, or export to .mov (PCM accepts any rate)."
        )
    if rate > 384_000:
        raise ExportError(f"Audio sample_rate {rate} Hz is too high (max 384000 Hz).")
    return rate


DELIVERY_SAMPLE_RATE = 48000  # what studio exports carry, and what LTX-2.3/2.5 make natively


def resample_audio(audio: np.ndarray, rate_in: int, rate_out: int = DELIVERY_SAMPLE_RATE) -> np.ndarray:
    """[channels, samples] float audio at ``rate_out`` (libswresample; the length scales exactly).

    LTX-2.0 and the tiny test model make 24 kHz sound; the CLI hands files to the same editors as the
    studio's 48 kHz exports, so its clips are delivered at 48 kHz too."""
    data = np.asarray(audio, dtype=np.float32)
    data = data[np.newaxis, :] if data.ndim == 1 else data
    if int(rate_in) == int(rate_out) or data.shape[1] == 0:
        return data
    layout = "stereo" if data.shape[0] == 2 else "mono"
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format="fltp", layout=layout)
    frame.sample_rate = int(rate_in)
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=int(rate_out))
    parts = [f.to_ndarray() for f in resampler.resample(frame)]
    parts += [f.to_ndarray() for f in resampler.resample(None)]
    out = np.concatenate(parts, axis=1) if parts else np.zeros((data.shape[0], 0), np.float32)
    expected = round(data.shape[1] * int(rate_out) / int(rate_in))
    if out.shape[1] < expected:
        out = np.pad(out, ((0, 0), (0, expected - out.shape[1])))
    return np.ascontiguousarray(out[:, :expected], dtype=np.float32)


def build_metadata(metadata: Mapping[str, object] | None) -> dict[str, str]:
    """Container tags from caller ``metadata`` plus the mandatory provenance tags."""
    tags: dict[str, str] = {}
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or not _KEY_RE.match(key):
            raise ExportError(
                f"Metadata key {key!r} is not allowed; use letters, digits, '_', '.' or '-' "
                f"starting with a letter."
            )
        if value is None:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (dict, list, tuple)):
            # Structured provenance (e.g. generation parameters) stays machine-readable.
            text = json.dumps(value, sort_keys=True, default=str)
        else:
            text = str(value)
        tags[key] = text.replace("\x00", "")

    model = tags.get("model") or tags.get("model_name") or "unknown"
    software = tags.get("software") or SOFTWARE_NAME
    statement = f"AI-generated video. Model: {model}"
    if tags.get("checkpoint"):
        statement += f" (checkpoint {tags['checkpoint']})"
    statement += f". Created with {software}."

    tags["ai_generated"] = "true"
    tags["model"] = model
    tags["software"] = software
    user_comment = tags.get("comment")
    if user_comment and user_comment.startswith(statement):
        # Already built (the renderer builds the tags, write_clip builds them again): the exported comment
        # said "AI-generated video. ... AI-generated video. ..." before this was idempotent.
        tags["comment"] = user_comment
    else:
        tags["comment"] = f"{statement} {user_comment}" if user_comment else statement
    tags.setdefault("description", statement)
    return tags


def _check_free_space(
    dest: Path, fmt: DeliveryFormat, source: _FrameSource, rate: Fraction, sound: _Audio | None
) -> None:
    needed = fmt.estimate_bytes(
        source.width,
        source.height,
        source.total,
        float(rate),
        sound.channels if sound else 0,
        sound.sample_rate if sound else 0,
    )
    if sound is not None:  # audio longer than the video still has to fit
        extra = sound.total / sound.sample_rate - source.total / float(rate)
        if extra > 0:
            needed += int(fmt.audio_bits_per_second(sound.channels, sound.sample_rate) * extra / 8)
    _require_free_space(dest, needed)


def _require_free_space(dest: Path, needed: int) -> None:
    free = shutil.disk_usage(dest.parent).free
    if free < needed:
        raise ExportError(
            f"Not enough free disk space in '{dest.parent}': this export needs about "
            f"{_human_bytes(needed)} but only {_human_bytes(free)} is free. Free up space "
            f"or choose another folder."
        )


def _human_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover - unreachable


def _disk_full(dest: Path) -> ExportError:
    return ExportError(
        f"The disk holding '{dest.parent}' ran out of space while writing '{dest.name}'. "
        f"Free up space or choose another folder; nothing was written."
    )


def _ffmpeg_failure(exc: av.FFmpegError, what: str, dest: Path) -> ExportError:
    if exc.errno == errno.ENOSPC:
        return _disk_full(dest)
    return ExportError(f"{what} '{dest.name}' failed in FFmpeg: {exc}")


def _raise_if_cancelled(cancel: threading.Event | None, dest: Path) -> None:
    if cancel is not None and cancel.is_set():
        raise ExportCancelled(f"Export of '{dest.name}' was cancelled; no file was written.")


# --------------------------------------------------------------------------- frames


class _FrameSource:
    """Validated, lazily consumed frames with a known count and size."""

    def __init__(
        self, first: np.ndarray, rest: Iterator[np.ndarray], total: int, channels: tuple[int, ...]
    ) -> None:
        self.height, self.width = _frame_shape(first)
        self.total = total
        self.channels = channels
        self._iter = chain([first], rest)

    @classmethod
    def open(
        cls,
        frames: np.ndarray | Iterable[np.ndarray],
        frame_count: int | None,
        channels: tuple[int, ...] = (3,),
    ) -> _FrameSource:
        if isinstance(frames, np.ndarray):
            if frames.ndim != 4:
                raise ExportError(
                    f"Frames must be an array of shape [frames, height, width, 3], got shape {frames.shape}."
                )
            total = int(frames.shape[0])
            if frame_count is not None and frame_count != total:
                raise ExportError(
                    f"frame_count={frame_count} does not match the {total} frames in the array."
                )
            _check_dtype(frames.dtype, "Frames")
            items: Iterator[np.ndarray] = iter(frames)
        else:
            if isinstance(frames, (str, bytes)) or not isinstance(frames, Iterable):
                raise ExportError(
                    f"Frames must be a numpy array or an iterable of [height, width, 3] "
                    f"arrays, got {type(frames).__name__}."
                )
            if frame_count is None:
                try:
                    frame_count = len(frames)  # type: ignore[arg-type]
                except TypeError:
                    raise ExportError(
                        "Frames were given as a stream without a length; pass frame_count=N."
                    ) from None
            total = frame_count
            items = iter(frames)
        if isinstance(total, bool) or not isinstance(total, (int, np.integer)) or total < 0:
            raise ExportError(f"frame_count must be a whole number, got {total!r}.")
        if total == 0:
            raise ExportError("There are no frames to export (frame count is 0).")
        try:
            first = next(items)
        except StopIteration:
            raise ExportError(f"The frame source is empty, but frame_count={total} was given.") from None
        first = _check_frame(first, 0, None, channels)
        return cls(first, items, int(total), channels)

    def __iter__(self) -> Iterator[np.ndarray]:
        shape = (self.height, self.width)
        for index in range(self.total):
            try:
                frame = next(self._iter)
            except StopIteration:
                raise ExportError(
                    f"The frame source ended after {index} frames, but {self.total} were "
                    f"expected (frame_count)."
                ) from None
            yield frame if index == 0 else _check_frame(frame, index, shape, self.channels)


def _check_dtype(dtype: np.dtype, what: str) -> None:
    if dtype != np.uint8 and not np.issubdtype(dtype, np.floating):
        raise ExportError(f"{what} have dtype {dtype}; expected float32 RGB in 0..1 or uint8 RGB in 0..255.")


def _frame_shape(frame: np.ndarray | av.VideoFrame) -> tuple[int, int]:
    if isinstance(frame, av.VideoFrame):
        return frame.height, frame.width
    return int(frame.shape[0]), int(frame.shape[1])


def _check_frame(
    frame: object, index: int, shape: tuple[int, int] | None, channels: tuple[int, ...] = (3,)
) -> np.ndarray:
    if isinstance(frame, av.VideoFrame):  # converted already (the renderer's fast path): only its size
        if shape is not None and (frame.height, frame.width) != shape:
            raise ExportError(
                f"Frame {index} is {frame.width}x{frame.height} but the clip is "
                f"{shape[1]}x{shape[0]}; all frames must have the same size."
            )
        return frame  # type: ignore[return-value]
    arr = np.asarray(frame)
    _check_dtype(arr.dtype, f"Frame {index} values")
    if arr.ndim != 3 or arr.shape[2] not in channels:
        if 4 in channels:
            raise ExportError(
                f"Frame {index} has shape {arr.shape}; expected [height, width, 3 or 4] RGB(A)."
            )
        hint = " Drop the alpha channel (frame[..., :3])." if arr.ndim == 3 and arr.shape[2] == 4 else ""
        raise ExportError(f"Frame {index} has shape {arr.shape}; expected [height, width, 3] RGB.{hint}")
    if shape is not None and arr.shape[:2] != shape:
        raise ExportError(
            f"Frame {index} is {arr.shape[1]}x{arr.shape[0]} but the clip is "
            f"{shape[1]}x{shape[0]}; all frames must have the same size."
        )
    if arr.dtype != np.uint8 and not np.all(np.isfinite(arr)):
        raise ExportError(f"Frame {index} contains NaN or infinite values.")
    return arr


# --------------------------------------------------------------------------- encoding


def _reserve_temp(dest: Path) -> Path:
    """Create the temporary file next to ``dest`` (this is also the writability check)."""
    try:
        return reserve_temp(dest)
    except OSError as exc:
        raise ExportError(
            f"Cannot write to the folder '{dest.parent}' ({exc.strerror or exc}). "
            f"Check its permissions or choose another folder."
        ) from exc


YUV_BANDS = max(1, min(4, usable_cores() // 4))  # row bands converted at once (1 on <= 7 usable cores)
_yuv_pool: ThreadPoolExecutor | None = None
_yuv_pool_lock = threading.Lock()


def yuv_planes(rgb: np.ndarray, fmt: DeliveryFormat, bands: int | None = None) -> tuple[np.ndarray, ...]:
    """``rgb_to_yuv_planes`` for ``fmt``, in ``bands`` bands of rows on threads (numpy releases the GIL)
    where the machine has the cores: the same samples (every step works within a row, or within the row
    pair 4:2:0 averages, and band edges fall between such pairs), one single-threaded stage less."""
    bands = YUV_BANDS if bands is None else max(1, int(bands))
    height, step = rgb.shape[0], fmt.chroma_subsampling[1]
    if bands <= 1 or height < 64 * bands:
        return rgb_to_yuv_planes(rgb, fmt.chroma_subsampling, fmt.bit_depth)
    edges = [min(height, round(height * i / bands / step) * step) for i in range(bands)] + [height]
    global _yuv_pool
    with _yuv_pool_lock:
        if _yuv_pool is None:
            _yuv_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="aiprod-yuv-band")
    parts = list(
        _yuv_pool.map(
            lambda span: rgb_to_yuv_planes(rgb[span[0] : span[1]], fmt.chroma_subsampling, fmt.bit_depth),
            zip(edges, edges[1:], strict=False),
        )
    )
    return tuple(np.concatenate([part[k] for part in parts], axis=0) for k in range(len(parts[0])))


def _yuv_frame(planes: tuple[np.ndarray, ...], pix_fmt: str, width: int, height: int) -> av.VideoFrame:
    """Copy Y/Cb/Cr(/A) planes (uint16 for 10-bit, uint8 for 8-bit) into a new planar VideoFrame."""
    frame = av.VideoFrame(width, height, pix_fmt)
    for plane, data in zip(frame.planes, planes, strict=True):
        if (plane.height, plane.width) != data.shape:  # pragma: no cover - internal bug guard
            raise ExportError(f"internal error: plane {data.shape} vs {plane.height}x{plane.width}")
        dtype = "<u2" if data.dtype == np.uint16 else "u1"
        stride = plane.line_size // data.dtype.itemsize
        view = np.frombuffer(plane, dtype=dtype, count=plane.height * stride)
        view.reshape(plane.height, stride)[:, : plane.width] = data
    return _tagged(frame)


def _tagged(frame: av.VideoFrame) -> av.VideoFrame:
    frame.color_primaries = BT709
    frame.color_trc = BT709
    frame.colorspace = BT709
    frame.color_range = RANGE_LIMITED
    return frame


def _encode(
    tmp: Path,
    fmt: DeliveryFormat,
    source: _FrameSource,
    rate: Fraction,
    sound: _Audio | None,
    tags: Mapping[str, str],
    on_progress: ProgressCallback | None,
    cancel: threading.Event | None,
    dest: Path,
    overlap: bool = False,
) -> None:
    frame_time = 1 / rate
    try:
        container = av.open(
            str(tmp), mode="w", format=fmt.container_format, options=dict(fmt.container_options)
        )
    except av.FFmpegError as exc:
        raise _ffmpeg_failure(exc, "Opening", dest) from exc

    ok = False
    try:
        for key, value in tags.items():
            container.metadata[key] = value

        video = container.add_stream(fmt.video_codec, rate=rate)
        video.width = source.width
        video.height = source.height
        video.pix_fmt = fmt.pix_fmt
        video.time_base = frame_time
        vcc = video.codec_context
        vcc.time_base = frame_time
        vcc.framerate = rate
        vcc.profile = fmt.video_profile
        vcc.color_primaries = BT709
        vcc.color_trc = BT709
        vcc.colorspace = BT709
        vcc.color_range = RANGE_LIMITED
        if fmt.codec_tag:
            video.codec_tag = fmt.codec_tag
        video.options = dict(fmt.video_options)
        # Frame/slice threads where the encoder has them (prores_ks, dnxhd, x264/x265 manage their own).
        vcc.thread_type = "AUTO"

        audio_stream = None
        if sound is not None:
            audio_stream = container.add_stream(fmt.audio_codec, rate=sound.sample_rate, layout=sound.layout)
            audio_stream.codec_context.time_base = Fraction(1, sound.sample_rate)
            if fmt.audio_bit_rate is not None:
                audio_stream.bit_rate = fmt.audio_bit_rate[sound.channels]
        audio_pos = 0

        def feed_audio(until: int) -> None:
            nonlocal audio_pos
            assert sound is not None and audio_stream is not None
            until = min(until, sound.total)
            while audio_pos < until:
                end = min(audio_pos + AUDIO_CHUNK, until)
                chunk = np.ascontiguousarray(sound.read(audio_pos, end))
                aframe = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=sound.layout)
                aframe.sample_rate = sound.sample_rate
                aframe.time_base = Fraction(1, sound.sample_rate)
                aframe.pts = audio_pos
                container.mux(audio_stream.encode(aframe))
                audio_pos = end

        def prepare(index: int, rgb: np.ndarray | av.VideoFrame) -> av.VideoFrame:
            if isinstance(rgb, av.VideoFrame):  # Y'CbCr planes made by the renderer's fast path
                if rgb.format.name != fmt.planar_pix_fmt:  # pragma: no cover - internal bug guard
                    raise ExportError(f"internal error: a {rgb.format.name} frame for {fmt.planar_pix_fmt}")
                vframe = _tagged(rgb)
            else:
                if fmt.alpha and rgb.shape[-1] == 3:  # opaque picture into a format with alpha
                    opaque = np.ones(rgb.shape[:2] + (1,), np.float32 if rgb.dtype != np.uint8 else np.uint8)
                    rgb = np.concatenate([rgb, opaque * (255 if rgb.dtype == np.uint8 else 1)], axis=-1)
                planes = yuv_planes(rgb, fmt)
                vframe = _yuv_frame(planes, fmt.planar_pix_fmt, source.width, source.height)
            if fmt.planar_pix_fmt != fmt.pix_fmt:  # p010le / nv12 for a hardware encoder: same samples
                vframe = _tagged(vframe.reformat(format=fmt.pix_fmt))
            vframe.time_base = frame_time
            vframe.pts = index
            return vframe

        def encode_frame(index: int, vframe: av.VideoFrame) -> None:
            container.mux(video.encode(vframe))
            if sound is not None:
                # Interleave: audio up to the end time of this frame.
                feed_audio(math.floor((index + 1) * frame_time * sound.sample_rate))

        total = source.total
        if overlap:
            _encode_overlapped(source, prepare, encode_frame, on_progress, cancel, dest)
        else:
            for index, rgb in enumerate(source):
                encode_frame(index, prepare(index, rgb))
                if on_progress is not None:
                    on_progress(index + 1, total)
                if index + 1 < total:  # before asking the source for the next frame
                    _raise_if_cancelled(cancel, dest)

        container.mux(video.encode(None))
        if sound is not None and audio_stream is not None:
            feed_audio(sound.total)
            container.mux(audio_stream.encode(None))
        ok = True
    except av.FFmpegError as exc:
        raise _ffmpeg_failure(exc, "Encoding", dest) from exc
    finally:
        try:
            container.close()
        except av.FFmpegError as exc:
            if ok:  # finalising (trailer / faststart) failed: the file is not usable
                raise _ffmpeg_failure(exc, "Finishing", dest) from exc


def _encode_overlapped(
    source: Iterable[np.ndarray],
    prepare: Callable[[int, np.ndarray], object],
    encode_frame: Callable[[int, object], None],
    on_progress: ProgressCallback | None,
    cancel: threading.Event | None,
    dest: Path,
) -> None:
    """A three-stage pipeline: this thread makes frame N+2 (timeline decode, grading) while one helper
    runs ``prepare`` on frame N+1 (RGB->YUV planes) and another encodes frame N (FFmpeg encoder, muxer).

    Which stage is slowest depends on the preset and the grades, so none waits for another's Python
    work; numpy, OpenColorIO and FFmpeg release the GIL for the heavy parts. At most three frames are in
    flight, which bounds the memory. Frames are encoded strictly in order.
    """
    total = getattr(source, "total", 0)
    done = 0
    with (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="aiprod-yuv") as converter,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="aiprod-encode") as encoder,
    ):
        converting: tuple[int, Future[object]] | None = None
        encoding: Future[None] | None = None

        def hand_over() -> None:
            """Pass the converted frame to the encoder once the encoder is free."""
            nonlocal encoding, done
            assert converting is not None
            index, future = converting
            prepared = future.result()
            if encoding is not None:
                encoding.result()
                done = index
                if on_progress is not None:
                    on_progress(done, total)
            encoding = encoder.submit(encode_frame, index, prepared)

        try:
            for index, rgb in enumerate(source):
                submitted = converter.submit(prepare, index, rgb)
                if converting is not None:
                    hand_over()
                converting = (index, submitted)
                if index + 1 < total:
                    _raise_if_cancelled(cancel, dest)
            if converting is not None:
                hand_over()
                converting = None
            if encoding is not None:
                encoding.result()
                if on_progress is not None:
                    on_progress(total, total)
        except BaseException as exc:
            pending = [f for f in (encoding, converting[1] if converting else None) if f is not None]
            for future in pending:
                future.cancel()
            wait(pending)  # never leave a helper using the container we are about to close
            if isinstance(exc, (AppError, av.FFmpegError)) or not isinstance(exc, Exception):
                raise  # already a message for the user (or FFmpeg's, which _encode words), or an interrupt
            raise ExportError(
                f"The export failed while converting or encoding frame {done + 1} of {total} "
                f"({type(exc).__name__}: {exc}). Nothing was written."
            ) from exc
