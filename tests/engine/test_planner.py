"""The memory planner: exact weight sizes (headers and meta-device models), activation estimates against
measured peaks on tiny models, placement choices, and bad input. Nothing here assumes a fixture's sizes."""

from __future__ import annotations

import pytest
import torch
from accelerate import init_empty_weights
from diffusers import LTX2VideoTransformer3DModel
from shared_fixtures import LTX2_CHECKPOINT, LTX2_FIXTURE, LTX23_FIXTURE, ltx23_monolith

from engine.checkpoint import SafetensorsFile
from engine.engine import TRANSFORMER_KEEP_PRECISE
from engine.errors import RequestError
from engine.memory_probe import LivePeak, forward_peak, transformer_inputs
from engine.model_sizes import (
    FULL_SIZE,
    GiB,
    checkpoint_weights,
    full_size_weights,
    linear_layers,
    quantized_linear_bytes,
    quantized_module_bytes,
    transformer_bytes,
    weights_of,
)
from engine.official_layout import CONNECTOR_PREFIXES, TRANSFORMER_PREFIX
from engine.planner import (
    ACTIVATION_BYTES_PER_WIDTH,
    TEXT_TOKENS,
    activation_bytes,
    parse_bytes,
    plan_generation,
)


def _meta_params(config: dict) -> int:
    with init_empty_weights():
        model = LTX2VideoTransformer3DModel(**config)
    return sum(p.numel() for p in model.parameters())


# --- weights --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["2.0", "2.3", "2.5"])
def test_full_size_transformer_bytes_are_exact(version):
    weights = full_size_weights(version)
    params = _meta_params(FULL_SIZE[version]["transformer"])
    assert weights.transformer_params == params
    assert transformer_bytes(weights, "none", TRANSFORMER_KEEP_PRECISE) == 2 * params
    assert weights.components["transformer"].stored_bytes == 2 * params
    assert sum(weights.block_params) < params and len(weights.block_params) == 48


def test_full_size_20_is_diffusers_default_ltx2():
    """diffusers' default constructor is the released LTX-2 19B transformer: an independent source."""
    with init_empty_weights():
        reference = LTX2VideoTransformer3DModel()
    assert full_size_weights("2.0").transformer_params == sum(p.numel() for p in reference.parameters())


def test_version_differences_are_the_documented_ones():
    base, v23, v25 = (FULL_SIZE[v]["transformer"] for v in ("2.0", "2.3", "2.5"))
    changed_23 = {k for k in v23 if v23[k] != base.get(k)}
    assert changed_23 == {
        "gated_attn", "cross_attn_mod", "audio_gated_attn", "audio_cross_attn_mod",
        "use_prompt_embeddings", "perturbed_attn",
    }
    assert {k for k in v25 if v25.get(k) != v23.get(k)} == {"ff_bias", "use_keyframes_abs_pos_embedding"}


def _fixture_files():
    files = []
    if LTX2_FIXTURE is not None:
        files.append(LTX2_FIXTURE / LTX2_CHECKPOINT)
    if LTX23_FIXTURE is not None and ltx23_monolith(LTX23_FIXTURE) is not None:
        files.append(ltx23_monolith(LTX23_FIXTURE))
    return files


@pytest.mark.parametrize("path", _fixture_files(), ids=lambda p: p.name)
def test_checkpoint_header_bytes_match_meta_model(path):
    """Parameters counted on the meta skeleton equal the header's transformer tensors, byte for byte."""
    weights = checkpoint_weights(path)
    header = SafetensorsFile.open(path)
    selected = [
        info for key, info in header.tensors.items()
        if key.startswith(TRANSFORMER_PREFIX) and not key.startswith(CONNECTOR_PREFIXES)
    ]
    stored = sum(info["data_offsets"][1] - info["data_offsets"][0] for info in selected)
    numel = sum(int(torch.tensor(info["shape"]).prod()) for info in selected)
    assert weights.transformer_params == numel
    assert weights.components["transformer"].stored_bytes == stored
    assert weights.version in ("2.0", "2.3")


@pytest.mark.parametrize("mode", ["fp8", "int8"])
def test_quantized_bytes_match_quanto(mode):
    """The planner's bytes for a quantized transformer equal what quanto really holds after quantizing."""
    from engine.quantization import module_weight_bytes, quantize_module
    from engine.tiny import tiny_components

    transformer = tiny_components(0).transformer
    params = sum(p.numel() for p in transformer.parameters())
    linears = linear_layers(transformer)
    buffers = sum(b.numel() * b.element_size() for b in transformer.buffers())
    report = quantize_module(transformer, mode, exclude=TRANSFORMER_KEEP_PRECISE)
    assert report["quantized"] > 0 and not [s for s in report["skipped"] if "pattern" not in s["reason"]]
    planned = quantized_module_bytes(params, linears, mode, TRANSFORMER_KEEP_PRECISE, dtype_bytes=4)
    assert module_weight_bytes(transformer) - buffers == planned


def test_quantized_linear_bytes_shrink_in_order():
    out_f, in_f = 4096, 4096
    sizes = {m: quantized_linear_bytes(out_f, in_f, m) for m in ("none", "fp8", "fp8-fast", "int4")}
    assert sizes["none"] == 2 * out_f * in_f
    assert sizes["int4"] < sizes["fp8"] <= sizes["fp8-fast"] < sizes["none"]


# --- activations ----------------------------------------------------------------------------------------


def _tiny_transformers():
    from engine.tiny import tiny_components

    models = {"ltx2-tiny": tiny_components(0).transformer}
    if LTX23_FIXTURE is not None and ltx23_monolith(LTX23_FIXTURE) is not None:
        config = checkpoint_weights(ltx23_monolith(LTX23_FIXTURE)).transformer_config
        torch.manual_seed(0)
        models["ltx23-fixture"] = LTX2VideoTransformer3DModel(**config)
        heads, audio_heads = config["num_attention_heads"], config["audio_num_attention_heads"]
        wider = dict(config, attention_head_dim=64, audio_attention_head_dim=32,
                     cross_attention_dim=64 * heads, audio_cross_attention_dim=32 * audio_heads)
        models["ltx23-wider"] = LTX2VideoTransformer3DModel(**wider)
    return models


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
def test_activation_estimate_bounds_measured_peak(dtype):
    """Estimate >= the peak of live tensors measured during a forward, and at most 1.35x it."""
    ratios = []
    for name, model in _tiny_transformers().items():
        model = model.to(dtype).eval()
        config = dict(model.config)
        for size, batch, text in (((256, 128, 25), 1, 16), ((256, 256, 25), 2, 16), ((320, 192, 33), 1, 48)):
            inputs = transformer_inputs(model, batch, size, text, "cpu", dtype)
            measured = forward_peak(model, inputs)
            estimate = activation_bytes(
                config, batch, inputs["hidden_states"].shape[1], inputs["audio_hidden_states"].shape[1],
                text, torch.finfo(dtype).bits // 8,
            )
            ratios.append((name, size, batch, estimate / measured))
            assert measured <= estimate <= 1.35 * measured, (name, size, batch, measured, estimate)
    assert len(ratios) >= 3


def test_live_peak_counts_views_once_and_frees():
    with LivePeak() as probe:
        a = torch.empty(1000, dtype=torch.float32)
        b = a.view(10, 100)
        assert probe.current == 4000
        c = torch.empty(500, dtype=torch.float32)
        del c
        assert probe.current == 4000 and probe.peak == 6000
        del a, b
    assert probe.current == 0


# --- plans ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ltx23():
    return weights_of("ltx-2.3")


def _plan(weights, **kw):
    args = dict(quantization="fp8", recipe="two-stage", width=1280, height=704, frames=121,
                vram=24 * GiB, ram=128 * GiB)
    args.update(kw)
    return plan_generation(weights, **args)


def test_placement_follows_vram(ltx23):
    placements = [_plan(ltx23, vram=v * GiB).transformer for v in (80, 24, 6)]
    assert placements == ["resident", "streamed", "sequential"]
    assert not _plan(ltx23, vram=3 * GiB).fits


@pytest.mark.parametrize("vram", [16, 24, 32, 48])
@pytest.mark.parametrize("quant", ["none", "fp8", "int4"])
def test_a_plan_that_fits_stays_under_the_card(ltx23, vram, quant):
    plan = _plan(ltx23, vram=vram * GiB, quantization=quant)
    assert plan.peak_vram == max(plan.phases.values())
    if plan.fits:
        assert plan.peak_vram <= vram * GiB and plan.peak_ram <= plan.ram
    line = plan.summary()
    assert line.startswith(f"fits: {'yes' if plan.fits else 'no'}, peak VRAM ")


def test_streaming_needs_host_ram_for_the_transformer(ltx23):
    plan = _plan(ltx23, vram=24 * GiB)
    assert plan.transformer == "streamed"
    assert plan.peak_ram >= plan.weight_bytes["transformer"]
    starved = _plan(ltx23, vram=24 * GiB, ram=plan.peak_ram - 1)
    assert not starved.fits and "system RAM" in " ".join(starved.notes)


def test_two_stage_runs_stage_one_at_half_size(ltx23):
    plan = _plan(ltx23, recipe="two-stage")
    first, second = plan.stages
    assert (first.width, first.height) == (640, 352) and (second.width, second.height) == (1280, 704)
    assert first.video_tokens * 4 == second.video_tokens
    full = _plan(ltx23, recipe="full")
    assert full.stages[0].batch > 1 and full.seconds > plan.seconds


def test_activation_grows_with_batch_and_tokens(ltx23):
    cfg = ltx23.transformer_config
    one = activation_bytes(cfg, 1, 6144, 126, TEXT_TOKENS, 2)
    assert activation_bytes(cfg, 2, 6144, 126, TEXT_TOKENS, 2) == 2 * one
    assert activation_bytes(cfg, 1, 14080, 126, TEXT_TOKENS, 2) > 2 * one
    assert ACTIVATION_BYTES_PER_WIDTH[2] < ACTIVATION_BYTES_PER_WIDTH[4]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": 1000}, "multiple of 64"),
        ({"recipe": "full", "width": 1000}, "multiple of 32"),
        ({"frames": 120}, r"8k\+1"),
        ({"recipe": "turbo"}, "recipe"),
        ({"quantization": "fp4"}, "quantization"),
        ({"vram": GiB // 2}, "VRAM"),
        ({"frames": 8 * 100 + 1}, "positions only cover"),
    ],
)
def test_bad_requests_are_refused(ltx23, kwargs, message):
    with pytest.raises(RequestError, match=message):
        _plan(ltx23, **kwargs)


def test_parse_bytes():
    assert parse_bytes("24GiB") == 24 * GiB
    assert parse_bytes("16 GB") == 16 * 10**9
    assert parse_bytes("8000MiB") == 8000 * 1024**2
    assert parse_bytes("24") == 24 * GiB
    for bad in ("lots", "-3GiB", "0", "12 parsecs"):
        with pytest.raises(RequestError):
            parse_bytes(bad)


def test_unknown_model_name_is_refused():
    with pytest.raises(RequestError, match="ltx-2.3"):
        weights_of("ltx-9.9")


@pytest.mark.parametrize("recipe", ["full", "distilled", "two-stage"])
@pytest.mark.parametrize("quant", ["int4", "fp8"])
def test_a_placement_is_chosen_only_when_every_phase_fits(ltx23, recipe, quant):
    """Resident or streamed is chosen only when text encoding, denoising and decoding all fit (a resident
    transformer that left the VAE no room used to be chosen, and the plan then said it did not fit)."""
    for vram in (12, 16, 20, 24, 32, 48):
        plan = _plan(ltx23, recipe=recipe, quantization=quant, width=768, height=512, vram=vram * GiB)
        if plan.transformer in ("resident", "streamed"):
            assert plan.fits and plan.peak_vram <= vram * GiB, (vram, plan.phases)


def test_plan_for_device_uses_free_vram(monkeypatch):
    """What Engine.from_checkpoint follows on CUDA: the version's default size with the free VRAM."""
    from engine.planner import CUDA_RESERVE, plan_for_device

    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (10 * GiB, 80 * GiB))
    plan = plan_for_device("ltx-2.3", None, "fp8", torch.device("cuda"))
    assert plan.vram == 10 * GiB + CUDA_RESERVE // 2
    assert (plan.width, plan.height, plan.frames) == (768, 512, 121)
    assert plan.transformer in ("streamed", "sequential")
    assert plan_for_device("ltx-2.3", None, "fp8", torch.device("cpu")).transformer == "resident"


@pytest.mark.parametrize("version", ["2.3", "2.5"])
def test_version_name_vaes_and_vocoder_are_the_23_release(version):
    """A version-name plan for 2.3/2.5 used to size the VAE, audio VAE and vocoder at LTX-2.0's shapes
    (1.22 B VAE parameters, a 55.6 M HiFi-GAN). The 2.3 release's configs, built by the engine's 2.3 layout
    code on the meta device, give the counts a harness that loads the real weights reports: VAE encoder
    318.9 M + decoder 407.2 M, audio VAE 21.3 M + 31.9 M, vocoder with BWE 128.5 M."""
    weights = full_size_weights(version)
    assert abs(weights.params("vae") - (318.9e6 + 407.2e6)) < 0.1e6
    assert abs(weights.params("audio_vae") - (21.3e6 + 31.9e6)) < 0.1e6
    assert abs(weights.params("vocoder") - 128.5e6) < 0.05e6
    assert not any("LTX-2.0's (diffusers defaults)" in note for note in weights.notes)
    # the x2 upscaler's release config (mid 1024, 4 blocks, no rational resampler) has 2.0's count
    assert weights.params("upsampler") == full_size_weights("2.0").params("upsampler")
    assert not any("upsampler" in note for note in weights.notes)
    assert len(weights.vae_config["decoder_block_out_channels"]) == 4  # 9 up_blocks: res_x + 4 upsamplers
    if LTX23_FIXTURE is not None and ltx23_monolith(LTX23_FIXTURE) is not None:
        tiny = checkpoint_weights(ltx23_monolith(LTX23_FIXTURE)).vae_config
        for key in ("upsample_type", "upsample_residual", "upsample_factor"):
            assert tuple(weights.vae_config[key]) == tuple(tiny[key]), key
        assert weights.vae_config["decoder_spatial_padding_mode"] == tiny["decoder_spatial_padding_mode"]
    if version == "2.5":
        assert any("Gemma 4" in note and "not known" in note for note in weights.notes)
        assert any("2.5's own" in note for note in weights.notes)
