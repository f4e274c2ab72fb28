"""Crash recovery: autosaved copies of open documents, and the session locks that tell a crash from a
second running instance.

Each running session holds ``recovery/<session>.lock`` (its pid and the process's start time, so a
recycled pid is not mistaken for the owner) and, once edited, ``recovery/<session>.otio``: the document
with absolute media paths and the original project path. A clean close removes both. At launch a
recovery file whose owner process is gone is a crash to offer; one whose owner still runs belongs to
another open window and is left alone.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.document import TimelineDocument
from app.errors import ProjectError
from app.project.atomic import atomic_write_bytes, remove_stale_temporaries
from app.project.paths import recovery_dir, scratch_dir
from app.project.store import parse, read_header, serialize

_RECOVERY_SUFFIX = ".otio"
_LOCK_SUFFIX = ".lock"


@dataclass(frozen=True)
class RecoveryEntry:
    """An autosave left behind by a session that did not close cleanly."""

    session_id: str
    file: Path
    original_path: Path | None  # the project folder it came from; None for a never-saved project
    written_at: datetime
    name: str


# ------------------------------------------------------------------------------------------- locks
def process_start_token(pid: int) -> str | None:
    """Something that changes when a pid is reused: the start time in clock ticks on Linux."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22 (starttime) counts from after the command name, which sits in parentheses and may hold spaces.
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def process_alive(pid: int, start_token: str | None = None) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":
        alive = _windows_process_alive(pid)
    else:
        try:
            os.kill(pid, 0)
            alive = True
        except ProcessLookupError:
            alive = False
        except PermissionError:  # exists, owned by someone else
            alive = True
        except OSError:
            alive = False
    if alive and start_token is not None:
        current = process_start_token(pid)
        if current is not None and current != start_token:
            return False  # the pid now belongs to a different process
    return alive


def _windows_process_alive(pid: int) -> bool:
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return False
    try:
        code = ctypes.c_ulong()
        kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


class SessionLock:
    """The pid file that marks a session as running."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.path = recovery_dir() / f"{session_id}{_LOCK_SUFFIX}"

    def acquire(self) -> SessionLock:
        record = {
            "pid": os.getpid(),
            "start": process_start_token(os.getpid()),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self.path, json.dumps(record).encode(), what="the session lock")
        except (OSError, ProjectError):
            # Without a lock the session still works; its autosave would merely be offered as a crash by
            # a second instance. Not worth refusing to start over.
            pass
        return self

    def release(self) -> None:
        _unlink(self.path)


def _owner_alive(session_id: str) -> bool:
    lock = recovery_dir() / f"{session_id}{_LOCK_SUFFIX}"
    try:
        record = json.loads(lock.read_text())
        return process_alive(int(record["pid"]), record.get("start"))
    except (OSError, ValueError, KeyError, TypeError):
        return False  # no readable lock: nobody owns it


# ----------------------------------------------------------------------------------- recovery files
def recovery_file(session_id: str) -> Path:
    return recovery_dir() / f"{session_id}{_RECOVERY_SUFFIX}"


def write_recovery(doc: TimelineDocument, session_id: str, original_path: Path | None) -> Path:
    """Autosave ``doc`` atomically; media paths stay absolute (the recovery folder is not the project)."""
    target = recovery_file(session_id)
    extra = {
        "recovery": {
            "session_id": session_id,
            "original_path": str(original_path) if original_path else None,
            "written_at": datetime.now(UTC).isoformat(timespec="microseconds"),
            "name": doc.name,
        }
    }
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ProjectError(
            f"Cannot create the recovery folder {target.parent}: {exc.strerror or exc}."
        ) from exc
    atomic_write_bytes(target, serialize(doc, None, extra), what="the autosave")
    return target


def remove_recovery(session_id: str) -> None:
    _unlink(recovery_file(session_id))


def find_recoverable() -> list[RecoveryEntry]:
    """Autosaves whose session died (newest first). Unreadable ones are skipped, not offered."""
    folder = recovery_dir()
    if not folder.is_dir():
        return []
    remove_stale_temporaries(folder)  # autosaves and locks cut short by a kill, at the next start
    entries = []
    for file in folder.glob(f"*{_RECOVERY_SUFFIX}"):
        session_id = file.name.removesuffix(_RECOVERY_SUFFIX)
        if _owner_alive(session_id):
            continue
        try:
            info = read_header(file.read_bytes(), file).get("recovery") or {}
            written = datetime.fromisoformat(info["written_at"])
        except (OSError, ProjectError, KeyError, TypeError, ValueError):
            continue
        original = info.get("original_path")
        entries.append(
            RecoveryEntry(
                session_id, file, Path(original) if original else None, written, info.get("name", "")
            )
        )
    return sorted(entries, key=lambda e: e.written_at, reverse=True)


def open_recovery(entry: RecoveryEntry) -> TimelineDocument:
    return parse(_read(entry.file), entry.file)


def forget_autosave(entry: RecoveryEntry) -> None:
    """Drop a crashed session's autosave and lock, keeping its scratch media (a recovered document still
    points at it)."""
    _unlink(entry.file)
    _unlink(recovery_dir() / f"{entry.session_id}{_LOCK_SUFFIX}")


def discard_recovery(entry: RecoveryEntry) -> None:
    """Forget a crashed session entirely: its autosave, its lock and its scratch media."""
    forget_autosave(entry)
    shutil.rmtree(scratch_dir(entry.session_id), ignore_errors=True)


def _read(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except OSError as exc:
        raise ProjectError(f"Cannot read the autosave {file}: {exc.strerror or exc}.") from exc


def _unlink(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass  # a leftover file is harmless; the next launch tidies or ignores it
