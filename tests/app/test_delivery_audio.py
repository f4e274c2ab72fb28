"""Issue 13: CLI clips carried 24 kHz sound (LTX-2.0's rate) while the studio exports 48 kHz."""

from __future__ import annotations

import numpy as np

from app.export.encoder import DELIVERY_SAMPLE_RATE, resample_audio


def test_24khz_model_sound_becomes_48khz_with_its_length_and_pitch():
    rate = 24000
    t = np.arange(rate // 2) / rate  # half a second
    tone = np.stack([np.sin(2 * np.pi * 440 * t), 0.5 * np.sin(2 * np.pi * 440 * t)]).astype(np.float32)
    out = resample_audio(tone, rate)
    assert DELIVERY_SAMPLE_RATE == 48000 and out.shape == (2, 24000) and out.dtype == np.float32
    spectrum = np.abs(np.fft.rfft(out[0]))
    assert abs(np.argmax(spectrum) * DELIVERY_SAMPLE_RATE / out.shape[1] - 440) < 3
    assert abs(np.max(np.abs(out[1][1000:-1000])) - 0.5) < 0.02


def test_48khz_sound_is_kept_as_it_is():
    audio = np.zeros((2, 480), np.float32)
    assert resample_audio(audio, 48000) is not None and resample_audio(audio, 48000).shape == (2, 480)
