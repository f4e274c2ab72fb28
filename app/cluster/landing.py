"""A finished remote job's files land in the project's media folder exactly as a local job's would: under
a name no other clip has (the local writer's `unique_stem`), each file written to a temporary name and
renamed into place (app.project.atomic), the master last, so a clip file in the folder is always whole.

A finished export (:func:`land_export`) lands at the destination the user chose, all or nothing: its file
(or its image sequence's folder) is written beside the destination under a temporary name and renamed onto
it, after the output-refusal rules (app.project.outputs) are asked again.
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


def land_export(outcome: RemoteOutcome, request: Any) -> Any:
    """Write an export's output (one file, or an image sequence's files under its folder name) at
    ``request.out_path`` atomically and return its RenderReport pointing there. ExportError when it cannot
    (nothing is left at the destination)."""
    from app.errors import ExportError
    from app.project.atomic import atomic_target
    from app.project.outputs import check_output_path

    report = outcome.result
    name = Path(getattr(report, "path", "")).name
    dest = Path(request.out_path).expanduser().absolute()
    inside = {key[len(name) + 1 :]: data for key, data in outcome.files.items() if key.startswith(name + "/")}
    if name not in outcome.files and not inside:
        raise ExportError(f"the render node sent no output for {dest.name}; nothing was written")
    check_output_path(dest, request.doc, request.project_folder)
    try:
        with atomic_target(dest, folder=bool(inside)) as tmp:
            if not inside:
                tmp.write_bytes(outcome.files[name])
            for key, data in inside.items():
                (tmp / key).parent.mkdir(parents=True, exist_ok=True)
                (tmp / key).write_bytes(data)
    except OSError as exc:
        raise ExportError(f"the export could not be written to {dest}: {exc.strerror or exc}") from exc
    return dataclasses.replace(report, path=dest)
