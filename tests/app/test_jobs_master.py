"""The lossless master: FFV1 16-bit RGB + float PCM in Matroska, latents beside it, provenance tags."""

from __future__ import annotations

import av
import numpy as np
import pytest
import torch

from app.errors import JobError
from app.jobs.master import LATENTS_SUFFIX, read_latents, unique_stem, write_master
from app.media.probe import probe_media

F, H, W, RATE = 5, 32, 64, 24000


@pytest.fixture()
def clip():
    rng = np.random.default_rng(3)
    frames = rng.random((F, H, W, 3)).astype(np.float32)
    frames[0, 0, 0] = (0.0, 1.0, 0.5)  # the extremes must survive too
    audio = rng.uniform(-1, 1, (2, round(F / 24 * RATE))).astype(np.float32)
    return frames, audio


def _write(folder, clip, **kw):
    frames, audio = clip
    meta = {"model": "tiny random LTX-2 (noise)", "seed": 7, "prompt": "a cat", "checkpoint": "tiny-random"}
    return write_master(
        folder,
        "cat",
        frames,
        24.0,
        audio,
        RATE,
        meta,
        video_latents=torch.ones(1, 128, 1, 1, 2),
        audio_latents=torch.zeros(1, 8, 3, 16),
        **kw,
    )


def test_frames_decode_back_within_one_16_bit_step(tmp_path, clip):
    path = _write(tmp_path, clip)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "ffv1" and stream.codec_context.pix_fmt == "gbrp16le"
        decoded = np.stack([f.to_ndarray(format="rgb48le") for f in container.decode(video=0)])
    assert decoded.shape == (F, H, W, 3)
    # Bit-exact in 16-bit codes, so within 1/65535 of the float frames.
    assert np.array_equal(decoded, np.round(clip[0].astype(np.float64) * 65535).astype(np.uint16))
    assert np.abs(decoded / 65535 - clip[0]).max() <= 1 / 65535


def test_audio_decodes_back_within_24_bit_precision(tmp_path, clip):
    path = _write(tmp_path, clip)
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "pcm_f32le" and stream.rate == RATE
        chunks = [f.to_ndarray() for f in container.decode(audio=0)]
    samples = np.concatenate(chunks, axis=1).reshape(-1, 2).T  # packed "flt": interleaved L R
    assert samples.shape == clip[1].shape
    assert np.abs(samples - clip[1]).max() <= 2.0**-23


def test_master_is_probed_with_audio_and_carries_provenance(tmp_path, clip):
    path = _write(tmp_path, clip)
    info = probe_media(path)
    assert info.has_video and info.has_audio
    assert (info.width, info.height, info.frame_count) == (W, H, F)
    assert info.sample_rate == RATE and info.channels == 2
    with av.open(str(path)) as container:
        tags = {k.lower(): v for k, v in container.metadata.items()}
    assert tags["ai_generated"] == "true" and tags["model"] == "tiny random LTX-2 (noise)"
    assert tags["seed"] == "7" and tags["prompt"] == "a cat" and "AIPROD Studio" in tags["software"]


def test_latents_are_saved_beside_the_master(tmp_path, clip):
    path = _write(tmp_path, clip)
    latents = read_latents(path.with_name("cat" + LATENTS_SUFFIX))
    assert tuple(latents["video_latents"].shape) == (1, 128, 1, 1, 2)
    assert torch.equal(latents["audio_latents"], torch.zeros(1, 8, 3, 16))


def test_no_partial_file_is_left_when_encoding_fails(tmp_path, clip, monkeypatch):
    import app.jobs.master as master

    def boom(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(master, "_save_latents", boom)
    with pytest.raises(JobError, match="full"):
        _write(tmp_path, clip)
    assert list(tmp_path.iterdir()) == []


def test_unique_stem_never_reuses_a_name(tmp_path, clip):
    _write(tmp_path, clip)
    assert unique_stem(tmp_path, "cat") == "cat_2"
    assert unique_stem(tmp_path, "a/b c") == "a_b_c"
