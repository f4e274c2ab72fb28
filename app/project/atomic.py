"""Atomic file replacement: a reader (or a crash) sees the old file or the new one, never half of either.

The bytes go to a temporary file in the same folder (same file system, so the rename is atomic), are
flushed to disk, and only then replace the target with ``os.replace``. Any failure removes the temporary
file and leaves the target as it was.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from app.errors import ProjectError


def atomic_write_bytes(path: Path, data: bytes, *, what: str = "the project") -> None:
    """Replace ``path`` with ``data`` atomically; ProjectError (target untouched) when it cannot."""
    path = Path(path)
    tmp_name: str | None = None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            _write_all(handle, data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
        tmp_name = None
        _fsync_folder(path.parent)
    except OSError as exc:
        raise ProjectError(_write_failure_message(path, exc, what)) from exc
    finally:
        if tmp_name is not None:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass


def _write_all(handle, data: bytes) -> None:  # noqa: ANN001 - a binary file object
    # Separate so tests can make the write itself fail (a full disk) after the temporary file exists.
    handle.write(data)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); Windows cannot open folders for fsync and needs no call."""
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_failure_message(path: Path, exc: OSError, what: str) -> str:
    if exc.errno == errno.ENOSPC:
        reason = "the disk is full. Free some space and save again"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        reason = "the folder is read-only. Use Save As to choose a folder you can write to"
    else:
        reason = f"{exc.strerror or exc}. Try again, or use Save As to choose another folder"
    return f"Could not save {what} to {path}: {reason}. The previous version on disk is unchanged."
