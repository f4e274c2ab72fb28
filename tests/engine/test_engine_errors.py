"""Engine error paths not covered elsewhere: out of memory, an unusable cache, a mismatched tokenizer."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from shared_fixtures import LTX2_CHECKPOINT, LTX2_FIXTURE, needs_ltx2_fixture

import engine.text_encoder as text_encoder_module
from engine import Engine, GenerationRequest
from engine.errors import OutOfMemoryError, TextEncoderError

REQUEST = GenerationRequest(prompt="a cat on a beach", width=64, height=64, num_frames=9, steps=2, seed=1)


def test_device_out_of_memory_becomes_an_actionable_error(monkeypatch):
    engine = Engine.tiny()

    def exhausted(*_args, **_kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(engine, "_generate", exhausted)
    with pytest.raises(OutOfMemoryError) as caught:
        engine.generate(REQUEST)
    message = str(caught.value)
    assert "64x64" in message and "9 frames" in message
    assert "int4" in message and "fewer frames" in message


@needs_ltx2_fixture
def test_unwritable_quantization_cache_still_generates(tmp_path, caplog):
    blocked = tmp_path / "cache-is-a-file"
    blocked.write_text("not a folder")
    with caplog.at_level(logging.WARNING, logger="engine.engine"):
        engine = Engine.from_checkpoint(LTX2_FIXTURE / LTX2_CHECKPOINT, text_encoder=LTX2_FIXTURE / "gemma",
                                        quantization="int8", device="cpu", cache_dir=blocked)
    assert "could not write the quantization cache" in caplog.text
    assert blocked.read_text() == "not a folder"  # nothing of the user's was overwritten
    result = engine.generate(REQUEST)
    assert np.isfinite(result.frames).all() and result.metadata["quantization"] == "int8"


@needs_ltx2_fixture
def test_tokenizer_beyond_the_model_vocabulary_is_refused(monkeypatch):
    # Without the special-token mapping, the fixture's tokenizer appends <bos> past its 128-token vocabulary.
    monkeypatch.setattr(text_encoder_module, "_special_token_overrides", lambda _root: {})
    with pytest.raises(TextEncoderError, match="beyond the model's vocabulary"):
        text_encoder_module.load_text_encoder(LTX2_FIXTURE / "gemma", torch.float32)
    monkeypatch.undo()
    encoder = text_encoder_module.load_text_encoder(LTX2_FIXTURE / "gemma", torch.float32)
    assert max(encoder.tokenizer("a cat on a beach").input_ids) < encoder.vocab_size
