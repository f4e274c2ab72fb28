"""Tile plans never leave a 1-latent-wide last tile (the decoder's reflect padding cannot handle it)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine import Engine, official_layout
from engine.tiling import _last_tile_latents, plan_tiles
from engine.tiny import tiny_official_config


@pytest.mark.parametrize("height,width", [(160, 160), (288, 160), (416, 224), (1024, 736)])
@pytest.mark.parametrize("budget", [2**20, 2**22, 2**24])
def test_no_sliver_tiles(height, width, budget):
    config = official_layout.video_vae_config(tiny_official_config())
    plan = plan_tiles(config, height, width, 25, budget, 4)
    for size, tile in ((height, plan.tile_height), (width, plan.tile_width)):
        if tile < size:
            assert _last_tile_latents(size, tile, plan.overlap, 32) >= 2


def test_small_budget_decode_that_used_to_crash_now_decodes():
    # 160x160x25 with a 1 MiB budget tiled 160 px into 128 px tiles with stride 64: a 1-latent last tile.
    engine = Engine.tiny(vae_memory_budget=2**20)
    latents = torch.randn(1, 128, 4, 5, 5, generator=torch.Generator().manual_seed(0))
    video = engine.decode_video(latents)
    assert engine.last_tile_plan.tiled(160, 160, 25)
    assert tuple(video.shape) == (1, 3, 25, 160, 160)
    assert np.isfinite(video.float().numpy()).all()
