"""The LTX-2.5 release folder against Lightricks' reference outputs (ltx-core 1.2.0, float32 on CPU).

Every comparison derives its shapes from the reference tensors and the files' configs, never from the shared
fixture's sizes: the same tests run on any folder in the 2.5 release layout that carries a
`reference_outputs.safetensors` (other widths, depths, precisions, seeds). Bounds are relative L2 errors; the
measured values on the shared fixture are in the comments (1e-5 leaves room for deeper models).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from engine.errors import CheckpointError
from tests.shared_fixtures import LTX25_FIXTURE, needs_ltx25_fixture

TOL = 1e-5


def rel(actual: torch.Tensor, expected: torch.Tensor) -> float:
    expected = expected.double()
    diff = (actual.double() - expected).norm()
    return float(diff / expected.norm().clamp_min(1e-30))


@pytest.fixture(scope="module")
def refs() -> dict[str, torch.Tensor]:
    return load_file(str(LTX25_FIXTURE / "reference_outputs.safetensors"))


@pytest.fixture(scope="module")
def ref_meta() -> dict[str, str]:
    with safe_open(str(LTX25_FIXTURE / "reference_outputs.safetensors"), "pt") as handle:
        return handle.metadata() or {}


@pytest.fixture(scope="module")
def components():
    from engine.ltx25_layout import load_ltx25

    return load_ltx25(LTX25_FIXTURE, torch.float32)


# --- text path ----------


@needs_ltx25_fixture
def test_text_path_matches_reference(components, refs, ref_meta):
    from engine.text_encoder import encode_prompt_ltx23, gemma_hidden_states, tokenize_ltx

    encoder = components.text_encoder
    assert encoder is not None, "the packed Gemma 4 encoder was not loaded from text_encoders/"
    ids, mask = tokenize_ltx(encoder.tokenizer, ref_meta["prompt"], refs["text_token_ids"].shape[1])
    assert torch.equal(ids, refs["text_token_ids"])
    assert torch.equal(mask, refs["text_attention_mask"])
    hidden = gemma_hidden_states(encoder, ids, mask)
    assert hidden.shape == refs["text_gemma_hidden_states"].shape
    assert rel(hidden, refs["text_gemma_hidden_states"]) < TOL  # measured 0.0

    emb = encode_prompt_ltx23(encoder, components.connectors, ref_meta["prompt"], ids.shape[1])
    assert rel(emb.video_features, refs["text_video_features"]) < TOL  # 0.0
    assert rel(emb.audio_features, refs["text_audio_features"]) < TOL  # 0.0
    assert rel(emb.video_context, refs["video_context"]) < TOL  # 6.1e-8
    assert rel(emb.audio_context, refs["audio_context"]) < TOL  # 5.1e-8
    assert torch.equal(emb.context_mask.to(refs["context_mask"].dtype), refs["context_mask"])


@needs_ltx25_fixture
def test_tokenizer_prepends_bos_once(components):
    tokenizer = components.text_encoder.tokenizer
    ids = tokenizer("a cat").input_ids
    assert ids[0] == tokenizer.bos_token_id
    assert ids.count(tokenizer.bos_token_id) == 1


# --- transformer ----------


def _forward(transformer, refs):
    with torch.inference_mode():
        video, audio = transformer(
            hidden_states=refs["tf_video_tokens"],
            audio_hidden_states=refs["tf_audio_tokens"],
            encoder_hidden_states=refs["video_context"],
            audio_encoder_hidden_states=refs["audio_context"],
            timestep=refs["tf_video_timesteps"][..., 0] * 1000,
            audio_timestep=refs["tf_audio_timesteps"][..., 0] * 1000,
            sigma=refs["tf_sigma"] * 1000,
            audio_sigma=refs["tf_sigma"] * 1000,
            video_coords=refs["tf_video_positions"],
            audio_coords=refs["tf_audio_positions"],
            video_keyframes_mask=refs["tf_video_keyframes_mask"],
            return_dict=False,
        )
    return video, audio


@needs_ltx25_fixture
def test_transformer_forward_with_keyframes_mask(components, refs):
    config = components.transformer.config
    assert config.use_keyframes_abs_pos_embedding
    assert not config.ff_bias  # the 2.5 video FFN has no biases (the audio FFN keeps them)
    video, audio = _forward(components.transformer, refs)
    assert rel(video, refs["tf_video_velocity"]) < TOL  # 1.1e-7
    assert rel(audio, refs["tf_audio_velocity"]) < TOL  # 1.1e-7
    sigma = refs["tf_sigma"].view(-1, 1, 1)
    assert rel(refs["tf_video_tokens"] - sigma * video, refs["tf_video_denoised"]) < TOL
    assert rel(refs["tf_audio_tokens"] - sigma * audio, refs["tf_audio_denoised"]) < TOL


@needs_ltx25_fixture
def test_transformer_forward_with_distilled_lora(refs):
    from engine.ltx25_layout import find_release_files, load_ltx25

    files = find_release_files(LTX25_FIXTURE)
    assert files.loras, "no LoRA in loras/"
    fused = load_ltx25(
        LTX25_FIXTURE,
        torch.float32,
        only=("transformer",),
        load_text_encoder=False,
        lora_strengths={files.loras[0]: 1.0},
    )
    assert fused.companions["fused_loras"] == [files.loras[0]]
    video, audio = _forward(fused.transformer, refs)
    assert rel(video, refs["tf_lora_video_velocity"]) < TOL  # 1.1e-7 (bf16 aggregation, as ltx-core)
    assert rel(audio, refs["tf_lora_audio_velocity"]) < TOL  # 1.1e-7


# --- decoders, encoder, audio ----------


def _stats(module) -> tuple[torch.Tensor, torch.Tensor]:
    shape = (1, -1, 1, 1, 1)
    return module.latents_mean.view(shape), module.latents_std.view(shape)


@needs_ltx25_fixture
def test_conv_video_decode_and_encode(components, refs):
    vae = components.vae
    mean, std = _stats(vae)
    with torch.inference_mode():
        decoded = vae.decode(refs["video_latent"] * std + mean, return_dict=False)[0]
        encoded = (vae.encode(refs["video_pixels"]).latent_dist.mean - mean) / std
    assert decoded.shape == refs["video_decoded"].shape
    assert rel(decoded, refs["video_decoded"]) < TOL  # 0.0
    assert rel(encoded, refs["video_encoded"]) < TOL  # 0.0


@needs_ltx25_fixture
def test_audio_vae_and_vocoder(components, refs):
    audio_vae = components.audio_vae
    latent = refs["audio_latent"]
    batch, channels, frames, mel = latent.shape
    # The audio statistics are per packed token channel (channel-major, as ltx-core's patchifier packs).
    packed = latent.permute(0, 2, 1, 3).reshape(batch, frames, channels * mel)
    packed = packed * audio_vae.latents_std + audio_vae.latents_mean
    latent = packed.reshape(batch, frames, channels, mel).permute(0, 2, 1, 3)
    with torch.inference_mode():
        mel_out = audio_vae.decode(latent, return_dict=False)[0]
        stage = components.vocoder.vocoder(refs["audio_mel_decoded"])
        waveform = components.vocoder(refs["audio_mel_decoded"])
    assert rel(mel_out, refs["audio_mel_decoded"]) < TOL  # 1.6e-6
    assert rel(stage, refs["audio_waveform_vocoder_stage"]) < TOL  # 0.0
    assert waveform.shape == refs["audio_waveform"].shape
    assert rel(waveform, refs["audio_waveform"]) < TOL  # 0.0
    assert components.vocoder.config.output_sampling_rate == 48000


@needs_ltx25_fixture
def test_spatial_upsampler(components, refs):
    from engine.upsampler import upsample_latent

    upsampler = components.upsampler
    assert upsampler is not None, "no upsampler in latent_upscale_models/"
    raw = upsampler(refs["upsampler_latent"])
    assert rel(raw, refs["upsampler_raw_output"]) < TOL  # 5.2e-7
    vae = components.vae
    upsampled = upsample_latent(refs["upsampler_latent"], upsampler, vae.latents_mean, vae.latents_std)
    assert rel(upsampled, refs["upsampled_latent"]) < TOL  # 2.7e-7


@needs_ltx25_fixture
def test_duration_head(components, refs):
    from engine.duration_head import predict_num_frames, predict_seconds

    head = components.duration_head
    assert head is not None, "no duration head in model_patches/"
    seconds = predict_seconds(head, refs["video_context"], refs["audio_context"])
    assert rel(seconds, refs["duration_seconds"]) < TOL  # 0.0
    frames = predict_num_frames(head, refs["video_context"], refs["audio_context"], frame_rate=24.0)
    assert frames == int(refs["duration_num_frames_24fps"].item())


def test_duration_frames_rule():
    from engine.duration_head import seconds_to_num_frames

    assert seconds_to_num_frames(1.0143, 24.0) == 25  # 24 frames -> floored to 17 < 24 -> lifted to 25
    assert seconds_to_num_frames(0.1, 24.0) == 25  # clamped to 1 s first
    assert seconds_to_num_frames(100.0, 24.0) == 473  # 20 s = 480 -> 8k+1 floor
    assert (seconds_to_num_frames(5.0, 24.0) - 1) % 8 == 0


@needs_ltx25_fixture
def test_diffusion_decoder_reproduces_reference(components, refs, ref_meta):
    from engine.diffusion_decoder import decode

    decoder = components.diffusion_decoder
    assert decoder is not None, "no diffusion video decoder in vae/"
    recipe = json.loads(ref_meta.get("diffusion_decoder", "{}"))
    match = re.search(r"manual_seed\((\d+)\)", recipe.get("noise", ""))
    seed = int(match.group(1)) if match else 1234
    generator = torch.Generator("cpu").manual_seed(seed)
    pixels = decode(decoder, refs["video_latent"], generator=generator)
    assert pixels.shape == refs["video_decoded_diffusion"].shape
    assert rel(pixels, refs["video_decoded_diffusion"]) < TOL  # 1.8e-7
    # The same from VAE-space latents (what the runtime holds before decoding).
    mean, std = _stats(decoder)
    generator = torch.Generator("cpu").manual_seed(seed)
    again = decode(decoder, refs["video_latent"] * std + mean, generator=generator, normalized=False)
    assert rel(again, refs["video_decoded_diffusion"]) < TOL


def test_neighborhood_attention_matches_dense_reference():
    """The tiled eager attention equals a dense per-query evaluation, inward-shifted borders included."""
    from engine import diffusion_decoder

    generator = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(1, 4, 5, 6, 2, 8, generator=generator) for _ in range(3))
    kernel = (3, 3, 5)
    budget = diffusion_decoder.NA_SCORE_BUDGET
    try:
        diffusion_decoder.NA_SCORE_BUDGET = 64  # force many query tiles
        tiled = diffusion_decoder.neighborhood_attention(q, k, v, kernel)
    finally:
        diffusion_decoder.NA_SCORE_BUDGET = budget
    dims = q.shape[1:4]
    expected = torch.empty_like(v)
    for t in range(dims[0]):
        for h in range(dims[1]):
            for w in range(dims[2]):
                lo = [
                    min(max(i - kk // 2, 0), n - kk) for i, kk, n in zip((t, h, w), kernel, dims, strict=True)
                ]
                keys = k[0, lo[0] : lo[0] + kernel[0], lo[1] : lo[1] + kernel[1], lo[2] : lo[2] + kernel[2]]
                vals = v[0, lo[0] : lo[0] + kernel[0], lo[1] : lo[1] + kernel[1], lo[2] : lo[2] + kernel[2]]
                keys = keys.reshape(-1, 2, 8)
                vals = vals.reshape(-1, 2, 8)
                scores = torch.einsum("hd,nhd->hn", q[0, t, h, w], keys).softmax(-1)
                expected[0, t, h, w] = torch.einsum("hn,nhd->hd", scores, vals)
    assert rel(tiled, expected) < 1e-6


# --- the folder: discovery, description and errors ----------


@needs_ltx25_fixture
def test_describe_checkpoint_names_what_it_found():
    from engine.checkpoint import CheckpointLayout
    from engine.checkpoint_report import describe_checkpoint

    report = describe_checkpoint(LTX25_FIXTURE)
    assert report.layout is CheckpointLayout.RELEASE_FOLDER
    assert report.version == "2.5" and report.text_encoder_ok
    assert not [item for item in report.missing if item.required]


def _linked_copy(tmp_path: Path, skip: str | None = None) -> Path:
    """The fixture folder as symlinks (cheap), without files whose name contains `skip`."""
    root = tmp_path / "release"
    for source in LTX25_FIXTURE.rglob("*.safetensors"):
        if skip and skip in source.name:
            continue
        target = root / source.relative_to(LTX25_FIXTURE)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(source)
    return root


def _rewrite(path: Path, metadata_update: dict[str, str]) -> None:
    """Replace a (linked) safetensors file by a copy with updated metadata."""
    with safe_open(str(path), "pt") as handle:
        metadata = dict(handle.metadata() or {})
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    metadata.update(metadata_update)
    path.unlink()
    save_file(tensors, str(path), metadata=metadata)


@needs_ltx25_fixture
@pytest.mark.parametrize(
    ("skip", "component"),
    [
        ("transformer", "transformer"),
        ("gemma4", "text_encoder"),
        ("video-vae-conv", "vae"),
        ("audio-vae", "audio_vae"),
    ],
)
def test_missing_component_file_is_named(tmp_path, skip, component):
    from engine.ltx25_layout import find_release_files

    root = _linked_copy(tmp_path, skip=skip)
    with pytest.raises(CheckpointError) as info:
        find_release_files(root)
    assert info.value.component == component
    assert ".safetensors" in str(info.value)


@needs_ltx25_fixture
def test_optional_files_may_be_missing(tmp_path):
    from engine.ltx25_layout import find_release_files

    root = _linked_copy(tmp_path, skip="duration-head")
    shutil.rmtree(root / "loras")
    files = find_release_files(root)
    assert files.duration_head is None and files.loras == ()


@needs_ltx25_fixture
def test_pickle_component_is_refused_by_name(tmp_path):
    from engine.ltx25_layout import find_release_files

    root = _linked_copy(tmp_path, skip="audio-vae")
    pickle = root / "vae" / "ltx-2.5-audio-vae-bf16.pt"
    pickle.write_bytes(b"\x80\x02}q\x00.")
    with pytest.raises(CheckpointError) as info:
        find_release_files(root)
    assert info.value.path == pickle
    assert "pickle" in str(info.value)


@needs_ltx25_fixture
def test_gemma_version_mismatch_is_refused(tmp_path):
    from engine.ltx25_layout import find_release_files, load_ltx25

    root = _linked_copy(tmp_path)
    transformer = find_release_files(root).transformer
    _rewrite(transformer, {"gemma_source_checkpoint": json.dumps({"gemma_version": "gemma4-other-v9"})})
    with pytest.raises(CheckpointError) as info:
        load_ltx25(root, torch.float32)
    message = str(info.value)
    assert "gemma4-other-v9" in message and transformer.name in message
    assert info.value.component == "text_encoder"


def _set_config(path: Path, section: str, key: str, value) -> None:
    with safe_open(str(path), "pt") as handle:
        config = json.loads(handle.metadata()["config"])
    target = config[section]
    for part in key.split(".")[:-1]:
        target = target[part]
    target[key.split(".")[-1]] = value
    _rewrite(path, {"config": json.dumps(config)})


@needs_ltx25_fixture
@pytest.mark.parametrize(
    ("role", "section", "key", "value"),
    [
        ("transformer", "transformer", "num_layers", "two"),
        ("transformer", "transformer", "ff_bias", "no"),
        ("conv_vae", "vae", "latent_channels", [128]),
        ("audio_vae", "vocoder", "bwe", "none"),
    ],
)
def test_wrong_config_types_name_the_file(tmp_path, role, section, key, value):
    from engine.ltx25_layout import find_release_files, load_ltx25

    root = _linked_copy(tmp_path)
    path = getattr(find_release_files(root), role)
    _set_config(path, section, key, value)
    with pytest.raises(CheckpointError) as info:
        load_ltx25(root, torch.float32, load_text_encoder=False, load_diffusion_decoder=False)
    assert info.value.path == path, str(info.value)


@needs_ltx25_fixture
def test_wrong_diffusion_decoder_config_names_the_file(tmp_path):
    from engine.diffusion_decoder import load_diffusion_decoder
    from engine.ltx25_layout import find_release_files

    root = _linked_copy(tmp_path)
    path = find_release_files(root).diffusion_vae
    _set_config(path, "vae", "decoder.stage_channels", "wide")
    with pytest.raises(CheckpointError) as info:
        load_diffusion_decoder(path)
    assert info.value.path == path


@needs_ltx25_fixture
def test_wrong_duration_head_config_names_the_file(tmp_path):
    from engine.duration_head import load_duration_head
    from engine.ltx25_layout import find_release_files

    root = _linked_copy(tmp_path)
    path = find_release_files(root).duration_head
    _set_config(path, "duration_head", "pooler_hidden_dim", "big")
    with pytest.raises(CheckpointError) as info:
        load_duration_head(path)
    assert info.value.path == path


@needs_ltx25_fixture
def test_text_encoder_without_gemma_config_is_refused(tmp_path):
    from engine.gemma4_encoder import load_packed_gemma4
    from engine.ltx25_layout import find_release_files

    root = _linked_copy(tmp_path)
    path = find_release_files(root).text_encoder
    with safe_open(str(path), "pt") as handle:
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    path.unlink()
    bare = path.with_name("gemma-bare.safetensors")
    save_file(tensors, str(bare), metadata={"format": "pt"})
    with pytest.raises(CheckpointError) as info:
        load_packed_gemma4(bare)
    assert info.value.path == bare and "gemma_config" in str(info.value)
    with pytest.raises(CheckpointError) as info:
        find_release_files(root)
    assert info.value.component == "text_encoder"


# --- end to end: the distilled stage 1 (Euler-ancestral in 2.5) with the reference's noise ----------


@needs_ltx25_fixture
def test_distilled_stage1_with_reference_noise(components, refs, ref_meta):
    """Stage 1 of ltx-pipelines' DistilledPipeline, driven by the stored draws, reproduces its latents."""
    from engine.sampling import euler_ancestral_step, first_frame_keyframes_mask

    settings = json.loads(ref_meta["e2e_settings"])
    assert settings.get("ancestral_stage_1"), "the reference's stage 1 is not ancestral"
    order = json.loads(ref_meta["e2e_noise_draw_order"])
    draws = [refs[f"e2e_noise_{i:02d}_{kind}"] for i, kind in enumerate(order)]
    sigmas = torch.tensor(settings["stage_1_sigmas"], dtype=torch.float32)
    video_ref, audio_ref = refs["e2e_stage1_video_latent"], refs["e2e_stage1_audio_latent"]
    _, channels, frames, height, width = video_ref.shape
    audio_channels, audio_frames, mel = audio_ref.shape[1:]
    video, audio = draws[0].clone(), draws[1].clone()  # noise scale 1 at sigma 1: x = noise
    ancestral = iter(draws[2 : 2 + 2 * (len(sigmas) - 2)])
    transformer = components.transformer
    device = torch.device("cpu")
    video_coords = transformer.rope.prepare_video_coords(
        1, frames, height, width, device, fps=settings["frame_rate"]
    )
    audio_coords = transformer.audio_rope.prepare_audio_coords(1, audio_frames, device)
    # ltx-core marks the first latent frame as a keyframe in every run (the 2.5 model embeds it).
    keyframes = first_frame_keyframes_mask(1, frames, height, width)
    for step in range(len(sigmas) - 1):
        sigma, sigma_next = sigmas[step], sigmas[step + 1]
        with torch.inference_mode():
            v, a = transformer(
                hidden_states=video,
                audio_hidden_states=audio,
                encoder_hidden_states=refs["video_context"],
                audio_encoder_hidden_states=refs["audio_context"],
                timestep=(sigma * 1000).expand(1, video.shape[1]),
                audio_timestep=(sigma * 1000).expand(1, audio.shape[1]),
                sigma=(sigma * 1000).view(1),
                audio_sigma=(sigma * 1000).view(1),
                video_coords=video_coords,
                audio_coords=audio_coords,
                video_keyframes_mask=keyframes,
                return_dict=False,
            )
        noise_v, noise_a = (next(ancestral), next(ancestral)) if sigma_next > 0 else (None, None)
        video = euler_ancestral_step(video, video - sigma * v, sigma, sigma_next, noise_v)
        audio = euler_ancestral_step(audio, audio - sigma * a, sigma, sigma_next, noise_a)
    video = video.reshape(1, frames, height, width, channels).permute(0, 4, 1, 2, 3)
    audio = audio.reshape(1, audio_frames, audio_channels, mel).permute(0, 2, 1, 3)
    assert rel(video, video_ref) < TOL  # 9.6e-8 (4e-2 without the first-frame keyframe mask)
    assert rel(audio, audio_ref) < TOL  # 9.7e-8


# --- through the engine -----------------------------------------------------------------------------


@needs_ltx25_fixture
def test_engine_from_release_folder(refs):
    """Engine.from_checkpoint takes the folder (text encoder found inside) and generates; its runtime gives
    the 2.5 transformer the first-frame keyframe marker ltx-core always passes."""
    from engine.engine import Engine
    from engine.request import GenerationRequest

    engine = Engine.from_checkpoint(LTX25_FIXTURE, device="cpu")
    assert engine.runtime.spec.version == "2.5"
    velocity = engine.runtime.velocity(
        refs["tf_video_tokens"],
        refs["tf_audio_tokens"],
        refs["video_context"],
        refs["audio_context"],
        refs["tf_video_timesteps"],
        refs["tf_audio_timesteps"],
        refs["tf_sigma"],
        refs["tf_sigma"],
        refs["tf_video_positions"],
        refs["tf_audio_positions"],
    )
    assert rel(velocity[0], refs["tf_video_velocity"]) < TOL  # 1.1e-7: the mask derived from positions
    assert rel(velocity[1], refs["tf_audio_velocity"]) < TOL
    unguided = dict(guidance_scale=1.0, audio_guidance_scale=1.0, stg_scale=0.0, audio_stg_scale=0.0)
    unguided.update(modality_scale=1.0, audio_modality_scale=1.0)  # one transformer pass per step: fast
    request = GenerationRequest(prompt="a cat", width=64, height=32, num_frames=9, steps=2, **unguided)
    # The quality option end to end: the diffusion decoder decodes the final latents.
    result = engine.generate(request.with_changes(video_decoder="diffusion"))
    assert result.frames.shape[:3] == (9, 32, 64)
    assert result.sample_rate == engine.components.vocoder.config.output_sampling_rate
    assert result.metadata["parameters"]["video_decoder"] == "diffusion"


def test_diffusion_decoder_option_needs_the_file():
    from engine.engine import Engine
    from engine.errors import RequestError
    from engine.request import GenerationRequest

    engine = Engine.tiny()
    request = GenerationRequest(prompt="a cat", width=64, height=64, num_frames=9, steps=2)
    with pytest.raises(RequestError, match="diffusion video decoder"):
        engine.generate(request.with_changes(video_decoder="diffusion"))
    with pytest.raises(RequestError, match="unknown"):
        engine.generate(request.with_changes(video_decoder="best"))


@needs_ltx25_fixture
def test_engine_runtime_stage1_with_reference_noise(refs, ref_meta):
    """The same distilled stage 1 through the engine's own runtime (its text path, positions, keyframe marker
    and x0 model) with the ancestral step: the engine computes what ltx-pipelines computes."""
    from engine.engine import Engine
    from engine.runtime import LatentState
    from engine.sampling import euler_ancestral_step

    settings = json.loads(ref_meta["e2e_settings"])
    order = json.loads(ref_meta["e2e_noise_draw_order"])
    draws = [refs[f"e2e_noise_{i:02d}_{kind}"] for i, kind in enumerate(order)]
    sigmas = torch.tensor(settings["stage_1_sigmas"], dtype=torch.float32)
    engine = Engine.from_checkpoint(LTX25_FIXTURE, device="cpu")
    assert engine.dtype == torch.float32  # the reference ran in float32
    runtime = engine.runtime
    width, height, frames, fps = (
        settings["width"] // 2,
        settings["height"] // 2,
        settings["num_frames"],
        settings["frame_rate"],
    )
    grid = runtime.latent_grid(width, height, frames)
    channels, audio_frames, _ = runtime.audio_latent_shape(frames, fps)
    with torch.no_grad():
        video_context, audio_context = runtime.encode_text(
            ref_meta["prompt"], refs["text_token_ids"].shape[1]
        )
    video = LatentState.from_noise(draws[0], runtime.video_coords(grid, fps))
    audio = LatentState.from_noise(draws[1], runtime.audio_coords(audio_frames))
    ancestral = iter(draws[2:])
    for step in range(len(sigmas) - 1):
        sigma, sigma_next = sigmas[step], sigmas[step + 1]
        with torch.no_grad():
            v_x0, a_x0 = runtime.x0(video, audio, sigma, video_context, audio_context)
        noise_v, noise_a = (next(ancestral), next(ancestral)) if sigma_next > 0 else (None, None)
        video = LatentState(
            euler_ancestral_step(video.latent, v_x0, sigma, sigma_next, noise_v),
            video.mask,
            video.clean,
            video.coords,
        )
        audio = LatentState(
            euler_ancestral_step(audio.latent, a_x0, sigma, sigma_next, noise_a),
            audio.mask,
            audio.clean,
            audio.coords,
        )
    assert rel(runtime.unpack_video(video.latent, grid), refs["e2e_stage1_video_latent"]) < TOL
    assert rel(runtime.unpack_audio(audio.latent, channels), refs["e2e_stage1_audio_latent"]) < TOL


@needs_ltx25_fixture
def test_inpainting_with_the_release_folder():
    """Inpainting runs on LTX-2.5: outside the mask the clip is bit-identical, inside it changes."""
    import numpy as np

    from engine.engine import Engine
    from engine.request import GenerationRequest

    engine = Engine.from_checkpoint(LTX25_FIXTURE, device="cpu")
    side, frames = 2 * engine.spatial_ratio, engine.temporal_ratio + 1
    unguided = dict(guidance_scale=1.0, audio_guidance_scale=1.0, stg_scale=0.0, audio_stg_scale=0.0)
    request = GenerationRequest(
        prompt="a cat", width=side, height=side, num_frames=frames, steps=2, **unguided
    )
    source = np.random.default_rng(0).random((frames, side, side, 3), dtype=np.float32)
    mask = np.zeros((side, side), np.float32)
    mask[side // 4 : 3 * side // 4, side // 4 : 3 * side // 4] = 1
    result = engine.inpaint(source, None, engine.audio_sample_rate, mask, (0, frames), request)
    keep = mask == 0
    assert np.array_equal(result.frames[:, keep], source[:, keep])
    assert not np.array_equal(result.frames[:, ~keep], source[:, ~keep])


@needs_ltx25_fixture
def test_describe_checkpoint_reports_a_gemma_version_mismatch(tmp_path):
    from engine.checkpoint_report import describe_checkpoint
    from engine.ltx25_layout import find_release_files

    assert describe_checkpoint(LTX25_FIXTURE).text_encoder_ok
    root = _linked_copy(tmp_path)
    transformer = find_release_files(root).transformer
    _rewrite(transformer, {"gemma_source_checkpoint": json.dumps({"gemma_version": "gemma4-other-v9"})})
    report = describe_checkpoint(root)
    assert not report.text_encoder_ok
    assert "gemma4-other-v9" in report.text_encoder_problem


@needs_ltx25_fixture
def test_distilled_stage2_with_reference_noise(components, refs, ref_meta):
    """Stage 2 from the reference's stage-1 result: x2 upsampler, re-noise to the first stage-2 sigma with the
    stored draws, plain Euler (ltx-pipelines' stage 2 is deterministic in every version)."""
    from engine.sampling import euler_step, first_frame_keyframes_mask
    from engine.upsampler import upsample_latent

    settings = json.loads(ref_meta["e2e_settings"])
    order = json.loads(ref_meta["e2e_noise_draw_order"])
    # the last two draws: stage-2 video, then audio
    video_noise = refs[f"e2e_noise_{len(order) - 2:02d}_{order[-2]}"]
    audio_noise = refs[f"e2e_noise_{len(order) - 1:02d}_{order[-1]}"]
    vae = components.vae
    upsampled = upsample_latent(
        refs["e2e_stage1_video_latent"], components.upsampler, vae.latents_mean, vae.latents_std
    )
    assert rel(upsampled, refs["e2e_upsampled_video_latent"]) < TOL  # 1.7e-7
    sigmas = torch.tensor(settings["stage_2_sigmas"], dtype=torch.float32)
    _, channels, frames, height, width = upsampled.shape
    stage1_audio = refs["e2e_stage1_audio_latent"]
    audio_channels, audio_frames, mel = stage1_audio.shape[1:]
    start = sigmas[0]
    video_clean = refs["e2e_upsampled_video_latent"].permute(0, 2, 3, 4, 1).reshape(1, -1, channels)
    audio_clean = stage1_audio.permute(0, 2, 1, 3).reshape(1, audio_frames, audio_channels * mel)
    video = (1 - start) * video_clean + start * video_noise
    audio = (1 - start) * audio_clean + start * audio_noise
    transformer = components.transformer
    device = torch.device("cpu")
    video_coords = transformer.rope.prepare_video_coords(
        1, frames, height, width, device, fps=settings["frame_rate"]
    )
    audio_coords = transformer.audio_rope.prepare_audio_coords(1, audio_frames, device)
    keyframes = first_frame_keyframes_mask(1, frames, height, width)
    for step in range(len(sigmas) - 1):
        sigma, sigma_next = sigmas[step], sigmas[step + 1]
        with torch.inference_mode():
            v, a = transformer(
                hidden_states=video,
                audio_hidden_states=audio,
                encoder_hidden_states=refs["video_context"],
                audio_encoder_hidden_states=refs["audio_context"],
                timestep=(sigma * 1000).expand(1, video.shape[1]),
                audio_timestep=(sigma * 1000).expand(1, audio.shape[1]),
                sigma=(sigma * 1000).view(1),
                audio_sigma=(sigma * 1000).view(1),
                video_coords=video_coords,
                audio_coords=audio_coords,
                video_keyframes_mask=keyframes,
                return_dict=False,
            )
        video = euler_step(video, video - sigma * v, float(sigma), float(sigma_next))
        audio = euler_step(audio, audio - sigma * a, float(sigma), float(sigma_next))
    video = video.reshape(1, frames, height, width, channels).permute(0, 4, 1, 2, 3)
    audio = audio.reshape(1, audio_frames, audio_channels, mel).permute(0, 2, 1, 3)
    assert rel(video, refs["e2e_final_video_latent"]) < TOL  # 9.5e-8
    assert rel(audio, refs["e2e_final_audio_latent"]) < TOL  # 9.3e-8


@needs_ltx25_fixture
@pytest.mark.parametrize(("key", "value"), [("hidden_size", "wide"), ("num_hidden_layers", -1)])
def test_wrong_gemma_config_names_the_file(tmp_path, key, value):
    from engine.gemma4_encoder import load_packed_gemma4
    from engine.ltx25_layout import find_release_files

    root = _linked_copy(tmp_path)
    path = find_release_files(root).text_encoder
    with safe_open(str(path), "pt") as handle:
        config = json.loads(handle.metadata()["gemma_config"])
    config["text_config"][key] = value
    _rewrite(path, {"gemma_config": json.dumps(config)})
    with pytest.raises(CheckpointError) as info:
        load_packed_gemma4(path)
    assert info.value.path == path


def test_ancestral_step_reduces_to_euler_and_ends_on_x0():
    from engine.sampling import euler_ancestral_step, euler_step

    generator = torch.Generator().manual_seed(0)
    sample, denoised = torch.randn(2, 5, 8, generator=generator), torch.randn(2, 5, 8, generator=generator)
    plain = euler_step(sample, denoised, 0.8, 0.5)
    assert torch.allclose(euler_ancestral_step(sample, denoised, 0.8, 0.5, None, eta=0.0), plain, atol=1e-6)
    assert torch.equal(euler_ancestral_step(sample, denoised, 0.4, 0.0, None), denoised)
    with pytest.raises(ValueError):
        euler_ancestral_step(sample, denoised, 0.8, 0.5, None)
