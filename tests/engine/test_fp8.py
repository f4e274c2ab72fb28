"""FP8: choosing fp8-fast per device (and falling back cleanly), FP8 compute numerics on tiny models (torch's
`_scaled_mm` runs on the CPU too), and loading a pre-quantized FP8 release written from the shared 2.3 fixture
in ltx-core's layout (F8_E4M3 weights + float32 `.weight_scale` siblings)."""

from __future__ import annotations

import logging

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from shared_fixtures import LTX23_FIXTURE, ltx23_monolith

from engine import fp8
from engine.engine import TRANSFORMER_KEEP_PRECISE, Engine
from engine.memory_probe import transformer_inputs
from engine.quantization import QuantizedCache, parse_mode, quantize_module

# ltx-core's fp8_cast.py: the block linears its FP8 releases store in FP8
FP8_SUFFIXES = (".to_q", ".to_k", ".to_v", ".to_out.0", "ff.net.0.proj", "ff.net.2")
BLOCKS = "model.diffusion_model.transformer_blocks."


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach().float(), b.detach().float()
    return float((a - b).norm() / b.norm())


# --- choosing ---------------------------------------------------------------------------------------------


def test_fp8_fast_is_a_mode():
    assert parse_mode("FP8-Fast") == "fp8-fast"


def test_cpu_falls_back_to_weight_only_fp8():
    mode, why = fp8.effective_mode("fp8-fast", "cpu")
    assert mode == "fp8" and "FP8 tensor cores" in why and "weight-only" in why
    assert fp8.select_backend("cpu") is None
    assert fp8.effective_mode("int4", "cpu") == ("int4", "")


@pytest.mark.parametrize(
    ("capability", "torchao", "mode", "backend"),
    [
        ((8, 6), True, "fp8", None),
        ((8, 9), False, "fp8-fast", "scaled_mm"),
        ((9, 0), True, "fp8-fast", "torchao"),
    ],
)
def test_choice_per_gpu(monkeypatch, capability, torchao, mode, backend):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Test GPU")
    monkeypatch.setattr(fp8, "torchao_available", lambda: torchao)
    chosen, why = fp8.effective_mode("fp8-fast", torch.device("cuda"))
    assert chosen == mode
    assert ("8.9" in why) == (mode == "fp8")
    assert fp8.select_backend(torch.device("cuda")) == backend


def test_tiny_engine_falls_back_with_a_message(caplog):
    with caplog.at_level(logging.WARNING):
        engine = Engine.tiny(quantization="fp8-fast")
    assert engine.quantization == "fp8"
    assert any("fp8-fast needs" in r.getMessage() for r in caplog.records)


def test_fp8_fast_is_never_cached(tmp_path):
    cache = QuantizedCache(tmp_path)
    assert cache.load_into(torch.nn.Linear(16, 16), "id", "fp8-fast", "transformer") is False


# --- numerics ---------------------------------------------------------------------------------------------


def test_fp8_linear_matches_float_linear():
    torch.manual_seed(0)
    linear = torch.nn.Linear(64, 32)
    x = torch.randn(3, 7, 64)
    layer = fp8.Fp8Linear.from_linear(linear)
    assert layer.weight.dtype == torch.float8_e4m3fn and layer.weight_scale.shape == (32, 1)
    ref = linear(x)
    assert _rel(layer(x), ref) < 0.06  # measured 0.035 (per-token FP8 activations)
    layer.compute = "dequantize"
    assert _rel(layer(x), ref) < 0.04  # measured 0.024 (FP8 weights only)
    layer.to(torch.bfloat16)  # a dtype cast keeps the FP8 storage
    assert layer.weight.dtype == torch.float8_e4m3fn and layer.weight_scale.dtype == torch.float32


def test_tiny_transformer_in_fp8_compute():
    """The tiny transformer with its block linears in FP8 (weights and per-token activations) stays close to
    float32, keeps the precise layers in full precision, and really changes the output (not a no-op)."""
    from engine.tiny import tiny_components

    reference = tiny_components(0).transformer.eval()
    model = tiny_components(0).transformer.eval()
    inputs = transformer_inputs(model, 1, (128, 96, 17), 16, "cpu", torch.float32)
    report = quantize_module(model, "fp8-fast", exclude=TRANSFORMER_KEEP_PRECISE)
    assert report["quantized"] > 0 and report["qtype"].startswith("float8_e4m3fn")
    assert isinstance(model.proj_in, torch.nn.Linear) and not isinstance(model.proj_in, fp8.Fp8Linear)
    assert isinstance(model.transformer_blocks[0].attn1.to_q, fp8.Fp8Linear)
    with torch.no_grad():
        want = reference(**inputs)[0]
        got = model(**inputs)[0]
    error = _rel(got, want)
    assert 1e-4 < error < 0.08, error  # measured 0.026 (video output) here


# --- pre-quantized releases -------------------------------------------------------------------------------


def write_fp8_release(source, target) -> list[str]:
    """`source` in ltx-core's FP8 layout: the covered block linears as F8_E4M3 + a float32 scalar scale."""
    tensors, quantized = {}, []
    with safe_open(str(source), framework="pt") as handle:
        metadata = handle.metadata()
        for key in handle.keys():
            value = handle.get_tensor(key)
            layer = key.removesuffix(".weight")
            if key.startswith(BLOCKS) and key.endswith(".weight") and layer.endswith(FP8_SUFFIXES):
                scale = value.float().abs().amax() / fp8.FP8_MAX
                tensors[key] = (value.float() / scale).to(torch.float8_e4m3fn)
                tensors[key + "_scale"] = scale.reshape(())
                quantized.append(key)
            else:
                tensors[key] = value
    save_file(tensors, str(target), metadata=metadata)
    return quantized


@pytest.fixture(scope="module")
def fp8_release(tmp_path_factory):
    if LTX23_FIXTURE is None or ltx23_monolith(LTX23_FIXTURE) is None:
        pytest.skip("shared LTX-2.3 fixture missing")
    source = ltx23_monolith(LTX23_FIXTURE)
    target = tmp_path_factory.mktemp("fp8") / source.name.replace(".safetensors", "-fp8.safetensors")
    quantized = write_fp8_release(source, target)
    assert quantized
    return source, target, quantized


@pytest.mark.parametrize("compute", ["dequantize", "scaled_mm"])
def test_prequantized_release_loads_without_bf16_round_trip(fp8_release, compute):
    from engine.ltx23_loader import load_ltx23

    source, target, quantized = fp8_release
    plain = load_ltx23(source, torch.float32, only=("transformer",)).transformer
    loaded = load_ltx23(target, torch.float32, only=("transformer",)).transformer
    layers = [m for m in loaded.modules() if isinstance(m, fp8.Fp8Linear)]
    assert len(layers) == len(quantized)
    assert all(m.weight.dtype == torch.float8_e4m3fn and m.weight_scale.ndim == 0 for m in layers)
    fp8.set_compute(loaded, compute)
    inputs = transformer_inputs(plain, 1, (128, 96, 17), 16, "cpu", torch.float32)
    with torch.no_grad():
        want_video, want_audio = plain(**inputs)
        got_video, got_audio = loaded(**inputs)
    # measured here: dequantize 0.0043 / 0.0054, scaled_mm 0.0054 / 0.0071 (video / audio relative L2)
    bound = 0.02
    assert 1e-4 < _rel(got_video, want_video) < bound
    assert 1e-4 < _rel(got_audio, want_audio) < bound


def test_planner_sees_a_prequantized_release(fp8_release):
    from engine.model_sizes import checkpoint_weights

    source, target, _ = fp8_release
    plain, packed = checkpoint_weights(source), checkpoint_weights(target)
    assert packed.prequantized_fp8 and not plain.prequantized_fp8
    assert packed.transformer_params == plain.transformer_params
    assert packed.components["transformer"].stored_bytes < plain.components["transformer"].stored_bytes


def test_prequantized_25_release_folder(tmp_path):
    """An LTX-2.5 release folder whose transformer file is in the FP8 layout loads as stored."""
    from shared_fixtures import LTX25_FIXTURE

    from engine.ltx25_layout import load_ltx25

    if LTX25_FIXTURE is None:
        pytest.skip("shared LTX-2.5 fixture missing")
    folder = tmp_path / "release"
    for source in LTX25_FIXTURE.rglob("*.safetensors"):
        target = folder / source.relative_to(LTX25_FIXTURE)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.parent.name == "diffusion_models":
            assert write_fp8_release(source, target.with_name(target.name.replace("bf16", "fp8")))
        else:
            target.symlink_to(source)
    plain = load_ltx25(LTX25_FIXTURE, torch.float32, only=("transformer",)).transformer
    loaded = load_ltx25(folder, torch.float32, only=("transformer",)).transformer
    assert any(isinstance(m, fp8.Fp8Linear) for m in loaded.modules())
    inputs = transformer_inputs(plain, 1, (128, 96, 17), 16, "cpu", torch.float32)
    with torch.no_grad():
        assert 1e-4 < _rel(loaded(**inputs)[0], plain(**inputs)[0]) < 0.02


def test_a_lora_on_a_prequantized_transformer_is_refused(fp8_release):
    from engine.errors import CheckpointError
    from engine.lora import fuse_lora, load_lora
    from engine.ltx23_loader import load_ltx23

    _, target, _ = fp8_release
    loras = sorted(LTX23_FIXTURE.glob("*lora*.safetensors"))
    if not loras:
        pytest.skip("the fixture has no LoRA")
    loaded = load_ltx23(target, torch.float32, only=("transformer",)).transformer
    before = [m.weight.clone() for m in loaded.modules() if isinstance(m, fp8.Fp8Linear)]
    with pytest.raises(CheckpointError, match="pre-quantized FP8"):
        fuse_lora(loaded, load_lora(loras[0]))
    after = [m.weight for m in loaded.modules() if isinstance(m, fp8.Fp8Linear)]
    for a, b in zip(before, after, strict=True):
        assert torch.equal(a.view(torch.uint8), b.view(torch.uint8))


def test_a_gpu_without_rowwise_fp8_gemm_falls_back_per_layer(monkeypatch, caplog):
    torch.manual_seed(0)
    linear = torch.nn.Linear(32, 16)
    layer = fp8.Fp8Linear.from_linear(linear)
    x = torch.randn(4, 32)

    def refuse(*args, **kwargs):
        raise RuntimeError("Only tensorwise scaling is supported on this device")

    monkeypatch.setattr(torch, "_scaled_mm", refuse)
    with caplog.at_level(logging.WARNING):
        out = layer(x)
    assert layer.compute == "dequantize" and "FP8 matmul unavailable" in caplog.text
    assert _rel(out, linear(x)) < 0.04
