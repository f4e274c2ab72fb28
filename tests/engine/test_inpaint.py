"""Inpainting with the tiny random engine: exactness outside the mask and the range, audio kept or spliced,
retake, strength, determinism, callbacks, cancel and every input error. The tiny model produces noise, so
these tests prove plumbing and exactness, never quality. CPU only, tiny sizes."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from engine.engine import Engine
from engine.errors import GenerationCancelled, RequestError
from engine.inpaint import (
    composite,
    latent_frame_span,
    splice_audio,
    token_mask,
)
from engine.request import GenerationRequest, PreviewFrame
from engine.runtime import to_uint8

W, H, FRAMES, FPS = 64, 64, 17, 24.0
RANGE = (3, 12)
REQUEST = GenerationRequest(
    prompt="a cat on a beach at sunset",
    width=W,
    height=H,
    num_frames=FRAMES,
    fps=FPS,
    steps=2,
    seed=5,
    preview_every=0,
)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.tiny(device="cpu")


@pytest.fixture(scope="module")
def source(engine):
    """A generated clip (frames, sound, latents) to inpaint, like a take read back from its master."""
    return engine.generate(REQUEST.with_changes(seed=1))


def painted_mask() -> np.ndarray:
    """A hard rectangle with a feathered lower edge, inside the top-left 32x32 token."""
    mask = np.zeros((H, W), np.float32)
    mask[6:22, 4:28] = 1.0
    mask[22:26, 4:28] = 0.5
    return mask


@pytest.fixture(scope="module")
def inpainted(engine, source):
    return engine.inpaint(source.frames, source.audio, source.sample_rate, painted_mask(), RANGE, REQUEST)


def snapshot(result):
    return result.frames.copy(), result.audio.copy()


# --------------------------------------------------------------------------------------- exactness


def test_pixels_outside_the_mask_are_bit_identical_and_inside_changed(source, inpainted):
    mask = painted_mask()
    start, end = RANGE
    assert inpainted.frames.shape == source.frames.shape and inpainted.frames.dtype == np.float32
    keep = mask == 0
    assert np.array_equal(inpainted.frames[start:end][:, keep], source.frames[start:end][:, keep])
    for frame in range(start, end):
        painted = inpainted.frames[frame][mask == 1]
        assert not np.array_equal(painted, source.frames[frame][mask == 1]), f"frame {frame} unchanged"
    assert (
        np.abs(inpainted.frames[start:end][:, mask > 0] - source.frames[start:end][:, mask > 0]).mean() > 1e-3
    )


def test_frames_outside_the_range_are_bit_identical(source, inpainted):
    start, end = RANGE
    assert np.array_equal(inpainted.frames[:start], source.frames[:start])
    assert np.array_equal(inpainted.frames[end:], source.frames[end:])


def test_feathered_pixels_lie_between_source_and_generated(source, inpainted):
    # m = 0.5 rows: out = 0.5 src + 0.5 gen, so they change, by less than a full replacement could.
    start, end = RANGE
    feather = inpainted.frames[start:end, 22:26, 4:28]
    original = source.frames[start:end, 22:26, 4:28]
    assert not np.array_equal(feather, original)
    assert np.abs(feather - original).max() <= 0.5 + 1e-6


def test_kept_audio_is_identical_sample_for_sample(source, inpainted):
    assert inpainted.audio.dtype == np.float32
    assert np.array_equal(inpainted.audio, source.audio)
    assert inpainted.audio is not source.audio
    assert inpainted.sample_rate == source.sample_rate and inpainted.fps == FPS


def test_tokens_outside_the_mask_keep_the_clean_latents_exactly(engine, source, inpainted):
    # Per-token timesteps + the post-step blend hold kept tokens at the source latents through every step.
    from engine.inpaint import source_latents_of

    clean, how = source_latents_of(engine, source.frames, None)
    assert how == "encoded"
    tokens = torch.from_numpy(token_mask(painted_mask(), *RANGE, FRAMES))
    latents = inpainted.video_latents
    assert tuple(latents.shape) == tuple(clean.shape) == (1, 128, 3, 2, 2)
    assert torch.equal(latents[0][:, ~tokens], clean.cpu()[0][:, ~tokens])
    assert not torch.equal(latents[0][:, tokens], clean.cpu()[0][:, tokens])


def test_inputs_are_never_modified(engine, source):
    frames, audio = snapshot(source)
    mask = painted_mask()
    engine.inpaint(
        source.frames, source.audio, source.sample_rate, mask, RANGE, REQUEST, regenerate_audio=True
    )
    assert np.array_equal(source.frames, frames) and np.array_equal(source.audio, audio)
    assert np.array_equal(mask, painted_mask())


def test_metadata_records_the_inpaint_parameters(engine, inpainted):
    meta = inpainted.metadata
    assert meta["ai_generated"] is True and meta["checkpoint_identity"] == engine.identity
    assert meta["parameters"]["prompt"] == REQUEST.prompt and meta["seed"] == REQUEST.seed
    assert (meta["parameters"]["width"], meta["parameters"]["height"]) == (W, H)
    info = meta["inpaint"]
    assert info["kind"] == "inpaint" and info["range"] == list(RANGE)
    assert info["strength"] == 1.0 and info["regenerate_audio"] is False
    # Frames 3..11 lie in latent frames 1 and 2; the mask touches only the top-left token of each.
    assert info["regenerated_tokens"] == 2 and info["total_tokens"] == 12


# ------------------------------------------------------------------------------------------- audio


def test_regenerated_audio_changes_only_the_range(engine, source):
    result = engine.inpaint(
        source.frames, source.audio, source.sample_rate, painted_mask(), RANGE, REQUEST, regenerate_audio=True
    )
    a, b = result.metadata["inpaint"]["audio_samples"]
    rate = source.sample_rate
    assert (a, b) == (round(RANGE[0] / FPS * rate), round(RANGE[1] / FPS * rate))
    assert result.audio.shape == source.audio.shape
    assert np.array_equal(result.audio[:, :a], source.audio[:, :a])
    assert np.array_equal(result.audio[:, b:], source.audio[:, b:])
    assert not np.array_equal(result.audio[:, a:b], source.audio[:, a:b])


def test_regenerated_audio_at_another_sample_rate_keeps_the_source_rate(engine, source):
    rate = 48000
    audio = np.stack([np.sin(np.arange(round(FRAMES / FPS * rate)) * 0.01)] * 2).astype(np.float32)
    result = engine.inpaint(source.frames, audio, rate, painted_mask(), RANGE, REQUEST, regenerate_audio=True)
    a, b = result.metadata["inpaint"]["audio_samples"]
    assert result.sample_rate == rate and result.audio.shape == audio.shape
    assert np.array_equal(result.audio[:, :a], audio[:, :a]) and np.array_equal(
        result.audio[:, b:], audio[:, b:]
    )
    assert not np.array_equal(result.audio[:, a:b], audio[:, a:b])


def test_a_silent_clip_stays_silent_or_gets_sound_only_in_the_range(engine, source):
    kept = engine.inpaint(source.frames, None, 0, painted_mask(), RANGE, REQUEST)
    assert kept.audio is None
    sound = engine.inpaint(source.frames, None, 0, painted_mask(), RANGE, REQUEST, regenerate_audio=True)
    a, b = sound.metadata["inpaint"]["audio_samples"]
    assert sound.sample_rate == engine.audio_sample_rate
    assert not sound.audio[:, :a].any() and not sound.audio[:, b:].any()
    assert np.abs(sound.audio[:, a:b]).max() > 0


# ------------------------------------------------------------------------------------------ retake


@pytest.mark.parametrize("frame_range", [(9, 17), (0, FRAMES)])
def test_retake_full_mask_regenerates_every_frame_of_the_range_only(engine, source, frame_range):
    start, end = frame_range
    result = engine.inpaint(
        source.frames, source.audio, source.sample_rate, np.ones((H, W), np.float32), frame_range, REQUEST
    )
    assert np.array_equal(result.frames[:start], source.frames[:start])
    assert np.array_equal(result.frames[end:], source.frames[end:])
    for frame in range(start, end):
        assert np.abs(result.frames[frame] - source.frames[frame]).mean() > 1e-3, f"frame {frame} kept"
    assert np.array_equal(result.audio, source.audio)
    first, last = latent_frame_span(start, end)
    assert result.metadata["inpaint"]["regenerated_tokens"] == (last - first + 1) * (H // 32) * (W // 32)


# ---------------------------------------------------------------------------------------- strength


def test_whole_clip_at_full_strength_is_text_to_video_with_the_same_sampler(engine, source):
    """Inpainting and generation share the runtime: regenerating every token of every frame at strength 1
    from the same seed, prompt and guidance gives generation's latents exactly."""
    everything = np.ones((H, W), np.float32)
    request = REQUEST.with_changes(seed=9)
    inpainted = engine.inpaint(
        source.frames, source.audio, source.sample_rate, everything, (0, FRAMES), request
    )
    generated = engine.generate(request)
    assert torch.equal(inpainted.video_latents, generated.video_latents)
    assert inpainted.metadata["parameters"] == generated.metadata["parameters"]


def test_strength_zero_returns_the_source_unchanged_without_denoising(engine, source):
    steps: list[int] = []
    result = engine.inpaint(
        source.frames,
        source.audio,
        source.sample_rate,
        painted_mask(),
        RANGE,
        REQUEST,
        strength=0.0,
        on_progress=lambda s, n: steps.append(s),
    )
    assert np.array_equal(result.frames, source.frames) and np.array_equal(result.audio, source.audio)
    assert steps == []


def test_partial_strength_stays_closer_to_the_source_latents(engine, source, inpainted):
    # Strength s starts the painted tokens at noise level s and blends (1 - s) of the clean latents into every
    # x0 estimate, so the result moves less from the source than a full regeneration (same seed).
    from engine.inpaint import source_latents_of

    half = engine.inpaint(
        source.frames, source.audio, source.sample_rate, painted_mask(), RANGE, REQUEST, strength=0.5
    )
    clean = source_latents_of(engine, source.frames, None)[0].cpu()[0]
    tokens = torch.from_numpy(token_mask(painted_mask(), *RANGE, FRAMES))
    full_distance = (inpainted.video_latents[0][:, tokens] - clean[:, tokens]).abs().mean()
    half_distance = (half.video_latents[0][:, tokens] - clean[:, tokens]).abs().mean()
    assert 0 < half_distance < full_distance
    keep = painted_mask() == 0
    assert np.array_equal(half.frames[:, keep], source.frames[:, keep])
    assert not np.array_equal(half.frames, inpainted.frames)


# ------------------------------------------------------------------------------- seeds and latents


def test_same_seed_is_deterministic_and_another_seed_differs(engine, source, inpainted):
    again = engine.inpaint(source.frames, source.audio, source.sample_rate, painted_mask(), RANGE, REQUEST)
    assert np.array_equal(again.frames, inpainted.frames)
    other = engine.inpaint(
        source.frames,
        source.audio,
        source.sample_rate,
        painted_mask(),
        RANGE,
        REQUEST.with_changes(seed=REQUEST.seed + 1),
    )
    assert not np.array_equal(other.frames, inpainted.frames)


def test_kept_latents_are_reused_and_mismatched_ones_ignored(engine, source):
    reused = engine.inpaint(
        source.frames,
        source.audio,
        source.sample_rate,
        painted_mask(),
        RANGE,
        REQUEST,
        source_latents=source.video_latents,
    )
    assert reused.metadata["inpaint"]["source_latents"] == "reused"
    keep = painted_mask() == 0
    assert np.array_equal(reused.frames[:, keep], source.frames[:, keep])
    stale = torch.zeros(1, 128, 2, 2, 2)
    encoded = engine.inpaint(
        source.frames, source.audio, source.sample_rate, painted_mask(), RANGE, REQUEST, source_latents=stale
    )
    assert encoded.metadata["inpaint"]["source_latents"] == "encoded"


def test_uint8_mask_is_accepted_as_0_to_255(engine, source, inpainted):
    mask8 = (painted_mask() * 255).round().astype(np.uint8)
    result = engine.inpaint(source.frames, source.audio, source.sample_rate, mask8, RANGE, REQUEST)
    keep = mask8 == 0
    assert np.array_equal(result.frames[:, keep], source.frames[:, keep])
    assert np.array_equal(result.frames[:, mask8 == 255], inpainted.frames[:, mask8 == 255])


# --------------------------------------------------------------------------------------- callbacks


def test_progress_every_step_and_composited_previews(engine, source):
    calls: list[tuple[int, int]] = []
    previews: list[PreviewFrame] = []
    engine.inpaint(
        source.frames,
        source.audio,
        source.sample_rate,
        painted_mask(),
        RANGE,
        REQUEST.with_changes(steps=3, preview_every=1),
        on_progress=lambda s, n: calls.append((s, n)),
        on_preview=previews.append,
    )
    assert calls == [(1, 3), (2, 3), (3, 3)]
    assert previews
    middle = (RANGE[0] + RANGE[1] - 1) // 2
    expected = to_uint8(torch.from_numpy(source.frames[middle] * 2 - 1).permute(2, 0, 1))
    keep = painted_mask() == 0
    for preview in previews:
        assert preview.image.shape == (H, W, 3) and preview.image.dtype == np.uint8
        assert 1 <= preview.step < 3
        # The preview is the composite: the unpainted part shows the source frame.
        assert np.array_equal(preview.image[keep], expected[keep])
        assert not np.array_equal(preview.image[~keep], expected[~keep])


def test_cancel_raises_within_one_step_decodes_nothing_and_leaves_the_source(engine, source, monkeypatch):
    decoded: list[str] = []
    real = engine.runtime.decode_video_vae_space
    monkeypatch.setattr(
        engine.runtime, "decode_video_vae_space", lambda latents: decoded.append("video") or real(latents)
    )
    frames, audio = snapshot(source)
    cancel = threading.Event()
    steps: list[int] = []

    def on_progress(step: int, total: int) -> None:
        steps.append(step)
        cancel.set()

    with pytest.raises(GenerationCancelled) as info:
        engine.inpaint(
            source.frames,
            source.audio,
            source.sample_rate,
            painted_mask(),
            RANGE,
            REQUEST.with_changes(steps=4),
            on_progress=on_progress,
            cancel=cancel,
        )
    assert info.value.step == 1 and steps == [1]
    assert decoded == []
    assert np.array_equal(source.frames, frames) and np.array_equal(source.audio, audio)
    # The pipeline is left ready for the next job.
    again = engine.inpaint(source.frames, source.audio, source.sample_rate, painted_mask(), RANGE, REQUEST)
    assert decoded == ["video"] and again.frames.shape == frames.shape


def test_cancel_set_before_the_start_raises_at_step_zero(engine, source):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(GenerationCancelled) as info:
        engine.inpaint(
            source.frames, source.audio, source.sample_rate, painted_mask(), RANGE, REQUEST, cancel=cancel
        )
    assert info.value.step == 0


# ------------------------------------------------------------------------------------------ errors


def _call(engine, source, **changes):
    args = dict(
        source_frames=source.frames,
        source_audio=source.audio,
        sample_rate=source.sample_rate,
        mask=painted_mask(),
        frame_range=RANGE,
        request=REQUEST,
    )
    args.update(changes)
    return engine.inpaint(**args)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"mask": np.zeros((H, W), np.float32)}, "mask is empty"),
        ({"mask": np.ones((32, 64), np.float32)}, "mask is 64x32 but the clip's frames are 64x64"),
        ({"mask": np.full((H, W), np.nan, np.float32)}, "NaN"),
        ({"frame_range": (5, 5)}, "is empty"),
        ({"frame_range": (8, 3)}, "is empty"),
        ({"frame_range": (10, 30)}, "outside the clip's frames 0..17"),
        ({"frame_range": (-2, 4)}, "outside the clip's frames"),
        ({"strength": -0.1}, "strength -0.1 is out of range"),
        ({"strength": 1.5}, "strength 1.5 is out of range"),
        ({"strength": float("nan")}, "strength nan is out of range"),
        ({"request": REQUEST.with_changes(prompt=" ")}, "prompt is empty"),
        ({"request": REQUEST.with_changes(steps=1)}, "steps 1 is out of range"),
    ],
)
def test_bad_inputs_raise_clear_request_errors(engine, source, changes, message):
    with pytest.raises(RequestError, match=message.replace("(", r"\(").replace(".", r"\.")):
        _call(engine, source, **changes)


def test_frame_count_and_size_errors_name_the_nearest_valid_values(engine, source):
    with pytest.raises(RequestError, match=r"16 frames; inpainting needs 8k\+1 frames \(9 or 17\)"):
        _call(engine, source, source_frames=source.frames[:16])
    wide = np.zeros((FRAMES, H, 70, 3), np.float32)
    with pytest.raises(RequestError, match="width 70 is not a multiple of 32; inpainting needs 64 or 96"):
        _call(engine, source, source_frames=wide, mask=np.ones((H, 70), np.float32))
    with pytest.raises(RequestError, match=r"F x H x W x 3"):
        _call(engine, source, source_frames=source.frames[..., 0])


# ----------------------------------------------------------------------------------- pure helpers


def test_latent_frame_span_follows_the_causal_vae():
    assert latent_frame_span(0, 1) == (0, 0)
    assert latent_frame_span(1, 9) == (1, 1)  # latent 1 covers pixel frames 1..8
    assert latent_frame_span(8, 10) == (1, 2)
    assert latent_frame_span(0, 17) == (0, 2)
    assert latent_frame_span(16, 17) == (2, 2)


def test_token_mask_marks_every_touched_token():
    mask = np.zeros((64, 96), np.float32)
    mask[33, 0] = 0.01  # one faint pixel of token (1, 0)
    tokens = token_mask(mask, 9, 17, 17)
    assert tokens.shape == (3, 2, 3)
    assert tokens[2, 1, 0] and tokens.sum() == 1


def test_composite_is_exact_where_the_mask_is_zero_or_one():
    rng = np.random.default_rng(0)
    src = rng.random((5, 4, 4, 3), dtype=np.float32)
    gen = rng.random((5, 4, 4, 3), dtype=np.float32)
    mask = np.array([[0, 0.25, 1, 1]] * 4, np.float32)
    out = composite(src, gen, mask, 1, 3)
    assert np.array_equal(out[[0, 3, 4]], src[[0, 3, 4]])
    assert np.array_equal(out[1:3, :, 0], src[1:3, :, 0])
    assert np.array_equal(out[1:3, :, 2:], gen[1:3, :, 2:])
    assert np.allclose(out[1:3, :, 1], 0.75 * src[1:3, :, 1] + 0.25 * gen[1:3, :, 1])


def test_splice_audio_crossfades_inside_the_range_only():
    src = np.zeros((2, 100), np.float32)
    gen = np.ones((2, 100), np.float32)
    out = splice_audio(src, gen, 20, 60, 5)
    assert np.array_equal(out[:, :20], src[:, :20]) and np.array_equal(out[:, 60:], src[:, 60:])
    assert np.array_equal(out[:, 25:55], gen[:, 25:55])
    assert np.all(np.diff(out[0, 19:26]) > 0) and np.all(np.diff(out[0, 54:61]) < 0)
