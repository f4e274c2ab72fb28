"""The engine follows a memory plan: a streamed (block-level group offload) or layer-by-layer transformer
gives exactly the clip a resident one gives. On the CPU the offload hooks run without a CUDA stream, so this
checks the hook path and the engine's wiring; the copy overlap itself needs a GPU
(benchmarks/gpu_suite.py)."""

from __future__ import annotations

import types

import numpy as np
import pytest
import torch

from engine import Engine, GenerationRequest
from engine.placement import on_device_while, place_transformer
from engine.tiny import TINY_MAX_SEQUENCE, tiny_components, tiny_text_encoder


def _engine(placement: str | None) -> Engine:
    plan = None if placement is None else types.SimpleNamespace(transformer=placement, text_encoder="cpu")
    return Engine(
        tiny_components(0), tiny_text_encoder(0), device="cpu", memory_plan=plan,
        max_sequence_length=TINY_MAX_SEQUENCE,
    )


REQUEST = GenerationRequest(prompt="waves", width=64, height=64, num_frames=9, steps=2, seed=3,
                            guidance_scale=1.0, audio_guidance_scale=1.0, stg_scale=0.0, audio_stg_scale=0.0,
                            modality_scale=1.0, audio_modality_scale=1.0)


@pytest.mark.parametrize("placement", ["streamed", "sequential"])
def test_offloaded_transformer_gives_the_resident_clip(placement):
    resident = _engine(None).generate(REQUEST)
    engine = _engine(placement)
    assert engine.transformer_placement == placement
    assert engine.offload_text_encoder is False  # the plan put the text encoder on the CPU
    offloaded = engine.generate(REQUEST)
    np.testing.assert_array_equal(offloaded.frames, resident.frames)
    np.testing.assert_array_equal(offloaded.audio, resident.audio)


def test_place_transformer_installs_group_offload_hooks():
    transformer = tiny_components(0).transformer
    calls = []
    transformer.enable_group_offload = lambda **kw: calls.append(kw)
    place_transformer(transformer, "streamed", torch.device("cpu"))
    assert calls == [{"onload_device": torch.device("cpu"), "offload_device": torch.device("cpu"),
                      "offload_type": "block_level", "use_stream": False, "num_blocks_per_group": 1}]
    with pytest.raises(ValueError, match="placement"):
        place_transformer(transformer, "floating", torch.device("cpu"))


def test_on_device_while_is_a_no_op_off_cuda():
    module = torch.nn.Linear(2, 2)
    with on_device_while(module, torch.device("cpu")):
        assert module.weight.device.type == "cpu"


def test_regional_compile_is_off_by_default_and_keeps_the_clip(monkeypatch):
    from engine.placement import COMPILE_ENV, compile_blocks, compile_requested

    monkeypatch.delenv(COMPILE_ENV, raising=False)
    assert compile_requested() is False and _engine(None).compiled_blocks == 0
    monkeypatch.setenv(COMPILE_ENV, "1")
    assert compile_requested() is True and compile_requested(False) is False
    monkeypatch.delenv(COMPILE_ENV)
    resident = _engine(None).generate(REQUEST)
    engine = _engine(None)
    # "eager": dynamo traces each block (the regional path) without minutes of inductor on a CPU
    assert compile_blocks(engine.components.transformer, backend="eager") == len(
        engine.components.transformer.transformer_blocks
    )
    np.testing.assert_array_equal(engine.generate(REQUEST).frames, resident.frames)


@pytest.mark.parametrize("mode", ["fp8", "fp8-fast"])
def test_a_quantized_transformer_streams_too(mode):
    """quanto's QLinear weights and our Fp8Linear layers go through the group offload hooks unchanged (on the
    CPU: no pinned memory or CUDA stream, which only a GPU run checks)."""
    from engine.engine import TRANSFORMER_KEEP_PRECISE
    from engine.quantization import quantize_module

    frames = []
    for placement in ("resident", "streamed"):
        components = tiny_components(0)
        quantize_module(components.transformer, mode, exclude=TRANSFORMER_KEEP_PRECISE)
        plan = types.SimpleNamespace(transformer=placement, text_encoder="cpu")
        engine = Engine(components, tiny_text_encoder(0), device="cpu", quantization=mode, memory_plan=plan,
                        max_sequence_length=TINY_MAX_SEQUENCE)
        frames.append(engine.generate(REQUEST).frames)
    np.testing.assert_array_equal(frames[0], frames[1])


def test_the_vae_decode_uses_the_plans_tiles(monkeypatch):
    """A plan's VAE tiles reach the decode (they used to be ignored for the engine's own free-memory budget),
    and the tiled frames stay within the tiled-vs-untiled tolerance of tests/engine/test_generation.py."""
    import engine.runtime as runtime_module
    from engine.tiling import TilePlan

    g = torch.Generator().manual_seed(1)
    latents = torch.randn(1, 128, 1, 6, 4, generator=g).repeat(1, 1, 4, 1, 1)
    latents = latents + 0.3 * torch.randn(1, 128, 4, 6, 4, generator=g)  # 192x128, 25 frames
    untiled = Engine(tiny_components(0), tiny_text_encoder(0), device="cpu", vae_memory_budget=1 << 50,
                     max_sequence_length=TINY_MAX_SEQUENCE)
    whole = untiled.decode_video(latents)
    assert not untiled.last_tile_plan.tiled(192, 128, 25)

    tiles = TilePlan(128, 128, 16, 64, 8, 0)
    plan = types.SimpleNamespace(transformer="resident", text_encoder="cpu", vae_tiles=tiles)
    planned = Engine(tiny_components(0), tiny_text_encoder(0), device="cpu", memory_plan=plan,
                     max_sequence_length=TINY_MAX_SEQUENCE)
    applied = []
    real_apply = runtime_module.apply_plan

    def spy(vae, tile_plan, *size):
        applied.append(tile_plan)
        real_apply(vae, tile_plan, *size)

    monkeypatch.setattr(runtime_module, "apply_plan", spy)
    tiled = planned.decode_video(latents)
    assert len(applied) == 1
    used = applied[0]
    assert (used.tile_height, used.tile_width, used.tile_frames) == (128, 128, 16)
    assert used.tiled(192, 128, 25) and used.overlap > 0 and used.frame_overlap > 0
    assert tiled.shape == whole.shape == (1, 3, 25, 192, 128)
    assert (tiled - whole).abs().mean().item() < 0.16
