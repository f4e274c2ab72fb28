"""The dev model's two-stage recipe (`two-stage-full`, ltx-pipelines' TI2VidTwoStagesPipeline) and the x1.5
latent spatial upsampler, through the public `Engine` API on the LTX-2.3 release fixture.

No fixture holds a TI2VidTwoStagesPipeline run, so the recipe is checked against a recomposition of what the
reference does, step by step, from the engine's public pieces: stage 1 is the `full` recipe at half size
(same draws), stage 2 upsamples that latent, blends it with the stage-2 draw at the first stage-2 sigma and
refines it unguided over the stage-2 sigmas with the distilled LoRA fused; the clip's sound is stage 1's.
No fixture has an x1.5 upsampler either: the tests write a random-init one in the release layout.
Sizes come from the fixture's loaded model, never from constants about it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers.pipelines.ltx2 import LTX2LatentUpsamplerModel
from safetensors.torch import save_file
from shared_fixtures import (
    LTX23_FIXTURE,
    LTX25_FIXTURE,
    ltx23_monolith,
    needs_ltx23_fixture,
    needs_ltx25_fixture,
)

from engine.engine import Engine
from engine.errors import CheckpointError, RequestError
from engine.models import GuidanceParams
from engine.request import GenerationRequest, LoraChoice
from engine.runtime import LatentState
from engine.upsampler import load_upsampler, upsample_latent, upsampler_scale_of

pytestmark = needs_ltx23_fixture

TOLERANCE = 1e-5  # float32 CPU; the recomposition runs the same operations (measured 8.7e-8)


def _rel(ours: torch.Tensor, ref: torch.Tensor) -> float:
    ours, ref = ours.detach().double(), ref.detach().double()
    return ((ours - ref).norm() / ref.norm().clamp_min(1e-30)).item()


def _gemma_root(folder: Path) -> Path:
    return next(p for p in sorted(folder.iterdir()) if p.is_dir() and p.name.lower().startswith("gemma"))


@pytest.fixture(scope="module")
def engine23() -> Engine:
    return Engine.from_checkpoint(
        ltx23_monolith(LTX23_FIXTURE), text_encoder=_gemma_root(LTX23_FIXTURE), device="cpu"
    )


@pytest.fixture(scope="module")
def engine25() -> Engine:
    if LTX25_FIXTURE is None:
        pytest.skip("LTX-2.5 fixture missing")
    return Engine.from_checkpoint(LTX25_FIXTURE, device="cpu")


def _request(engine: Engine, **changes) -> GenerationRequest:
    # the smallest two-stage size of this model: two latents wide, one high at stage 1
    ratio = engine.spatial_ratio
    base = GenerationRequest(
        prompt="a lighthouse in a storm", width=4 * ratio, height=2 * ratio, num_frames=9, seed=5,
        recipe="two-stage-full", steps=3, preview_every=0, max_sequence_length=128,
    )
    return base.with_changes(**changes)


def _draws(engine: Engine, request: GenerationRequest, scale: float = 2.0) -> list[torch.Tensor]:
    runtime = engine.runtime
    channels = int(engine.components.transformer.config.in_channels)
    audio_channels = int(engine.components.transformer.config.audio_in_channels)
    _, audio_frames, _ = runtime.audio_latent_shape(request.num_frames, request.fps)
    small = (round(request.width / scale), round(request.height / scale))
    tokens_1 = int(np.prod(runtime.latent_grid(*small, request.num_frames)))
    tokens_2 = int(np.prod(runtime.latent_grid(request.width, request.height, request.num_frames)))
    generator = torch.Generator().manual_seed(11)
    return [
        torch.randn(1, tokens_1, channels, generator=generator),
        torch.randn(1, audio_frames, audio_channels, generator=generator),
        torch.randn(1, tokens_2, channels, generator=generator),
        torch.randn(1, audio_frames, audio_channels, generator=generator),
    ]


def _refine(engine: Engine, request: GenerationRequest, stage_1, draws, upsampler, lora: LoraChoice | None):
    """Stage 2 as ltx-pipelines' TI2VidTwoStagesPipeline runs it, from the engine's public pieces."""
    runtime = engine.runtime
    vae = engine.components.vae
    sigmas = torch.tensor(engine.spec.stage_2_distilled_sigmas, dtype=torch.float32)
    start = float(sigmas[0])
    upsampled = upsample_latent(stage_1.video_latents, upsampler, vae.latents_mean, vae.latents_std)
    grid = tuple(upsampled.shape[2:])
    video_base = runtime.pack_video(upsampled.float())
    audio_base = runtime.pack_audio(stage_1.audio_latents.float())
    video = LatentState.from_noise(
        (1 - start) * video_base + start * draws[2], runtime.video_coords(grid, request.fps)
    )
    audio = LatentState.from_noise(
        (1 - start) * audio_base + start * draws[3], runtime.audio_coords(audio_base.shape[1])
    )
    engine.set_loras([lora] if lora is not None else [])
    try:
        contexts = engine.encode_prompts(engine.resolve(request))
        with torch.no_grad():
            video, _ = runtime.denoise(video, audio, sigmas, contexts, GuidanceParams(), GuidanceParams())
    finally:
        engine.set_loras([])
    return runtime.unpack_video(video.latent, grid)


@pytest.mark.parametrize("which", ["2.3", pytest.param("2.5", marks=needs_ltx25_fixture)])
def test_two_stage_full_is_stage_1_full_guidance_then_the_distilled_lora_refine(which, request):
    """On 2.5 too: stage 1 is the guided Euler loop there as well (the ancestral sampler is the distilled
    pipeline's), and the refine uses the release folder's loras/ distilled LoRA."""
    engine = request.getfixturevalue("engine23" if which == "2.3" else "engine25")
    assert "two-stage-full" in engine.spec.recipes and "two-stage-full" in engine.recipes()
    distilled = engine.distilled_lora
    assert distilled is not None and "distilled" in Path(distilled.path).name and distilled.strength == 1.0
    request = _request(engine)
    draws = _draws(engine, request)
    weights = {k: v.clone() for k, v in engine.components.transformer.state_dict().items()}
    stages, labels = [], []
    result = engine.generate(
        request, noise=draws, on_stage=lambda p: labels.append(p.label()),
        on_progress=lambda step, total: stages.append((step, total)),
    )
    # stage 1: the full recipe (the version's schedule over `steps`, its guidance) at half size, no LoRA
    stage_1 = engine.generate(
        request.with_changes(recipe="full", width=request.width // 2, height=request.height // 2),
        noise=draws[:2],
    )
    assert result.metadata["stages"][0]["steps"] == request.steps
    assert result.metadata["stages"][0]["loras"] == [] and result.metadata["parameters"]["loras"] == []
    assert [d["path"] for d in result.metadata["stages"][1]["loras"]] == [str(distilled.path)]
    params = result.metadata["parameters"]
    assert params["guidance_scale"] == engine.spec.video_guidance.cfg_scale != 1.0  # full guidance kept
    assert params["stg_scale"] == engine.spec.video_guidance.stg_scale
    # the clip's sound is stage 1's (the reference discards stage 2's audio)
    assert torch.equal(result.audio_latents, stage_1.audio_latents)
    # stage 2: the upsampled stage-1 latent, blended at the first stage-2 sigma, refined with the LoRA
    expected = _refine(engine, request, stage_1, draws, engine.upsampler, distilled)
    error = _rel(result.video_latents, expected)
    print(f"{which} two-stage-full final video latent vs recomposition: relative L2 {error:.2e}")
    assert error <= TOLERANCE
    without = _refine(engine, request, stage_1, draws, engine.upsampler, None)
    assert _rel(result.video_latents, without) > 100 * TOLERANCE  # the LoRA really acts in stage 2
    # progress covers both stages; the caller's (empty) LoRA set and the weights are back afterwards
    total = request.steps + len(engine.spec.stage_2_distilled_sigmas) - 1
    assert stages == [(i, total) for i in range(1, total + 1)]
    assert labels[0] == f"stage 1/2, step 1/{request.steps}" and labels[-1].startswith("stage 2/2")
    assert [st["sampler"] for st in result.metadata["stages"]] == ["euler", "euler"]
    assert engine.active_loras == []
    after = engine.components.transformer.state_dict()
    assert all(torch.equal(weights[k], after[k]) for k in weights)
    assert result.frames.shape == (request.num_frames, request.height, request.width, 3)


def test_two_stage_full_keeps_the_callers_loras_and_restores_them_after_a_failure(engine23, monkeypatch):
    engine = engine23
    lora = LoraChoice(engine.distilled_lora.path, 0.5)  # the caller fused the distilled LoRA at 0.5
    request = _request(engine, loras=(lora,), steps=2)
    result = engine.generate(request)
    # stage 1 runs without the distilled LoRA, stage 2 with it at the refine's strength; the set returns
    assert result.metadata["stages"][0]["loras"] == []
    assert [d["strength"] for d in result.metadata["stages"][1]["loras"]] == [1.0]
    assert [d["strength"] for d in engine.active_loras] == [0.5]
    assert result.metadata["parameters"]["loras"] == [{"path": str(lora.path), "strength": 0.5}]

    def boom(*args, **kwargs):
        raise RuntimeError("stage failed")

    monkeypatch.setattr(engine.runtime, "denoise", boom)
    with pytest.raises(RuntimeError, match="stage failed"):
        engine.generate(request)
    assert [d["strength"] for d in engine.active_loras] == [0.5]
    monkeypatch.undo()
    engine.set_loras([])


def test_two_stage_full_is_refused_where_it_does_not_apply(engine23, monkeypatch):
    engine = engine23
    with pytest.raises(RequestError, match="multiple of 64"):
        engine.generate(_request(engine, width=3 * engine.spatial_ratio))
    monkeypatch.setattr(engine.components, "source", "/models/ltx-2.3-22b-distilled.safetensors")
    monkeypatch.setitem(engine.components.companions, "transformer", None)
    assert "two-stage-full" not in engine.recipes()
    with pytest.raises(RequestError, match="distilled checkpoint"):
        engine.generate(_request(engine))
    monkeypatch.undo()
    tiny = Engine.tiny(device="cpu")  # no upsampler, no LoRA beside it
    assert "two-stage-full" not in tiny.recipes() and "two-stage-full" in tiny.spec.recipes
    with pytest.raises(RequestError, match="upsampler"):
        tiny.generate(_request(tiny))


# ------------------------------------------------------------------------------------- the x1.5 upsampler


def release_latent_channels() -> int:
    """The latent channels of the release under test, read from its own x2 upsampler's config (so an x1.5
    upsampler made here fits whatever checkpoint the fixture folder holds)."""
    x2 = next(LTX23_FIXTURE.glob("*upscaler*x2*.safetensors"))
    return int(json.loads(_config(x2))["in_channels"])


def write_x15_upsampler(
    folder: Path, in_channels: int | None = None, seed: int = 0, name: str | None = None
) -> Path:
    """A random-init x1.5 latent spatial upsampler in the release layout: bare LatentUpsampler keys
    (ltx-core's names, which diffusers' model shares) and the ltx-core config as JSON in the `config`
    metadata. `in_channels` defaults to the release's latent channels."""
    if in_channels is None:
        in_channels = release_latent_channels()
    config = {
        "_class_name": "LatentUpsampler",
        "in_channels": in_channels,
        "mid_channels": 32,
        "num_blocks_per_stage": 1,
        "dims": 3,
        "spatial_upsample": True,
        "temporal_upsample": False,
        "spatial_scale": 1.5,
        "rational_resampler": True,
    }
    torch.manual_seed(seed)
    model = LTX2LatentUpsamplerModel(
        in_channels=in_channels, mid_channels=32, num_blocks_per_stage=1, dims=3, spatial_upsample=True,
        temporal_upsample=False, rational_spatial_scale=1.5, use_rational_resampler=True,
    )
    state = {k: v.contiguous().to(torch.bfloat16) for k, v in model.state_dict().items()}
    path = folder / (name or "ltx-2.3-spatial-upscaler-x1.5-1.0.safetensors")
    save_file(state, str(path), metadata={"config": json.dumps(config)})
    return path


def test_x15_upsampler_loads_and_scales_an_even_latent_by_three_halves(tmp_path):
    path = write_x15_upsampler(tmp_path, 128)
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        keys = set(handle.keys())
    assert {"upsampler.conv.weight", "upsampler.blur_down.kernel", "initial_conv.weight"} <= keys
    assert upsampler_scale_of(path) == 1.5
    upsampler = load_upsampler(path)
    assert upsampler.spatial_scale == 1.5 and upsampler.temporal_scale == 1
    for frames, h, w in ((2, 2, 4), (3, 4, 6)):
        out = upsampler(torch.randn(1, 128, frames, h, w))
        assert tuple(out.shape) == (1, 128, frames, h * 3 // 2, w * 3 // 2)
        assert torch.isfinite(out).all()
    # a file without the fixed blur kernel (saved by another tool) still loads, with the binomial kernel
    from safetensors.torch import load_file

    state = load_file(str(path))
    kernel = state.pop("upsampler.blur_down.kernel")
    bare = tmp_path / "no-kernel-upscaler-x1.5.safetensors"
    save_file(state, str(bare), metadata={"config": json.dumps(json.loads(_config(path)))})
    again = load_upsampler(bare)
    assert torch.equal(dict(again.model.named_buffers())["upsampler.blur_down.kernel"].to(kernel), kernel)
    # an x1.5 config without the rational resampler cannot be built: a clear error naming the file
    broken = tmp_path / "broken-upscaler.safetensors"
    config = json.loads(_config(path))
    config["rational_resampler"] = False
    save_file(state, str(broken), metadata={"config": json.dumps(config)})
    with pytest.raises(CheckpointError, match="rational resampler"):
        load_upsampler(broken)


def _config(path: Path) -> str:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        return handle.metadata()["config"]


@pytest.fixture(scope="module")
def release_folder(tmp_path_factory) -> Path:
    """The 2.3 fixture's files beside a new x1.5 upsampler, without the distilled LoRA."""
    folder = tmp_path_factory.mktemp("ltx23-x15")
    monolith = ltx23_monolith(LTX23_FIXTURE)
    os.symlink(monolith, folder / monolith.name)
    os.symlink(_gemma_root(LTX23_FIXTURE), folder / _gemma_root(LTX23_FIXTURE).name)
    for item in LTX23_FIXTURE.glob("*upscaler*x2*.safetensors"):
        os.symlink(item, folder / item.name)
    write_x15_upsampler(folder)
    return folder


def test_two_stage_with_the_x15_upsampler_found_beside_the_checkpoint(release_folder):
    monolith = next(release_folder.glob("*dev*.safetensors"))
    engine = Engine.from_checkpoint(monolith, text_encoder=_gemma_root(release_folder), device="cpu")
    assert engine.upsamplers.scales() == [2.0, 1.5]
    assert 1.5 not in engine.upsamplers.loaded  # loaded when a request first needs it
    assert engine.upsampler is not None and engine.upsampler.spatial_scale == 2.0
    assert "two-stage" in engine.recipes() and "two-stage-full" not in engine.recipes()  # no distilled LoRA
    ratio = engine.spatial_ratio
    request = GenerationRequest(
        prompt="a lighthouse", width=6 * ratio, height=3 * ratio, num_frames=9, seed=2, recipe="two-stage",
        upsampler_scale=1.5, preview_every=1, max_sequence_length=128,
    )
    previews = []
    result = engine.generate(request, on_preview=previews.append)
    first, second = result.metadata["stages"]
    assert (first["width"], first["height"]) == (4 * ratio, 2 * ratio)  # 2/3 of the output
    assert (second["width"], second["height"]) == (request.width, request.height)
    assert result.metadata["upsampler_scale"] == 1.5
    assert result.frames.shape == (request.num_frames, request.height, request.width, 3)
    assert np.isfinite(result.frames).all() and result.audio.shape[1] > 0
    assert previews
    assert engine.upsamplers.loaded[1.5].spatial_scale == 1.5  # loaded by the request
    # sizes are checked against the x1.5 rule (multiples of 96 with 32-pixel latents)
    with pytest.raises(RequestError, match=f"multiple of {3 * ratio}"):
        engine.generate(request.with_changes(width=4 * ratio))
    with pytest.raises(RequestError, match="upsampler scale"):
        engine.generate(request.with_changes(upsampler_scale=3.0))
    # two-stage-full: refused without a distilled LoRA, offered once one is given
    with pytest.raises(RequestError, match="distilled LoRA"):
        engine.generate(request.with_changes(recipe="two-stage-full", steps=2))
    lora = next(LTX23_FIXTURE.glob("*distilled-lora*.safetensors"))
    engine.set_distilled_lora(LoraChoice(lora, 0.8))
    assert "two-stage-full" in engine.recipes()
    full = engine.generate(request.with_changes(recipe="two-stage-full", steps=2, preview_every=0))
    assert full.metadata["distilled_lora"] == {"path": str(lora), "strength": 0.8}
    assert full.metadata["stages"][0]["width"] == 4 * ratio
    with pytest.raises(CheckpointError):
        engine.set_distilled_lora(monolith.parent / "missing-lora.safetensors")
    assert engine.distilled_lora.strength == 0.8  # a refused file changes nothing


def test_an_upsampler_given_by_path_is_placed_by_its_scale(tmp_path):
    path = write_x15_upsampler(tmp_path, name="my-upscaler.safetensors")
    x2 = next(LTX23_FIXTURE.glob("*upscaler*x2*.safetensors"))
    engine = Engine.from_checkpoint(
        ltx23_monolith(LTX23_FIXTURE), text_encoder=_gemma_root(LTX23_FIXTURE), device="cpu",
        upsampler=[path, x2],
    )
    assert engine.upsamplers.loaded[1.5].source == str(path)
    assert engine.upsampler.source == str(x2)
    with pytest.raises(CheckpointError):
        Engine.from_checkpoint(
            ltx23_monolith(LTX23_FIXTURE), text_encoder=_gemma_root(LTX23_FIXTURE), device="cpu",
            upsampler=tmp_path / "missing.safetensors",
        )


def test_the_planner_plans_two_stage_full_as_a_guided_half_size_stage_and_the_refine():
    from engine.models import SPECS
    from engine.planner import RECIPES, recipe_stages

    assert "two-stage-full" in RECIPES
    for spec in SPECS.values():
        first, second = recipe_stages(spec, "two-stage-full", 1280, 704, 121)
        (full,) = recipe_stages(spec, "full", 640, 352, 121)
        assert first[1:] == full[1:]  # stage 1 is the full recipe at half size: same steps and passes
        assert second[1:5] == (1280, 704, 121, len(spec.stage_2_distilled_sigmas) - 1)
        assert second[5:] == (1, 1)  # the refine is unguided


def test_the_planner_follows_the_x15_upsampler_and_its_size_rule():
    from engine.models import LTX_2_3
    from engine.planner import _check_request, recipe_stages

    first, _ = recipe_stages(LTX_2_3, "two-stage", 1152, 768, 121, upsampler_scale=1.5)
    assert first[1:3] == (768, 512)  # 2/3 of the output
    _check_request(LTX_2_3, "two-stage", "none", 1152, 768, 121, 1.5)
    with pytest.raises(RequestError, match="multiple of 96"):
        _check_request(LTX_2_3, "two-stage-full", "none", 1280, 768, 121, 1.5)
    with pytest.raises(RequestError, match="multiple of 64"):
        _check_request(LTX_2_3, "two-stage-full", "none", 1056, 768, 121)


def test_two_stage_full_on_a_quantized_model_reads_each_lora_set_from_the_cache(tmp_path):
    """Quantized weights cannot be unfused: stage 2's set (with the distilled LoRA) is fused before
    quantizing and cached like any set, and the caller's set comes back from the cache after the run."""
    cache = tmp_path / "cache"
    engine = Engine.from_checkpoint(
        ltx23_monolith(LTX23_FIXTURE), text_encoder=_gemma_root(LTX23_FIXTURE), device="cpu",
        quantization="int8", cache_dir=cache,
    )
    request = _request(engine, steps=2)
    first = engine.generate(request)
    assert engine.active_loras == []
    assert [d["path"] for d in first.metadata["stages"][1]["loras"]] == [str(engine.distilled_lora.path)]
    files = set(cache.rglob("*.safetensors"))
    assert len(files) == 2  # the plain transformer and the one with the distilled LoRA, each quantized once
    second = engine.generate(request)
    assert set(cache.rglob("*.safetensors")) == files  # the second run only reads the cache
    assert torch.equal(first.video_latents, second.video_latents)
