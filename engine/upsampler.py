"""The latent spatial upsampler (`ltx-2.3-spatial-upscaler-x2-*.safetensors`): loading and applying it.

The release file holds bare `LatentUpsampler` keys and its config as JSON in the `config` metadata; the config
is read with ltx-core 1.2.0's `LatentUpsamplerConfigurator` defaults. The two-stage pipelines apply it to a
denoiser-space latent as `normalize(upsampler(un_normalize(latent)))` with the video VAE's per-channel
statistics (`upsample_latent`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from accelerate import init_empty_weights
from diffusers.pipelines.ltx2 import LTX2LatentUpsamplerModel

from engine.checkpoint import SafetensorsFile, file_identity, read_official_config
from engine.components import assign_state
from engine.errors import CheckpointError

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
