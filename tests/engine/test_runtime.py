"""The shared runtime's transformer call: how the audio-video cross-attention AdaLNs are timed per version.

With per-token timesteps (image-to-video, inpainting) ltx-core 1.0 gives both cross-modal AdaLNs of a stream
the other modality's sigma (the LTX-2.0 reference fixture checks that numerically); ltx-core 1.1.4 on gives
the scale/shift AdaLN the stream's own per-token timesteps and only the gate the other modality's sigma. These
tests record what diffusers' AdaLN modules receive under each rule.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from engine.engine import Engine
from engine.models import LTX_2_0, LTX_2_3, LTX_2_5


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.tiny(device="cpu")


def _inputs(engine, video_sigma: float, audio_sigma: float):
    runtime = engine.runtime
    grid = (2, 2, 2)
    g = torch.Generator().manual_seed(0)
    tokens = grid[0] * grid[1] * grid[2]
    video = torch.randn(1, tokens, 128, generator=g)
    audio = torch.randn(1, 5, 128, generator=g)
    width = engine.components.transformer.config.caption_channels
    context = torch.randn(1, 8, width, generator=g)
    mask = torch.ones(1, tokens, 1)
    mask[:, : grid[1] * grid[2]] = 0  # latent frame 0 kept: per-token timesteps
    return dict(
        video=video, audio=audio, video_context=context, audio_context=context,
        video_timesteps=mask * video_sigma, audio_timesteps=torch.full((1, 5, 1), audio_sigma),
        video_sigma=torch.tensor([video_sigma]), audio_sigma=torch.tensor([audio_sigma]),
        video_coords=runtime.video_coords(grid, 24.0), audio_coords=runtime.audio_coords(5),
    ), mask


def _record(engine, rule: str, inputs) -> dict[str, torch.Tensor]:
    transformer = engine.components.transformer
    seen: dict[str, torch.Tensor] = {}
    modules = {
        "video_scale_shift": transformer.av_cross_attn_video_scale_shift,
        "video_gate": transformer.av_cross_attn_video_a2v_gate,
        "audio_scale_shift": transformer.av_cross_attn_audio_scale_shift,
        "audio_gate": transformer.av_cross_attn_audio_v2a_gate,
    }
    def recorder(name: str):
        return lambda _module, args, _out: seen.__setitem__(name, args[0].clone())

    hooks = [module.register_forward_hook(recorder(name)) for name, module in modules.items()]
    runtime = engine.runtime
    saved = runtime.spec
    runtime.spec = dataclasses.replace(saved, cross_modal_timestep=rule)
    try:
        with torch.no_grad():
            runtime.velocity(**inputs)
    finally:
        runtime.spec = saved
        for hook in hooks:
            hook.remove()
    return seen


def test_versions_choose_their_reference_rule():
    assert LTX_2_0.cross_modal_timestep == "other_sigma"
    assert LTX_2_3.cross_modal_timestep == LTX_2_5.cross_modal_timestep == "own_timesteps_other_gate"


def test_other_sigma_rule_times_both_cross_modal_adalns_by_the_other_modality(engine):
    inputs, _ = _inputs(engine, 0.7, 0.4)
    seen = _record(engine, "other_sigma", inputs)
    config = engine.components.transformer.config
    scale, gate = config.timestep_scale_multiplier, config.cross_attn_timestep_scale_multiplier
    assert torch.allclose(seen["video_scale_shift"], torch.tensor([0.4 * scale]))
    assert torch.allclose(seen["video_gate"], torch.tensor([0.4 * gate]))
    assert torch.allclose(seen["audio_scale_shift"], torch.tensor([0.7 * scale]))
    assert torch.allclose(seen["audio_gate"], torch.tensor([0.7 * gate]))


def test_split_rule_gives_scale_shift_the_own_per_token_timesteps_and_the_gate_the_other_sigma(engine):
    inputs, mask = _inputs(engine, 0.7, 0.4)
    seen = _record(engine, "own_timesteps_other_gate", inputs)
    config = engine.components.transformer.config
    scale, gate = config.timestep_scale_multiplier, config.cross_attn_timestep_scale_multiplier
    assert torch.allclose(seen["video_scale_shift"], (mask * 0.7 * scale).flatten())
    assert torch.allclose(seen["video_gate"], torch.tensor([0.4 * gate]))
    assert torch.allclose(seen["audio_scale_shift"], torch.tensor([0.4 * scale]))
    assert torch.allclose(seen["audio_gate"], torch.tensor([0.7 * gate]))


def test_rules_agree_when_every_token_has_the_same_timestep_and_differ_otherwise(engine):
    inputs, _ = _inputs(engine, 0.6, 0.6)
    runtime = engine.runtime
    outputs = {}
    for per_token in (False, True):
        case = dict(inputs)
        if not per_token:
            case["video_timesteps"] = torch.full_like(inputs["video_timesteps"], 0.6)
        for rule in ("other_sigma", "own_timesteps_other_gate"):
            saved = runtime.spec
            runtime.spec = dataclasses.replace(saved, cross_modal_timestep=rule)
            try:
                with torch.no_grad():
                    outputs[per_token, rule] = runtime.velocity(**case)[0]
            finally:
                runtime.spec = saved
    split = "own_timesteps_other_gate"
    assert torch.allclose(outputs[False, "other_sigma"], outputs[False, split], atol=1e-6)
    assert (outputs[True, "other_sigma"] - outputs[True, split]).abs().max() > 1e-5
