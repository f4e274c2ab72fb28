"""Image sequence writer: one PNG / DPX / EXR per frame in a folder, the audio as a 24-bit WAV beside them.

Layout of a finished export to ``/out/shot``::

    shot/shot.0000000.png ...   frame numbers are timeline frame numbers (an in/out range keeps them)
    shot/shot.wav               the mixed audio, PCM 24-bit (absent when the timeline is silent)
    shot/shot.provenance.json   the provenance tags (model, AI-generated statement, software...)

Image formats have no common place for provenance tags, hence the JSON beside them; the WAV carries the
same statement in its INFO chunk.

Atomic like the video writer: everything is written into ``.shot.partial-<random>`` next to the
destination and renamed into place at the end; a cancelled or failed export removes that folder. The
destination must not exist yet, or be an empty folder (a folder of someone's files is never replaced).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import threading
from collections.abc import Iterable, Mapping
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from app.errors import ExportError
from app.export.encoder import (
    AUDIO_CHUNK,
    AudioStream,
    ProgressCallback,
    _disk_full,
    _encode_overlapped,
    _ffmpeg_failure,
    _human_bytes,
    _raise_if_cancelled,
)
from app.export.formats import encoder_available
from app.export.presets import SequenceFormat
from app.project.atomic import check_name, commit, discard, remove_stale_temporaries, reserve_temp

FRAME_DIGITS = 7


def sequence_paths(dest: Path, fmt: SequenceFormat, first: int, count: int) -> list[Path]:
    """The image files a finished export of ``count`` frames from frame ``first`` contains."""
    return [dest / f"{dest.name}.{n:0{FRAME_DIGITS}d}{fmt.extension}" for n in range(first, first + count)]


def preflight_sequence(dest: Path, fmt: SequenceFormat, needed_bytes: int) -> None:
    """Destination usable, encoders present, enough free space; creates nothing that outlives it."""
    try:
        check_name(dest)
        # Every file inside is named after the folder; the longest is the provenance record.
        check_name(Path(f"{dest.name}.provenance.json"), "sequence folder (plus '.provenance.json')")
        check_name(
            Path(f"{dest.name}.{0:0{FRAME_DIGITS}d}{fmt.extension}"), "sequence folder (plus a frame number)"
        )
    except OSError as exc:
        raise ExportError(
            f"Cannot write '{dest.name[:60]}…': {exc.strerror}. Choose a shorter name."
        ) from exc
    folder = dest.parent
    if not folder.is_dir():
        what = "does not exist" if not folder.exists() else "is a file, not a folder"
        raise ExportError(f"The destination folder '{folder}' {what}. Create it or choose another location.")
    if dest.is_file():
        raise ExportError(f"'{dest}' is a file; an image sequence needs a folder name. Choose another name.")
    if dest.is_dir() and any(dest.iterdir()):
        raise ExportError(
            f"The folder '{dest}' already exists and is not empty. Choose a new name for the sequence "
            f"or empty that folder."
        )
    missing = [c for c in (fmt.codec, fmt.audio_codec) if not encoder_available(c)]
    if missing:
        raise ExportError(
            f"This FFmpeg build has no {' / '.join(repr(m) for m in missing)} encoder, which "
            f"{fmt.extension} sequences need. Install a PyAV build that includes it or pick another preset."
        )
    discard(_reserve_temp_folder(dest))  # the writability check
    free = shutil.disk_usage(folder).free
    if free < needed_bytes:
        raise ExportError(
            f"Not enough free disk space in '{folder}': this export needs about {_human_bytes(needed_bytes)} "
            f"but only {_human_bytes(free)} is free. Free up space or choose another folder."
        )


def write_sequence(
    dest: str | os.PathLike[str],
    fmt: SequenceFormat,
    frames: Iterable[np.ndarray],
    frame_count: int,
    fps: Fraction,
    *,
    first_number: int = 0,
    audio: AudioStream | None = None,
    tags: Mapping[str, str] | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Write ``frame_count`` float R'G'B'(A) frames (0..1) as images into the folder ``dest``.

    Frames with four channels are written with the format's alpha pixel format (when it has one).
    Returns the finished folder. ExportCancelled / ExportError leave nothing behind.
    """
    folder = Path(os.fspath(dest)).expanduser().absolute()
    remove_stale_temporaries(folder.parent)  # what a killed export left here
    tmp = _reserve_temp_folder(folder)
    try:
        _write_images(tmp / folder.name, fmt, frames, frame_count, fps, first_number, on_progress, cancel)
        if audio is not None:
            _raise_if_cancelled(cancel, folder)
            _write_wav(tmp / f"{folder.name}.wav", audio, tags or {}, folder)
        (tmp / f"{folder.name}.provenance.json").write_text(
            json.dumps(dict(tags or {}), indent=2, sort_keys=True), encoding="utf-8"
        )
        _raise_if_cancelled(cancel, folder)
        if folder.is_dir():
            folder.rmdir()  # preflight allowed only an empty folder; rmdir refuses anything else
        commit(tmp, folder)
    except BaseException as exc:
        discard(tmp)
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            raise _disk_full(folder) from exc
        raise
    return folder


def _reserve_temp_folder(dest: Path) -> Path:
    try:
        return reserve_temp(dest, folder=True)
    except OSError as exc:
        raise ExportError(
            f"Cannot write to the folder '{dest.parent}' ({exc.strerror or exc}). "
            f"Check its permissions or choose another folder."
        ) from exc


def image_array(frame: np.ndarray, fmt: SequenceFormat, pix_fmt: str) -> np.ndarray:
    """One float frame (0..1, 3 or 4 channels) as the array ``av.VideoFrame.from_ndarray`` takes."""
    if frame.dtype == np.uint8:
        rgb = frame.astype(np.float32) * np.float32(1 / 255)
    else:
        rgb = np.clip(np.asarray(frame, np.float32), 0.0, 1.0)
    if fmt.transfer == "linear":
        rgb = rgb.copy()
        rgb[..., :3] **= 2.4  # BT.1886 EOTF: display light; alpha stays as it is
    if "f32" in pix_fmt:
        return np.ascontiguousarray(rgb)
    top = 1023 if "10" in pix_fmt else 65535
    return np.rint(rgb * top).astype(np.uint16)


def _write_images(
    pattern_stem: Path,
    fmt: SequenceFormat,
    frames: Iterable[np.ndarray],
    frame_count: int,
    fps: Fraction,
    first_number: int,
    on_progress: ProgressCallback | None,
    cancel: threading.Event | None,
) -> None:
    folder = pattern_stem.parent
    pattern = str(folder / f"{pattern_stem.name}.%0{FRAME_DIGITS}d{fmt.extension}")
    iterator = iter(frames)
    try:
        first = next(iterator)
    except StopIteration:
        raise ExportError("There are no frames to export (frame count is 0).") from None
    alpha = first.shape[-1] == 4 and fmt.alpha_pix_fmt is not None
    pix_fmt = fmt.alpha_pix_fmt if alpha else fmt.pix_fmt
    assert pix_fmt is not None
    try:
        container = av.open(pattern, mode="w", format="image2", options={"start_number": str(first_number)})
    except av.FFmpegError as exc:
        raise _ffmpeg_failure(exc, "Opening", folder) from exc
    ok = False
    try:
        stream = container.add_stream(fmt.codec, rate=fps)
        stream.width, stream.height = int(first.shape[1]), int(first.shape[0])
        stream.pix_fmt = pix_fmt
        stream.options = dict(fmt.options)
        stream.codec_context.thread_type = "AUTO"

        def prepare(index: int, frame: np.ndarray) -> av.VideoFrame:
            data = image_array(frame if alpha else frame[..., :3], fmt, pix_fmt)
            picture = av.VideoFrame.from_ndarray(data, format=pix_fmt)
            picture.pts = index
            return picture

        def encode_frame(index: int, picture: av.VideoFrame) -> None:
            container.mux(stream.encode(picture))

        source = _Counted(first, iterator, frame_count)
        _encode_overlapped(source, prepare, encode_frame, on_progress, cancel, folder)
        container.mux(stream.encode(None))
        ok = True
    except av.FFmpegError as exc:
        raise _ffmpeg_failure(exc, "Encoding", folder) from exc
    finally:
        try:
            container.close()
        except av.FFmpegError as exc:
            if ok:
                raise _ffmpeg_failure(exc, "Finishing", folder) from exc


class _Counted:
    """``frame_count`` frames: the first one already taken, the rest from ``rest``."""

    def __init__(self, first: np.ndarray, rest, total: int) -> None:  # noqa: ANN001 - any iterator
        self.first, self.rest, self.total = first, rest, total

    def __iter__(self):  # noqa: ANN204
        yield self.first
        for index in range(1, self.total):
            try:
                yield next(self.rest)
            except StopIteration:
                raise ExportError(
                    f"The frame source ended after {index} frames, but {self.total} were expected."
                ) from None


def _write_wav(path: Path, audio: AudioStream, tags: Mapping[str, str], dest: Path) -> None:
    layout = "mono" if audio.channels == 1 else "stereo"
    try:
        with av.open(str(path), mode="w", format="wav") as container:
            # The wav muxer keeps RIFF INFO tags (comment -> ICMT, title -> INAM, encoded_by -> ISFT ...).
            for key in ("comment", "title", "artist", "encoded_by"):
                if tags.get(key):
                    container.metadata[key] = tags[key]
            container.metadata.setdefault("encoded_by", tags.get("software", ""))
            stream = container.add_stream("pcm_s24le", rate=audio.sample_rate, layout=layout)
            pos = 0
            while pos < audio.samples:
                end = min(pos + AUDIO_CHUNK, audio.samples)
                chunk = np.ascontiguousarray(np.clip(audio.read(pos, end), -1.0, 1.0), dtype=np.float32)
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
                frame.sample_rate = audio.sample_rate
                frame.pts = pos
                container.mux(stream.encode(frame))
                pos = end
            container.mux(stream.encode(None))
    except av.FFmpegError as exc:
        raise _ffmpeg_failure(exc, "Writing the sound of", dest) from exc
