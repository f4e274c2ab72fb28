"""Gap fill: a generation that bridges two shots. Its first keyframe is the last frame of the clip before
the gap, its last keyframe the first frame of the clip after, and it is exactly as long as the gap.

LTX-2 makes clips of 8k+1 frames, so the job asks for the next valid length at or above the gap's and the
placed clip uses only the gap's frames (the rest of the file stays unused, like any trimmed clip). The
finished clip goes into the gap as one undoable edit: the bin item and the clip together.

Qt-free: gap geometry, keyframe extraction (PNG files in the project's ``keyframes/`` folder, never the
system's temporary folder, so the job's record still points at them after a relaunch) and the edit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from opentimelineio.opentime import RationalTime, TimeRange

from app.errors import AppError, EditError, JobError, MediaError
from app.jobs.spec import TEMPORAL, JobSpec

KEYFRAMES_FOLDER = "keyframes"


@dataclass(frozen=True)
class Gap:
    """Empty frames ``start .. end - 1`` on a track, between the clips ``before`` and ``after``."""

    track_id: str
    start: int
    end: int
    before: str  # clip id
    after: str  # clip id

    @property
    def length(self) -> int:
        return self.end - self.start


def find_gap(doc: Any, track_id: str, frame: int) -> Gap | None:
    """The gap on `track_id` that contains `frame`, when there is a clip on each side (None otherwise)."""
    rate = doc.rate
    clips = sorted(doc.clips(track_id), key=lambda c: _frames(c.start, rate))
    for left, right in zip(clips, clips[1:], strict=False):
        start, end = _frames(left.end, rate), _frames(right.start, rate)
        if start <= frame < end:
            return Gap(track_id, start, end, left.id, right.id)
    return None


def generated_frames(gap_length: int) -> int:
    """The length the model makes for a gap: the next 8k+1 at or above it (at least 9)."""
    if gap_length < 1:
        raise JobError("the gap is empty; select a gap between two clips")
    k = max(1, -(-(gap_length - 1) // TEMPORAL))
    return k * TEMPORAL + 1


def check_gap(doc: Any, gap: Gap) -> None:
    """Raise EditError when `gap` is no longer an empty stretch between its two clips."""
    try:
        before, after = doc.clip(gap.before), doc.clip(gap.after)
    except AppError as exc:
        raise EditError("a clip beside the gap was removed meanwhile; select the gap again") from exc
    rate = doc.rate
    if before.track_id != gap.track_id or after.track_id != gap.track_id:
        raise EditError("a clip beside the gap moved to another track; select the gap again")
    for clip in doc.clips(gap.track_id):
        if _frames(clip.start, rate) < gap.end and _frames(clip.end, rate) > gap.start:
            raise EditError(f"the gap is no longer empty ('{clip.name}' is in it); select the gap again")


def keyframe_sources(doc: Any, gap: Gap) -> tuple[tuple[str, float], tuple[str, float]]:
    """((path, seconds), (path, seconds)) of the last frame shown before the gap and the first after."""
    rate = doc.rate
    before, after = doc.clip(gap.before), doc.clip(gap.after)
    for clip in (before, after):
        if clip.media_id is None:
            raise JobError(f"'{clip.name}' has no picture (a title); gap fill needs video on both sides")
    last = _frames(before.source_start, rate) + _frames(before.duration, rate) - 1
    first = _frames(after.source_start, rate)
    return (
        (doc.bin_item(before.media_id).path, last / rate),
        (doc.bin_item(after.media_id).path, first / rate),
    )


def read_frame(path: str, seconds: float) -> np.ndarray:
    """The RGB uint8 frame shown `seconds` into `path` (ungraded: the model continues the source)."""
    from app.media.reader import VideoReader

    try:
        with VideoReader(path) as reader:
            return reader.frame(reader.index_at(seconds + 1e-6))
    except (MediaError, IndexError, OSError) as exc:
        raise JobError(f"cannot read a keyframe from {Path(path).name}: {exc}") from exc


def extract_keyframes(doc: Any, gap: Gap, folder: Path) -> tuple[str, str]:
    """Write the two keyframes as PNGs into `folder` (created); returns their paths."""
    from PIL import Image

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise JobError(f"cannot create {folder} for the keyframes: {exc.strerror or exc}") from exc
    token = uuid.uuid4().hex[:10]
    paths = []
    for (path, seconds), side in zip(keyframe_sources(doc, gap), ("first", "last"), strict=True):
        target = folder / f"gap_{token}_{side}.png"
        try:
            Image.fromarray(read_frame(path, seconds)).save(target)
        except OSError as exc:
            raise JobError(f"cannot write the keyframe {target}: {exc.strerror or exc}") from exc
        paths.append(str(target))
    return paths[0], paths[1]


@dataclass(frozen=True)
class GapFillSpec:
    """A gap fill job (kind "gapfill"): the generation `job` and the `gap` its clip goes into."""

    job: JobSpec
    gap: Gap

    # what the queue and the worker read of every spec (the model to load, the progress total)
    @property
    def model(self) -> str:
        return self.job.model

    @property
    def quantization(self) -> str:
        return self.job.quantization

    @property
    def steps(self) -> int | None:
        return self.job.steps

    @property
    def preview_every(self) -> int:
        return self.job.preview_every

    @property
    def prompt(self) -> str:
        return self.job.prompt

    @property
    def place_on_timeline(self) -> bool:
        return True

    @property
    def detail(self) -> str:
        return (
            f"fill the {self.gap.length}-frame gap: {self.job.frames} frames made, {self.gap.length} placed, "
            f"seed {self.job.seed}"
        )

    def validate(self) -> None:
        if self.gap.length < 1:
            raise JobError("the gap is empty; select a gap between two clips")
        if self.job.frames < self.gap.length:
            raise JobError(f"the job makes {self.job.frames} frames, fewer than the gap's {self.gap.length}")
        self.job.validate()

    def display_name(self) -> str:
        return self.job.display_name()

    def generation_parameters(self) -> dict[str, Any]:
        return dict(self.job.generation_parameters(), gap_frames=self.gap.length)


def gap_fill_spec(base: JobSpec, doc: Any, gap: Gap, folder: Path, prompt: str | None = None) -> GapFillSpec:
    """The job for `gap`: `base`'s model, size, recipe and seed, the timeline's rate, the next valid length,
    and the neighbours' frames (written into `folder`) as keyframes at its first and last frame."""
    if gap.length < 1:
        raise JobError("the gap is empty; select a gap between two clips")
    check_gap(doc, gap)
    text = (prompt if prompt is not None else base.prompt).strip()
    if not text:
        raise JobError("say what happens in the gap (the prompt is empty)")
    frames = generated_frames(gap.length)
    first, last = extract_keyframes(doc, gap, folder)
    spec = base.with_changes(
        prompt=text,
        frames=frames,
        fps=float(doc.rate),
        image=None,
        image_array=None,
        keyframes=((first, 0, 1.0), (last, frames - 1, 1.0)),
        place_on_timeline=False,
        take_of=None,
        name=base.name or "gap_fill",
    )
    return GapFillSpec(spec, gap)


def place_gap_fill(doc: Any, media_id: str, gap: Gap) -> list[str]:
    """Put `media_id` into `gap`, trimmed to exactly its length, with its sound when the audio track under
    the gap is free (a sound bed running under the gap is never cut). Returns the new clip ids."""
    check_gap(doc, gap)
    item = doc.bin_item(media_id)
    rate = doc.rate
    frames = item.info.frame_count if item.info is not None else None
    if frames is not None and frames < gap.length:
        raise EditError(f"'{item.name}' has {frames} frames, fewer than the gap's {gap.length}")
    with_audio = bool(item.info is not None and item.info.has_audio) and _sound_free(doc, gap)
    source = TimeRange(RationalTime(0, rate), RationalTime(gap.length, rate))
    return doc.overwrite(media_id, gap.track_id, RationalTime(gap.start, rate), source, with_audio=with_audio)


def apply_gap_fill(stack: Any, doc: Any, item: Any, gap: Gap) -> list[str]:
    """Add the finished clip to the bin and place it in the gap: one undo step. EditError (nothing
    changed) when the gap is gone; the caller may then keep the clip in the bin alone."""
    from app.commands import push_edit

    def apply(document: Any) -> list[str]:
        media_id = document.add_bin_item(item)
        return place_gap_fill(document, media_id, gap)

    return push_edit(stack, doc, f"Fill gap with {item.name}", apply)


def _sound_free(doc: Any, gap: Gap) -> bool:
    from app.document import TrackKind

    index = doc.track_info(gap.track_id).index
    rate = doc.rate
    for track in doc.tracks(TrackKind.AUDIO):
        if track.index != index:
            continue
        for clip in doc.clips(track.id):
            if _frames(clip.start, rate) < gap.end and _frames(clip.end, rate) > gap.start:
                return False
    return True


def _frames(t: RationalTime, rate: float) -> int:
    return round(t.rescaled_to(rate).value)


# --- the job kind (app.jobs.kinds) ----------------------------------------------------------------------


def run_gapfill(ctx: Any) -> Any:
    """On the engine worker: the generation, exactly as a Generate job runs it."""
    import dataclasses

    from app.jobs.builtin_kinds import run_generation

    return run_generation(dataclasses.replace(ctx, spec=ctx.spec.job))


def check_gapfill(spec: GapFillSpec, model_spec: Any) -> None:
    from app.jobs.builtin_kinds import check_generation

    check_generation(spec.job, model_spec)


def apply_gapfill(ctx: Any, job: Any) -> None:
    """On the UI thread: the clip into its gap (one undo step); when the gap is gone (edited meanwhile, or
    another project is open) the clip stays in the bin and the message says why."""
    from app.jobs.result import apply_result

    item, gap = job.item, job.spec.gap
    try:
        apply_gap_fill(ctx.stack, ctx.doc, item, gap)
    except AppError as exc:
        apply_result(ctx.stack, ctx.doc, item)
        ctx.message(f"{item.name} is in the media bin; it could not fill the gap: {exc}")
        return
    ctx.message(f"Filled the {gap.length}-frame gap with {item.name}")


def register_kind() -> None:
    from app.jobs.kinds import JobKind, register

    register(
        JobKind("gapfill", GapFillSpec, run_gapfill, apply_gapfill, title="Gap fill", check=check_gapfill),
        replace=True,
    )


register_kind()
