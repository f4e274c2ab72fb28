"""A finished remote job's files land in the project's media folder exactly as a local job's would: under
a name no other clip has (the local writer's `unique_stem`), each file written to a temporary name and
renamed into place (app.project.atomic), the master last, so a clip file in the folder is always whole.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from app.cluster.host import RemoteOutcome
from app.errors import JobError


def land(outcome: RemoteOutcome, media_dir: Path) -> Any:
    """Write `outcome`'s files into `media_dir` and return its result pointing at them (a MediaItem gets
    its path, name, probed info and latents file name). A result without files (a duration answer) is
    returned as it is. JobError when the folder cannot take them (nothing half-written stays)."""
    from app.jobs.master import MASTER_SUFFIX, unique_stem
    from app.project.atomic import atomic_write_bytes

    result = outcome.result
    path = getattr(result, "path", None)
    if not outcome.files or not isinstance(path, str) or path not in outcome.files:
        return result
    media_dir = Path(media_dir)
    media_dir.mkdir(parents=True, exist_ok=True)
    old_stem = path[: -len(MASTER_SUFFIX)] if path.endswith(MASTER_SUFFIX) else Path(path).stem
    new_stem = unique_stem(media_dir, old_stem)
    renamed = {name: new_stem + name[len(old_stem):] if name.startswith(old_stem) else name
               for name in outcome.files}  # fmt: skip
    for name in renamed.values():
        if name != renamed[path] and (media_dir / name).exists():
            raise JobError(f"{media_dir / name} already exists; {outcome.job_id}'s result was not landed")
    written: list[Path] = []
    try:
        for name in sorted(outcome.files, key=lambda n: n == path):  # the master last
            target = media_dir / renamed[name]
            atomic_write_bytes(target, outcome.files[name], what="the generated clip")
            written.append(target)
    except Exception:
        for target in written:
            target.unlink(missing_ok=True)
        raise
    return _pointed(result, media_dir / renamed[path], old_stem, new_stem)


def _pointed(result: Any, path: Path, old_stem: str, new_stem: str) -> Any:
    from app.jobs.master import LATENTS_SUFFIX
    from app.media.probe import probe_media

    changes: dict[str, Any] = {"path": str(path.resolve())}
    if getattr(result, "name", None) == old_stem:
        changes["name"] = new_stem
    if hasattr(result, "info"):
        changes["info"] = probe_media(path)
    generation = getattr(result, "generation", None)
    if isinstance(generation, dict) and generation.get("latents") == f"{old_stem}{LATENTS_SUFFIX}":
        changes["generation"] = dict(generation, latents=f"{new_stem}{LATENTS_SUFFIX}")
    return dataclasses.replace(result, **changes)
