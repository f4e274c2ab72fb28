"""Our engine against Lightricks' reference implementation on the shared LTX-2.0 fixture.

`reference_forward.safetensors` holds the text path, transformer forwards (plain, STG, modality-isolated,
image-to-video), sigma schedules and whole denoising runs computed by ltx-core / ltx-pipelines. Every shape,
block index, size, prompt and guidance setting comes from the file's tensors and metadata, so the same tests
check any checkpoint in the same layout (other widths, depths, precisions, seeds).
"""

from __future__ import annotations

import json
import math
import re

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file
from shared_fixtures import LTX2_FIXTURE, needs_ltx2_fixture

from engine.engine import Engine
from engine.models import GuidanceParams
from engine.request import GenerationRequest
from engine.runtime import LatentState

pytestmark = needs_ltx2_fixture

REFERENCE = "reference_forward.safetensors"
# Relative L2 bound (float32 on CPU on both sides; measured 1e-7..1e-6).
TOLERANCE = 1e-4


def relative_error(ours: torch.Tensor, ref: torch.Tensor) -> float:
    ours, ref = ours.detach().float().cpu(), ref.float()
    assert tuple(ours.shape) == tuple(ref.shape), (tuple(ours.shape), tuple(ref.shape))
    return ((ours - ref).norm() / ref.norm().clamp_min(1e-30)).item()


def check(name: str, ours: torch.Tensor, ref: torch.Tensor, record_property, bound: float = TOLERANCE):
    error = relative_error(ours, ref)
    print(f"{name}: relative L2 error {error:.2e}")
    record_property(f"{name}_relative_error", error)
    assert error <= bound, (name, error)


@pytest.fixture(scope="module")
def reference() -> dict[str, torch.Tensor]:
    return load_file(str(LTX2_FIXTURE / REFERENCE))


@pytest.fixture(scope="module")
def metadata() -> dict:
    with safe_open(str(LTX2_FIXTURE / REFERENCE), framework="pt") as handle:
        raw = handle.metadata()
    return {key: (json.loads(value) if key in ("prompts", "forward_cases", "e2e") else value)
            for key, value in raw.items()}


@pytest.fixture(scope="module")
def engine(metadata) -> Engine:
    return Engine.from_checkpoint(
        LTX2_FIXTURE / metadata["checkpoint"], text_encoder=LTX2_FIXTURE / "gemma", device="cpu"
    )


def prompt_indices(reference) -> list[int]:
    return sorted({int(m.group(1)) for k in reference if (m := re.match(r"text\.p(\d+)\.", k))})


def forward_cases(metadata) -> list[str]:
    return sorted(metadata["forward_cases"])


# ------------------------------------------------------------------------------------------------ text


def test_text_path_matches_the_reference(engine, reference, metadata, record_property):
    runtime = engine.runtime
    indices = prompt_indices(reference)
    assert indices, "the reference file holds no text cases"
    for i in indices:
        prompt = metadata["prompts"][i]
        length = reference[f"text.p{i}.input_ids"].shape[1]
        ids, mask = runtime.tokenize(prompt, length)
        assert torch.equal(ids, reference[f"text.p{i}.input_ids"]), f"p{i} token ids"
        assert torch.equal(mask, reference[f"text.p{i}.attention_mask"]), f"p{i} attention mask"
        with torch.no_grad():
            hidden, _ = runtime.text_hidden_states(prompt, length)
            real = mask.bool()[0]
            ref_hidden = reference[f"text.p{i}.gemma_hidden_states"]
            # Only real tokens are meaningful (padded positions are ignored downstream).
            check(f"p{i}.gemma_hidden_states", hidden[0][real], ref_hidden[0][real], record_property)
            connectors = engine.components.connectors
            if not connectors.config.per_modality_projections:
                from diffusers.pipelines.ltx2.connectors import per_layer_masked_mean_norm

                features = connectors.text_proj_in(
                    per_layer_masked_mean_norm(hidden, mask.sum(-1), hidden.device, "left", 8)
                )
                check(f"p{i}.features", features, reference[f"text.p{i}.features"], record_property)
            video, audio = runtime.encode_text(prompt, length)
        check(f"p{i}.video_context", video, reference[f"text.p{i}.video_context"], record_property)
        check(f"p{i}.audio_context", audio, reference[f"text.p{i}.audio_context"], record_property)
        # The reference attends to every position after the connectors (no mask); so do we.
        assert bool(reference[f"text.p{i}.context_mask"].all())


# ------------------------------------------------------------------------------------------- forwards


def _states(reference, key):
    def state(name: str) -> LatentState:
        latent = reference[f"{key}.{name}_latent"]
        ones, zeros = torch.ones_like(latent[..., :1]), torch.zeros_like(latent)
        return LatentState(latent, ones, zeros, reference[f"{key}.{name}_positions"])

    return state("video"), state("audio")


def _contexts(reference):
    return reference["text.p0.video_context"], reference["text.p0.audio_context"]


def test_positions_for_each_forward_size_match_the_reference(engine, reference, metadata):
    runtime = engine.runtime
    for key in forward_cases(metadata):
        case = metadata["forward_cases"][key]
        grid = runtime.latent_grid(case["width"], case["height"], case["num_frames"])
        assert list(grid) == list(case["latent_fhw"])
        frames = runtime.audio_latent_frames(case["num_frames"], case["frame_rate"])
        assert frames == case["audio_latent_frames"]
        coords = runtime.video_coords(grid, case["frame_rate"]).cpu()
        assert torch.equal(coords, reference[f"{key}.video_positions"])
        assert torch.equal(runtime.audio_coords(frames).cpu(), reference[f"{key}.audio_positions"])


def test_plain_forward_matches_the_reference(engine, reference, metadata, record_property):
    vc, ac = _contexts(reference)
    for key in forward_cases(metadata):
        video, audio = _states(reference, key)
        sigma = reference[f"{key}.sigma"]
        with torch.no_grad():
            v_x0, a_x0 = engine.runtime.x0(video, audio, sigma, vc, ac)
        check(f"{key}.video_x0", v_x0, reference[f"{key}.video_x0"], record_property)
        check(f"{key}.audio_x0", a_x0, reference[f"{key}.audio_x0"], record_property)
        s = float(sigma)
        for name, latent, x0 in (("video", video.latent, v_x0), ("audio", audio.latent, a_x0)):
            velocity = reference[f"{key}.{name}_velocity"]
            check(f"{key}.{name}_velocity", (latent - x0) / s, velocity, record_property)


def _velocities(engine, reference, key, **perturbation):
    vc, ac = _contexts(reference)
    video, audio = _states(reference, key)
    sigma = reference[f"{key}.sigma"]
    with torch.no_grad():
        v_x0, a_x0 = engine.runtime.x0(video, audio, sigma, vc, ac, **perturbation)
    s = float(sigma)
    return (video.latent - v_x0) / s, (audio.latent - a_x0) / s


def test_stg_forward_perturbs_the_reference_block(engine, reference, metadata, record_property):
    cases = [k for k in forward_cases(metadata) if f"{k}.stg_video_velocity" in reference]
    assert cases, "the reference file holds no STG case"
    for key in cases:
        block = metadata["forward_cases"][key]["stg_block"]
        v, a = _velocities(engine, reference, key, video_stg_blocks=(block,), audio_stg_blocks=(block,))
        check(f"{key}.stg_video_velocity", v, reference[f"{key}.stg_video_velocity"], record_property)
        check(f"{key}.stg_audio_velocity", a, reference[f"{key}.stg_audio_velocity"], record_property)
        # STG really perturbs: the plain velocity differs measurably (so the match above means something).
        assert relative_error(v, reference[f"{key}.video_velocity"]) > 10 * TOLERANCE


def test_stg_on_some_samples_of_a_batch_perturbs_only_those(engine, reference, metadata, record_property):
    """Guidance passes run as one batch: the STG sample is perturbed, the conditioned one is not."""
    cases = [k for k in forward_cases(metadata) if f"{k}.stg_video_velocity" in reference]
    vc, ac = _contexts(reference)
    for key in cases:
        block = (metadata["forward_cases"][key]["stg_block"],)
        video, audio = _states(reference, key)
        sigma = reference[f"{key}.sigma"]
        v_t, a_t = video.mask * sigma, audio.mask * sigma

        def two(t: torch.Tensor) -> torch.Tensor:
            return t.repeat(2, *([1] * (t.ndim - 1)))

        with torch.no_grad():
            v, a = engine.runtime.velocity(
                two(video.latent), two(audio.latent), two(vc), two(ac), two(v_t), two(a_t), sigma, sigma,
                two(video.coords), two(audio.coords), video_stg_blocks=block, audio_stg_blocks=block,
                stg_samples=torch.tensor([False, True]),
            )
        for name, ours in (("video_velocity", v[:1]), ("stg_video_velocity", v[1:]),
                           ("stg_audio_velocity", a[1:])):
            check(f"{key}.batched_{name}", ours, reference[f"{key}.{name}"], record_property)


def test_modality_isolated_forward_matches_the_reference(engine, reference, metadata, record_property):
    cases = [k for k in forward_cases(metadata) if f"{k}.isolated_video_velocity" in reference]
    assert cases, "the reference file holds no modality-isolation case"
    for key in cases:
        v, a = _velocities(engine, reference, key, isolate_modalities=True)
        for name, ours in (("video", v), ("audio", a)):
            ref = reference[f"{key}.isolated_{name}_velocity"]
            check(f"{key}.isolated_{name}_velocity", ours, ref, record_property)


def test_image_to_video_forward_uses_per_token_timesteps_and_the_other_modalitys_sigma(
    engine, reference, metadata, record_property
):
    cases = [k for k in forward_cases(metadata) if f"{k}.i2v_denoise_mask" in reference]
    assert cases, "the reference file holds no image-to-video case"
    vc, ac = _contexts(reference)
    for key in cases:
        video, audio = _states(reference, key)
        mask, sigma = reference[f"{key}.i2v_denoise_mask"], reference[f"{key}.sigma"]
        assert 0 < mask.sum() < mask.numel()  # some tokens clean, some noisy
        with torch.no_grad():
            audio_timesteps = torch.ones_like(audio.latent[..., :1]) * sigma
            v, a = engine.runtime.velocity(
                video.latent, audio.latent, vc, ac, mask * sigma, audio_timesteps,
                sigma, sigma, video.coords, audio.coords,
            )
        check(f"{key}.i2v_video_velocity", v, reference[f"{key}.i2v_video_velocity"], record_property)
        check(f"{key}.i2v_audio_velocity", a, reference[f"{key}.i2v_audio_velocity"], record_property)


# ------------------------------------------------------------------------------------------------ sigmas


def test_sigma_schedules_match_the_reference(engine, reference, record_property):
    keys = [k for k in reference if re.fullmatch(r"sigmas\.n\d+\.default", k)]
    assert keys, "the reference file holds no sigma schedule"
    for key in keys:
        steps = int(re.fullmatch(r"sigmas\.n(\d+)\.default", key).group(1))
        ours = engine.spec.sigmas(steps)
        assert len(ours) == steps + 1 and ours[-1] == 0
        error = (ours - reference[key]).abs().max().item()
        record_property(f"{key}_max_abs_error", error)
        assert error <= 1e-6, (key, error)


# ------------------------------------------------------------------------------------------- end to end


def _guidance(case: dict) -> GuidanceParams:
    return GuidanceParams(
        cfg_scale=case["cfg_scale"],
        stg_scale=case["stg_scale"],
        stg_blocks=tuple(case["stg_blocks"]),
        rescale_scale=case["rescale_scale"],
        modality_scale=case["modality_scale"],
    )


def _request(e2e: dict, reference, case: str) -> GenerationRequest:
    video, audio = (e2e["cases"][case][m] for m in ("video", "audio"))
    for params in (video, audio):
        assert params.get("skip_step", 0) == 0, "step skipping is not supported"
    return GenerationRequest(
        prompt=e2e["prompt"],
        negative_prompt=e2e["negative_prompt"],
        width=e2e["width"],
        height=e2e["height"],
        num_frames=e2e["num_frames"],
        fps=e2e["frame_rate"],
        steps=e2e["steps"],
        seed=e2e["noise_seed"],
        guidance_scale=video["cfg_scale"],
        audio_guidance_scale=audio["cfg_scale"],
        stg_scale=video["stg_scale"],
        audio_stg_scale=audio["stg_scale"],
        stg_blocks=tuple(video["stg_blocks"]),
        modality_scale=video["modality_scale"],
        audio_modality_scale=audio["modality_scale"],
        guidance_rescale=video["rescale_scale"],
        audio_guidance_rescale=audio["rescale_scale"],
        preview_every=0,
        max_sequence_length=reference["text.p0.input_ids"].shape[1],
    )


def test_end_to_end_sigmas_are_the_default_schedule(engine, reference, metadata):
    e2e = metadata["e2e"]
    assert torch.allclose(engine.spec.sigmas(e2e["steps"]), reference["e2e.sigmas"], atol=1e-6, rtol=0)


def test_seeded_noise_is_the_reference_draw(engine, reference, metadata):
    """On the CPU, our seed draws what the reference pipeline draws (video tokens, then audio tokens)."""
    e2e = metadata["e2e"]
    request = engine.resolve(_request(e2e, reference, sorted(e2e["cases"])[0]))
    video, audio = engine.initial_noise(
        request, reference["e2e.noise_video"].shape[1], reference["e2e.noise_audio"].shape[1]
    )
    assert torch.equal(video, reference["e2e.noise_video"])
    assert torch.equal(audio, reference["e2e.noise_audio"])


@pytest.mark.parametrize("case", ["cfg", "refdef"])
def test_end_to_end_run_matches_the_reference(engine, reference, metadata, case, record_property):
    e2e = metadata["e2e"]
    if case not in e2e["cases"]:
        pytest.skip(f"the reference file has no e2e case '{case}'")
    request = _request(e2e, reference, case)
    noise = [reference["e2e.noise_video"], reference["e2e.noise_audio"]]
    video, audio = (e2e["cases"][case][m] for m in ("video", "audio"))
    if video["stg_blocks"] == audio["stg_blocks"]:
        result = engine.generate(request, noise=noise)
        video_latents, audio_latents = result.video_latents, result.audio_latents
        assert result.metadata["noise"] == "caller-supplied"
    else:  # the request has one STG block list; run the loop with the reference's two
        runtime = engine.runtime
        resolved = engine.resolve(request)
        grid = runtime.latent_grid(resolved.width, resolved.height, resolved.num_frames)
        frames = runtime.audio_latent_frames(resolved.num_frames, resolved.fps)
        with torch.no_grad():
            v, a = runtime.denoise(
                LatentState.from_noise(noise[0], runtime.video_coords(grid, resolved.fps)),
                LatentState.from_noise(noise[1], runtime.audio_coords(frames)),
                engine.spec.sigmas(resolved.steps),
                engine.encode_prompts(resolved),
                _guidance(video),
                _guidance(audio),
            )
        video_latents = runtime.unpack_video(v.latent, grid)
        audio_latents = runtime.unpack_audio(a.latent, reference[f"e2e.{case}.audio_latent"].shape[1])
    check(f"e2e.{case}.video_latent", video_latents, reference[f"e2e.{case}.video_latent"], record_property)
    check(f"e2e.{case}.audio_latent", audio_latents, reference[f"e2e.{case}.audio_latent"], record_property)

    waveform, rate = engine.decode_audio(audio_latents)
    assert rate == e2e["audio_sample_rate"]
    check(f"e2e.{case}.audio_waveform", waveform[0], reference[f"e2e.{case}.audio_waveform"], record_property)
    if f"e2e.{case}.video_decoded" in reference:
        ref = reference[f"e2e.{case}.video_decoded"]
        decoded = engine.decode_video(video_latents)
        # Stored as float16: its rounding (relative 2^-11 per value) bounds the comparison.
        check(f"e2e.{case}.video_decoded", decoded, ref, record_property, bound=max(TOLERANCE, 1e-3))
        # ... and the clip's frames are that decode, clamped to 0..1.
        if video["stg_blocks"] == audio["stg_blocks"]:
            frames = torch.from_numpy(result.frames).permute(3, 0, 1, 2)[None] * 2 - 1
            assert (frames - ref.float().clamp(-1, 1)).abs().max().item() < 1e-2


def test_reference_defaults_are_applied_when_a_request_leaves_them_unset(engine, metadata):
    e2e = metadata["e2e"]
    request = engine.resolve(GenerationRequest(prompt=e2e["prompt"], width=e2e["width"], height=e2e["height"],
                                               num_frames=e2e["num_frames"], fps=e2e["frame_rate"]))
    spec = engine.spec
    layers = len(engine.components.transformer.transformer_blocks)
    assert request.steps == spec.steps
    assert request.negative_prompt == spec.negative_prompt
    assert request.guidance_scale == spec.video_guidance.cfg_scale
    assert request.audio_guidance_scale == spec.audio_guidance.cfg_scale
    assert request.stg_scale == spec.video_guidance.stg_scale
    assert request.modality_scale == spec.video_guidance.modality_scale
    assert request.guidance_rescale == spec.video_guidance.rescale_scale
    assert all(0 <= b < layers for b in request.stg_blocks)
    assert not math.isclose(request.stg_scale, 0.0)
