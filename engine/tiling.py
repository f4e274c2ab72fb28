"""Choosing VAE decode tiles from a memory budget.

The decoder's peak memory grows with the number of output voxels it handles at once. We estimate the peak
of one tile from the decoder's channel widths (the widest activation at each resolution, times a factor for
the input, output and residual tensors alive together) and shrink the tile until it fits the budget.
"""

from __future__ import annotations

import os
import types
from dataclasses import dataclass

import torch

# Input, output and residual copies of the widest activation at a stage, plus conv workspace.
LIVE_TENSOR_FACTOR = 4.0


@dataclass(frozen=True)
class TilePlan:
    tile_height: int  # pixels
    tile_width: int  # pixels
    tile_frames: int  # frames
    overlap: int  # pixels blended between spatial tiles
    frame_overlap: int  # frames blended between temporal tiles
    estimated_peak_bytes: int

    def tiled(self, height: int, width: int, frames: int) -> bool:
        return height > self.tile_height or width > self.tile_width or frames > self.tile_frames


def decoder_bytes_per_voxel(vae_config: dict, dtype_bytes: int) -> float:
    """Peak bytes per output voxel (pixel x frame), from the decoder's widths at each resolution."""
    patch = int(vae_config.get("patch_size", 4))
    channels = list(reversed(vae_config.get("decoder_block_out_channels", (256, 512, 1024))))
    factors = list(vae_config.get("upsample_factor", (2, 2, 2)))
    kinds = list(vae_config.get("upsample_type", ("spatiotemporal",) * len(channels)))
    # Work backwards from the output: volume of each stage relative to the output volume.
    stages = []
    volume = 1.0 / (patch * patch)  # the decoder's last conv works at 1/patch^2 of the output pixels
    width_out = channels[-1] // factors[-1] if channels else 128
    stages.append(width_out * volume)
    for ch, kind in zip(reversed(channels), reversed(kinds), strict=False):
        shrink = {"spatial": 4, "temporal": 2, "spatiotemporal": 8}.get(kind, 8)
        stages.append(ch * volume)  # activation entering this upsampler (at the finer volume after it)
        volume /= shrink
    return max(stages) * dtype_bytes * LIVE_TENSOR_FACTOR


def available_memory(device: torch.device) -> int:
    """Free memory on `device` in bytes (free VRAM on CUDA, available RAM otherwise)."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))


def plan_tiles(
    vae_config: dict,
    height: int,
    width: int,
    frames: int,
    budget_bytes: int,
    dtype_bytes: int,
    spatial_factor: int = 32,
    temporal_factor: int = 8,
) -> TilePlan:
    """The largest tiles whose estimated decode peak fits `budget_bytes` (whole clip if it fits)."""
    per_voxel = decoder_bytes_per_voxel(vae_config, dtype_bytes)
    tile_h, tile_w, tile_f = height, width, frames
    min_side = max(spatial_factor * 4, 128)

    def peak(h: int, w: int, f: int) -> int:
        return int(per_voxel * h * w * f)

    # Shrink time first (cheap seams, blended), then the longer spatial side, down to sensible minimums.
    while peak(tile_h, tile_w, tile_f) > budget_bytes:
        if tile_f > 2 * temporal_factor + 1:
            tile_f = max(2 * temporal_factor, (tile_f // 2) // temporal_factor * temporal_factor)
        elif max(tile_h, tile_w) > min_side:
            if tile_h >= tile_w:
                tile_h = max(min_side, (tile_h // 2) // spatial_factor * spatial_factor)
            else:
                tile_w = max(min_side, (tile_w // 2) // spatial_factor * spatial_factor)
        else:
            break
    overlap = spatial_factor * 2 if (tile_h < height or tile_w < width) else 0
    tile_h = _avoid_sliver(height, tile_h, overlap, spatial_factor, min_side)
    tile_w = _avoid_sliver(width, tile_w, overlap, spatial_factor, min_side)
    frame_overlap = temporal_factor if tile_f < frames else 0
    return TilePlan(tile_h, tile_w, tile_f, overlap, frame_overlap, peak(tile_h, tile_w, tile_f))


def fit_tiles(
    tiles: TilePlan,
    vae_config: dict,
    height: int,
    width: int,
    frames: int,
    dtype_bytes: int,
    spatial_factor: int = 32,
    temporal_factor: int = 8,
) -> TilePlan:
    """A memory plan's tile sizes (`tiles`) fitted to one decode of height x width x frames.

    Tiles never exceed the decode; overlaps and the no-sliver rule are as `plan_tiles` sets them, so the
    decode's peak stays at or under the plan's tile estimate.
    """
    per_voxel = decoder_bytes_per_voxel(vae_config, dtype_bytes)
    min_side = max(spatial_factor * 4, 128)
    tile_h, tile_w = min(tiles.tile_height, height), min(tiles.tile_width, width)
    tile_f = min(tiles.tile_frames, frames)
    overlap = spatial_factor * 2 if (tile_h < height or tile_w < width) else 0
    tile_h = _avoid_sliver(height, tile_h, overlap, spatial_factor, min_side)
    tile_w = _avoid_sliver(width, tile_w, overlap, spatial_factor, min_side)
    frame_overlap = temporal_factor if tile_f < frames else 0
    return TilePlan(tile_h, tile_w, tile_f, overlap, frame_overlap, int(per_voxel * tile_h * tile_w * tile_f))


def _last_tile_latents(size: int, tile: int, overlap: int, factor: int) -> int:
    """Latent width of the last tile diffusers' tiled decode cuts along one axis."""
    latent, stride = size // factor, (tile - overlap) // factor
    return latent - ((latent - 1) // stride) * stride


def _avoid_sliver(size: int, tile: int, overlap: int, factor: int, min_side: int) -> int:
    """Adjust a tile so the last tile is at least 2 latents wide: the decoder's reflect padding fails on 1."""
    if tile >= size or _last_tile_latents(size, tile, overlap, factor) >= 2:
        return tile
    for candidate in [
        *range(tile - factor, min(min_side, tile) - 1, -factor),
        *range(tile + factor, size, factor),
    ]:
        if candidate - overlap >= factor and _last_tile_latents(size, candidate, overlap, factor) >= 2:
            return candidate
    return size  # no tiling along this axis rather than a tile the decoder cannot pad


def apply_plan(vae, plan: TilePlan, height: int, width: int, frames: int) -> None:
    """Configure diffusers' tiled decode on `vae` according to `plan` (or switch tiling off)."""
    spatial = plan.tile_height < height or plan.tile_width < width
    temporal = plan.tile_frames < frames
    if spatial:
        vae.enable_tiling(
            tile_sample_min_height=plan.tile_height,
            tile_sample_min_width=plan.tile_width,
            tile_sample_stride_height=plan.tile_height - plan.overlap,
            tile_sample_stride_width=plan.tile_width - plan.overlap,
        )
    else:
        vae.use_tiling = False
    vae.use_framewise_decoding = temporal
    if temporal:
        vae.tile_sample_min_num_frames = plan.tile_frames
        vae.tile_sample_stride_num_frames = plan.tile_frames - plan.frame_overlap
        vae._temporal_tiled_decode = types.MethodType(_aligned_temporal_tiled_decode, vae)


def _aligned_temporal_tiled_decode(vae, z, temb, causal=None, return_dict=True):
    """diffusers' LTX-2 temporal tiled decode with the frame alignment corrected.

    A tile starting at latent frame L > 0 decodes L as a "first" frame, i.e. to the single pixel frame 8L,
    which the previous tile already produced. diffusers drops each later tile's *last* frame instead of its
    first, so every frame after the first tile came out one frame late (frame 8 doubled, the last frame lost,
    blends mixing neighbouring frames). Here the first frame is dropped; otherwise this is diffusers' code.
    """
    from diffusers.models.autoencoders.vae import DecoderOutput

    num_frames = z.shape[2]
    num_sample_frames = (num_frames - 1) * vae.temporal_compression_ratio + 1
    tile_latent_min_height = vae.tile_sample_min_height // vae.spatial_compression_ratio
    tile_latent_min_width = vae.tile_sample_min_width // vae.spatial_compression_ratio
    tile_latent_min_num_frames = vae.tile_sample_min_num_frames // vae.temporal_compression_ratio
    tile_latent_stride_num_frames = vae.tile_sample_stride_num_frames // vae.temporal_compression_ratio
    blend_num_frames = vae.tile_sample_min_num_frames - vae.tile_sample_stride_num_frames
    stride = vae.tile_sample_stride_num_frames
    row = []
    for i in range(0, num_frames, tile_latent_stride_num_frames):
        tile = z[:, :, i : i + tile_latent_min_num_frames + 1, :, :]
        spatial = tile.shape[-1] > tile_latent_min_width or tile.shape[-2] > tile_latent_min_height
        if vae.use_tiling and spatial:
            decoded = vae.tiled_decode(tile, temb, causal=causal, return_dict=True).sample
        else:
            decoded = vae.decoder(tile, temb, causal=causal)
        row.append(decoded[:, :, 1:] if i > 0 else decoded)
    result = []
    for i, tile in enumerate(row):
        if i > 0:
            result.append(vae.blend_t(row[i - 1], tile, blend_num_frames)[:, :, :stride])
        else:
            result.append(tile[:, :, : stride + 1])
    dec = torch.cat(result, dim=2)[:, :, :num_sample_frames]
    return DecoderOutput(sample=dec) if return_dict else (dec,)
