"""Media paths on disk versus in the project file.

In memory every media path is absolute. In ``project.otio`` they are relative to the project folder
(``media/take1.mkv``, ``../footage/a.mov``) so the folder can move, with the absolute path of anything
outside the folder kept as a fallback: a moved project still finds footage that stayed where it was.

Saving also pulls in media the studio manages itself (the scratch folder of a never-saved project, the
media folder of the project a Save As starts from), so a project folder is self-contained.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from app.errors import ProjectError
from app.project.atomic import atomic_target
from app.project.paths import ProjectLayout


class StoredPaths:
    """Maps absolute paths to stored (relative) ones while saving, remembering the absolute fallbacks."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder).absolute()
        self.fallbacks: dict[str, str] = {}

    def __call__(self, path: str) -> str:
        if not path:
            return path
        absolute = os.path.normpath(os.path.abspath(path))
        try:
            relative = os.path.relpath(absolute, self.folder)
        except ValueError:  # another drive on Windows: no relative path exists
            return Path(absolute).as_posix()
        stored = PurePosixPath(*Path(relative).parts).as_posix()
        if stored.startswith(".."):
            self.fallbacks[stored] = absolute
        return stored


class ResolvedPaths:
    """Maps stored paths back to absolute ones while loading."""

    def __init__(self, folder: Path, fallbacks: dict[str, str] | None = None) -> None:
        self.folder = Path(folder).absolute()
        self.fallbacks = dict(fallbacks or {})

    def __call__(self, stored: str) -> str:
        if not stored:
            return stored
        if os.path.isabs(stored) or Path(stored).is_absolute():
            return os.path.normpath(stored)
        candidate = os.path.normpath(self.folder / Path(*PurePosixPath(stored).parts))
        if os.path.exists(candidate):
            return candidate
        fallback = self.fallbacks.get(stored)
        if fallback and os.path.exists(fallback):
            return fallback
        return candidate  # missing either way; the relative location is where a relink will look first


def _is_within(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def adopt_managed_media(paths: Iterable[str], roots: Iterable[Path], layout: ProjectLayout) -> dict[str, str]:
    """Copy every file under one of ``roots`` into the project folder; returns {old path: new path}.

    A file under ``root/masks`` goes to the project's ``masks/``, anything else under the root to
    ``media/`` (keeping sub-folders). Files beside a clip with the same stem (its latents, its
    provenance JSON) travel with it, so a copied take can still be inpainted. Files already in place
    (same size) are not copied again. Nothing is deleted: the originals stay until their session closes.
    """
    roots = [Path(r).absolute() for r in roots if Path(r).absolute() != layout.folder.absolute()]
    moved: dict[str, str] = {}
    for path in paths:
        source = Path(path).absolute()
        root = next((r for r in roots if _is_within(source, r)), None)
        if root is None:
            continue
        relative = source.relative_to(root)
        if relative.parts[0] in ("media", "masks") and len(relative.parts) > 1:
            target = layout.folder / relative
        else:
            target = layout.media / relative
        if not source.is_file():
            if target.is_file():  # copied by an earlier save; the original has gone since
                moved[str(path)] = str(target)
            continue
        for sibling in _with_sidecars(source):
            _copy_file(sibling, target.with_name(target.stem + sibling.name[len(source.stem) :]))
        moved[str(path)] = str(target)
    for root in roots:
        masks = root / "masks"
        if masks.is_dir():
            for mask in masks.rglob("*"):
                if mask.is_file():
                    _copy_file(mask, layout.masks / mask.relative_to(masks))
    return moved


def _with_sidecars(source: Path) -> list[Path]:
    siblings = [p for p in source.parent.glob(f"{_glob_escape(source.stem)}.*") if p.is_file()]
    return sorted(set(siblings) | {source})


def _glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def _copy_file(source: Path, target: Path) -> None:
    if target.is_file() and target.stat().st_size == source.stat().st_size:
        return
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_target(target) as tmp:
            shutil.copyfile(source, tmp)
    except OSError as exc:
        raise ProjectError(
            f"Could not copy {source.name} into the project folder ({exc.strerror or exc}). "
            "Free some space or choose another folder; the project was not saved."
        ) from exc
