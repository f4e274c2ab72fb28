"""Media core (Qt-free): probing, frame-accurate reading, caches, thumbnails, waveforms, audio, import."""

from __future__ import annotations

import math
import random
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from media_builders import decoded_index, make_audio, make_corrupt, make_video  # noqa: E402

from app.errors import MediaError  # noqa: E402
from app.media.audio import AudioReader, read_audio  # noqa: E402
from app.media.cache import FrameCache  # noqa: E402
from app.media.probe import probe_media  # noqa: E402
from app.media.reader import VideoReader  # noqa: E402
from app.media.thumbnails import cached_thumbnail, thumbnail  # noqa: E402
from app.media.waveform import waveform_peaks  # noqa: E402

CODECS = [("libx264", ".mp4"), ("mpeg4", ".mp4"), ("prores_ks", ".mov"), ("ffv1", ".mkv")]


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("media")
    files = {codec: make_video(root / f"clip_{codec}{suffix}", codec=codec) for codec, suffix in CODECS}
    files["late_mkv"] = make_video(root / "late.mkv", start_frame=10, audio=False)
    files["late_ts"] = make_video(root / "late.ts", start_frame=10, audio=False)
    files["wav"] = make_audio(root / "tone.wav", seconds=1.0, rate=48000)
    files["m4a"] = make_audio(root / "tone.m4a", seconds=1.0, rate=44100)
    return files


# ---------------------------------------------------------------------------------------------- probe
@pytest.mark.parametrize("codec", [c for c, _ in CODECS])
def test_probe_reports_what_the_bin_shows(media, codec):
    info = probe_media(media[codec])
    assert (info.width, info.height, info.fps, info.frame_count) == (64, 48, Fraction(24), 48)
    assert info.has_video and info.has_audio and info.channels == 2 and info.sample_rate == 48000
    assert info.video_codec == {"prores_ks": "prores", "libx264": "h264"}.get(codec, codec)
    assert abs(info.audio_samples - 96000) <= 2048  # AAC/Matroska pad the last packet
    assert info.duration_seconds == pytest.approx(2.0)
    assert info.size_bytes == media[codec].stat().st_size


def test_probe_audio_only(media):
    info = probe_media(media["wav"])
    assert not info.has_video and info.has_audio and info.fps is None and info.frame_count == 0
    assert info.audio_samples == 48000 and info.duration_seconds == pytest.approx(1.0)


def _empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda d: d / "missing.mp4", "not found"),
        (lambda d: make_corrupt(d / "bad.mp4"), "cannot be read"),
        (lambda d: Path(make_corrupt(d / "broken.png")), "is damaged"),
        (lambda d: _empty(d / "empty.mp4"), "cannot be read"),
    ],
)
def test_probe_refuses_with_a_message_naming_the_file(tmp_path, make, words):
    path = Path(make(tmp_path))
    with pytest.raises(MediaError) as err:
        probe_media(path)
    assert words in str(err.value) and path.name in str(err.value)


# --------------------------------------------------------------------------------------------- reader
@pytest.mark.parametrize("name", [c for c, _ in CODECS] + ["late_mkv", "late_ts"])
def test_reader_is_frame_accurate_in_any_order(media, name):
    with VideoReader(media[name]) as reader:
        assert reader.frame_count == 48
        order = list(range(48)) * 2
        random.Random(7).shuffle(order)
        for index in order:
            frame = reader.frame(index)
            assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8
            assert decoded_index(frame) == index, (name, index)


def test_reader_reads_sequentially_without_seeking(media):
    with VideoReader(media["libx264"]) as reader:
        assert [decoded_index(reader.frame(i)) for i in range(48)] == list(range(48))
        assert reader.seeks == 1  # the first read only
        reader.frame(30)
        seeks = reader.seeks
        assert decoded_index(reader.frame(31)) == 31 and reader.seeks == seeks


def test_reader_refuses_out_of_range_and_other_threads(media):
    import threading

    with VideoReader(media["ffv1"]) as reader:
        with pytest.raises(IndexError):
            reader.frame(48)
        reader.frame(0)
        errors = []
        thread = threading.Thread(target=lambda: errors.append(_call(reader.frame, 1)))
        thread.start()
        thread.join()
        assert isinstance(errors[0], RuntimeError)


def _call(fn, *args):
    try:
        fn(*args)
    except Exception as exc:  # noqa: BLE001
        return exc
    return None


def test_reader_refuses_audio_only(media):
    with pytest.raises(MediaError, match="no video"):
        VideoReader(media["wav"])


# ---------------------------------------------------------------------------------------------- cache
def test_frame_cache_is_lru_within_its_byte_budget():
    frame = np.zeros((10, 10, 3), np.uint8)  # 300 bytes
    cache = FrameCache(max_frames=100, max_bytes=1000)
    for i in range(4):
        cache.put(("a", i), frame.copy())
    assert len(cache) == 3 and cache.nbytes == 900 and ("a", 0) not in cache
    assert cache.get(("a", 1)) is not None  # now the most recently used
    cache.put(("a", 9), frame.copy())
    assert ("a", 2) not in cache and ("a", 1) in cache
    cache.discard_path("a")
    assert len(cache) == 0 and cache.nbytes == 0
    count_bound = FrameCache(max_frames=2)
    for i in range(3):
        count_bound.put(("b", i), frame)
    assert len(count_bound) == 2 and count_bound.get(("b", 0)) is None


# ----------------------------------------------------------------------------------- thumbnails/waves
def test_thumbnail_shows_the_asked_frame_and_is_cached(media):
    path = media["prores_ks"]
    assert cached_thumbnail(path, 13, 24) is None
    small = thumbnail(path, 13, height=24)
    assert small.shape == (24, 32, 3) and decoded_index(small) == 13
    assert cached_thumbnail(path, 13, 24) is small
    assert thumbnail(path, 999, height=24).shape == (24, 32, 3)  # clamped to the last frame


def test_waveform_peaks_follow_the_sound(media, tmp_path):
    peaks = waveform_peaks(media["wav"], 10)
    assert peaks.shape == (10, 2) and peaks.dtype == np.float32
    np.testing.assert_allclose(peaks[:, 0], -0.5, atol=0.01)
    np.testing.assert_allclose(peaks[:, 1], 0.5, atol=0.01)
    window = waveform_peaks(media["wav"], 4, start_seconds=0.9, duration_seconds=0.2)
    assert window[1, 1] > 0.4 and np.all(window[3:] == 0)  # past the end: silence
    with pytest.raises(MediaError):
        waveform_peaks(make_video(tmp_path / "mute.mkv", codec="ffv1", audio=False), 4)


# ---------------------------------------------------------------------------------------------- audio
@pytest.mark.parametrize("name", ["wav", "m4a", "prores_ks", "ffv1"])
def test_read_audio_is_stereo_float_at_the_asked_rate(media, name):
    sound = read_audio(media[name], 0.5, 0.25, sample_rate=32000)
    assert sound.shape == (2, 8000) and sound.dtype == np.float32
    # Lossy AAC changes the waveform slightly and Matroska stores times in milliseconds, so a window may sit
    # up to half a millisecond off: the best match within +-1 ms must be the tone.
    shifts = range(-32, 33)
    best = max(np.corrcoef(sound[0], _tone(0.5 + s / 32000, 8000, 32000))[0, 1] for s in shifts)
    assert best > 0.98
    np.testing.assert_allclose(sound[0], sound[1])


def _tone(start: float, count: int, rate: int) -> np.ndarray:
    return 0.5 * np.sin(2 * math.pi * 440 * (start + np.arange(count) / rate))


def test_audio_reader_chunks_join_exactly_and_pad_outside(media):
    whole = read_audio(media["wav"], 0.0, 1.0)
    np.testing.assert_allclose(whole[0], _tone(0.0, 48000, 48000), atol=1e-3)  # PCM in WAV: exact
    reader = AudioReader(media["wav"])
    chunks = np.concatenate([reader.read(i * 0.1, 0.1) for i in range(10)], axis=1)
    np.testing.assert_allclose(chunks, whole, atol=1e-6)
    assert reader.seeks == 1
    padded = reader.read(-0.5, 1.0)
    assert np.all(padded[:, :24000] == 0) and np.abs(padded[:, 24000:]).max() > 0.4
    assert np.all(reader.read(2.0, 0.1) == 0)
    reader.close()


def test_10_bit_video_reads_without_the_fast_path_darkening(tmp_path):
    """libswscale's default YUV->RGB turned 10-bit ProRes about 1.8/255 too dark; the reader converts with
    accurate rounding, so 8-bit (viewer) and 16-bit (export) reads agree with the encoded picture."""
    from fractions import Fraction

    from app.export import write_clip
    from app.media.reader import VideoReader

    y, x = np.mgrid[0:72, 0:128].astype(np.float32)
    picture = np.stack([0.2 + 0.6 * x / 128, 0.3 + 0.5 * y / 72, np.full((72, 128), 0.45, np.float32)], -1)
    write_clip(tmp_path / "grad.mov", np.repeat(picture[None], 3, 0), fps=Fraction(24))
    reader = VideoReader(tmp_path / "grad.mov")
    try:
        eight = reader.frame(1).astype(np.float32) / 255
        sixteen = reader.frame(1, depth=16).astype(np.float32) / 65535
    finally:
        reader.close()
    for read in (eight, sixteen):
        assert abs(float((read - picture).mean())) < 0.8 / 255  # no overall darkening
        assert float(np.abs(read - picture).mean()) < 1.0 / 255
    assert float(np.abs(eight - sixteen).mean()) < 1.0 / 255  # the viewer shows what the export reads
