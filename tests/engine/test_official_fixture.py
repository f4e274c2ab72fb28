"""The shared official-layout fixture: loading, numerical parity with Lightricks' reference implementation,
generation, checkpoint identity, and a config variant in the same layout."""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from shared_fixtures import LTX2_CHECKPOINT as CHECKPOINT
from shared_fixtures import LTX2_FIXTURE, needs_ltx2_fixture

from engine.components import MODEL_CLASSES, load_official
from engine.engine import Engine
from engine.request import GenerationRequest

# Parity bound with the reference outputs (float32 compute on CPU on both sides).
PARITY_TOLERANCE = 1e-4


FIXTURE = LTX2_FIXTURE
pytestmark = needs_ltx2_fixture

SMALL = GenerationRequest(prompt="a cat on a beach", width=64, height=64, num_frames=9, fps=24.0, steps=2,
                          seed=3, preview_every=0)


def file_config(path: Path) -> dict:
    """The model config in the checkpoint's metadata: every expectation below is derived from it, so the
    tests hold for any checkpoint in this layout (other widths, depths, precisions)."""
    with safe_open(str(path), framework="pt") as handle:
        return json.loads(handle.metadata()["config"])


def file_elements(path: Path) -> int:
    with safe_open(str(path), framework="pt") as handle:
        return sum(math.prod(handle.get_slice(key).get_shape()) for key in handle.keys())


@pytest.fixture(scope="module")
def checkpoint() -> Path:
    return FIXTURE / CHECKPOINT


@pytest.fixture(scope="module")
def gemma() -> Path:
    return FIXTURE / "gemma"


@pytest.fixture(scope="module")
def reference() -> dict[str, torch.Tensor]:
    return load_file(str(FIXTURE / "reference_outputs.safetensors"))


@pytest.fixture(scope="module")
def engine(checkpoint, gemma) -> Engine:
    return Engine.from_checkpoint(checkpoint, text_encoder=gemma, device="cpu")


# ---------------------------------------------------------------------------------------------- loading

def test_load_official_builds_all_five_components(checkpoint, caplog):
    with caplog.at_level(logging.WARNING, logger="engine.components"):
        components = load_official(checkpoint, torch.float32)
    assert "belong to no known component" not in caplog.text  # every tensor in the file was used
    for name, cls in MODEL_CLASSES.items():
        module = getattr(components, name)
        assert isinstance(module, cls), name
        params = list(module.parameters())
        assert params, name
        assert all(p.device.type == "cpu" and p.dtype == torch.float32 for p in params), name
    assert components.source == str(checkpoint)
    config = file_config(checkpoint)
    assert len(components.transformer.transformer_blocks) == config["transformer"]["num_layers"]
    # Every number in the file landed in exactly one weight or statistics buffer.
    total = sum(v.numel() for m in components.modules().values() for v in m.state_dict().values())
    assert total == file_elements(checkpoint)


def test_loaded_weights_are_the_files_weights(checkpoint):
    components = load_official(checkpoint, torch.float32, only=("vocoder", "audio_vae"))
    with safe_open(str(checkpoint), framework="pt") as handle:
        conv_pre = handle.get_tensor("vocoder.conv_pre.weight").float()
        stats = handle.get_tensor("audio_vae.per_channel_statistics.std-of-means").float()
    assert torch.equal(components.vocoder.conv_in.weight, conv_pre)
    assert torch.equal(components.audio_vae.latents_std.float(), stats)
    assert components.transformer is None  # `only` skipped it


def test_engine_from_checkpoint_with_the_fixture_gemma(engine, checkpoint, gemma):
    from engine.official_layout import video_vae_config, vocoder_config

    config = file_config(checkpoint)
    vae = video_vae_config(config)
    assert engine.device.type == "cpu" and engine.dtype == torch.float32
    assert engine.spatial_ratio == vae["spatial_compression_ratio"]
    assert engine.temporal_ratio == vae["temporal_compression_ratio"]
    assert engine.audio_sample_rate == vocoder_config(config)["output_sampling_rate"]
    assert engine.spec.version == "2.0"
    text = json.loads((gemma / "config.json").read_text())
    text = text.get("text_config", text)
    assert engine.text_encoder.vocab_size == text["vocab_size"]
    assert engine.text_encoder.hidden_size == text["hidden_size"]
    assert engine.components.source == str(checkpoint)
    assert len(engine.identity) == 24


# ----------------------------------------------------------------------------------------------- parity

def _assert_matches(name: str, ours: torch.Tensor, ref: torch.Tensor, record_property) -> None:
    """Relative L2 error within PARITY_TOLERANCE (independent of the checkpoint's output scale)."""
    assert tuple(ours.shape) == tuple(ref.shape), (name, ours.shape, ref.shape)
    ours, ref = ours.detach().float().cpu(), ref.float()
    error = ((ours - ref).norm() / ref.norm().clamp_min(1e-30)).item()
    diff = (ours - ref).abs().max().item()
    print(f"{name}: relative L2 error {error:.3e}, max abs diff {diff:.3e}")
    record_property(f"{name}_relative_error", error)
    assert error <= PARITY_TOLERANCE, (name, error)


# The reference's decoders un-normalise their input with the file's per-channel statistics first: its
# latents are in denoiser space, as `decode_video` / `decode_audio` take them.


def test_video_decode_matches_the_reference(engine, reference, record_property):
    decoded = engine.decode_video(reference["video_latent"])
    _, _, frames, height, width = reference["video_decoded"].shape
    assert not engine.last_tile_plan.tiled(height, width, frames)
    _assert_matches("video_decoded", decoded, reference["video_decoded"], record_property)


def test_audio_vae_decode_matches_the_reference_mel(engine, reference, record_property):
    audio_vae = engine.components.audio_vae
    latents = engine.runtime.denormalize_audio(reference["audio_latent"])
    with torch.inference_mode():
        mel = audio_vae.decode(latents, return_dict=False)[0]
    _assert_matches("audio_mel_decoded", mel, reference["audio_mel_decoded"], record_property)


def test_vocoder_matches_the_reference_waveform(engine, reference, record_property):
    with torch.inference_mode():
        waveform = engine.components.vocoder(reference["audio_mel_decoded"])
    _assert_matches("audio_waveform", waveform, reference["audio_waveform"], record_property)


def test_decode_audio_end_to_end_matches_the_reference_waveform(engine, reference, record_property):
    waveform, rate = engine.decode_audio(reference["audio_latent"])
    assert rate == engine.components.vocoder.config.output_sampling_rate
    _assert_matches("decode_audio_waveform", waveform, reference["audio_waveform"], record_property)


def test_latent_statistics_from_the_file_are_applied_when_decoding(
    checkpoint, gemma, reference, tmp_path, record_property
):
    """Give a copy of the checkpoint other statistics and decode the same VAE-space latents through them.

    Official files store per-channel `mean-of-means` / `std-of-means`; un-normalising is x * std + mean (audio
    channels packed channel-major with the mel bins, as the reference patchifier does).
    """
    with safe_open(str(checkpoint), framework="pt") as handle:
        config = handle.metadata()["config"]
    tensors = load_file(str(checkpoint))
    g = torch.Generator().manual_seed(0)
    original, stats = {}, {}
    for prefix in ("vae", "audio_vae"):
        key = f"{prefix}.per_channel_statistics."
        original[prefix] = (tensors[key + "mean-of-means"].float(), tensors[key + "std-of-means"].float())
        size = original[prefix][0].shape[0]
        mean = torch.randn(size, generator=g) * 0.5
        std = torch.rand(size, generator=g) + 0.5
        tensors[key + "mean-of-means"], tensors[key + "std-of-means"] = mean.bfloat16(), std.bfloat16()
        stats[prefix] = (mean.bfloat16().float(), std.bfloat16().float())
    variant = tmp_path / "ltx-2-tiny-stats.safetensors"
    save_file(tensors, str(variant), metadata={"config": config})
    engine = Engine.from_checkpoint(variant, text_encoder=gemma, device="cpu")

    mean, std = stats["vae"]
    assert torch.equal(engine.components.vae.latents_mean.float(), mean)
    assert torch.equal(engine.components.vae.latents_std.float(), std)
    shape = (1, -1, 1, 1, 1)
    # The reference decoded its latents with the original statistics: this is the VAE-space latent.
    mean0, std0 = original["vae"]
    vae_space = reference["video_latent"] * std0.view(shape) + mean0.view(shape)
    decoded = engine.decode_video((vae_space - mean.view(shape)) / std.view(shape))
    _assert_matches("restats_video_decoded", decoded, reference["video_decoded"], record_property)

    channels, mel = reference["audio_latent"].shape[1], reference["audio_latent"].shape[3]
    view = (1, channels, 1, mel)
    mean0, std0 = (t.view(view) for t in original["audio_vae"])
    mean, std = (t.view(view) for t in stats["audio_vae"])
    vae_space = reference["audio_latent"] * std0 + mean0
    waveform, _ = engine.decode_audio((vae_space - mean) / std)
    _assert_matches("restats_audio_waveform", waveform, reference["audio_waveform"], record_property)


# ------------------------------------------------------------------------------------------- generation

def test_generation_with_the_fixture_engine(engine):
    result = engine.generate(SMALL)
    assert result.frames.shape == (9, 64, 64, 3) and result.frames.dtype == np.float32
    assert np.isfinite(result.frames).all() and 0 <= result.frames.min() and result.frames.max() <= 1
    assert result.audio.dtype == np.float32
    assert result.audio.shape[0] == engine.components.vocoder.config.out_channels
    assert np.isfinite(result.audio).all()
    assert result.sample_rate == engine.audio_sample_rate
    # exactly the clip's duration
    assert result.audio.shape[1] == round(SMALL.num_frames / SMALL.fps * result.sample_rate)
    assert result.metadata["checkpoint_identity"] == engine.identity
    assert result.metadata["model_source"] == str(FIXTURE / CHECKPOINT)


# --------------------------------------------------------------------------------------------- identity

def test_identity_is_stable_on_reopen_and_changes_with_the_file_mtime(checkpoint, gemma, tmp_path):
    copy = tmp_path / CHECKPOINT
    shutil.copyfile(checkpoint, copy)
    engine = Engine.from_checkpoint(copy, text_encoder=gemma, device="cpu")
    reopened = load_official(copy, torch.float32, only=("vocoder",)).identity
    assert reopened == engine.identity

    stat = copy.stat()
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    touched = load_official(copy, torch.float32, only=("vocoder",)).identity
    assert touched != engine.identity
    assert load_official(copy, torch.float32, only=("vocoder",)).identity == touched


# ------------------------------------------------------------------------------------ other configs load

def test_a_different_config_in_the_official_layout_loads_and_generates(checkpoint, gemma, tmp_path):
    with safe_open(str(checkpoint), framework="pt") as handle:
        config = json.loads(handle.metadata()["config"])
    tensors = load_file(str(checkpoint))
    layers = config["transformer"]["num_layers"]
    if layers < 2:
        pytest.skip("the checkpoint has one block; there is none to drop")
    last = f"model.diffusion_model.transformer_blocks.{layers - 1}."
    dropped = [key for key in tensors if key.startswith(last)]
    assert dropped
    for key in dropped:
        del tensors[key]
    config["transformer"]["num_layers"] = layers - 1
    variant = tmp_path / "ltx-2-tiny-one-layer-less.safetensors"
    save_file(tensors, str(variant), metadata={"config": json.dumps(config)})

    engine = Engine.from_checkpoint(variant, text_encoder=gemma, device="cpu")
    assert len(engine.components.transformer.transformer_blocks) == layers - 1
    # The reference's STG block moves onto the shallower model instead of silently perturbing nothing.
    assert all(0 <= b < layers - 1 for b in engine.spec.video_guidance.stg_blocks)
    result = engine.generate(SMALL)
    assert result.frames.shape == (9, 64, 64, 3) and np.isfinite(result.frames).all()
    assert result.audio.shape[0] == engine.components.vocoder.config.out_channels
    assert np.isfinite(result.audio).all()
