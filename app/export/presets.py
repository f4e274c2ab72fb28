"""Export presets: data files in ``resources/export_presets/*.json`` describing what a delivery contains.

A preset is either a ``video`` file (container + video codec + audio codec; becomes a
:class:`~app.export.formats.DeliveryFormat` for the encoder) or an image ``sequence`` (one image per
frame in a folder, the mixed audio as a WAV beside them; :class:`SequenceFormat`).

>>> from app.export import presets
>>> [p.name for p in presets.available()]            # sorted by name
>>> presets.get("prores_422_hq").delivery_format().video_codec
'prores_ks'

Chroma subsampling, bit depth and alpha are derived from the pixel format, so a preset cannot state
them inconsistently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from app.errors import ExportError
from app.export.formats import DeliveryFormat, encoder_available
from app.package_data import resources_dir

PRESET_DIR = resources_dir() / "export_presets"
HARDWARE_DIR = PRESET_DIR / "hardware"  # GPU encoders: offered only where app.export.hardware opens them
KINDS = ("video", "sequence")


@dataclass(frozen=True)
class SequenceFormat:
    """An image sequence: one file per frame, the audio as a PCM WAV beside them."""

    extension: str
    """Image file extension with the dot (``.png``)."""
    codec: str
    """FFmpeg image encoder (``png``, ``dpx``, ``exr``)."""
    pix_fmt: str
    """Pixel format for opaque frames."""
    alpha_pix_fmt: str | None
    """Pixel format for frames with alpha, or None when the format keeps no alpha."""
    bit_depth: int
    """Bits per channel in the file (16 for PNG and half-float EXR, 10 for DPX)."""
    transfer: str
    """``display``: the Rec.709 display-referred values as they are; ``linear``: decoded to linear light
    with the BT.1886 (2.4 power) EOTF, as scene-linear tools expect of EXR."""
    options: dict[str, str] = field(default_factory=dict)
    bytes_per_pixel: float = 6.0
    """Pessimistic bytes per pixel per frame, for the free-space estimate."""
    audio_codec: str = "pcm_s24le"
    pcm_bytes_per_sample: int = 3

    def estimate_bytes(self, width: int, height: int, frame_count: int, seconds: float, channels: int,
                       sample_rate: int) -> int:  # fmt: skip
        images = width * height * self.bytes_per_pixel * frame_count + 4096 * frame_count
        audio = self.pcm_bytes_per_sample * channels * sample_rate * seconds
        return int((images + audio) * 1.10) + 1024 * 1024


@dataclass(frozen=True)
class ExportPreset:
    """One export preset as read from its data file; ``data`` keeps the file's full contents."""

    name: str
    label: str
    description: str
    kind: str  # "video" | "sequence"
    extension: str
    data: MappingProxyType = field(repr=False, compare=False, default_factory=lambda: MappingProxyType({}))

    @property
    def is_sequence(self) -> bool:
        return self.kind == "sequence"

    @property
    def is_hardware(self) -> bool:
        """A GPU encoder's preset (NVENC, AMF, QSV): usable only where ``app.export.hardware`` opens it."""
        return bool(self.data.get("hardware"))

    @property
    def hardware_family(self) -> str | None:
        return str(self.data["hardware"]["family"]) if self.is_hardware else None

    @property
    def software_equivalent(self) -> str | None:
        """The software preset with the same intent (``h265_main10`` for ``h265_main10_nvenc``)."""
        return str(self.data["hardware"].get("software_equivalent")) if self.is_hardware else None

    @property
    def alpha(self) -> bool:
        """Whether the output keeps transparency (where no clip covers the frame)."""
        if self.is_sequence:
            return self.sequence_format().alpha_pix_fmt is not None
        return self.delivery_format().alpha

    def delivery_format(self) -> DeliveryFormat:
        """The encoder settings of a ``video`` preset."""
        if self.is_sequence:
            raise ExportError(f"Preset '{self.name}' writes an image sequence, not a video file.")
        return _delivery_format(self)

    def sequence_format(self) -> SequenceFormat:
        """The image settings of a ``sequence`` preset."""
        if not self.is_sequence:
            raise ExportError(f"Preset '{self.name}' writes a video file, not an image sequence.")
        return _sequence_format(self)

    @property
    def min_size(self) -> tuple[int, int]:
        """Smallest frame the encoder accepts (DNxHR needs 256 x 120)."""
        section = self.data.get("image" if self.is_sequence else "video", {})
        width, height = section.get("min_size", (2, 2))
        return int(width), int(height)

    def missing_encoders(self) -> list[str]:
        """FFmpeg encoders this preset needs that the installed PyAV build lacks."""
        if self.is_sequence:
            seq = self.sequence_format()
            needed = [seq.codec, seq.audio_codec]
        else:
            fmt = self.delivery_format()
            needed = [fmt.video_codec, fmt.audio_codec]
        return [name for name in needed if not encoder_available(name)]


def available(folder: Path | None = None) -> list[ExportPreset]:
    """Every software preset in ``folder`` (default: the shipped ``resources/export_presets``), sorted by
    name. Hardware presets are listed by :func:`hardware` and offered by
    ``app.export.hardware.available_presets()`` (only those whose encoder opens here)."""
    return list(_load_all(folder or PRESET_DIR))


def hardware(folder: Path | None = None) -> list[ExportPreset]:
    """Every hardware-encoder preset shipped (``resources/export_presets/hardware``), opening or not."""
    path = folder or HARDWARE_DIR
    return list(_load_all(path)) if path.is_dir() else []


def get(name: str, folder: Path | None = None) -> ExportPreset:
    """The preset called ``name`` (its file name without ``.json``), software or hardware; ExportError lists
    the choices."""
    candidates = _load_all(folder or PRESET_DIR) + (tuple(hardware()) if folder is None else ())
    for preset in candidates:
        if preset.name == name:
            return preset
    names = ", ".join(p.name for p in _load_all(folder or PRESET_DIR))
    raise ExportError(f"There is no export preset called '{name}'. Choose one of: {names}.")


def resolve(preset: ExportPreset | str) -> ExportPreset:
    """``preset`` itself, or the shipped preset of that name."""
    return preset if isinstance(preset, ExportPreset) else get(str(preset))


@cache
def _load_all(folder: Path) -> tuple[ExportPreset, ...]:
    if not folder.is_dir():
        raise ExportError(f"The export presets folder '{folder}' is missing; reinstall the application.")
    return tuple(_load(path) for path in sorted(folder.glob("*.json")))


def _load(path: Path) -> ExportPreset:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ExportError(f"The export preset file '{path.name}' cannot be read: {exc}") from exc
    try:
        preset = ExportPreset(
            name=str(data["name"]),
            label=str(data["label"]),
            description=str(data.get("description", "")),
            kind=str(data["kind"]),
            extension=str(data["extension"]).lower(),
            data=MappingProxyType(data),
        )
        if preset.name != path.stem:
            raise ValueError(f"name '{preset.name}' differs from the file name")
        if preset.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        # Build the format once so a broken file fails at load, not in the middle of an export.
        preset.sequence_format() if preset.is_sequence else preset.delivery_format()
    except (KeyError, TypeError, ValueError) as exc:
        raise ExportError(f"The export preset file '{path.name}' is invalid: {exc}") from exc
    return preset


def _chroma(pix_fmt: str) -> tuple[int, int]:
    prefixes = (("yuv420", (2, 2)), ("yuv422", (2, 1)), ("yuv444", (1, 1)), ("yuva444", (1, 1)),
                ("p010", (2, 2)), ("nv12", (2, 2)))  # fmt: skip
    for prefix, factors in prefixes:
        if pix_fmt.startswith(prefix):
            return factors
    raise ValueError(f"unsupported video pix_fmt '{pix_fmt}' (planar 4:2:0, 4:2:2 or 4:4:4 YUV)")


def _delivery_format(preset: ExportPreset) -> DeliveryFormat:
    video: dict[str, Any] = preset.data["video"]
    audio: dict[str, Any] = preset.data["audio"]
    pix_fmt = str(video["pix_fmt"])
    bit_rate = audio.get("bit_rate")
    return DeliveryFormat(
        extension=preset.extension,
        label=preset.label,
        container_format=str(preset.data["container"]),
        video_codec=str(video["codec"]),
        video_profile=str(video["profile"]),
        pix_fmt=pix_fmt,
        chroma_subsampling=_chroma(pix_fmt),
        codec_tag=video.get("codec_tag"),
        audio_codec=str(audio["codec"]),
        video_options=MappingProxyType({k: str(v) for k, v in video.get("options", {}).items()}),
        container_options=MappingProxyType(
            {k: str(v) for k, v in preset.data.get("container_options", {}).items()}
        ),
        audio_bit_rate=MappingProxyType({int(k): int(v) for k, v in bit_rate.items()}) if bit_rate else None,
        pcm_bytes_per_sample=audio.get("pcm_bytes_per_sample"),
        video_bits_per_pixel=float(video.get("bits_per_pixel", 6.0)),
        bit_depth=10 if "10" in pix_fmt else 8,
        alpha=pix_fmt.startswith("yuva"),
        hardware=str(preset.data["hardware"]["family"]) if preset.data.get("hardware") else None,
    )


def _sequence_format(preset: ExportPreset) -> SequenceFormat:
    image: dict[str, Any] = preset.data["image"]
    audio: dict[str, Any] = preset.data.get("audio", {})
    transfer = str(image.get("transfer", "display"))
    if transfer not in ("display", "linear"):
        raise ValueError(f"image transfer must be 'display' or 'linear', got '{transfer}'")
    return SequenceFormat(
        extension=preset.extension,
        codec=str(image["codec"]),
        pix_fmt=str(image["pix_fmt"]),
        alpha_pix_fmt=image.get("alpha_pix_fmt"),
        bit_depth=int(image["bit_depth"]),
        transfer=transfer,
        options={k: str(v) for k, v in image.get("options", {}).items()},
        bytes_per_pixel=float(image.get("bytes_per_pixel", 6.0)),
        audio_codec=str(audio.get("codec", "pcm_s24le")),
        pcm_bytes_per_sample=int(audio.get("pcm_bytes_per_sample", 3)),
    )
