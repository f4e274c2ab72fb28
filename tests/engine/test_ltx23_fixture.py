"""The LTX-2.3 release layout against Lightricks' reference (ltx-core 1.2.0): every reference tensor of the
shared fixture, compared by relative L2 error, plus the layout's error paths.

Nothing here depends on the fixture's widths, depths, statistics or file names: files are found by layout,
shapes come from the reference tensors and the file's config, so the same tests run against any checkpoint in
this layout (see tests/shared_fixtures.py for pointing them at another folder).
"""

from __future__ import annotations

import json
import logging
import struct
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from shared_fixtures import LTX23_FIXTURE, ltx23_monolith, needs_ltx23_fixture

from engine.checkpoint import CheckpointLayout, detect_layout
from engine.checkpoint_report import describe_checkpoint
from engine.errors import CheckpointError
from engine.lora import fuse_lora, load_lora
from engine.ltx23_loader import LTX23_MODEL_CLASSES, load_ltx23, load_ltx23_release
from engine.text_encoder import (
    encode_prompt_ltx23,
    gemma_hidden_states,
    load_text_encoder,
    per_modality_features,
    tokenize_ltx,
)
from engine.upsampler import load_upsampler, upsample_latent

pytestmark = needs_ltx23_fixture

# float32 on both sides; measured errors are 0 to 1.2e-6 (see README, Limits), so 1e-4 leaves room for other
# checkpoints' widths without hiding a wrong mapping (a wrong default or key moves them by 1e-2 or more).
TOLERANCE = 1e-4


def _relative_l2(ours: torch.Tensor, ref: torch.Tensor) -> float:
    ours, ref = ours.detach().double(), ref.double()
    return ((ours - ref).norm() / ref.norm().clamp_min(1e-30)).item()


def _assert_matches(name: str, ours: torch.Tensor, ref: torch.Tensor, record_property, bound=TOLERANCE):
    assert tuple(ours.shape) == tuple(ref.shape), (name, tuple(ours.shape), tuple(ref.shape))
    error = _relative_l2(ours, ref)
    print(f"{name}: relative L2 error {error:.2e}")
    record_property(f"{name}_relative_l2", error)
    assert error <= bound, (name, error)


# --------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def folder() -> Path:
    return LTX23_FIXTURE


@pytest.fixture(scope="module")
def monolith(folder) -> Path:
    return ltx23_monolith(folder)


@pytest.fixture(scope="module")
def gemma_root(folder) -> Path:
    return next(p for p in sorted(folder.iterdir()) if p.is_dir() and p.name.lower().startswith("gemma"))


@pytest.fixture(scope="module")
def upscaler_file(folder) -> Path:
    return sorted(folder.glob("*upscaler*.safetensors"))[0]


@pytest.fixture(scope="module")
def lora_file(folder) -> Path:
    return sorted(folder.glob("*lora*.safetensors"))[0]


@pytest.fixture(scope="module")
def reference(folder) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "reference_outputs.safetensors"))


@pytest.fixture(scope="module")
def reference_metadata(folder) -> dict[str, str]:
    with safe_open(str(folder / "reference_outputs.safetensors"), framework="pt") as handle:
        return handle.metadata() or {}


@pytest.fixture(scope="module")
def components(monolith):
    return load_ltx23(monolith, torch.float32)


@pytest.fixture(scope="module")
def text_encoder(gemma_root):
    return load_text_encoder(gemma_root, torch.float32)


def _config(path: Path) -> dict:
    with safe_open(str(path), framework="pt") as handle:
        return json.loads(handle.metadata()["config"])


# ---------------------------------------------------------------------------------------------- loading


def test_every_tensor_of_the_monolith_lands_in_exactly_one_component(monolith, caplog):
    with caplog.at_level(logging.WARNING, logger="engine.ltx23_loader"):
        loaded = load_ltx23(monolith, torch.float32)
    assert "belong to no known component" not in caplog.text
    with safe_open(str(monolith), framework="pt") as handle:
        keys = list(handle.keys())
    # Only the statistics the decoders never use (`channel`, `mean-of-stds`) are dropped.
    unused = [k for k in keys if ".per_channel_statistics." in k and not k.endswith("-of-means")]
    loaded_count = 0
    for name, cls in LTX23_MODEL_CLASSES.items():
        module = getattr(loaded, name)
        assert isinstance(module, cls), name
        assert all(p.dtype == torch.float32 and p.device.type == "cpu" for p in module.parameters()), name
        loaded_count += len(module.state_dict())
    assert loaded_count == len(keys) - len(unused)
    config = _config(monolith)["transformer"]
    assert len(loaded.transformer.transformer_blocks) == config["num_layers"]
    assert loaded.transformer.config.gated_attn and loaded.transformer.config.cross_attn_mod
    assert loaded.connectors.config.per_modality_projections


def test_components_are_the_files_weights(monolith, components):
    with safe_open(str(monolith), framework="pt") as handle:
        gate = handle.get_tensor(
            "model.diffusion_model.transformer_blocks.0.attn1.to_gate_logits.weight"
        ).float()
        proj = handle.get_tensor("text_embedding_projection.audio_aggregate_embed.bias").float()
        stats = handle.get_tensor("vae.per_channel_statistics.std-of-means").float()
        mel_basis = handle.get_tensor("vocoder.mel_stft.mel_basis").float()
    assert torch.equal(components.transformer.transformer_blocks[0].attn1.to_gate_logits.weight, gate)
    assert torch.equal(components.connectors.audio_text_proj_in.bias, proj)
    assert torch.equal(components.vae.latents_std.float(), stats)
    assert torch.equal(components.vocoder.mel_stft.mel_basis.float(), mel_basis)


# ------------------------------------------------------------------------------------------------- text


def test_tokens_and_gemma_hidden_states(text_encoder, reference, reference_metadata, record_property):
    ids, mask = tokenize_ltx(
        text_encoder.tokenizer, reference_metadata["prompt"], reference["text_token_ids"].shape[1]
    )
    assert torch.equal(ids, reference["text_token_ids"])
    assert torch.equal(mask, reference["text_attention_mask"])
    hidden = gemma_hidden_states(text_encoder, ids, mask)
    _assert_matches(
        "text_gemma_hidden_states", hidden, reference["text_gemma_hidden_states"], record_property
    )


def test_per_modality_text_features(components, reference, record_property):
    video, audio = per_modality_features(
        components.connectors, reference["text_gemma_hidden_states"], reference["text_attention_mask"]
    )
    _assert_matches("text_video_features", video, reference["text_video_features"], record_property)
    _assert_matches("text_audio_features", audio, reference["text_audio_features"], record_property)


def test_connector_contexts_from_the_reference_hidden_states(components, reference, record_property):
    hidden = reference["text_gemma_hidden_states"].permute(1, 2, 3, 0)  # [B, T, hidden, L + 1]
    with torch.inference_mode():
        video, audio, mask = components.connectors(hidden, reference["text_attention_mask"])
    _assert_matches("video_context", video, reference["video_context"], record_property)
    _assert_matches("audio_context", audio, reference["audio_context"], record_property)
    assert torch.equal(mask.long(), reference["context_mask"].long())


def test_whole_text_path_from_the_prompt(
    text_encoder, components, reference, reference_metadata, record_property
):
    max_length = reference["text_token_ids"].shape[1]
    out = encode_prompt_ltx23(text_encoder, components.connectors, reference_metadata["prompt"], max_length)
    _assert_matches(
        "prompt_video_features", out.video_features, reference["text_video_features"], record_property
    )
    _assert_matches(
        "prompt_audio_features", out.audio_features, reference["text_audio_features"], record_property
    )
    _assert_matches("prompt_video_context", out.video_context, reference["video_context"], record_property)
    _assert_matches("prompt_audio_context", out.audio_context, reference["audio_context"], record_property)


# ------------------------------------------------------------------------------------------ transformer


def _forward(transformer, ref: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    scale = transformer.config.timestep_scale_multiplier
    with torch.inference_mode():
        video, audio = transformer(
            hidden_states=ref["tf_video_tokens"],
            audio_hidden_states=ref["tf_audio_tokens"],
            encoder_hidden_states=ref["video_context"],
            audio_encoder_hidden_states=ref["audio_context"],
            timestep=ref["tf_video_timesteps"][..., 0] * scale,
            audio_timestep=ref["tf_audio_timesteps"][..., 0] * scale,
            sigma=ref["tf_sigma"] * scale,
            video_coords=ref["tf_video_positions"],
            audio_coords=ref["tf_audio_positions"],
            return_dict=False,
        )
    return video, audio


def test_packed_tokens_follow_the_reference_conventions(reference):
    latent, audio = reference["tf_video_latent"], reference["tf_audio_latent"]
    assert torch.equal(
        latent.flatten(2).transpose(1, 2), reference["tf_video_tokens"]
    )  # b c f h w -> b (fhw) c
    assert torch.equal(
        audio.permute(0, 2, 1, 3).flatten(2), reference["tf_audio_tokens"]
    )  # b c t f -> b t (cf)


def test_transformer_velocity(components, reference, record_property):
    video, audio = _forward(components.transformer, reference)
    _assert_matches("tf_video_velocity", video, reference["tf_video_velocity"], record_property)
    _assert_matches("tf_audio_velocity", audio, reference["tf_audio_velocity"], record_property)
    sigma = reference["tf_sigma"].view(-1, 1, 1)
    _assert_matches(
        "tf_video_denoised",
        reference["tf_video_tokens"] - sigma * video,
        reference["tf_video_denoised"],
        record_property,
    )
    _assert_matches(
        "tf_audio_denoised",
        reference["tf_audio_tokens"] - sigma * audio,
        reference["tf_audio_denoised"],
        record_property,
    )


def test_transformer_velocity_with_the_lora_fused(monolith, lora_file, reference, record_property):
    fresh = load_ltx23(monolith, torch.float32, only=("transformer",))
    lora = load_lora(lora_file)
    changed = fuse_lora(fresh.transformer, lora, strength=1.0)  # bf16 aggregation, as ltx-core
    assert len(changed) == len(lora.factors)
    video, audio = _forward(fresh.transformer, reference)
    _assert_matches("tf_lora_video_velocity", video, reference["tf_lora_video_velocity"], record_property)
    _assert_matches("tf_lora_audio_velocity", audio, reference["tf_lora_audio_velocity"], record_property)


# ---------------------------------------------------------------------------------------------- decoders


def _stats(module, ndim: int):
    shape = (1, -1) + (1,) * (ndim - 2)
    return module.latents_mean.float().view(shape), module.latents_std.float().view(shape)


def test_video_decode(components, reference, record_property):
    mean, std = _stats(components.vae, 5)
    with torch.inference_mode():
        decoded = components.vae.decode(reference["video_latent"] * std + mean, return_dict=False)[0]
    _assert_matches("video_decoded", decoded, reference["video_decoded"], record_property)


def test_video_encode(components, reference, record_property):
    mean, std = _stats(components.vae, 5)
    with torch.inference_mode():
        moments = components.vae.encode(reference["video_pixels"]).latent_dist.mode()
    _assert_matches("video_encoded", (moments - mean) / std, reference["video_encoded"], record_property)


def test_audio_vae_decode(components, reference, record_property):
    latent = reference["audio_latent"]
    batch, channels, frames, mel = latent.shape
    audio_vae = components.audio_vae
    # statistics are per packed feature (channel-major with the mel bins), as the reference packs them
    tokens = latent.permute(0, 2, 1, 3).reshape(batch, frames, channels * mel)
    tokens = tokens * audio_vae.latents_std.float() + audio_vae.latents_mean.float()
    unpacked = tokens.reshape(batch, frames, channels, mel).permute(0, 2, 1, 3)
    with torch.inference_mode():
        mel_out = audio_vae.decode(unpacked, return_dict=False)[0]
    _assert_matches("audio_mel_decoded", mel_out, reference["audio_mel_decoded"], record_property)


def test_vocoder_stage_at_16_khz(components, reference, record_property):
    with torch.inference_mode():
        waveform = components.vocoder.vocoder(reference["audio_mel_decoded"])
    _assert_matches(
        "audio_waveform_vocoder_stage", waveform, reference["audio_waveform_vocoder_stage"], record_property
    )


def test_vocoder_with_bandwidth_extension(components, reference, reference_metadata, record_property):
    with torch.inference_mode():
        waveform = components.vocoder(reference["audio_mel_decoded"])
    _assert_matches("audio_waveform", waveform, reference["audio_waveform"], record_property)
    rate = int(reference_metadata.get("audio_waveform_sampling_rate", 48000))
    assert components.vocoder.config.output_sampling_rate == rate


# ------------------------------------------------------------------------------------------- upsampler


def test_upsampler_raw_and_with_the_pipelines_normalisation(
    components, upscaler_file, reference, record_property
):
    upsampler = load_upsampler(upscaler_file)
    _assert_matches(
        "upsampler_raw_output",
        upsampler(reference["upsampler_latent"]),
        reference["upsampler_raw_output"],
        record_property,
    )
    vae = components.vae
    ours = upsample_latent(reference["upsampler_latent"], upsampler, vae.latents_mean, vae.latents_std)
    _assert_matches("upsampled_latent", ours, reference["upsampled_latent"], record_property)


# ------------------------------------------------------------------------------------- detection, report


def test_detect_layout_and_describe_the_release(monolith, gemma_root):
    assert detect_layout(monolith) is CheckpointLayout.LTX23_SINGLE_FILE
    report = describe_checkpoint(monolith)
    assert report.version == "2.3" and report.layout is CheckpointLayout.LTX23_SINGLE_FILE
    assert report.text_encoder == gemma_root and report.text_encoder_ok
    assert report.upscalers and report.loras
    summary = report.summary()
    assert (
        summary.startswith("LTX-2.3")
        and "Gemma 3 root OK" in summary
        and "spatial upscaler x2 found" in summary
    )
    assert report.ready


def _lone_copy(tmp_path: Path, monolith: Path, name: str | None = None) -> Path:
    target = tmp_path / (name or monolith.name)
    target.symlink_to(monolith)
    return target


def test_without_its_gemma_root_the_file_is_named_with_what_to_get(tmp_path, monolith):
    lone = _lone_copy(tmp_path, monolith, "ltx-2.3-22b-dev.safetensors")
    report = describe_checkpoint(lone)
    assert not report.ready and not report.text_encoder_ok
    assert report.summary() == "LTX-2.3 dev, Gemma 3 root missing, no spatial upscaler, no LoRAs"
    text = "\n".join(report.lines())
    assert (
        "gemma-3-12b-it-qat-q4_0-unquantized" in text
        and "ltx-2.3-spatial-upscaler-x2-1.1.safetensors" in text
    )
    assert "ltx-2.3-22b-distilled-lora-384-1.1.safetensors" in text
    with pytest.raises(CheckpointError) as info:
        load_ltx23_release(lone, torch.float32)
    assert str(lone) in str(info.value) and "Gemma 3" in str(info.value)


def test_an_incomplete_gemma_root_names_the_missing_file(tmp_path, monolith, gemma_root):
    lone = _lone_copy(tmp_path, monolith)
    root = tmp_path / "gemma-3-incomplete"
    root.mkdir()
    for item in gemma_root.iterdir():
        if item.name != "processor_config.json":
            (root / item.name).symlink_to(item)
    report = describe_checkpoint(lone)
    assert not report.text_encoder_ok and "processor_config.json" in report.text_encoder_problem
    with pytest.raises(CheckpointError, match="processor_config.json"):
        load_ltx23_release(lone, torch.float32)


def _header(path: Path) -> tuple[int, dict]:
    with path.open("rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        return length, json.loads(handle.read(length))


def test_a_truncated_monolith_is_named(tmp_path, monolith):
    cut = tmp_path / monolith.name
    length, _ = _header(monolith)
    with monolith.open("rb") as source, cut.open("wb") as target:
        target.write(source.read(8 + length + 16))  # the header and a sliver of the data, as a cut download
    with pytest.raises(CheckpointError) as info:
        load_ltx23(cut, torch.float32)
    assert str(cut) in str(info.value) and "truncated" in str(info.value)


def _variant(tmp_path: Path, monolith: Path, edit, drop=lambda key: False, name: str = "variant") -> Path:
    """A copy with its config edited and some tensors dropped, streamed tensor by tensor (never the whole
    file in memory)."""
    length, header = _header(monolith)
    metadata = header.pop("__metadata__")
    config = json.loads(metadata["config"])
    edit(config)
    metadata["config"] = json.dumps(config)
    kept = sorted(
        ((k, v) for k, v in header.items() if not drop(k)), key=lambda item: item[1]["data_offsets"]
    )
    table, offset = {"__metadata__": metadata}, 0
    for key, info in kept:
        start, end = info["data_offsets"]
        table[key] = {**info, "data_offsets": [offset, offset + end - start]}
        offset += end - start
    raw = json.dumps(table).encode()
    raw += b" " * (-len(raw) % 8)
    path = tmp_path / f"ltx-2.3-{name}.safetensors"
    with monolith.open("rb") as source, path.open("wb") as target:
        target.write(struct.pack("<Q", len(raw)) + raw)
        for _, info in kept:
            start, end = info["data_offsets"]
            source.seek(8 + length + start)
            target.write(source.read(end - start))
    return path


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("transformer", "num_layers", "2"),
        ("transformer", "apply_gated_attention", "yes"),
        ("transformer", "connector_positional_embedding_max_pos", 4096),
        ("vae", "decoder_base_channels", 4.5),
    ],
)
def test_config_values_of_the_wrong_type_name_the_file_and_key(tmp_path, monolith, section, key, value):
    path = _variant(tmp_path, monolith, lambda c: c[section].__setitem__(key, value))
    with pytest.raises(CheckpointError) as info:
        load_ltx23(path, torch.float32)
    assert str(path) in str(info.value) and key in str(info.value)


def test_a_component_without_weights_is_named(tmp_path, monolith):
    path = _variant(tmp_path, monolith, lambda c: None, drop=lambda k: k.startswith("vocoder."))
    with pytest.raises(CheckpointError) as info:
        load_ltx23(path, torch.float32)
    assert str(path) in str(info.value) and "vocoder" in str(info.value)


def test_a_shallower_model_in_the_same_layout_loads_from_its_config(tmp_path, monolith, reference):
    layers = _config(monolith)["transformer"]["num_layers"]
    last = f"model.diffusion_model.transformer_blocks.{layers - 1}."
    path = _variant(
        tmp_path,
        monolith,
        lambda c: c["transformer"].__setitem__("num_layers", layers - 1),
        drop=lambda k: k.startswith(last),
        name="shallow",
    )
    loaded = load_ltx23(path, torch.float32, only=("transformer",))
    assert len(loaded.transformer.transformer_blocks) == layers - 1
    video, _ = _forward(loaded.transformer, reference)
    assert torch.isfinite(video).all()


def test_a_lora_for_another_model_is_named(tmp_path, lora_file, monolith):
    tensors = load_file(str(lora_file))
    key = next(k for k in tensors if k.endswith(".lora_A.weight"))
    odd_key = key.replace("transformer_blocks.", "no_such_blocks.")
    tensors[odd_key] = tensors[key].clone()
    tensors[odd_key.replace("lora_A", "lora_B")] = tensors[key.replace("lora_A", "lora_B")].clone()
    odd = tmp_path / "other-lora.safetensors"
    save_file(tensors, str(odd))
    transformer = load_ltx23(monolith, torch.float32, only=("transformer",)).transformer
    with pytest.raises(CheckpointError) as info:
        fuse_lora(transformer, load_lora(odd))
    assert str(odd) in str(info.value) and "no_such_blocks" in str(info.value)


def test_an_upsampler_config_of_the_wrong_type_is_named(tmp_path, upscaler_file):
    with safe_open(str(upscaler_file), framework="pt") as handle:
        metadata = dict(handle.metadata())
    config = json.loads(metadata["config"])
    config["mid_channels"] = "wide"
    odd = tmp_path / upscaler_file.name
    save_file(load_file(str(upscaler_file)), str(odd), metadata={**metadata, "config": json.dumps(config)})
    with pytest.raises(CheckpointError) as info:
        load_upsampler(odd)
    assert str(odd) in str(info.value) and "mid_channels" in str(info.value)


def test_release_loader_brings_the_companions(folder, monolith, lora_file, reference, record_property):
    components = load_ltx23_release(monolith, torch.float32, lora_strengths={lora_file: 1.0})
    assert components.text_encoder is not None and components.upsampler is not None
    assert components.companions["fused_loras"] == [lora_file]
    video, _ = _forward(components.transformer, reference)
    _assert_matches(
        "release_lora_video_velocity", video, reference["tf_lora_video_velocity"], record_property
    )


def test_a_copied_release_folder_is_described_the_same(tmp_path, folder):
    copy = tmp_path / "release"
    copy.mkdir()
    for item in folder.iterdir():
        (copy / item.name).symlink_to(item)
    report = describe_checkpoint(ltx23_monolith(copy))
    assert report.ready and report.version == "2.3"


# ------------------------------------------------------------------------------------------ end to end


def test_distilled_two_stage_run_with_the_reference_noise(
    components, text_encoder, upscaler_file, reference, reference_metadata, record_property
):
    """ltx-pipelines' DistilledPipeline (no guidance): stage 1 from the stored noise, the upsampler, stage 2
    from the re-noised upsampled latent, through the engine's public runtime."""
    from engine.models import LTX_2_3, GuidanceParams
    from engine.runtime import LatentState, Runtime

    settings = json.loads(reference_metadata["e2e_settings"])
    runtime = Runtime(components, text_encoder, LTX_2_3, device=torch.device("cpu"), dtype=torch.float32)
    fps = float(settings["frame_rate"])
    max_length = reference["text_token_ids"].shape[1]
    with torch.inference_mode():
        contexts = runtime.encode_prompts(reference_metadata["prompt"], None, max_length)
    plain = GuidanceParams()
    stage1_video, stage1_audio = reference["e2e_stage1_video_latent"], reference["e2e_stage1_audio_latent"]
    grid, channels, audio_frames = tuple(stage1_video.shape[2:]), stage1_audio.shape[1], stage1_audio.shape[2]

    def state(tokens: torch.Tensor, coords: torch.Tensor) -> LatentState:
        return LatentState(tokens, torch.ones_like(tokens[..., :1]), torch.zeros_like(tokens), coords)

    video = state(reference["e2e_noise_00_initial"], runtime.video_coords(grid, fps))
    audio = state(reference["e2e_noise_01_initial"], runtime.audio_coords(audio_frames))
    with torch.inference_mode():
        video, audio = runtime.denoise(
            video, audio, torch.tensor(settings["stage_1_sigmas"]), contexts, plain, plain
        )
    video_latent = runtime.unpack_video(video.latent, grid)
    audio_latent = runtime.unpack_audio(audio.latent, channels)
    _assert_matches("e2e_stage1_video_latent", video_latent, stage1_video, record_property)
    _assert_matches("e2e_stage1_audio_latent", audio_latent, stage1_audio, record_property)

    upsampler = load_upsampler(upscaler_file)
    upsampled = upsample_latent(
        video_latent, upsampler, components.vae.latents_mean, components.vae.latents_std
    )
    _assert_matches(
        "e2e_upsampled_video_latent", upsampled, reference["e2e_upsampled_video_latent"], record_property
    )

    sigmas = torch.tensor(settings["stage_2_sigmas"])
    start = sigmas[0]
    final_grid = tuple(reference["e2e_final_video_latent"].shape[2:])
    video_tokens, audio_tokens = runtime.pack_video(upsampled), runtime.pack_audio(audio_latent)
    video = state(
        (1 - start) * video_tokens + start * reference["e2e_noise_02_initial"],
        runtime.video_coords(final_grid, fps),
    )
    audio = state(
        (1 - start) * audio_tokens + start * reference["e2e_noise_03_initial"],
        runtime.audio_coords(audio_frames),
    )
    with torch.inference_mode():
        video, audio = runtime.denoise(video, audio, sigmas, contexts, plain, plain)
    _assert_matches(
        "e2e_final_video_latent",
        runtime.unpack_video(video.latent, final_grid),
        reference["e2e_final_video_latent"],
        record_property,
    )
    _assert_matches(
        "e2e_final_audio_latent",
        runtime.unpack_audio(audio.latent, channels),
        reference["e2e_final_audio_latent"],
        record_property,
    )


def test_a_lora_is_not_fused_into_a_quantized_transformer(monolith, lora_file):
    from engine.errors import QuantizationError
    from engine.quantization import quantize_module

    transformer = load_ltx23(monolith, torch.float32, only=("transformer",)).transformer
    quantize_module(transformer, "int8")
    with pytest.raises(QuantizationError, match="before quantizing"):
        fuse_lora(transformer, load_lora(lora_file))


# ------------------------------------------------------------------------------------------ the engine


@pytest.fixture(scope="module")
def engine(monolith, gemma_root):
    from engine.engine import Engine

    return Engine.from_checkpoint(monolith, text_encoder=gemma_root, device="cpu")


UNGUIDED = dict(
    guidance_scale=1.0,
    audio_guidance_scale=1.0,
    stg_scale=0.0,
    audio_stg_scale=0.0,
    modality_scale=1.0,
    audio_modality_scale=1.0,
    guidance_rescale=0.0,
    audio_guidance_rescale=0.0,
)


def test_the_engine_generates_with_a_23_file_and_48_khz_sound(
    engine, monolith, reference, reference_metadata
):
    import numpy as np

    from engine.request import GenerationRequest

    assert engine.components.source == str(monolith)
    assert engine.audio_sample_rate == _config(monolith)["vocoder"]["bwe"]["output_sampling_rate"]
    grid = reference["e2e_stage1_video_latent"].shape[2:]
    frames = 1 + (grid[0] - 1) * engine.temporal_ratio
    request = GenerationRequest(
        prompt=reference_metadata["prompt"],
        width=grid[2] * engine.spatial_ratio,
        height=grid[1] * engine.spatial_ratio,
        num_frames=frames,
        fps=24.0,
        steps=2,
        seed=1,
        preview_every=0,
        **UNGUIDED,
    )
    noise = [reference["e2e_noise_00_initial"], reference["e2e_noise_01_initial"]]
    result = engine.generate(request, noise=noise)
    assert (
        result.frames.shape == (frames, request.height, request.width, 3) and np.isfinite(result.frames).all()
    )
    assert result.sample_rate == engine.audio_sample_rate
    assert result.audio.shape[1] == round(frames / request.fps * result.sample_rate)


def test_inpainting_with_a_23_file(engine):
    """Outside the mask the clip is bit-identical, inside it changes."""
    import numpy as np

    from engine.request import GenerationRequest

    side, frames = 2 * engine.spatial_ratio, engine.temporal_ratio + 1
    request = GenerationRequest(
        prompt="a cat", width=side, height=side, num_frames=frames, steps=2, **UNGUIDED
    )
    source = np.random.default_rng(0).random((frames, side, side, 3), dtype=np.float32)
    mask = np.zeros((side, side), np.float32)
    mask[side // 4 : 3 * side // 4, side // 4 : 3 * side // 4] = 1
    result = engine.inpaint(source, None, engine.audio_sample_rate, mask, (0, frames), request)
    keep = mask == 0
    assert np.array_equal(result.frames[:, keep], source[:, keep])
    assert not np.array_equal(result.frames[:, ~keep], source[:, ~keep])


def test_the_vocoder_computes_in_float32_in_a_bfloat16_model(monolith, reference, record_property):
    """As ltx-core's VocoderWithBWE: float32 inside whatever the model dtype, the caller's dtype out."""
    loaded = load_ltx23(monolith, torch.bfloat16, only=("vocoder", "audio_vae"))
    assert all(p.dtype == torch.float32 for p in loaded.vocoder.parameters())
    assert all(p.dtype == torch.bfloat16 for p in loaded.audio_vae.parameters())
    with torch.inference_mode():
        exact = loaded.vocoder(reference["audio_mel_decoded"])
        rounded = loaded.vocoder(reference["audio_mel_decoded"].bfloat16())
    assert rounded.dtype == torch.bfloat16
    _assert_matches("bf16_model_audio_waveform", exact, reference["audio_waveform"], record_property)


def _comfy_tree(
    tmp_path: Path, monolith: Path, gemma_root: Path, upscaler_file: Path, lora_file: Path
) -> Path:
    """The release laid out as a ComfyUI `models/` tree: each kind of file in its own sibling folder."""
    models = tmp_path / "models"
    for kind, item in (
        ("checkpoints", monolith),
        ("latent_upscale_models", upscaler_file),
        ("loras", lora_file),
        ("text_encoders", gemma_root),
    ):
        (models / kind).mkdir(parents=True)
        (models / kind / item.name).symlink_to(item)
    return models / "checkpoints" / monolith.name


def test_a_comfyui_models_tree_finds_its_companions_in_the_sibling_folders(
    tmp_path, monolith, gemma_root, upscaler_file, lora_file
):
    checkpoint = _comfy_tree(tmp_path, monolith, gemma_root, upscaler_file, lora_file)
    report = describe_checkpoint(checkpoint)
    models = checkpoint.parent.parent
    assert report.text_encoder == models / "text_encoders" / gemma_root.name and report.text_encoder_ok
    assert report.upscalers == (models / "latent_upscale_models" / upscaler_file.name,)
    assert report.loras == (models / "loras" / lora_file.name,)
    assert report.ready and not report.missing


def test_a_checkpoint_folder_not_named_like_comfyuis_does_not_look_beside_itself(
    tmp_path, monolith, gemma_root, upscaler_file, lora_file
):
    checkpoint = _comfy_tree(tmp_path, monolith, gemma_root, upscaler_file, lora_file)
    elsewhere = checkpoint.parent.parent / "my_models"
    checkpoint.parent.rename(elsewhere)  # a folder of the user's own: its siblings are not its companions
    report = describe_checkpoint(elsewhere / monolith.name)
    assert not report.text_encoder_ok and not report.upscalers and not report.loras


def test_the_engine_loads_a_comfyui_tree_with_its_upscaler_and_loras(
    tmp_path, monolith, gemma_root, upscaler_file, lora_file
):
    from engine.engine import Engine

    checkpoint = _comfy_tree(tmp_path, monolith, gemma_root, upscaler_file, lora_file)
    gemma = checkpoint.parent.parent / "text_encoders" / gemma_root.name
    engine = Engine.from_checkpoint(checkpoint, text_encoder=gemma, device="cpu")
    assert 2.0 in engine.upsamplers.scales()
    assert Path(engine.components.companions["upsampler"]).parent.name == "latent_upscale_models"
    assert [p.parent.name for p in engine.available_loras] == ["loras"]
