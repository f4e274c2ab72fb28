"""The job history: finished generations with their settings and a thumbnail, kept in the user's data
folder so the Jobs panel still lists them after a relaunch ("reuse these settings" rebuilds the job).

One JSON file (``history.json``, newest first, at most ``MAX_ENTRIES``) plus one small PNG per entry under
``thumbnails/``. Only generations are kept (an inpaint belongs to its clip's takes, not to a prompt list).
A history that cannot be read starts empty; one that cannot be written says nothing (it is a convenience,
never a reason to fail a generation).
"""

from __future__ import annotations

import json
import logging
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
THUMB_SIZE = (192, 108)
_FILE = "history.json"


@dataclass(frozen=True)
class HistoryEntry:
    id: str
    finished_at: float  # seconds since the epoch
    status: str  # JobStatus value: "done", "failed", "cancelled"
    parameters: dict[str, Any]  # JobSpec.generation_parameters()
    media_path: str = ""
    error: str = ""
    thumbnail: str = ""  # file name under thumbnails/, "" when none

    @property
    def prompt(self) -> str:
        return str(self.parameters.get("prompt", ""))

    def spec(self) -> JobSpec:
        """The job to run again (JobError when the stored settings no longer make one)."""
        try:
            return JobSpec.from_generation(self.parameters)
        except (AppError, KeyError, TypeError, ValueError) as exc:
            raise JobError(f"these settings cannot be reused: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "finished_at": self.finished_at, "status": self.status,
            "parameters": self.parameters, "media_path": self.media_path, "error": self.error,
            "thumbnail": self.thumbnail,
        }  # fmt: skip

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
        )


class JobHistory(QObject):
    """``record(job)`` when a generation ends; ``entries()`` newest first; ``clear()``."""

    changed = Signal()

    def __init__(self, folder: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.folder = Path(folder)
        self._entries: list[HistoryEntry] = self._read()
        self._job_ids: dict[str, str] = {}  # entry id -> the queue's job id, for this launch's entries

    def job_id_of(self, entry: HistoryEntry) -> str | None:
        """The queue's id of the job an entry of this launch records (None for earlier launches')."""
        return self._job_ids.get(entry.id)

    def entries(self) -> list[HistoryEntry]:
        return list(self._entries)

    def thumbnail_path(self, entry: HistoryEntry) -> Path | None:
        if not entry.thumbnail:
            return None
        path = self.folder / "thumbnails" / entry.thumbnail
        return path if path.is_file() else None

    def record(self, job: Job) -> HistoryEntry | None:
        if not isinstance(job.spec, JobSpec) or not job.status.finished:
            return None
        entry_id = uuid.uuid4().hex
        thumbnail = ""
        if job.preview is not None and not job.preview.isNull():
            thumbnail = f"{entry_id}.png"
            if not self._save_thumbnail(job.preview, thumbnail):
                thumbnail = ""
        item = job.item
        entry = HistoryEntry(
            id=entry_id,
            finished_at=time.time(),
            status=job.status.value,
            parameters=job.spec.generation_parameters(),
            media_path=str(getattr(item, "path", "") or ""),
            error=job.error,
            thumbnail=thumbnail,
        )
        self._entries.insert(0, entry)
        self._job_ids[entry_id] = job.id
        for dropped in self._entries[MAX_ENTRIES:]:
            if dropped.thumbnail:
                (self.folder / "thumbnails" / dropped.thumbnail).unlink(missing_ok=True)
        del self._entries[MAX_ENTRIES:]
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

    # ------------------------------------------------------------------------------------------ files
    def _read(self) -> list[HistoryEntry]:
        path = self.folder / _FILE
        if not path.is_file():
            return []
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return [HistoryEntry.from_dict(entry) for entry in data.get("entries", [])][:MAX_ENTRIES]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("job history %s is unreadable (%s); starting a new one", path, exc)
            return []

    def _write(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            text = json.dumps({"version": 1, "entries": [e.to_dict() for e in self._entries]}, indent=1)
            atomic_write_bytes(self.folder / _FILE, text.encode("utf-8"), what="the job history")
        except (OSError, AppError) as exc:
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
