"""The media a job needs travels with it: the files its spec names are read here into bytes, written into
a scratch folder on the node, and the spec is pointed at them there. With a shared folder (every node
sees the project at the same path) nothing travels.

What travels, per spec type: a generation's start image, keyframe images and LoRAs; an extend's source
clip (and its latents beside it) and LoRAs; an inpaint's source clip (and latents) and its mask files; an
export's document snapshot (OTIO JSON), with every media file its clips use and every LUT file their grades
read (an :class:`ExportParcel`; the node renders into its scratch folder, the file comes back as bytes).
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


@dataclass
class ExportParcel:
    """An export as it travels: the document snapshot as OTIO JSON (media paths: keys of Packed.files, or
    the paths themselves on a shared folder), the LUT paths its grades read (path -> key), the preset and
    range, the output's file name (the node writes it in its scratch folder), and whether every frame goes
    through the float path and OpenColorIO itself (``exact``: no fast path)."""

    otio_json: str
    preset: Any
    out_name: str
    in_frame: int | None = None
    out_frame: int | None = None
    size: tuple[int, int] | None = None
    frames: int = 0
    luts: dict[str, str] = field(default_factory=dict)
    exact: bool = False


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
    if hasattr(spec, "doc") and hasattr(spec, "out_path"):  # app.export.runner.ExportRequest
        return _pack_export(spec, shared_folder)
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


def _pack_export(request: Any, shared_folder: bool) -> Packed:
    """The request's document snapshot as OTIO JSON, with the media its clips use and the LUTs their grades
    read as bytes. The output-refusal rules (app.project.outputs) are applied here, before anything is
    sent: the node writes only into its own scratch folder. So are the local export's destination checks (a
    missing folder, a non-empty sequence folder)."""
    import opentimelineio as otio

    from app.errors import ExportError
    from app.export import presets
    from app.export.sequences import preflight_sequence
    from app.project.outputs import check_output_path

    dest = Path(request.out_path).expanduser().absolute()
    check_output_path(dest, request.doc, request.project_folder)
    chosen = presets.resolve(request.preset)
    if chosen.is_sequence:  # the local export's own destination checks, here before the node renders
        preflight_sequence(dest, chosen.sequence_format(), 0)
    elif not dest.parent.is_dir():
        raise ExportError(f"The destination folder '{dest.parent}' does not exist; create it or choose one")
    packer = _Packer()
    used = {
        clip.media_reference.target_url
        for clip in request.doc.to_otio().find_clips()
        if isinstance(clip.media_reference, otio.schema.ExternalReference) and clip.media_reference.target_url
    }

    def travel(path: str) -> str:
        return path if shared_folder or path not in used else packer.file(path, "the clip's media file")  # type: ignore[return-value]

    timeline = request.doc.to_otio(path_map=travel)
    luts: dict[str, str] = {}
    for track in request.doc.tracks():
        for clip in request.doc.clips(track.id):
            lut = (clip.grade or {}).get("lut_path")
            if isinstance(lut, str) and lut and lut not in luts:
                luts[lut] = lut if shared_folder else packer.file(lut, "the LUT file of a clip's grade")  # type: ignore[assignment]
    packer.packed.spec = ExportParcel(
        otio_json=otio.adapters.write_to_string(timeline, "otio_json"),
        preset=request.preset, out_name=Path(request.out_path).name, in_frame=request.in_frame,
        out_frame=request.out_frame, size=request.size, frames=request.frames, luts=luts,
        exact=request.exact,
    )  # fmt: skip
    return packer.packed


def _unpack_export(parcel: ExportParcel, local: dict[str, str], out_folder: Path) -> Any:
    """The ExportRequest the node renders: the document with the media and LUTs at their scratch paths,
    writing into `out_folder`."""
    import opentimelineio as otio

    from app.document import TimelineDocument
    from app.export.runner import ExportRequest

    timeline = otio.adapters.read_from_string(parcel.otio_json, "otio_json")
    doc = TimelineDocument.from_otio(timeline, path_map=lambda key: local.get(key, key))
    for track in doc.tracks():
        for clip in doc.clips(track.id):
            lut = (clip.grade or {}).get("lut_path")
            if isinstance(lut, str) and lut in parcel.luts:
                doc.set_clip_grade(clip.id, {**clip.grade, "lut_path": local.get(parcel.luts[lut], lut)})  # type: ignore[dict-item]
    return ExportRequest(
        doc, parcel.preset, out_folder / parcel.out_name, parcel.in_frame, parcel.out_frame, parcel.size,
        frames=parcel.frames, exact=parcel.exact,
    )  # fmt: skip


def _loras(packer: _Packer, loras: tuple[tuple[str, float], ...]) -> tuple[tuple[str, float], ...]:
    return tuple((packer.file(path, "the LoRA file"), strength) for path, strength in loras)  # type: ignore[misc]


def unpack(packed: Packed, folder: Path, out_folder: Path | None = None) -> tuple[Any, dict[str, str]]:
    """Write the files under `folder` (on the node) and return the spec pointing at them, plus a map from
    each scratch path to the original path (to put the originals back into the result's record). An
    export's parcel becomes an ExportRequest writing into `out_folder` (default: `folder`)."""
    if not packed.files and not isinstance(packed.spec, ExportParcel):
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

    back = {local[key]: original for key, original in packed.originals.items()}
    back.update({local[key]: original for key, original in packed.folders.items()})
    if isinstance(packed.spec, ExportParcel):
        return _unpack_export(packed.spec, local, out_folder or folder), back
    spec = packed.spec
    changes: dict[str, Any] = {}
    for name in ("image", "source_path", "masks_dir"):
        if hasattr(spec, name):
            changes[name] = where(getattr(spec, name))
    if hasattr(spec, "keyframes"):
        changes["keyframes"] = tuple((where(p), f, s) for p, f, s in spec.keyframes)
    if hasattr(spec, "loras"):
        changes["loras"] = tuple((where(p), s) for p, s in spec.loras)
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
