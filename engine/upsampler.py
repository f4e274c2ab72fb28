"""The latent spatial upsamplers (`ltx-2.3-spatial-upscaler-x2-*.safetensors`, LTX-2.3's
`ltx-2.3-spatial-upscaler-x1.5-*.safetensors`): finding, loading and applying them.

The release file holds bare `LatentUpsampler` keys and its config as JSON in the `config` metadata; the config
is read with ltx-core 1.2.0's `LatentUpsamplerConfigurator` defaults. The x1.5 file sets `spatial_scale` 1.5
and `rational_resampler` true: ltx-core's `SpatialRationalResampler` (a conv to 9x the channels, a 3x3 pixel
shuffle, then a fixed 5x5 binomial blur with stride 2), which diffusers' `LTX2LatentUpsamplerModel` builds
with `use_rational_resampler` / `rational_spatial_scale`; its blur kernel is a buffer stored in the file
(`upsampler.blur_down.kernel`). A latent of h x w becomes floor((3h - 1) / 2) + 1: exactly 1.5 h for an even
h, so a two-stage run with it needs an even stage-1 latent (outputs multiples of 96 pixels). The two-stage
pipelines apply an upsampler to a denoiser-space latent as `normalize(upsampler(un_normalize(latent)))` with
the video VAE's per-channel statistics (`upsample_latent`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from accelerate import init_empty_weights
from diffusers.pipelines.ltx2 import LTX2LatentUpsamplerModel

from engine.checkpoint import SafetensorsFile, file_identity, read_official_config
from engine.components import assign_state
from engine.errors import CheckpointError, RequestError

log = logging.getLogger(__name__)

# ltx-core's defaults for a key the file's config leaves out.
_DEFAULTS = {
    "in_channels": 128,
    "mid_channels": 512,
    "num_blocks_per_stage": 4,
    "dims": 3,
    "spatial_upsample": True,
    "temporal_upsample": False,
    "spatial_scale": 2.0,
    "rational_resampler": False,
}
_TYPES = {
    "in_channels": int,
    "mid_channels": int,
    "num_blocks_per_stage": int,
    "dims": int,
    "spatial_upsample": bool,
    "temporal_upsample": bool,
    "spatial_scale": (int, float),
    "rational_resampler": bool,
}


@dataclass
class LatentUpsampler:
    """A loaded latent upsampler and what it does to a latent grid."""

    model: LTX2LatentUpsamplerModel
    source: str
    identity: str
    spatial_scale: float
    temporal_scale: int

    def __call__(self, latent: torch.Tensor) -> torch.Tensor:
        """The raw model on a VAE-space latent (B, C, F, H, W)."""
        weight = next(self.model.parameters())
        with torch.inference_mode():
            return self.model(latent.to(device=weight.device, dtype=weight.dtype))


def upsampler_config(config: dict, path: Path | None = None) -> dict:
    """Constructor arguments for `LTX2LatentUpsamplerModel` from the file's config (ltx-core defaults)."""
    values = {}
    for key, default in _DEFAULTS.items():
        value = config.get(key, default)
        kinds = _TYPES[key] if isinstance(_TYPES[key], tuple) else (_TYPES[key],)
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            raise CheckpointError(
                f"has an upsampler config whose '{key}' is {json.dumps(value)}",
                path=path,
                component="upsampler",
            )
        values[key] = value
    if values["dims"] not in (2, 3):
        raise CheckpointError(
            f"has an upsampler with dims={values['dims']}", path=path, component="upsampler"
        )
    if not (values["spatial_upsample"] or values["temporal_upsample"]):
        raise CheckpointError("has an upsampler that upsamples nothing", path=path, component="upsampler")
    if (
        values["spatial_upsample"]
        and not values["rational_resampler"]
        and float(values["spatial_scale"]) != 2.0
    ):
        # Without the rational resampler both implementations use a fixed x2 pixel shuffle.
        raise CheckpointError(
            f"has spatial_scale {values['spatial_scale']} without the rational resampler",
            path=path,
            component="upsampler",
        )
    return {
        "in_channels": values["in_channels"],
        "mid_channels": values["mid_channels"],
        "num_blocks_per_stage": values["num_blocks_per_stage"],
        "dims": values["dims"],
        "spatial_upsample": values["spatial_upsample"],
        "temporal_upsample": values["temporal_upsample"],
        "rational_spatial_scale": float(values["spatial_scale"]),
        "use_rational_resampler": values["rational_resampler"],
    }


def load_upsampler(path: str | Path, dtype: torch.dtype = torch.float32) -> LatentUpsampler:
    """Load a latent upsampler release file; errors name the file and say what is wrong."""
    checkpoint = SafetensorsFile.open(path, component="upsampler")
    config = read_official_config(checkpoint)
    class_name = config.get("_class_name", "LatentUpsampler")
    if class_name != "LatentUpsampler":
        raise CheckpointError(
            f"is a '{class_name}', not a latent upsampler", path=checkpoint.path, component="upsampler"
        )
    args = upsampler_config(config, checkpoint.path)
    try:
        with init_empty_weights():
            skeleton = LTX2LatentUpsamplerModel.from_config(args)
    except (TypeError, ValueError, RuntimeError, ArithmeticError) as exc:
        raise CheckpointError(
            f"has an upsampler config diffusers cannot build ({exc})",
            path=checkpoint.path,
            component="upsampler",
        ) from exc
    state = checkpoint.load(checkpoint.keys(), dtype=dtype)
    for name, buffer in skeleton.named_buffers():
        # the rational resampler's blur kernel is a fixed binomial: a file saved without it still loads
        if name.endswith("blur_down.kernel") and name not in state:
            state[name] = buffer.to(dtype)
    model = assign_state(skeleton, state, "upsampler", checkpoint.path)
    spatial = float(args["rational_spatial_scale"]) if args["spatial_upsample"] else 1.0
    return LatentUpsampler(
        model=model,
        source=str(checkpoint.path),
        identity=file_identity([checkpoint]),
        spatial_scale=spatial,
        temporal_scale=2 if args["temporal_upsample"] else 1,
    )


def upsample_latent(
    latent: torch.Tensor, upsampler: LatentUpsampler, latents_mean: torch.Tensor, latents_std: torch.Tensor
) -> torch.Tensor:
    """As the two-stage pipelines do: un-normalise with the video VAE statistics, upsample, normalise."""
    shape = (1, -1, 1, 1, 1)
    mean = latents_mean.to(latent).view(shape)
    std = latents_std.to(latent).view(shape)
    upsampled = upsampler(latent * std + mean).to(latent)
    return (upsampled - mean) / std


# --- several upsamplers: found beside a checkpoint, loaded when first used --------------------------------


def upsampler_scale_of(path: str | Path) -> float:
    """The spatial scale a release upsampler file applies (from its config alone, no weights read); 0 for a
    temporal-only upsampler. CheckpointError when the file is not a readable upsampler."""
    checkpoint = SafetensorsFile.open(path, component="upsampler")
    args = upsampler_config(read_official_config(checkpoint), checkpoint.path)
    return float(args["rational_spatial_scale"]) if args["spatial_upsample"] else 0.0


def find_upsampler_files(folders: Iterable[Path]) -> list[Path]:
    """Release latent upsampler files in `folders` (`*upscaler*` / `*upsampler*` .safetensors, temporal
    ones left out: the engine has no temporal recipe), sorted by name."""
    found: dict[Path, None] = {}
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            continue
        for pattern in ("*upscaler*.safetensors", "*upsampler*.safetensors"):
            for item in sorted(folder.glob(pattern)):
                if item.is_file() and "temporal" not in item.name.lower():
                    found[item] = None
    return list(found)


@dataclass
class UpsamplerSet:
    """The spatial upsamplers an engine can use, by scale (2.0, 1.5): loaded ones and files found beside the
    checkpoint, loaded on first use (a real upsampler is about a gigabyte)."""

    dtype: torch.dtype = torch.float32
    loaded: dict[float, LatentUpsampler] = field(default_factory=dict)
    files: dict[float, Path] = field(default_factory=dict)

    def add(self, upsampler: LatentUpsampler) -> None:
        self.loaded[float(upsampler.spatial_scale)] = upsampler

    def add_file(self, path: str | Path) -> float | None:
        """Register a file found beside the checkpoint under its scale (first one wins); a file that is not
        a readable spatial upsampler is skipped with a warning (a stray file must not stop loading)."""
        try:
            scale = upsampler_scale_of(path)
        except CheckpointError as exc:
            log.warning("%s is not a usable latent upsampler (%s); ignored", path, exc)
            return None
        if scale <= 0:
            return None
        if scale not in self.loaded:
            self.files.setdefault(scale, Path(path))
        return scale

    def scales(self) -> list[float]:
        return sorted(set(self.loaded) | set(self.files), reverse=True)

    def get(self, scale: float) -> LatentUpsampler | None:
        """The upsampler of `scale` (loading its file now if needed), or None."""
        scale = float(scale)
        if scale not in self.loaded and scale in self.files:
            upsampler = load_upsampler(self.files[scale], self.dtype)
            if upsampler.spatial_scale != scale:
                raise CheckpointError(
                    f"changed since it was found: it now upsamples x{upsampler.spatial_scale:g}",
                    path=self.files[scale],
                    component="upsampler",
                )
            self.loaded[scale] = upsampler
        return self.loaded.get(scale)

    def require(self, scale: float, recipe: str) -> LatentUpsampler:
        upsampler = self.get(scale)
        if upsampler is None:
            name = (
                "ltx-2.3-spatial-upscaler-x1.5-1.0.safetensors"
                if float(scale) == 1.5
                else "ltx-2.3-spatial-upscaler-x2-1.1.safetensors (or a 2.5 folder's latent_upscale_models/)"
            )
            raise RequestError(
                f"the {recipe} recipe with upsampler scale {scale:g} needs the release's x{scale:g} latent "
                f"spatial upsampler (e.g. {name} beside the checkpoint); put it there or pass upsampler= / "
                "--upsampler"
            )
        return upsampler
