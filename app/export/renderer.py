"""Render the timeline to a delivery file or image sequence (Qt-free; the CLI and the export dialog use it).

Pictures come from the same place the viewer's do, ``TimelineCompositor`` (top video track wins,
dissolves mixed, each clip's grade applied by the compositor), so the export contains what the viewer
shows. The sound is every enabled audio track with per-clip gain and fades (:mod:`app.export.audio_mix`).
The encoder does R'G'B' -> Y'CbCr with the BT.709 matrix itself and tags the streams BT.709.

Frame ranges count timeline frames: ``in_frame`` is the first frame written, ``out_frame`` is one past the
last (like a Python range and the player's end frame); a range export of ``in..out`` has ``out - in``
frames. Without a range the whole timeline (``0 .. doc.duration()``) is written.

Alpha (ProRes 4444, PNG and EXR sequences): opaque where a clip's picture covers the frame, transparent
where no clip is (gaps, and the letterbox bars around a picture of another aspect); during a dissolve the
coverage of the two pictures is mixed with the same weight as their pixels.

Everything is checked before the first frame is decoded (preflight): the preset's encoders, the
destination (folder exists and is writable, a sequence folder is new or empty), the frame size for the
chroma subsampling, the free disk space for a pessimistic size estimate, the media of every clip in the
range, and every grade (LUT files readable, colour spaces known).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from opentimelineio.opentime import RationalTime

from app import provenance
from app.document import TimelineDocument, TrackKind, VideoSample
from app.errors import AppError, ExportCancelled, ExportError, MediaError
from app.export import fast_path as fast_paths
from app.export import hardware
from app.export import presets as preset_registry
from app.export.audio_mix import SAMPLE_RATE, TimelineAudioMix
from app.export.encoder import build_metadata, normalise_fps, preflight_destination, write_clip
from app.export.fast_path import FastFrame, FastPath
from app.export.grading import CpuGrader, Grader, default_grader
from app.export.pipeline import PipelinedFrames, default_workers
from app.export.presets import ExportPreset
from app.export.sequences import preflight_sequence, write_sequence
from app.media.cache import FrameCache
from app.media.compositor import TimelineCompositor
from app.media.info import MediaInfo
from app.media.probe import path_problem, probe_media
from app.media.title import composite
from app.media.title import coverage as title_coverage
from app.media.transform import ClipTransform, place
from app.media.verify import verify_media
from app.project.outputs import check_output_path

ProgressWithEta = Callable[[int, int, float], None]
log = logging.getLogger(__name__)
MAX_LISTED_CLIPS = 50  # generation records written into the tags (the count is always exact)
MODES = ("pipelined", "sequential")
PIPELINE_MEMORY_BYTES = 1536 * 1024 * 1024  # frames in flight in the pipelined renderer, at most about this


@dataclass(frozen=True)
class DecodedFrame:
    """One timeline frame between the pipeline's decode and grade stages: the sample and its decoded
    pictures (float32 at the source size, None where a file could not be read: black), ungraded."""

    index: int
    sample: VideoSample | None
    pipeline: object | None  # the GradePipeline, or None when the compositor does not grade
    # (path, picture, grade, transform) of the picture and, during a dissolve, the one it mixes with
    parts: tuple[tuple[str, np.ndarray | None, dict | None, dict | None], ...]


@dataclass(frozen=True)
class RenderReport:
    """What an export wrote."""

    path: Path
    preset: str
    first_frame: int
    frames: int
    width: int
    height: int
    fps: Fraction
    has_audio: bool
    alpha: bool
    graded: bool  # the compositor applied clip grades (float pipeline) rather than plain decoded frames
    seconds: float  # wall-clock time of the export
    mode: str = "sequential"  # "pipelined": decode, grade, RGB->YUV and encode ran as parallel stages
    grader: str = "cpu"  # who ran the grades' OCIO processors ("cpu", "gl")
    fast_frames: int = 0  # frames that took the fast path (app.export.fast_path): one source frame as is

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def fast_path_note(self) -> str:
        """How many frames took the fast path, in the words aiprod-cli render, the Export dialog and the
        studio's status line use."""
        if self.fast_frames <= 0:
            return f"All {self.frames} frames went through OpenColorIO itself (no fast path)."
        return (
            f"{self.fast_frames} of {self.frames} frames took the fast path (a baked LUT, within about a "
            "code value of OpenColorIO)."
        )


class TimelineRenderer:
    """Frames of one timeline at one output size, as float32 R'G'B' (or R'G'B'A when ``alpha``) 0..1."""

    def __init__(
        self,
        doc: TimelineDocument,
        size: tuple[int, int] | None = None,
        *,
        alpha: bool = False,
        compositor: TimelineCompositor | None = None,
        fast: FastPath | None = None,
    ) -> None:
        self.doc = doc
        self.fast = fast  # frames that show one source frame as it is skip the float pipeline
        self.compositor = compositor or TimelineCompositor(doc, FrameCache(max_frames=8), size=size)
        self.size = tuple(size) if size is not None else self.compositor.frame_size()
        self.alpha = alpha
        self._media_sizes: dict[str, tuple[int, int] | None] = {}

    @property
    def graded(self) -> bool:
        """True when the compositor renders float frames with each clip's grade applied."""
        return hasattr(self.compositor, "frame_at_float")

    def frame(self, index: int) -> np.ndarray:
        """The picture at timeline frame ``index``: float32 [H, W, 3] (or uint8 from an older compositor),
        [H, W, 4] float32 with the coverage alpha when ``alpha``."""
        when = RationalTime(index, self.doc.rate)
        render_float = getattr(self.compositor, "frame_at_float", None)
        picture = render_float(when) if render_float is not None else self.compositor.frame_at(when)
        if not self.alpha:
            return picture
        rgb = picture.astype(np.float32) * np.float32(1 / 255) if picture.dtype == np.uint8 else picture
        coverage = self.coverage(self.doc.video_at(when))
        return np.concatenate([rgb.astype(np.float32, copy=False), coverage[..., None]], axis=-1)

    def frames(self, first: int, end: int) -> Iterator[np.ndarray]:
        for index in range(first, end):
            yield self.frame(index)

    # --- the pipelined path: frame() split into a decode stage and a grade stage ----------------------
    @property
    def can_pipeline(self) -> bool:
        """True when the compositor exposes the float path's parts (decode, grade, place) separately."""
        return all(
            hasattr(self.compositor, name)
            for name in ("frame_at_float", "source_frame_float", "pipeline", "grades_for", "scaled_transform")
        )

    def decode(self, index: int) -> DecodedFrame:
        """Stage 1 (one thread, in order): which pictures frame ``index`` shows, decoded at 16 bits, and
        their grades. Reads the document, so it runs on one thread only.

        Raises:
            ColorError: the project's colour settings cannot be used.
        """
        compositor = self.compositor
        when = RationalTime(index, self.doc.rate)
        sample = self.doc.video_at(when)
        if sample is None:
            return DecodedFrame(index, None, None, ())
        graded = getattr(compositor, "graded", True)
        pipeline = compositor.pipeline(self.doc.color_settings()) if graded else None
        grades = compositor.grades_for(sample)
        if self.fast is not None:
            fast = self._fast_frame(index, sample, pipeline, grades.get(sample.clip_id))
            if fast is not None:
                return fast
        entries = [(sample.path, sample.seconds, grades.get(sample.clip_id), sample.transform)]
        if sample.mix is not None:
            grade_b = grades.get(sample.mix_clip_id) if sample.mix_clip_id else None
            entries.append((sample.mix[0], sample.mix[1], grade_b, sample.mix_transform))
        parts = []
        for path, seconds, grade, transform in entries:
            picture = None
            if path:
                try:
                    picture = compositor.source_frame_float(path, seconds)
                except MediaError:  # black, as in TimelineCompositor._fitted_float
                    picture = None
            parts.append((path, picture, grade, transform))
        return DecodedFrame(index, sample, pipeline, tuple(parts))

    def _fast_frame(
        self, index: int, sample: VideoSample, pipeline: object | None, grade: dict | None
    ) -> FastFrame | None:
        """``sample`` for the fast path when it is one source frame shown whole (no dissolve, title, move or
        crop; fitted into the frame, letterboxed and scaled as the compositor does; a grade the LUT holds),
        else None (the float path renders it)."""
        fast = self.fast
        if fast is None or sample.mix is not None or sample.overlays or not sample.path:
            return None
        width, height = self.size
        try:
            transform = self.compositor.scaled_transform(sample.transform, width, height)
            if not ClipTransform.from_dict(transform).is_fit:
                return None
            lut = fast.lut_for(pipeline, grade)
            if lut is None:
                return None
            frame = self.compositor.source_av_frame(sample.path, sample.seconds)
        except AppError:  # a broken transform, grade or file: the float path renders (or reports) it
            return None
        x0, y0, w, h, _crop = ClipTransform().rect(frame.width, frame.height, width, height)
        placed = None if (x0, y0, w, h) == (0, 0, width, height) else (x0, y0, w, h)
        fast.frames += 1
        return FastFrame(index, frame, lut, (width, height), placed)

    def warm_fast_path(self, index: int) -> threading.Thread | None:
        """Start baking the grade of frame ``index`` into its LUT and building its filter graph on a helper
        thread, from what the bin knows of the source (its size): the render joins it after the preflight,
        which runs meanwhile, so the first frame waits for neither. None when there is nothing to warm
        (no fast path, a dissolve, a title, a move, unknown media); the first frame then does it itself."""
        fast = self.fast
        if fast is None:
            return None
        try:
            sample = self.doc.video_at(RationalTime(index, self.doc.rate))
            if sample is None or sample.mix is not None or sample.overlays or not sample.path:
                return None
            media_id = self.doc.clip(sample.clip_id).media_id
            info = self.doc.bin_item(media_id).info if media_id else None
            if info is None or info.still or not info.width or not info.height:
                return None
            width, height = self.size
            if not ClipTransform.from_dict(
                self.compositor.scaled_transform(sample.transform, width, height)
            ).is_fit:
                return None
            graded = getattr(self.compositor, "graded", True)
            pipeline = self.compositor.pipeline(self.doc.color_settings()) if graded else None
            grade = self.compositor.grades_for(sample).get(sample.clip_id)
        except AppError:  # the preflight reports what is wrong
            return None
        _x0, _y0, w, h, _crop = ClipTransform().rect(info.width, info.height, width, height)
        thread = threading.Thread(
            target=_warm, args=(fast, pipeline, grade, (info.width, info.height), (w, h)), name="aiprod-warm"
        )
        thread.start()
        return thread

    def finish(self, item: DecodedFrame | FastFrame, grader: Grader | None = None) -> np.ndarray:
        """Stage 2 (any thread): grade, fit, mix and title ``item``: the same pixels :meth:`frame` gives
        (``TimelineCompositor.frame_at_float``), bit for bit with the CPU grader. A :class:`FastFrame`
        comes back as an ``av.VideoFrame`` in the delivery's Y'CbCr format instead (the fast path).

        Raises:
            ColorError: a visible clip's grade cannot be applied.
        """
        if isinstance(item, FastFrame):
            assert self.fast is not None
            return self.fast.convert(item)  # type: ignore[return-value]
        width, height = self.size
        sample = item.sample
        if sample is None:
            picture = np.zeros((height, width, 3), np.float32)
        else:
            grader = grader or CpuGrader()
            pictures = []
            for path, source, grade, transform in item.parts:
                if not path or source is None:
                    pictures.append(np.zeros((height, width, 3), np.float32))
                    continue
                pipeline = item.pipeline
                if pipeline is not None and grade is not None and not pipeline.is_identity(grade):
                    source = grader.grade(pipeline, source, grade)
                scaled = self.compositor.scaled_transform(transform, width, height)
                pictures.append(place(source, width, height, scaled))
            picture = pictures[0]
            if sample.mix is not None:
                weight = sample.mix[2]
                picture = picture * np.float32(1.0 - weight) + pictures[1] * np.float32(weight)
            picture = composite(picture, sample.overlays, width, height)
        if not self.alpha:
            return picture
        coverage = self.coverage(sample)
        return np.concatenate([picture.astype(np.float32, copy=False), coverage[..., None]], axis=-1)

    def pipelined_frames(
        self, first: int, end: int, *, grader: Grader | None = None, workers: int | None = None
    ) -> PipelinedFrames:
        """Frames ``first .. end - 1`` in order, decoded on one thread and graded on ``workers`` (default:
        one per two cores; one for a grader that is not ``parallel``, such as the GL grader)."""
        grader = grader or CpuGrader()
        if workers is None:
            workers = default_workers() if getattr(grader, "parallel", False) else 1
        # Bound the frames in flight (decoded ones waiting, graded ones pending: ~2 x depth) by memory too:
        # a 4K float frame is ~100 MB, and a many-core machine would otherwise hold dozens.
        width, height = self.size
        frame_bytes = width * height * (4 if self.alpha else 3) * 4
        depth = max(2, min(workers + 2, PIPELINE_MEMORY_BYTES // max(2 * frame_bytes, 1)))
        return PipelinedFrames(
            first, end, self.decode, lambda item: self.finish(item, grader),
            workers=max(1, min(workers, depth)), depth=depth, on_thread_end=self.compositor.close,
        )  # fmt: skip

    def coverage(self, sample: VideoSample | None) -> np.ndarray:
        """float32 [H, W]: 1 where the sample's picture lies (after letterboxing), 0 elsewhere."""
        width, height = self.size
        out = np.zeros((height, width), np.float32)
        if sample is None:
            return out
        parts = [(sample.path, 1.0, sample.transform)]
        if sample.mix is not None:
            parts = [
                (sample.path, 1.0 - sample.mix[2], sample.transform),
                (sample.mix[0], sample.mix[2], sample.mix_transform),
            ]
        for path, weight, transform in parts:
            if not path:  # a title over nothing
                continue
            x0, y0, x1, y1 = self._picture_rect(path, transform)
            out[y0:y1, x0:x1] += np.float32(weight)
        out = np.clip(out, 0.0, 1.0)
        if sample.overlays:
            titles = title_coverage(sample.overlays, width, height)
            out = out + titles * (1.0 - out)
        return out

    def close(self) -> None:
        self.compositor.close()

    def _picture_rect(self, path: str, transform: dict | None = None) -> tuple[int, int, int, int]:
        """Where the compositor (``app.media.transform.place``) puts a picture from ``path`` in the frame."""
        width, height = self.size
        if path not in self._media_sizes:
            try:
                info = probe_media(path)
                self._media_sizes[path] = (info.width, info.height) if info.width and info.height else None
            except AppError:
                self._media_sizes[path] = None
        src = self._media_sizes[path]
        if src is None:  # unreadable media shows black over the whole frame: opaque
            return 0, 0, width, height
        scaled = getattr(self.compositor, "scaled_transform", None)
        if scaled is not None:
            transform = scaled(transform, width, height)
        return ClipTransform.from_dict(transform).coverage(src[0], src[1], width, height)


def audio_rate(doc: TimelineDocument) -> int:
    """The export's sample rate: the sequence's (48 kHz for projects from before sequence settings)."""
    try:
        return doc.sequence_settings().audio_rate
    except AppError:
        return SAMPLE_RATE


def render_timeline(
    doc: TimelineDocument,
    preset: ExportPreset | str,
    out_path: str | os.PathLike[str],
    *,
    in_frame: int | None = None,
    out_frame: int | None = None,
    size: tuple[int, int] | None = None,
    on_progress: ProgressWithEta | None = None,
    cancel: threading.Event | None = None,
    project_folder: str | os.PathLike[str] | None = None,
    mode: str = "pipelined",
    grader: Grader | None = None,
    workers: int | None = None,
    fast: bool = True,
) -> RenderReport:
    """Export ``doc`` (or frames ``in_frame .. out_frame - 1``) with ``preset`` to ``out_path``.

    ``mode`` "pipelined" (the default) decodes on one thread, grades on ``workers`` threads (default: one
    per two cores), converts R'G'B' -> Y'CbCr on another and encodes on another, frames in order
    (:mod:`app.export.pipeline`); "sequential" does one frame at a time, every stage on the calling
    thread (the reference: both write the same pixels). ``grader`` runs the grades' OCIO processors
    (default: the studio's registered one, :func:`app.export.grading.default_grader`, else the CPU).
    ``fast`` (the default) sends frames that show one source frame as it is through FFmpeg and a baked
    LUT (:mod:`app.export.fast_path`: within about a code value of the float path); False renders every
    frame through the float path (the reference).

    ``out_path`` is a file for video presets and a folder for image sequences. ``size`` (width, height)
    scales the project frame (pictures are letterboxed, as in the viewer). ``on_progress(done, total,
    eta_seconds)`` is called after every frame; setting ``cancel`` stops at the next frame. An output that
    is (or is inside) a media file, a LUT, ``project_folder`` or any project folder is refused.

    Raises:
        ExportError: a preflight check failed or encoding failed; nothing is left at the destination.
        ExportCancelled: ``cancel`` was set; nothing is left at the destination.
    """
    started = time.perf_counter()
    if mode not in MODES:
        raise ExportError(f"Unknown render mode '{mode}'; use one of: {', '.join(MODES)}.")
    chosen = preset_registry.resolve(preset)
    dest = Path(os.fspath(out_path)).expanduser().absolute()
    check_output_path(dest, doc, project_folder)  # never replace a clip's media, a LUT or a project file
    first, end = frame_range(doc, in_frame, out_frame)
    count = end - first
    rate = normalise_fps(doc.rate)
    renderer = TimelineRenderer(doc, size, alpha=chosen.alpha)
    width, height = renderer.size
    mix = TimelineAudioMix(doc, first / float(rate), end / float(rate), audio_rate(doc))
    channels = 0 if mix.silent else 2
    closers: list[Callable[[], None]] = []
    try:
        if (
            fast
            and not chosen.is_sequence
            and renderer.can_pipeline
            and fast_paths.supported(chosen.delivery_format())
        ):
            renderer.fast = FastPath(chosen.delivery_format())
        warming = renderer.warm_fast_path(first)  # the first frame's LUT, made while the preflight runs
        try:
            probed = _preflight(
                chosen, dest, doc, first, end, width, height, rate, channels, renderer.compositor
            )
        finally:
            if warming is not None:
                warming.join()
        renderer.compositor.know_media(probed)  # read with the fresh probes rather than probe again
        tags = build_metadata(provenance_tags(doc, first, end))
        if cancel is not None and cancel.is_set():
            raise ExportCancelled(f"Export of '{dest.name}' was cancelled; nothing was written.")
        progress = _EtaProgress(on_progress)
        grader = grader or default_grader()
        pipelined = mode == "pipelined" and renderer.can_pipeline
        if pipelined:
            frames = renderer.pipelined_frames(first, end, grader=grader, workers=workers)
        elif renderer.fast is not None or not isinstance(grader, CpuGrader):
            frames = (renderer.finish(renderer.decode(i), grader) for i in range(first, end))
        else:
            frames = renderer.frames(first, end)
        closers.append(frames.close)
        if chosen.is_sequence:
            written = write_sequence(
                dest, chosen.sequence_format(), frames, count, rate, first_number=first,
                audio=None if mix.silent else mix.stream(), tags=tags, on_progress=progress, cancel=cancel,
            )  # fmt: skip
        else:
            written = write_clip(
                dest, frames, rate, audio=None if mix.silent else mix.stream(), metadata=tags,
                on_progress=progress, cancel=cancel, frame_count=count,
                delivery=chosen.delivery_format(), overlap=mode == "pipelined",
            )  # fmt: skip
    finally:
        for close in closers:  # stop the pipeline's threads before the decoders they use are closed
            close()
        renderer.close()
        mix.close()
        if renderer.fast is not None:
            renderer.fast.close()  # its LUT files
    return RenderReport(
        path=written, preset=chosen.name, first_frame=first, frames=count, width=width, height=height,
        fps=rate, has_audio=not mix.silent, alpha=chosen.alpha, graded=renderer.graded,
        seconds=time.perf_counter() - started, mode="pipelined" if pipelined else "sequential",
        grader=getattr(grader, "name", "cpu"), fast_frames=renderer.fast.frames if renderer.fast else 0,
    )  # fmt: skip


def _warm(
    fast: FastPath, pipeline: object, grade: object, size: tuple[int, int], shape: tuple[int, int]
) -> None:
    try:
        fast.warm(pipeline, grade, size, shape)
    except Exception:  # noqa: BLE001 - the first frame bakes (and reports) it again on its own
        log.debug("warming the fast path failed", exc_info=True)


def frame_range(doc: TimelineDocument, in_frame: int | None, out_frame: int | None) -> tuple[int, int]:
    """``(first, end)`` timeline frames to export; ExportError for an empty or reversed range."""
    duration = int(round(doc.duration().value_rescaled_to(doc.rate)))
    first = 0 if in_frame is None else int(in_frame)
    end = duration if out_frame is None else int(out_frame)
    if duration <= 0 and in_frame is None and out_frame is None:
        raise ExportError("The timeline is empty; put some clips on it before exporting.")
    if first < 0:
        raise ExportError(f"The in point ({first}) is before the start of the timeline.")
    if end <= first:
        raise ExportError(
            f"The out point (frame {end}) must come after the in point (frame {first}); nothing to export."
        )
    return first, end


def provenance_tags(doc: TimelineDocument, first: int, end: int) -> dict[str, object]:
    """Container tags naming the models of every generated clip used in ``first..end`` (the LTX-2
    licence forbids stripping provenance; build_metadata adds the AI-generated statement)."""
    records, models, checkpoints, used = [], [], [], 0
    for track in doc.tracks():
        for clip in doc.clips(track.id):
            start = round(clip.start.value_rescaled_to(doc.rate))
            stop = start + round(clip.duration.value_rescaled_to(doc.rate))
            if stop <= first or start >= end:
                continue
            used += 1
            generation = clip.generation or _bin_generation(doc, clip.media_id)
            if not generation:
                continue
            model = provenance.model_name(generation)
            if model not in models:
                models.append(model)
            checkpoint = provenance.checkpoint(generation)
            if checkpoint and checkpoint not in checkpoints:
                checkpoints.append(str(checkpoint))
            record = {"clip": clip.name, "track": track.name, "model": model, "checkpoint": checkpoint}
            for key in ("seed", "prompt"):
                if generation.get(key) is not None:
                    record[key] = generation[key]
            records.append(record)
    generated = len(records)
    tags: dict[str, object] = {
        "title": doc.name,
        "model": "; ".join(models) if models else None,
        "checkpoint": "; ".join(checkpoints) if checkpoints else None,
        "ai_generated_clips": f"{generated} of {used}",
        "comment": f"Timeline '{doc.name}': {generated} of {used} clips generated by AI.",
    }
    if records:
        tags["generation"] = records[:MAX_LISTED_CLIPS]
    return tags


def _bin_generation(doc: TimelineDocument, media_id: str | None) -> dict | None:
    if media_id is None:
        return None
    try:
        return doc.bin_item(media_id).generation
    except AppError:
        return None


def _preflight(
    preset: ExportPreset,
    dest: Path,
    doc: TimelineDocument,
    first: int,
    end: int,
    width: int,
    height: int,
    rate: Fraction,
    channels: int,
    compositor: object | None = None,
) -> dict[str, MediaInfo]:
    """Every check before the first frame; returns each media file's fresh probe."""
    missing = preset.missing_encoders()
    if missing:
        raise ExportError(
            f"This FFmpeg build has no {' / '.join(repr(m) for m in missing)} encoder, which the "
            f"'{preset.label}' preset needs. Install a PyAV build that includes it or choose another preset."
        )
    hardware.check_available(preset)  # a GPU encoder preset whose encoder did not open here
    min_w, min_h = preset.min_size
    if width < min_w or height < min_h:
        raise ExportError(
            f"The '{preset.label}' preset needs frames of at least {min_w}x{min_h} pixels, but the output is "
            f"{width}x{height}. Choose a larger output size or another preset."
        )
    count = end - first
    if preset.is_sequence:
        seq = preset.sequence_format()
        if dest.suffix.lower() == seq.extension:
            raise ExportError(
                f"An image sequence is written into a folder; give a folder name without "
                f"'{dest.suffix}', e.g. '{dest.with_suffix('').name}'."
            )
        needed = seq.estimate_bytes(width, height, count, count / float(rate), channels, audio_rate(doc))
        preflight_sequence(dest, seq, needed)
    else:
        fmt = preset.delivery_format()
        if dest.suffix.lower() != fmt.extension:
            raise ExportError(
                f"The '{preset.label}' preset writes {fmt.extension} files; name the destination "
                f"'{dest.with_suffix(fmt.extension).name}'."
            )
        preflight_destination(
            dest, width=width, height=height, frame_count=count, fps=rate,
            audio_channels=channels, sample_rate=audio_rate(doc), delivery=fmt,
        )  # fmt: skip
    infos = _check_media(doc, first, end)
    _check_grades(doc, first, end, compositor)
    return infos


def _clips_in_range(doc: TimelineDocument, first: int, end: int, kind: TrackKind | None = None):
    for track in doc.tracks(kind):
        if not track.enabled:
            continue
        for clip in doc.clips(track.id):
            if not clip.enabled:  # renders as nothing: its media and grade are not needed
                continue
            start = round(clip.start.value_rescaled_to(doc.rate))
            stop = start + round(clip.duration.value_rescaled_to(doc.rate))
            if start < end and stop > first:
                yield clip


def _check_media(doc: TimelineDocument, first: int, end: int) -> dict[str, MediaInfo]:
    """Every clip's file is there and decodes where the range reads it; ExportError naming clip and file.

    A file that cannot be decoded would render as black frames (the viewer's fallback), so this runs
    before the first frame: missing or unusable paths (pipes, devices, /proc), then each file used once,
    probed afresh and decoded at the first and last frame (and sound) the range uses (app.media.verify).
    """
    missing: list[str] = []
    spans: dict[str, dict] = {}  # path -> {"video": (start, end) seconds, "audio": ..., "clip", "track"}
    for track in doc.tracks():
        if not track.enabled:
            continue
        for clip in doc.clips(track.id):
            start = round(clip.start.value_rescaled_to(doc.rate))
            stop = start + round(clip.duration.value_rescaled_to(doc.rate))
            if clip.media_id is None or not clip.enabled or not (start < end and stop > first):
                continue
            try:
                path = doc.bin_item(clip.media_id).path
            except AppError:
                path = ""
            problem = path_problem(path) if path else "has no file"
            if problem is not None:
                name = f"'{clip.name}' ({path or 'no file'})"
                if name not in missing:
                    missing.append(name)
                continue
            source = round(clip.source_start.value_rescaled_to(doc.rate))
            used = ((source + max(first - start, 0)) / doc.rate, (source + min(end, stop) - start) / doc.rate)
            span = spans.setdefault(path, {"clip": clip.name, "track": track.name})
            kind = "video" if track.kind == TrackKind.VIDEO else "audio"
            old = span.get(kind)
            span[kind] = used if old is None else (min(old[0], used[0]), max(old[1], used[1]))
    if missing:
        listed = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise ExportError(
            f"{len(missing)} clip(s) in the export range use media that is missing: {listed}. "
            f"Relink the media (or remove those clips) before exporting."
        )
    infos: dict[str, MediaInfo] = {}  # each file probed afresh: the renderer reads with these
    for path, span in spans.items():
        try:
            infos[path] = verify_media(path, span.get("video"), span.get("audio"))
        except MediaError as exc:
            raise ExportError(
                f"Clip '{span['clip']}' on {span['track']} uses {path}, which cannot be decoded: {exc}. "
                "Relink it to a working file (or remove the clip) before exporting; nothing was written."
            ) from exc
    return infos


def _check_grades(doc: TimelineDocument, first: int, end: int, compositor: object | None = None) -> None:
    graded = [c for c in _clips_in_range(doc, first, end, TrackKind.VIDEO) if c.grade]
    if not graded:
        return
    try:
        from app.color import ColorSettings, GradePipeline
    except ImportError:  # pragma: no cover - colour management not installed
        return
    try:
        make = getattr(compositor, "pipeline", None)  # the render's own: its processors are built once
        pipeline = (
            make(doc.color_settings())
            if make
            else GradePipeline(ColorSettings.from_dict(doc.color_settings()))
        )
    except AppError as exc:
        raise ExportError(f"The project's colour settings cannot be used: {exc}") from exc
    for clip in graded:
        try:
            pipeline.validate(clip.grade)
        except AppError as exc:
            raise ExportError(f"The grade of clip '{clip.name}' cannot be applied: {exc}") from exc


class _EtaProgress:
    """Adapts the encoder's ``(done, total)`` to ``(done, total, eta_seconds)``."""

    def __init__(self, callback: ProgressWithEta | None) -> None:
        self.callback = callback
        self.started = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        if self.callback is None:
            return
        elapsed = time.perf_counter() - self.started
        eta = elapsed / done * (total - done) if done > 0 else -1.0  # -1: not known yet
        self.callback(done, total, eta)
