"""Extend continues the sound of a clip that was not generated here: its waveform is encoded with the model's
audio VAE encoder (`Runtime.encode_audio`, ltx-core's AudioProcessor mel + the encoder's posterior mode) and
the extension is held to those latents, forward (its first latent frames) and backward (its last ones).

With random weights the decoded sound barely depends on the latents (an extension without the source's sound
decodes about as close to the source), so the discriminating check is on the latents: the held latent frames
are the source's encoding exactly, where an extension without the sound has others. The decoded part is
measured as the video extend is: its RMS distance to the source's sound against the audio VAE's own round
trip of that sound (measured ratios 1.00 forward / 0.97 backward on the tiny model, 1.00 / 0.98 with the
LTX-2.3 fixture; bound 1.25).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from shared_fixtures import LTX23_FIXTURE, ltx23_monolith, needs_ltx23_fixture

from engine.engine import Engine
from engine.errors import RequestError
from engine.extend import extend_clip
from engine.request import GenerationRequest
from engine.runtime import resample

UNGUIDED = dict(
    guidance_scale=1.0, audio_guidance_scale=1.0, stg_scale=0.0, audio_stg_scale=0.0,
    modality_scale=1.0, audio_modality_scale=1.0,
)
RATE = 44100  # an imported file's rate, not the model's


@pytest.fixture(scope="module")
def tiny() -> Engine:
    return Engine.tiny(device="cpu")


@pytest.fixture(scope="module")
def engine23() -> Engine:
    gemma = next(p for p in sorted(LTX23_FIXTURE.iterdir()) if p.is_dir() and p.name.startswith("gemma"))
    return Engine.from_checkpoint(ltx23_monolith(LTX23_FIXTURE), text_encoder=gemma, device="cpu")


def _source(engine: Engine, frames: int = 17, fps: float = 24.0):
    rng = np.random.default_rng(0)
    ratio = engine.spatial_ratio
    pictures = rng.random((frames, 2 * ratio, 2 * ratio, 3)).astype(np.float32)
    t = np.arange(round(frames / fps * RATE)) / RATE
    tones = np.stack([np.sin(2 * np.pi * 330 * t), np.sin(2 * np.pi * 440 * t)])
    sound = (0.4 * tones + 0.05 * rng.standard_normal(tones.shape)).astype(np.float32)
    return pictures, sound


def _rms(a: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(a))))


@pytest.mark.parametrize("which", ["tiny", pytest.param("2.3", marks=needs_ltx23_fixture)])
@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_an_imported_clips_sound_is_encoded_and_held(which, direction, request, record_property):
    engine = request.getfixturevalue("tiny" if which == "tiny" else "engine23")
    pictures, sound = _source(engine)
    fps = 24.0
    ratio = engine.spatial_ratio
    generation = GenerationRequest(
        prompt="waves on rocks", width=2 * ratio, height=2 * ratio, fps=fps, seed=3, steps=2, preview_every=0,
        **UNGUIDED,
    )
    if which != "tiny":
        generation = generation.with_changes(steps=None, recipe="distilled")
    held = extend_clip(
        engine, pictures, 0.5, generation, direction, source_audio=sound, source_sample_rate=RATE
    )
    free = extend_clip(engine, pictures, 0.5, generation, direction, context_frames=held.context_frames)
    record = held.metadata["extend"]
    assert record["sound_held"] and record["sound_from"] == "encoded from the source's sound"
    assert not free.metadata["extend"]["sound_held"]
    count = record["held_audio_latent_frames"]
    assert count >= 1
    encoded = engine.runtime.encode_audio(sound, RATE).cpu()
    assert encoded.shape[2] == pytest.approx(engine.runtime.audio_latent_frames(len(pictures), fps), abs=1)
    latents = held.generated.audio_latents
    if direction == "forward":
        start = round((len(pictures) - held.context_frames) / fps * engine.spec.audio_latents_per_second)
        assert torch.equal(latents[:, :, :count], encoded[:, :, start : start + count])
        assert not torch.equal(free.generated.audio_latents[:, :, :count], latents[:, :, :count])
    else:
        assert held.context_frames > 1  # it ran on past the join over the source's first frames
        assert torch.equal(latents[:, :, -count:], encoded[:, :, :count])
        assert not torch.equal(free.generated.audio_latents[:, :, -count:], latents[:, :, -count:])
        assert held.metadata["parameters"]["keyframes"][0]["frame"] == len(held.frames)
    # the take has sound, as long as its picture
    assert held.audio.shape[1] == round(len(held.frames) / fps * held.sample_rate)
    assert np.isfinite(held.audio).all() and _rms(held.audio) > 1e-3
    # decoded, the held part is as close to the source's sound as the audio VAE's round trip of it
    rate = held.sample_rate
    source = resample(sound, RATE, rate)
    round_trip = engine.decode_audio(encoded)[0][0].float().cpu().numpy()
    span = round(held.context_frames / fps * rate)
    if direction == "forward":
        start = source.shape[1] - span
        end = min(source.shape[1], round_trip.shape[1])
        ours, reference = held.generated.audio[:, : end - start], source[:, start:end]
        trip = round_trip[:, start:end]
    else:
        ours, reference, trip = held.generated.audio[:, -span:], source[:, :span], round_trip[:, :span]
    error, bound = _rms(ours - reference), _rms(trip - reference)
    record_property(f"extend_sound_rms_{which}_{direction}", error)
    record_property(f"audio_round_trip_rms_{which}_{direction}", bound)
    print(f"extend sound ({which}, {direction}): held part RMS {error:.4f}, round trip RMS {bound:.4f}")
    assert error <= 1.25 * bound


def test_kept_latents_win_and_bad_sound_is_refused(tiny):
    pictures, sound = _source(tiny)
    ratio = tiny.spatial_ratio
    generation = GenerationRequest(
        prompt="waves", width=2 * ratio, height=2 * ratio, seed=3, steps=2, preview_every=0, **UNGUIDED
    )
    kept = tiny.runtime.encode_audio(sound[::-1].copy(), RATE).cpu()  # other latents than the sound's
    result = extend_clip(tiny, pictures, 0.5, generation, source_audio_latents=kept, source_audio=sound,
                         source_sample_rate=RATE)
    assert result.metadata["extend"]["sound_from"] == "kept latents"
    with pytest.raises(RequestError, match="sample rate"):
        extend_clip(tiny, pictures, 0.5, generation, source_audio=sound)
    with pytest.raises(RequestError, match="finite"):
        extend_clip(tiny, pictures, 0.5, generation, source_audio=np.full((2, 100), np.nan, np.float32),
                    source_sample_rate=RATE)
    with pytest.raises(RequestError, match="samples"):
        extend_clip(tiny, pictures, 0.5, generation, source_audio=np.zeros((2, 0), np.float32),
                    source_sample_rate=RATE)
    with pytest.raises(RequestError, match="audio_suffix"):
        tiny.generate(generation.with_changes(num_frames=17, audio_suffix=torch.zeros(1, 8, 3, 5)))


def test_mono_sound_is_doubled_and_resampled_to_the_vae_rate(tiny):
    _, sound = _source(tiny)
    mel_stereo = tiny.runtime.audio_mel(np.stack([sound[0], sound[0]]), RATE)
    mel_mono = tiny.runtime.audio_mel(sound[0], RATE)
    assert torch.equal(mel_mono, mel_stereo)
    config = tiny.components.audio_vae.config
    seconds = sound.shape[1] / RATE
    # centred frames every mel_hop_length samples at the VAE's own rate
    assert mel_mono.shape[2] == round(seconds * config.sample_rate) // config.mel_hop_length + 1
    assert mel_mono.shape[3] == config.mel_bins
