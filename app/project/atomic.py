"""Atomic file replacement, the one way every writer of the studio puts a file (or folder) in place: a
reader (or a crash) sees the old file or the new one, never half of either.

The content goes to a temporary name in the same folder (same file system, so the rename is atomic),
is flushed to disk, and only then replaces the target with ``os.replace``; any failure removes the
temporary and leaves the target as it was. Used by project saves, autosaves, backups, locks, masks,
media copies, generated masters, renders, image sequences and interchange exports.

Temporary names have one pattern, ``.<stem>.partial-<8 hex><suffix>``, so leftovers of a killed process
can be recognised and removed (:func:`remove_stale_temporaries`). The stem is shortened when needed so
that a temporary name is never longer than the final name (or :data:`SHORT_NAME_ROOM` bytes, for short
names): a name the file system accepts always gets a temporary name it accepts.

A target that is a symlink is written through: the link's target is replaced and the link stays.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.errors import ProjectError

NAME_MAX = 255  # bytes in one path component on Linux, macOS and Windows (UTF-16 units there)
SHORT_NAME_ROOM = 64  # a short final name may get a temporary name up to this long
STALE_AFTER_S = 3600.0  # a temporary untouched this long belongs to no live writer
_MARK = ".partial-"
_OURS = re.compile(r"^\..*\.partial-[0-9a-f]{8}(\.[^/]*)?$", re.DOTALL)
# Leftovers of earlier versions: tempfile.mkstemp names ('.project.otio.k2j4h5_x.tmp') and media copies.
_LEGACY = re.compile(r"^\..+\.([a-z0-9_]{8}\.tmp|copying)$", re.DOTALL)


# ------------------------------------------------------------------------------------------ names
def _length(name: str) -> int:
    return len(os.fsencode(name))


def check_name(path: Path, what: str = "file") -> None:
    """OSError(ENAMETOOLONG) naming the part that is too long, before anything touches the disk."""
    for part in Path(path).parts:
        if _length(part) > NAME_MAX:
            raise OSError(
                errno.ENAMETOOLONG,
                f"the {what} name part '{part[:40]}…' is {_length(part)} bytes, over the {NAME_MAX} allowed",
            )


def temp_name(dest: Path, token: str | None = None) -> str:
    """``.<stem>.partial-<token><suffix>``, the stem cut (at a character) to keep within the budget."""
    token = token or secrets.token_hex(4)
    name = dest.name
    suffix = Path(name).suffix if _length(Path(name).suffix) <= 32 else ""
    stem = name[: len(name) - len(suffix)] if suffix else name
    budget = max(_length(name), SHORT_NAME_ROOM)
    fixed = _length(f".{_MARK}{token}{suffix}")
    while stem and _length(stem) + fixed > budget:
        stem = stem[:-1]
    return f".{stem}{_MARK}{token}{suffix}"


def is_temporary(name: str) -> bool:
    """True for a name of our temporary pattern (and earlier versions' patterns)."""
    return bool(_OURS.match(name) or _LEGACY.match(name))


def resolve_target(dest: Path) -> Path:
    """Where a write to ``dest`` lands: a symlink's (final) target, else ``dest`` itself."""
    dest = Path(dest)
    if dest.is_symlink():
        return Path(os.path.realpath(dest))
    return dest


# ------------------------------------------------------------------------------------ primitives
def reserve_temp(dest: Path, *, folder: bool = False) -> Path:
    """Create an empty temporary file (or folder) beside ``dest``, exclusively; OSError when refused."""
    dest = Path(dest)
    check_name(dest)
    for _ in range(16):
        tmp = dest.with_name(temp_name(dest))
        try:
            if folder:
                tmp.mkdir()
            else:
                os.close(_open_exclusive(tmp))
        except FileExistsError:
            continue
        return tmp
    raise OSError(errno.EEXIST, f"could not find a free temporary name beside {dest}")  # pragma: no cover


def _open_exclusive(path: Path) -> int:
    # Separate so tests can refuse it (a read-only folder, without chmod, which root ignores).
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)


def commit(tmp: Path, dest: Path) -> None:
    """Flush ``tmp`` to disk and rename it onto ``dest``, then make the rename durable."""
    if tmp.is_file():
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    os.replace(tmp, dest)
    fsync_folder(dest.parent)


def discard(tmp: Path | None) -> None:
    """Remove a temporary file or folder, quietly (best effort)."""
    if tmp is None:
        return
    try:
        if tmp.is_dir() and not tmp.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
    except OSError:
        pass


@contextmanager
def atomic_target(dest: str | os.PathLike[str], *, folder: bool = False) -> Iterator[Path]:
    """Yield a reserved temporary path beside ``dest`` (through a symlink: beside its target); when the
    block ends normally it replaces the target, on any exception it is removed. OSError is not wrapped:
    each writer turns it into its own error class and message."""
    target = resolve_target(Path(os.fspath(dest)))
    tmp = reserve_temp(target, folder=folder)
    try:
        yield tmp
        if folder and target.is_dir():
            target.rmdir()  # only an empty folder may be replaced; rmdir refuses anything else
        commit(tmp, target)
    except BaseException:
        discard(tmp)
        raise


def fsync_folder(folder: Path) -> None:
    """Make a rename durable (POSIX); Windows cannot open folders for fsync and needs no call."""
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


# --------------------------------------------------------------------------------------- bytes
def atomic_write_bytes(path: Path, data: bytes, *, what: str = "the project") -> None:
    """Replace ``path`` with ``data`` atomically; ProjectError (target untouched) when it cannot."""
    path = Path(path)
    try:
        with atomic_target(path) as tmp, open(tmp, "wb") as handle:
            _write_all(handle, data)
            handle.flush()
    except OSError as exc:
        raise ProjectError(_write_failure_message(path, exc, what)) from exc


def _write_all(handle, data: bytes) -> None:  # noqa: ANN001 - a binary file object
    # Separate so tests can make the write itself fail (a full disk) after the temporary file exists.
    handle.write(data)


def _write_failure_message(path: Path, exc: OSError, what: str) -> str:
    if exc.errno == errno.ENOSPC:
        reason = "the disk is full. Free some space and save again"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        reason = "the folder is read-only. Use Save As to choose a folder you can write to"
    elif exc.errno == errno.ENAMETOOLONG:
        reason = f"{exc.strerror or exc}. Choose a shorter name"
    else:
        reason = f"{exc.strerror or exc}. Try again, or use Save As to choose another folder"
    return f"Could not save {what} to {path}: {reason}. The previous version on disk is unchanged."


# ------------------------------------------------------------------------------------- leftovers
def remove_stale_temporaries(
    folder: str | os.PathLike[str], *, older_than_s: float = STALE_AFTER_S
) -> list[Path]:
    """Delete temporaries of our naming in ``folder`` (not below it) untouched for ``older_than_s``.

    What a SIGKILLed save, render or generation left behind. A live writer keeps its temporary fresh
    (a render writes continuously; a save takes milliseconds), so age tells a leftover from work in
    progress, also of another running process. Best effort: returns what was removed, never raises.
    """
    removed: list[Path] = []
    cutoff = time.time() - older_than_s
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not is_temporary(entry.name):
            continue
        try:
            if entry.stat(follow_symlinks=False).st_mtime > cutoff:
                continue
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
        except OSError:
            continue
    return removed
