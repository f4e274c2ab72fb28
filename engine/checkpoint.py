"""Reading checkpoints: safetensors only, validated before any tensor is touched.

A checkpoint is either Lightricks' official single file (every component in one `.safetensors` with the
model config in its `config` metadata) or a diffusers folder (one sub-folder per component, each with a
`config.json` and safetensors weights). Pickle formats are refused outright: loading them runs arbitrary code.
"""

from __future__ import annotations

import enum
import hashlib
import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import safe_open

from engine.errors import CheckpointError

PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin", ".pkl", ".pickle")
# A safetensors header is JSON; anything this large is a damaged or hostile file, not a model.
MAX_HEADER_BYTES = 100 * 1024 * 1024
_DTYPES = {
    "F64": 8,
    "F32": 4,
    "F16": 2,
    "BF16": 2,
    "I64": 8,
    "I32": 4,
    "I16": 2,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "U16": 2,
    "U32": 4,
    "U64": 8,
}


class CheckpointLayout(enum.Enum):
    OFFICIAL_SINGLE_FILE = "official-single-file"  # Lightricks' LTX-2.0 monolith (`ltx-2-19b-*.safetensors`)
    DIFFUSERS_FOLDER = "diffusers-folder"
    LTX23_SINGLE_FILE = "ltx23-single-file"  # the LTX-2.3 monolith (`ltx-2.3-22b-*.safetensors`)
    RELEASE_FOLDER = "release-folder"  # LTX-2.5: diffusion_models/, text_encoders/, vae/, ...


# The folders of an LTX-2.5 release download; `diffusion_models/` plus one of the others marks one.
RELEASE_FOLDER_DIRS = ("diffusion_models", "text_encoders", "vae")


def refuse_pickle(path: Path) -> None:
    """Raise if `path` is a pickle-based checkpoint (by suffix or by its first bytes)."""
    convert_hint = (
        "pickle checkpoints can run arbitrary code when loaded, so AIPROD Studio only reads .safetensors. "
        "Convert it once in a trusted environment, e.g. "
        '`python -c "import torch, safetensors.torch as st; '
        "st.save_file(torch.load('IN', weights_only=True), 'OUT.safetensors')\"`, "
        "or download the .safetensors release of the model."
    )
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise CheckpointError(f"is a pickle file ({path.suffix}); {convert_hint}", path=path)
    if path.is_file():
        with path.open("rb") as handle:
            magic = handle.read(4)
        # zip archives (torch.save >= 1.6) and raw pickle protocol 2+ streams
        if magic.startswith(b"PK\x03\x04") or magic[:1] == b"\x80":
            raise CheckpointError(f"contains pickle data, not safetensors; {convert_hint}", path=path)


@dataclass(frozen=True)
class SafetensorsFile:
    """A validated safetensors file: its raw header (for identity) and its tensor table."""

    path: Path
    header_bytes: bytes
    tensors: dict[str, dict] = field(repr=False)
    metadata: dict[str, str] = field(repr=False)
    size: int
    mtime_ns: int

    @classmethod
    def open(cls, path: str | Path, component: str | None = None) -> SafetensorsFile:
        path = Path(path)
        if not path.exists():
            raise CheckpointError("does not exist", path=path, component=component)
        if path.is_dir():
            raise CheckpointError("is a folder, expected a .safetensors file", path=path, component=component)
        refuse_pickle(path)
        stat = path.stat()
        with path.open("rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                raise CheckpointError(
                    "is empty or truncated (no safetensors header)", path=path, component=component
                )
            (header_len,) = struct.unpack("<Q", prefix)
            if header_len <= 1 or header_len > MAX_HEADER_BYTES or 8 + header_len > stat.st_size:
                raise CheckpointError(
                    "is not a valid safetensors file (header length does not fit the file; "
                    "the download may be incomplete)",
                    path=path,
                    component=component,
                )
            header_bytes = handle.read(header_len)
        try:
            header = json.loads(header_bytes)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CheckpointError(
                f"has a damaged safetensors header ({exc})", path=path, component=component
            ) from exc
        except RecursionError as exc:
            raise CheckpointError(
                "has a damaged safetensors header (JSON nested too deeply)", path=path, component=component
            ) from exc
        if not isinstance(header, dict):
            raise CheckpointError(
                "has a damaged safetensors header (not a table)", path=path, component=component
            )
        metadata = header.pop("__metadata__", None) or {}
        if not isinstance(metadata, dict):
            raise CheckpointError(
                "has a damaged safetensors header (its __metadata__ is not a table)",
                path=path,
                component=component,
            )
        data_size = stat.st_size - 8 - header_len
        for name, info in header.items():
            try:
                start, end = info["data_offsets"]
                expected = _DTYPES[info["dtype"]]
                for dim in info["shape"]:
                    expected *= dim
            except (KeyError, TypeError, ValueError) as exc:
                raise CheckpointError(
                    f"has a damaged entry for tensor '{name}'", path=path, component=component
                ) from exc
            if end > data_size:
                raise CheckpointError(
                    f"is truncated: tensor '{name}' ends at byte {end} but the file holds only {data_size} "
                    "bytes of data (re-download or re-copy the file)",
                    path=path,
                    component=component,
                )
            if end - start != expected:
                raise CheckpointError(
                    f"has a damaged entry for tensor '{name}' (size does not match shape)",
                    path=path,
                    component=component,
                )
        return cls(path, header_bytes, header, dict(metadata), stat.st_size, stat.st_mtime_ns)

    def keys(self) -> list[str]:
        return list(self.tensors)

    def shape(self, key: str) -> tuple[int, ...]:
        return tuple(self.tensors[key]["shape"])

    def load(self, keys: list[str], dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
        """Read the given tensors (memory-mapped), optionally cast to `dtype`."""
        out: dict[str, torch.Tensor] = {}
        try:
            with safe_open(str(self.path), framework="pt", device="cpu") as handle:
                for key in keys:
                    tensor = handle.get_tensor(key)
                    if dtype is not None and tensor.is_floating_point():
                        tensor = tensor.to(dtype)
                    out[key] = tensor
        except Exception as exc:  # safetensors raises its own error types for damaged data
            raise CheckpointError(f"could not be read ({exc})", path=self.path) from exc
        return out


def file_identity(files: list[SafetensorsFile]) -> str:
    """A stable id for a set of weight files, cheap enough to compute at every launch.

    Hashing 40 GB of weights would take minutes, so the id covers each file's safetensors header (names,
    shapes, dtypes, offsets and metadata), its size and its modification time. Any re-save or edit changes it.
    """
    digest = hashlib.sha256()
    for item in sorted(files, key=lambda f: str(f.path)):
        digest.update(item.path.name.encode())
        digest.update(item.header_bytes)
        digest.update(struct.pack("<QQ", item.size, item.mtime_ns))
    return digest.hexdigest()[:24]


def detect_layout(path: str | Path) -> CheckpointLayout:
    """Tell the layouts apart (2.0 / 2.3 single file, diffusers folder, 2.5 release folder), with a clear
    error for anything else. A single file's version comes from its `model_version` metadata, else its config.
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(
            "does not exist; point --model at an LTX-2 .safetensors file or a diffusers folder", path=path
        )
    if path.is_dir():
        if (path / "model_index.json").is_file() or (path / "transformer" / "config.json").is_file():
            return CheckpointLayout.DIFFUSERS_FOLDER
        if is_release_folder(path):
            return CheckpointLayout.RELEASE_FOLDER
        singles = sorted(path.glob("ltx-2*.safetensors"))
        hint = f" (did you mean {singles[0].name} inside it?)" if singles else ""
        raise CheckpointError(
            "is a folder without model_index.json or transformer/config.json, so it is "
            f"not a diffusers LTX-2 folder{hint}",
            path=path,
        )
    refuse_pickle(path)
    if path.suffix.lower() != ".safetensors":
        raise CheckpointError("is not a .safetensors file", path=path)
    return _single_file_layout(path)


def is_release_folder(path: Path) -> bool:
    """An LTX-2.5 release folder: `diffusion_models/` beside `text_encoders/` or `vae/`."""
    first, *others = RELEASE_FOLDER_DIRS
    return (path / first).is_dir() and any((path / d).is_dir() for d in others)


def _single_file_layout(path: Path) -> CheckpointLayout:
    from engine import ltx23_layout

    try:
        checkpoint = SafetensorsFile.open(path)
    except CheckpointError:
        return CheckpointLayout.OFFICIAL_SINGLE_FILE  # the loader reports the damage, naming the file
    version = ltx23_layout.parse_model_version(checkpoint.metadata.get(ltx23_layout.MODEL_VERSION_KEY))
    if "gemma_source_checkpoint" in checkpoint.metadata or (version is not None and version >= (2, 5)):
        folder = path.parent.parent if path.parent.name in RELEASE_FOLDER_DIRS else path.parent
        raise CheckpointError(
            "is one file of an LTX-2.5 release, not a complete model; point --model at the release folder "
            f"(here probably {folder}) that holds diffusion_models/, text_encoders/ and vae/",
            path=path,
        )
    if version is not None:
        is_23 = version >= (2, 3)
        return CheckpointLayout.LTX23_SINGLE_FILE if is_23 else CheckpointLayout.OFFICIAL_SINGLE_FILE
    try:
        config = read_official_config(checkpoint)
    except CheckpointError:
        return CheckpointLayout.OFFICIAL_SINGLE_FILE
    if ltx23_layout.is_ltx23_config(config):
        return CheckpointLayout.LTX23_SINGLE_FILE
    return CheckpointLayout.OFFICIAL_SINGLE_FILE


def read_official_config(checkpoint: SafetensorsFile) -> dict:
    """The JSON model config Lightricks stores in the file's `config` metadata."""
    raw = checkpoint.metadata.get("config")
    if raw is None:
        raise CheckpointError(
            "has no 'config' metadata, so it is not an official LTX-2 single-file checkpoint "
            "(files re-saved by other tools sometimes drop it; use the original release file)",
            path=checkpoint.path,
        )
    if not isinstance(raw, str):
        # safetensors metadata values are strings; a hand-written header can hold any JSON value here
        raise CheckpointError(
            f"has a 'config' metadata entry that is not a string (a JSON {type(raw).__name__}); the official "
            "file stores the config as JSON text, so use the original release file",
            path=checkpoint.path,
        )
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CheckpointError(
            f"has a 'config' metadata entry that is not valid JSON ({exc})", path=checkpoint.path
        ) from exc
    except RecursionError as exc:
        raise CheckpointError(
            "has a 'config' metadata entry whose JSON is nested too deeply to be a model config",
            path=checkpoint.path,
        ) from exc
    if not isinstance(config, dict):
        raise CheckpointError("has a 'config' metadata entry that is not a JSON object", path=checkpoint.path)
    return config
