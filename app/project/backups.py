"""Rolling backups: every save keeps the previous ``project.otio`` in ``backups/``, the last ten of them.

Names carry a sortable UTC timestamp (``project-20250101-120000-123456.otio``) so the newest is last in
name order, whatever the file system's modification times say.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from app.errors import ProjectError
from app.project.atomic import atomic_write_bytes
from app.project.paths import ProjectLayout

KEEP_BACKUPS = 10
_PREFIX = "project-"
_SUFFIX = ".otio"


def list_backups(layout: ProjectLayout) -> list[Path]:
    """Oldest first."""
    if not layout.backups.is_dir():
        return []
    return sorted(p for p in layout.backups.glob(f"{_PREFIX}*{_SUFFIX}") if p.is_file())


def back_up_current(layout: ProjectLayout, now: datetime | None = None) -> Path | None:
    """Copy the project file as it is now into ``backups/``; None when there is nothing to keep yet."""
    current = layout.project_file
    if not current.is_file():
        return None
    try:
        data = current.read_bytes()
    except OSError as exc:
        raise ProjectError(
            f"Could not read {current} to back it up ({exc.strerror or exc}); the project was not saved."
        ) from exc
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S-%f")
    target = layout.backups / f"{_PREFIX}{stamp}{_SUFFIX}"
    counter = 1
    while target.exists():  # two saves within the same microsecond (a test, a fast script)
        target = layout.backups / f"{_PREFIX}{stamp}-{counter:03d}{_SUFFIX}"
        counter += 1
    layout.backups.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(target, data, what="a backup of the project")
    return target


def prune_backups(layout: ProjectLayout, keep: int = KEEP_BACKUPS) -> list[Path]:
    """Delete all but the newest ``keep`` backups; returns what was deleted. Best effort: a backup that
    cannot be deleted is simply kept, it never fails a save."""
    removed = []
    for old in list_backups(layout)[:-keep] if keep > 0 else list_backups(layout):
        try:
            old.unlink()
            removed.append(old)
        except OSError:
            continue
    return removed
