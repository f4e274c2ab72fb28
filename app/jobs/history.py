"""The job history: generations, inpaints and extends with their settings, outcome and a thumbnail.

Two histories use this class. The studio keeps one per user (``data_root()/jobs``) so the Jobs panel still
lists earlier generations after a relaunch, and one per project (``Name.aiprod/history``, or the scratch
folder of a project never saved) that the History panel shows: every job that ran for the project --
finished, failed (with its message) or cancelled -- with its settings, which batch of variations it belongs
to and which bin item it made, so "reuse settings", "regenerate", "queue variations" and "apply this take"
work from it after the project is reopened.

One JSON file (``history.json``, newest first, at most ``max_entries``) plus one small PNG per entry under
``thumbnails/``. Media paths inside the project are stored relative to the folder above the history (the
project folder), so the history follows the project when it is moved or first saved. A history that cannot
be read starts empty; one that cannot be written says nothing (it is a convenience, never a reason to fail
a job).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage

from app.errors import AppError, JobError
from app.jobs.queue import Job
from app.jobs.spec import JobSpec
from app.project.atomic import atomic_write_bytes

log = logging.getLogger(__name__)

MAX_ENTRIES = 50
PROJECT_MAX_ENTRIES = 1000
THUMB_SIZE = (192, 108)
_FILE = "history.json"
FORMAT_VERSION = 2

# What an entry is; the History panel offers "reuse settings" and variations for the generation kinds.
KIND_GENERATE, KIND_VARIATION, KIND_GAPFILL = "generate", "variation", "gapfill"
KIND_INPAINT, KIND_EXTEND = "inpaint", "extend"
GENERATION_KINDS = (KIND_GENERATE, KIND_VARIATION, KIND_GAPFILL)
_KIND_OF_JOB = {"variations": KIND_VARIATION, "gapfill": KIND_GAPFILL}  # registered job kind -> entry kind


@dataclass(frozen=True)
class HistoryEntry:
    id: str
    finished_at: float  # seconds since the epoch
    status: str  # JobStatus value: "done", "failed", "cancelled"
    parameters: dict[str, Any]  # JobSpec.generation_parameters() (an inpaint's or extend's own record)
    media_path: str = ""
    error: str = ""
    thumbnail: str = ""  # file name under thumbnails/, "" when none
    kind: str = KIND_GENERATE
    media_id: str = ""  # the bin item the job made ("" when it made none)
    batch: str = ""  # the batch of variations it belongs to ("" for a single job)
    batch_index: int = -1  # its place in the batch (0 = the first variation)
    variation: str = ""  # what this variation changes: "seed 42", "guidance 4.5", "LoRA x 0.8"
    name: str = ""
    source: str = ""  # the entry a batch of variations was made from

    @property
    def prompt(self) -> str:
        return str(self.parameters.get("prompt", ""))

    @property
    def seed(self) -> int | None:
        seed = self.parameters.get("seed")
        return int(seed) if isinstance(seed, (int, float)) and not isinstance(seed, bool) else None

    @property
    def is_generation(self) -> bool:
        """A text/image-to-video job (its settings fill the Generate panel)."""
        return self.kind in GENERATION_KINDS

    def spec(self) -> JobSpec:
        """The job to run again (JobError when the stored settings no longer make one)."""
        if not self.is_generation:
            raise JobError(
                f"this is an {self.kind}, not a generation: its settings do not fill the Generate panel"
            )
        try:
            return JobSpec.from_generation(self.parameters)
        except (AppError, KeyError, TypeError, ValueError) as exc:
            raise JobError(f"these settings cannot be reused: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HistoryEntry:
        return cls(
            id=str(data["id"]),
            finished_at=float(data.get("finished_at", 0.0)),
            status=str(data.get("status", "done")),
            parameters=dict(data["parameters"]),
            media_path=str(data.get("media_path", "")),
            error=str(data.get("error", "")),
            thumbnail=str(data.get("thumbnail", "")),
            kind=str(data.get("kind", KIND_GENERATE)),
            media_id=str(data.get("media_id", "") or ""),
            batch=str(data.get("batch", "") or ""),
            batch_index=int(data.get("batch_index", -1)),
            variation=str(data.get("variation", "") or ""),
            name=str(data.get("name", "") or ""),
            source=str(data.get("source", "") or ""),
        )


def job_parameters(spec: Any) -> tuple[str, dict[str, Any]] | None:
    """(kind, JSON-able settings) of a job's spec, or None for jobs that are not kept (a duration
    question makes no clip)."""
    from app.jobs.extend import ExtendSpec
    from app.jobs.inpaint import InpaintSpec

    if isinstance(spec, JobSpec):
        return KIND_GENERATE, spec.generation_parameters()
    if isinstance(getattr(spec, "job", None), JobSpec):  # app.jobs.gapfill.GapFillSpec
        return KIND_GAPFILL, spec.generation_parameters()
    if isinstance(spec, InpaintSpec):
        return KIND_INPAINT, spec.generation_parameters()
    if isinstance(spec, ExtendSpec):
        keep = ("source_path", "seconds", "direction", "clip_id", "media_id", "prompt", "seed", "recipe",
                "model", "quantization")  # fmt: skip
        parameters = {key: getattr(spec, key) for key in keep}
        parameters["loras"] = [{"path": str(p), "strength": float(s)} for p, s in spec.loras]
        parameters["kind"] = KIND_EXTEND
        return KIND_EXTEND, parameters
    return None


class JobHistory(QObject):
    """``record(job)`` when a job ends; ``entries()`` newest first; ``clear()``; ``set_folder()`` when the
    project (and so the folder) changes."""

    changed = Signal()

    def __init__(
        self,
        folder: Path,
        parent: QObject | None = None,
        *,
        max_entries: int = MAX_ENTRIES,
        kinds: tuple[str, ...] | None = GENERATION_KINDS,
    ) -> None:
        """`kinds`: which jobs are kept (None: every kind; the per-user list keeps generations only, an
        inpaint belongs to its clip's takes)."""
        super().__init__(parent)
        self.folder = Path(folder)
        self.max_entries = max_entries
        self.kinds = kinds
        self._entries: list[HistoryEntry] = self._read()
        self._job_ids: dict[str, str] = {}  # entry id -> the queue's job id, for this launch's entries
        self._expected: dict[str, dict[str, Any]] = {}  # job id -> its batch tags (see `expect`)

    def expect(
        self, job_id: str, *, batch: str, batch_index: int, variation: str = "", source: str = ""
    ) -> None:
        """File the job `job_id`, when it ends, under `batch` (a batch of variations being queued from the
        entry `source`)."""
        self._expected[job_id] = {
            "batch": batch, "batch_index": batch_index, "variation": variation, "source": source,
        }  # fmt: skip

    def batch_source(self, batch_id: str) -> HistoryEntry | None:
        """The entry a batch was made from (None when it is gone or the batch had none)."""
        source = next((e.source for e in self.batch(batch_id) if e.source), "")
        return self.entry(source) if source else None

    def batches_from(self, entry: HistoryEntry) -> list[str]:
        """The batches made from `entry`, newest first."""
        return list(dict.fromkeys(e.batch for e in self._entries if e.source == entry.id and e.batch))

    # ------------------------------------------------------------------------------------------ reading
    def job_id_of(self, entry: HistoryEntry) -> str | None:
        """The queue's id of the job an entry of this launch records (None for earlier launches')."""
        return self._job_ids.get(entry.id)

    def entry_of_job(self, job_id: str) -> HistoryEntry | None:
        entry_id = next((e for e, j in self._job_ids.items() if j == job_id), None)
        return self.entry(entry_id) if entry_id else None

    def entries(self) -> list[HistoryEntry]:
        return list(self._entries)

    def entry(self, entry_id: str) -> HistoryEntry | None:
        return next((e for e in self._entries if e.id == entry_id), None)

    def batch(self, batch_id: str) -> list[HistoryEntry]:
        """The entries of one batch of variations, in batch order (empty for "")."""
        if not batch_id:
            return []
        return sorted((e for e in self._entries if e.batch == batch_id), key=lambda e: e.batch_index)

    def thumbnail_path(self, entry: HistoryEntry) -> Path | None:
        if not entry.thumbnail:
            return None
        path = self.folder / "thumbnails" / entry.thumbnail
        return path if path.is_file() else None

    def media_path(self, entry: HistoryEntry) -> str:
        """The entry's media as an absolute path ("" when it made none)."""
        if not entry.media_path:
            return ""
        path = Path(entry.media_path)
        return str(path if path.is_absolute() else (self.folder.parent / path).resolve())

    # ------------------------------------------------------------------------------------------ writing
    def record(
        self,
        job: Job,
        *,
        kind: str | None = None,
        batch: str = "",
        batch_index: int = -1,
        variation: str = "",
    ) -> HistoryEntry | None:
        """Keep a job that ended (done, failed or cancelled); None for a job that is not kept."""
        described = job_parameters(job.spec)
        if described is None or not job.status.finished:
            return None
        own_kind, parameters = described
        kind = kind or _KIND_OF_JOB.get(getattr(job, "kind", ""), own_kind)
        tags = self._expected.pop(job.id, {})
        batch = batch or tags.get("batch", "")
        batch_index = batch_index if batch_index >= 0 else int(tags.get("batch_index", -1))
        variation = variation or tags.get("variation", "")
        if self.kinds is not None and kind not in self.kinds:
            return None
        entry_id = uuid.uuid4().hex
        thumbnail = ""
        item = job.item
        path = str(getattr(item, "path", "") or "")
        # a finished job shows its result (the live preview may be a step before the end); a failed or
        # cancelled one the last preview it sent, if any
        image = _first_frame(path) if path else None
        if image is None and job.preview is not None and not job.preview.isNull():
            image = job.preview
        if image is not None:
            thumbnail = f"{entry_id}.png"
            if not self._save_thumbnail(image, thumbnail):
                thumbnail = ""
        entry = HistoryEntry(
            id=entry_id,
            finished_at=time.time(),
            status=job.status.value,
            parameters=parameters,
            media_path=self._stored(path),
            error=job.error,
            thumbnail=thumbnail,
            kind=kind,
            media_id=str(getattr(item, "id", "") or ""),
            batch=batch,
            batch_index=batch_index,
            variation=variation,
            name=job.spec.display_name(),
            source=str(tags.get("source", "")),
        )
        self._entries.insert(0, entry)
        self._job_ids[entry_id] = job.id
        for dropped in self._entries[self.max_entries :]:
            if dropped.thumbnail:
                (self.folder / "thumbnails" / dropped.thumbnail).unlink(missing_ok=True)
        del self._entries[self.max_entries :]
        self._write()
        self.changed.emit()
        return entry

    def clear(self) -> None:
        for entry in self._entries:
            if entry.thumbnail:
                (self.folder / "thumbnails" / entry.thumbnail).unlink(missing_ok=True)
        self._entries = []
        self._write()
        self.changed.emit()

    def set_folder(self, folder: Path, *, carry: bool = False) -> None:
        """Show the history in `folder` (another project). With `carry`, this history's files are copied
        there first (a project saved for the first time, or saved as another): entries already there are
        kept, this history's come first."""
        folder = Path(folder)
        if folder == self.folder:
            return
        if carry and self._entries:
            copied = self._copy_to(folder)
            self.folder = folder
            known = {e.id for e in copied}
            self._entries = copied + [e for e in self._read() if e.id not in known]
            del self._entries[self.max_entries :]
            self._write()
        else:
            self.folder = folder
            self._entries = self._read()
            self._job_ids = {}
        self.changed.emit()

    # ------------------------------------------------------------------------------------------ files
    def _stored(self, path: str) -> str:
        if not path:
            return ""
        base = self.folder.parent.resolve()
        absolute = Path(path).resolve()
        try:
            return absolute.relative_to(base).as_posix()
        except ValueError:
            return str(absolute)

    def _copy_to(self, folder: Path) -> list[HistoryEntry]:
        """This history's entries with their thumbnails copied under `folder` and media paths re-based
        (relative ones stay relative: the media moves with the project); keyframe images kept in the old
        project's folder are named in the new one (the caller copies them, see `carry_folder`)."""
        old_root, new_root = str(self.folder.parent.resolve()), str(folder.parent.resolve())
        entries = []
        for entry in self._entries:
            entry = dataclasses.replace(entry, parameters=_rerooted(entry.parameters, old_root, new_root))
            if entry.thumbnail and (source := self.thumbnail_path(entry)) is not None:
                try:
                    (folder / "thumbnails").mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, folder / "thumbnails" / entry.thumbnail)
                except OSError as exc:
                    log.warning("history thumbnail not copied: %s", exc)
                    entry = dataclasses.replace(entry, thumbnail="")
            entries.append(entry)
        return entries

    def _read(self) -> list[HistoryEntry]:
        path = self.folder / _FILE
        if not path.is_file():
            return []
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return [HistoryEntry.from_dict(entry) for entry in data.get("entries", [])][: self.max_entries]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("job history %s is unreadable (%s); starting a new one", path, exc)
            return []

    def _write(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            entries = [e.to_dict() for e in self._entries]
            text = json.dumps({"version": FORMAT_VERSION, "entries": entries}, indent=1)
            atomic_write_bytes(self.folder / _FILE, text.encode("utf-8"), what="the job history")
        except (OSError, AppError, TypeError, ValueError) as exc:
            log.warning("job history not written: %s", exc)

    def _save_thumbnail(self, image: QImage, name: str) -> bool:
        try:
            (self.folder / "thumbnails").mkdir(parents=True, exist_ok=True)
        except OSError:
            return False
        small = image.scaled(
            *THUMB_SIZE, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        return small.save(str(self.folder / "thumbnails" / name), "PNG")


def _rerooted(parameters: dict[str, Any], old_root: str, new_root: str) -> dict[str, Any]:
    keyframes = parameters.get("keyframes")
    if not isinstance(keyframes, list):
        return parameters
    moved = []
    for keyframe in keyframes:
        image = keyframe.get("image") if isinstance(keyframe, dict) else None
        if isinstance(image, str) and image.startswith(old_root + os.sep):
            keyframe = dict(keyframe, image=new_root + image[len(old_root) :])
        moved.append(keyframe)
    return dict(parameters, keyframes=moved)


def carry_folder(source: Path, target: Path) -> None:
    """Copy the files of `source` (a project's keyframes/) into `target`, keeping what is there."""
    if not source.is_dir() or source.resolve() == target.resolve():
        return
    try:
        target.mkdir(parents=True, exist_ok=True)
        for path in source.iterdir():
            if path.is_file() and not (target / path.name).exists():
                shutil.copyfile(path, target / path.name)
    except OSError as exc:
        log.warning("%s not copied to %s: %s", source, target, exc)


def _first_frame(path: str) -> QImage | None:
    """A job's result as a picture: its first frame (None when it cannot be read)."""
    import numpy as np

    from app.errors import MediaError
    from app.media.thumbnails import thumbnail

    if not os.path.isfile(path):
        return None
    try:
        rgb = np.ascontiguousarray(thumbnail(path, 0, THUMB_SIZE[1]))
    except (MediaError, OSError, ValueError) as exc:
        log.info("no thumbnail for %s: %s", path, exc)
        return None
    height, width = rgb.shape[:2]
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
