"""ModelSpec: one description per LTX version, detected from the checkpoint, read by the engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from shared_fixtures import LTX2_CHECKPOINT, LTX2_FIXTURE

from engine.errors import RequestError
from engine.models import (
    LTX_2_0,
    LTX_2_3,
    LTX_2_5,
    REFERENCE_NEGATIVE_PROMPT,
    detect_spec,
    parse_version,
    spec_for_file,
    spec_for_version,
)
from engine.request import MODEL_DEFAULTS, GenerationRequest

FIXTURES = LTX2_FIXTURE.parent if LTX2_FIXTURE is not None else None


def test_reference_defaults_per_version():
    # ltx-pipelines 1.2.0 utils/constants.py: LTX_2_PARAMS, LTX_2_3_PARAMS, LTX_2_4_PARAMS
    assert LTX_2_0.steps == 40 and LTX_2_3.steps == 30 and LTX_2_5.steps == 30
    for spec, block in ((LTX_2_0, 29), (LTX_2_3, 28), (LTX_2_5, 28)):
        for guidance, cfg in ((spec.video_guidance, 3.0), (spec.audio_guidance, 7.0)):
            assert guidance.cfg_scale == cfg
            assert (guidance.stg_scale, guidance.modality_scale, guidance.rescale_scale) == (1.0, 3.0, 0.7)
            assert guidance.stg_blocks == (block,)
        assert spec.negative_prompt == REFERENCE_NEGATIVE_PROMPT
    assert LTX_2_0.audio_sample_rate == 24000 and not LTX_2_0.audio_bandwidth_extension
    assert LTX_2_3.audio_sample_rate == LTX_2_5.audio_sample_rate == 48000
    assert LTX_2_3.audio_bandwidth_extension and LTX_2_5.audio_bandwidth_extension
    assert (LTX_2_0.default_image_crf, LTX_2_5.default_image_crf) == (33, 18)
    assert LTX_2_5.distilled_stage_1_sampler == "euler_ancestral" and LTX_2_5.text_encoder == "gemma4"


def test_guidance_defaults_fill_every_model_default_field():
    defaults = LTX_2_0.guidance_defaults()
    assert set(defaults) == set(MODEL_DEFAULTS)
    request = GenerationRequest(prompt="x").with_defaults(defaults)
    assert all(getattr(request, name) is not None for name in MODEL_DEFAULTS)
    request.validate()
    explicit = GenerationRequest(prompt="x", steps=12, stg_scale=0.0).with_defaults(defaults)
    assert explicit.steps == 12 and explicit.stg_scale == 0.0  # set fields are kept


@pytest.mark.parametrize(("text", "expected"), [
    ("2.3.0", (2, 3, 0)), ("2.4-rc2", (2, 4)), ("2.5", (2, 5)), ("", ()), (None, ()), ("v2.3.1", (2, 3, 1)),
])
def test_parse_version(text, expected):
    assert parse_version(text) == expected


@pytest.mark.parametrize(("version", "spec"), [
    ("2.0.0", LTX_2_0), ("1.0", LTX_2_0), ("", LTX_2_0), ("2.3.0", LTX_2_3), ("2.4.0", LTX_2_3),
    ("2.5.0", LTX_2_5), ("2.6", LTX_2_5),
])
def test_a_version_gets_the_newest_spec_at_or_below_it(version, spec):
    assert spec_for_version(version) is spec


def test_detection_from_config_without_model_version():
    assert detect_spec({}, {"transformer": {"num_layers": 2}}) is LTX_2_0
    assert detect_spec({}, {"transformer": {"apply_gated_attention": True}}) is LTX_2_3
    assert detect_spec({}, {"transformer": {"use_keyframes_abs_pos_embedding": True}}) is LTX_2_5
    assert detect_spec(config={"gated_attn": True, "cross_attn_mod": True}) is LTX_2_3  # diffusers keys
    assert detect_spec({"gemma_source_checkpoint": json.dumps({"gemma_version": "gemma4-x"})}) is LTX_2_5
    assert detect_spec({"model_version": "2.3.0", "config": "{}"}) is LTX_2_3


@pytest.mark.skipif(FIXTURES is None, reason="the shared fixtures were not found")
@pytest.mark.parametrize(("pattern", "version"), [
    (f"ltx2-tiny-official/{LTX2_CHECKPOINT}", "2.0"),
    ("ltx23-tiny-official/ltx-2.3-*.safetensors", "2.3"),
    ("ltx25-tiny-official/diffusion_models/*.safetensors", "2.5"),
])
def test_each_shared_fixture_is_detected_as_its_version(pattern, version):
    companions = ("lora", "upscaler")
    files = [p for p in sorted(Path(FIXTURES).glob(pattern)) if not any(c in p.name for c in companions)]
    if not files:
        pytest.skip(f"{pattern} not found")
    assert spec_for_file(files[0]).version == version


def test_sigma_schedule_ends_at_zero_after_the_terminal_value():
    for steps in (2, 8, 40):
        sigmas = LTX_2_0.sigmas(steps)
        assert sigmas.dtype == torch.float32 and len(sigmas) == steps + 1
        assert abs(float(sigmas[0]) - 1) < 1e-6 and sigmas[-1] == 0
        assert abs(float(sigmas[-2]) - LTX_2_0.sigma_schedule.terminal) < 1e-6
        assert bool((sigmas[1:] < sigmas[:-1]).all())
    # The shift is that of 4096 tokens whatever the clip's size (ltx-pipelines passes no latent).
    assert LTX_2_0.sigma_schedule.shift() == pytest.approx(2.05)


def test_stg_blocks_past_a_shallow_transformer_move_to_its_last_block():
    shallow = LTX_2_0.with_num_layers(2)
    assert shallow.video_guidance.stg_blocks == (1,) and shallow.audio_guidance.stg_blocks == (1,)
    assert LTX_2_0.with_num_layers(48).video_guidance.stg_blocks == (29,)


def test_size_and_length_rules():
    assert LTX_2_0.latent_shape(768, 512, 121) == (16, 16, 24)
    assert LTX_2_0.audio_latent_frames(121, 24.0) == 126
    assert LTX_2_0.nearest_frames(120) == 121 and LTX_2_0.nearest_size(100) == 96
    limit = LTX_2_0.max_frames_at(24.0)
    assert (limit - 1) % 8 == 0 and limit / 24.0 <= LTX_2_0.max_seconds < (limit + 8) / 24.0
    LTX_2_0.check_length(limit, 24.0)
    with pytest.raises(RequestError, match=f"use at most {limit} frames"):
        LTX_2_0.check_length(limit + 8, 24.0)
