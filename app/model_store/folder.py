"""The models folder: where it is (the user's choice, default in the studio's data folder), what it holds per
LTX version, and where a downloaded file goes. Reads folder listings and sizes only (no weights). Qt-free.

The choice is kept in ``<data folder>/model_store.json`` (plain JSON, so the CLI, ``aiprod-studio --check``
and the uninstaller read it without Qt). A folder the studio made carries a ``.aiprod-models`` marker; in a
folder it did not make (a ComfyUI ``models/`` tree), ``.aiprod-downloaded.json`` lists the files the studio
added, so an uninstall removes those and nothing else.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from app.model_store.catalog import CATALOG, CatalogFile, VersionEntry, newest
from app.project.paths import data_root

SETTINGS_FILE = "model_store.json"
MARKER = ".aiprod-models"
DOWNLOADED = ".aiprod-downloaded.json"
PARTIAL_SUFFIX = ".aiprod-partial"
# Sub-folders that make a folder a ComfyUI models/ tree.
COMFY_DIRS = ("checkpoints", "diffusion_models", "text_encoders", "loras", "latent_upscale_models", "vae")


class ModelFolderError(Exception):
    """The models folder cannot be used; the message says why and what to do."""


def default_models_folder() -> Path:
    return data_root() / "models"


def models_folder() -> Path:
    """The folder the user chose, else the default (which need not exist yet)."""
    try:
        data = json.loads((data_root() / SETTINGS_FILE).read_text(encoding="utf-8"))
        chosen = data.get("folder") if isinstance(data, dict) else None
    except (OSError, ValueError):
        chosen = None
    if isinstance(chosen, str) and chosen.strip():
        return Path(chosen).expanduser()
    return default_models_folder()


def set_models_folder(folder: str | os.PathLike[str]) -> Path:
    """Remember ``folder`` as the models folder (created, with the studio's marker, when it does not exist).
    ModelFolderError when it cannot be created or written."""
    path = Path(folder).expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise ModelFolderError(f"{path} is a file, not a folder. Choose a folder for the models.")
    try:
        if not path.exists():
            path.mkdir(parents=True)
            (path / MARKER).write_text("made by AIPROD Studio; its uninstaller may delete this folder\n")
        probe = path / ".aiprod-write-test"
        probe.write_bytes(b"")
        probe.unlink()
        data_root().mkdir(parents=True, exist_ok=True)
        settings = json.dumps({"folder": str(path)}, indent=1)
        (data_root() / SETTINGS_FILE).write_text(settings, encoding="utf-8")
    except OSError as exc:
        raise ModelFolderError(
            f"Cannot use {path} for the models: {exc.strerror or exc}. Choose a folder you can write to."
        ) from exc
    return path


def ensure_folder(folder: Path) -> Path:
    """Create the default models folder on first use (marked as the studio's)."""
    if not folder.exists():
        folder.mkdir(parents=True)
        (folder / MARKER).write_text("made by AIPROD Studio; its uninstaller may delete this folder\n")
    return folder


def is_comfy_tree(folder: Path) -> bool:
    """A ComfyUI ``models/`` tree (its sub-folders are reused in place) rather than the studio's layout."""
    return not (folder / MARKER).exists() and any((folder / name).is_dir() for name in COMFY_DIRS)


def version_root(folder: Path, entry: VersionEntry) -> Path:
    """Where a version's files sit: ``<folder>/<version folder>`` in the studio's layout; the folder itself
    in a ComfyUI tree."""
    return folder if is_comfy_tree(folder) else folder / entry.folder


def target_dir(folder: Path, entry: VersionEntry, item: CatalogFile) -> Path:
    """The folder a catalog file (or, for a whole-repository entry, the folder holding its folder) goes in."""
    if is_comfy_tree(folder):
        return folder / item.comfy_dir
    root = folder / entry.folder
    if entry.release_layout and "/" in item.pattern:
        return root / item.pattern.rsplit("/", 1)[0]
    return root


def free_bytes(folder: Path) -> int:
    """Free space on the disk that holds ``folder`` (its nearest existing parent)."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


@dataclass(frozen=True)
class FileStatus:
    item: CatalogFile
    path: Path | None  # what is on disk (a file, or the folder of a whole-repository entry)
    size: int  # bytes on disk (a folder: all its files)
    partial: int = 0  # bytes of an interrupted download waiting to resume

    @property
    def present(self) -> bool:
        return self.path is not None


@dataclass(frozen=True)
class VersionStatus:
    entry: VersionEntry
    files: tuple[FileStatus, ...]
    summary: str = ""  # engine.checkpoint_report's line when the model file is there
    problems: tuple[str, ...] = field(default=())

    @property
    def ready(self) -> bool:
        return all(f.present for f in self.files if f.item.required)

    def missing(self, preset: str | None = None) -> tuple[CatalogFile, ...]:
        wanted = self.entry.needed_for(preset) if preset else tuple(f.item for f in self.files)
        present = {f.item.key for f in self.files if f.present}
        return tuple(item for item in wanted if item.key not in present)

    def file(self, key: str) -> FileStatus:
        return next(f for f in self.files if f.item.key == key)


@dataclass(frozen=True)
class FolderReport:
    folder: Path
    exists: bool
    comfy: bool
    free: int
    versions: tuple[VersionStatus, ...]

    def version(self, name: str) -> VersionStatus:
        return next(v for v in self.versions if v.entry.version == name)


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    files = (p for p in path.rglob("*") if p.is_file() and not p.name.endswith(PARTIAL_SUFFIX))
    return sum(p.stat().st_size for p in files)


def _find(folder: Path, entry: VersionEntry, item: CatalogFile) -> tuple[Path | None, int]:
    where = target_dir(folder, entry, item)
    if item.folder:
        candidate = where / item.target_folder_name
        if candidate.is_dir() and any(candidate.glob("*.safetensors")):
            return candidate, 0
        partials = candidate.glob(f"*{PARTIAL_SUFFIX}") if candidate.is_dir() else ()
        return None, sum(p.stat().st_size for p in partials)
    if not where.is_dir():
        return None, 0
    found = {p.name: p for p in where.iterdir() if p.is_file() and item.matches(p.name)}
    if found:
        return found[newest(list(found))], 0  # the latest release when an older one is still there
    partial = sum(p.stat().st_size for p in where.glob(f"*{PARTIAL_SUFFIX}")
                  if item.matches(p.name.removesuffix(PARTIAL_SUFFIX)))  # fmt: skip
    return None, partial


def _describe(entry: VersionEntry, root: Path, files: list[FileStatus]) -> tuple[str, tuple[str, ...]]:
    """engine.checkpoint_report's summary of the model file found, headers only."""
    model = next((f for f in files if "model" in f.item.provides and f.present), None)
    if model is None:
        return "", ()
    from engine.checkpoint_report import describe_checkpoint
    from engine.errors import CheckpointError

    encoder = next((f.path for f in files if "text encoder" in f.item.provides and f.present), None)
    target = root if entry.release_layout else model.path
    try:
        report = describe_checkpoint(target, text_encoder=encoder if not entry.release_layout else None)
    except (CheckpointError, OSError) as exc:
        return "", (f"{model.path}: {exc}",)
    return report.summary(), ()


def scan(folder: Path | None = None, catalog: tuple[VersionEntry, ...] = CATALOG, *,
         describe: bool = True) -> FolderReport:  # fmt: skip
    """What ``folder`` (default: the chosen models folder) holds for each version."""
    folder = Path(folder) if folder is not None else models_folder()
    versions = []
    for entry in catalog:
        files = []
        for item in entry.files:
            path, partial = _find(folder, entry, item) if folder.is_dir() else (None, 0)
            files.append(FileStatus(item, path, _size(path) if path else 0, partial))
        summary, problems = _describe(entry, version_root(folder, entry), files) if describe else ("", ())
        versions.append(VersionStatus(entry, tuple(files), summary, problems))
    comfy = folder.is_dir() and is_comfy_tree(folder)
    return FolderReport(folder, folder.is_dir(), comfy, free_bytes(folder), tuple(versions))


def record_download(folder: Path, path: Path) -> None:
    """Note a file the studio put into a folder it did not make (the uninstaller removes only these)."""
    if (folder / MARKER).exists():
        return
    listing = folder / DOWNLOADED
    try:
        known = json.loads(listing.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = []
    relative = str(path.relative_to(folder))
    if relative not in known:
        listing.write_text(json.dumps(sorted([*known, relative]), indent=1), encoding="utf-8")


def uninstall_lines(folder: Path | None = None) -> list[str]:
    """For the uninstaller: the folder, "owned" or "shared", then (shared) the files the studio added."""
    folder = Path(folder) if folder is not None else models_folder()
    if (folder / MARKER).exists():
        return [str(folder), "owned"]
    try:
        added = json.loads((folder / DOWNLOADED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        added = []
    return [str(folder), "shared", *(str(folder / name) for name in added if isinstance(name, str))]


def human_size(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


if __name__ == "__main__":  # the uninstaller: python -m app.model_store.folder
    print("\n".join(uninstall_lines()))
