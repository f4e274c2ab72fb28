"""app.media.clip_reader.read_frames, the one 16-bit frame reader behind extend and inpaint: the frames it
gives back, a cancel, and a file that stops decoding half way (a clear error that says to relink)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from media_builders import make_video

from app.errors import JobError, MediaError
from app.media.clip_reader import read_clip, read_frames
from app.media.probe import probe_media
from app.media.reader import VideoReader
from engine.errors import GenerationCancelled


@pytest.fixture
def clip(tmp_path):  # noqa: ANN001, ANN201
    return make_video(tmp_path / "clip.mov", frames=12, codec="prores_ks")


def test_frames_are_the_readers_16_bit_frames_scaled_to_one(clip):
    info = probe_media(clip)
    frames = read_frames(clip, info, 5)
    assert frames.shape == (5, info.height, info.width, 3) and frames.dtype == np.float32
    with VideoReader(clip, info) as reader:
        third = reader.frame(reader.index_at(3 / float(info.fps)), depth=16)
    np.testing.assert_array_equal(frames[3], third.astype(np.float32) / np.float32(65535.0))
    assert read_clip(clip).frames.shape[0] == info.frame_count


def test_a_cancel_stops_the_read(clip):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(GenerationCancelled):
        read_frames(clip, probe_media(clip), 5, cancel)


def test_a_file_that_stops_decoding_says_to_relink_it(clip, monkeypatch):
    calls = []

    def frame(self, index, depth=8):  # noqa: ANN001, ANN202
        calls.append(index)
        if len(calls) == 3:
            raise MediaError("invalid data found when processing input")
        return np.zeros((self.info.height, self.info.width, 3), np.uint16)

    monkeypatch.setattr(VideoReader, "frame", frame)
    with pytest.raises(JobError) as info:
        read_clip(clip)
    message = str(info.value)
    assert "cannot be decoded" in message and "invalid data" in message and "relink" in message
