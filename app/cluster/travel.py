"""The media a job needs travels with it: the files its spec names are read here into bytes, written into
a scratch folder on the node, and the spec is pointed at them there. With a shared folder (every node
sees the project at the same path) nothing travels.

What travels, per spec type: a generation's start image, keyframe images and LoRAs; an extend's source
clip (and its latents beside it) and LoRAs; an inpaint's source clip (and latents) and its mask files.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.errors import JobError

LATENTS_SUFFIX = ".latents.safetensors"


@dataclass
class Packed:
    """A spec whose file paths are keys of `files` (name -> bytes); `originals` maps each key back to the
    path it was read from (recorded in provenance instead of the node's scratch path)."""

    spec: Any
    files: dict[str, bytes] = field(default_factory=dict)
    originals: dict[str, str] = field(default_factory=dict)
    folders: dict[str, str] = field(default_factory=dict)  # a spec's folder field -> its key prefix

    @property
    def size(self) -> int:
        return sum(len(data) for data in self.files.values())


class _Packer:
    def __init__(self) -> None:
        self.packed = Packed(spec=None)

    def file(self, path: str | None, what: str, *, optional: bool = False) -> str | None:
        if path is None or path == "":
            return path
        source = Path(path)
        if not source.is_file():
            if optional:
                return None
            raise JobError(f"{what} {source} does not exist; it cannot travel to the render node")
        key = f"{len(self.packed.files)}/{source.name}"
        try:
            self.packed.files[key] = source.read_bytes()
        except OSError as exc:
            raise JobError(f"{what} {source} cannot be read: {exc.strerror or exc}") from exc
        self.packed.originals[key] = str(path)
        return key

    def clip(self, path: str, what: str) -> str:
        key = self.file(path, what)
        assert key is not None
        # its latents travel beside it, under the same folder key (read_latents looks beside the clip)
        source = Path(path)
        sidecar = source.with_name(source.name.rsplit(".", 1)[0] + LATENTS_SUFFIX)
        if sidecar.is_file():
            folder = key.split("/", 1)[0]
            self.packed.files[f"{folder}/{sidecar.name}"] = sidecar.read_bytes()
        return key


def pack(spec: Any, shared_folder: bool = False) -> Packed:
    """The spec with its files as bytes (or as it is, on a shared folder). JobError when a file is
    missing: said before the job is sent, not on a node."""
    if shared_folder:
        return Packed(spec=spec)
    packer = _Packer()
    # told apart by their fields (app.jobs.spec.JobSpec, app.jobs.extend.ExtendSpec,
    # app.jobs.inpaint.InpaintSpec), so the driver side imports none of the kinds' modules
    if hasattr(spec, "mask_id") and hasattr(spec, "source_path"):
        masks = Path(spec.masks_dir)
        mask_files = sorted(masks.glob(f"{spec.mask_id}*")) if masks.is_dir() else []
        if not mask_files:
            raise JobError(f"the mask {spec.mask_id} is not in {masks}; paint the region again")
        folder = f"{len(packer.packed.files)}m"
        for mask in mask_files:
            packer.packed.files[f"{folder}/{mask.name}"] = mask.read_bytes()
        packer.packed.folders[folder] = str(masks)
        changed = {"source_path": packer.clip(spec.source_path, "the clip to inpaint"), "masks_dir": folder}
    elif hasattr(spec, "source_path") and hasattr(spec, "seconds"):
        changed = {
            "source_path": packer.clip(spec.source_path, "the clip to extend"),
            "loras": _loras(packer, spec.loras),
        }
    elif hasattr(spec, "prompt") and hasattr(spec, "keyframes") and hasattr(spec, "image"):
        changed = {
            "image": packer.file(spec.image, "the start image"),
            "keyframes": tuple(
                (packer.file(path, "the keyframe image"), frame, strength)
                for path, frame, strength in spec.keyframes
            ),
            "loras": _loras(packer, spec.loras),
        }
    elif hasattr(spec, "prompt") and hasattr(spec, "fps") and not hasattr(spec, "width"):
        changed = {}  # the duration head's question: a prompt, no files
    else:
        raise JobError(f"a {type(spec).__name__} job cannot run on render nodes yet; it runs on this machine")
    packer.packed.spec = dataclasses.replace(spec, **changed)
    return packer.packed


def _loras(packer: _Packer, loras: tuple[tuple[str, float], ...]) -> tuple[tuple[str, float], ...]:
    return tuple((packer.file(path, "the LoRA file"), strength) for path, strength in loras)  # type: ignore[misc]


def unpack(packed: Packed, folder: Path) -> tuple[Any, dict[str, str]]:
    """Write the files under `folder` (on the node) and return the spec pointing at them, plus a map from
    each scratch path to the original path (to put the originals back into the result's record)."""
    if not packed.files:
        return packed.spec, {}
    local: dict[str, str] = {}
    for key, data in packed.files.items():
        path = folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        local[key] = str(path)
    for key in packed.folders:
        (folder / key).mkdir(parents=True, exist_ok=True)
        local[key] = str(folder / key)

    def where(key: Any) -> Any:
        return local.get(key, key) if isinstance(key, str) else key

    spec = packed.spec
    changes: dict[str, Any] = {}
    for name in ("image", "source_path", "masks_dir"):
        if hasattr(spec, name):
            changes[name] = where(getattr(spec, name))
    if hasattr(spec, "keyframes"):
        changes["keyframes"] = tuple((where(p), f, s) for p, f, s in spec.keyframes)
    if hasattr(spec, "loras"):
        changes["loras"] = tuple((where(p), s) for p, s in spec.loras)
    back = {local[key]: original for key, original in packed.originals.items()}
    back.update({local[key]: original for key, original in packed.folders.items()})
    return dataclasses.replace(spec, **changes), back


def restore_paths(value: Any, back: dict[str, str]) -> Any:
    """`value` (a result's generation record) with every node scratch path replaced by its original."""
    if not back:
        return value
    if isinstance(value, str):
        return back.get(value, value)
    if isinstance(value, dict):
        return {key: restore_paths(item, back) for key, item in value.items()}
    if isinstance(value, list):
        return [restore_paths(item, back) for item in value]
    if isinstance(value, tuple):
        return tuple(restore_paths(item, back) for item in value)
    return value
