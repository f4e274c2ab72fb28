"""Timeline media: import into the bin, the compositor, the thumbnail provider, the player (headless Qt)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from opentimelineio.opentime import RationalTime, TimeRange

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from media_builders import decoded_index, make_corrupt, make_image, make_video  # noqa: E402

from app.document import TimelineDocument, TrackKind  # noqa: E402
from app.media.cache import FrameCache  # noqa: E402
from app.media.compositor import TimelineCompositor  # noqa: E402
from app.media.importer import import_files  # noqa: E402


def rt(frame: int) -> RationalTime:
    return RationalTime(frame, 24)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("timeline_media")
    return {
        "a": make_video(root / "a.mp4", frames=48),
        "b": make_video(root / "b.mov", frames=48, codec="prores_ks", size=(32, 32)),
        "bad": make_corrupt(root / "bad.mp4"),
        "still": make_image(root / "still.png"),
    }


@pytest.fixture
def doc(clips) -> TimelineDocument:
    """V1: a.mp4 at 0..47, b.mov (square, so letterboxed) at 48..95, with their sound on A1."""
    document = TimelineDocument(name="test", rate=24)
    ids, errors = import_files(document, [clips["a"], clips["b"]])
    assert not errors
    video = document.tracks(TrackKind.VIDEO)[0].id
    document.insert(ids[0], video, rt(0))
    document.insert(ids[1], video, rt(48))
    return document


def test_import_keeps_going_past_bad_files(clips):
    document = TimelineDocument()
    paths = [clips["bad"], clips["a"], clips["still"], clips["a"], "/nonexistent/x.mov"]
    ids, errors = import_files(document, paths)
    assert len(ids) == 3 and ids[0] == ids[2]  # the same file twice is one bin item
    assert [item.name for item in document.bin_items()] == ["a.mp4", "still.png"]  # stills are clips now
    assert document.bin_items()[0].info.frame_count == 48
    assert document.bin_items()[1].info.still
    messages = [str(e) for e in errors]
    assert len(messages) == 2
    assert "bad.mp4" in messages[0] and "not found" in messages[1]


def test_compositor_shows_each_clip_letterboxed_and_black_after(doc):
    compositor = TimelineCompositor(doc, FrameCache(max_frames=8))
    assert compositor.frame_size() == (64, 48)  # the first video clip's media
    for frame in (0, 5, 47):
        assert decoded_index(compositor.frame_at(rt(frame))) == frame
    square = compositor.frame_at(50)  # b.mov frame 2, 32x32 scaled to 48x48 and centred
    assert square.shape == (48, 64, 3)
    assert np.all(square[:, :8] == 0) and np.all(square[:, 56:] == 0)
    assert decoded_index(square[:, 8:56]) == 2
    assert not compositor.frame_at(rt(200)).any()
    assert len(compositor.cache) == 4  # the four source frames went through the cache
    compositor.close()


def test_compositor_honours_a_given_size_and_empty_timelines():
    compositor = TimelineCompositor(TimelineDocument(), size=(16, 8))
    assert compositor.frame_at(0).shape == (8, 16, 3)
    assert TimelineCompositor(TimelineDocument()).frame_at(0).shape == (720, 1280, 3)


def test_compositor_mixes_audio_and_is_silent_past_the_end(doc):
    compositor = TimelineCompositor(doc)
    sound = compositor.audio(rt(0), rt(24), rate=48000)
    assert sound.shape == (2, 48000) and sound.dtype == np.float32
    assert 0.4 < np.abs(sound).max() <= 1.0
    silent = compositor.audio(rt(100), rt(110), rate=8000)
    assert silent.shape == (2, 3333) and not silent.any()
    compositor.close()


def test_compositor_mixes_dissolves(clips):
    doc = TimelineDocument(rate=24)
    ids, _ = import_files(doc, [clips["a"], clips["b"]])
    video = doc.tracks(TrackKind.VIDEO)[0].id
    doc.insert(ids[0], video, rt(0), source_range=TimeRange(rt(0), rt(40)))  # 8 frames of handle after
    doc.insert(ids[1], video, rt(40), source_range=TimeRange(rt(8), rt(40)))  # 8 frames of handle before
    doc.add_dissolve(doc.clips(video)[0].id, rt(8))
    compositor = TimelineCompositor(doc)
    cut = doc.dissolves(video)[0].cut.to_frames()
    sample = doc.video_at(rt(cut))
    assert sample is not None and sample.mix is not None
    mixed = compositor.frame_at(rt(cut)).astype(np.float32)
    a = compositor.frame_for(type(sample)(sample.clip_id, sample.path, sample.seconds), (64, 48))
    b_path, b_seconds, weight = sample.mix
    b = compositor.frame_for(type(sample)(sample.clip_id, b_path, b_seconds), (64, 48))
    expected = a.astype(np.float32) * (1 - weight) + b.astype(np.float32) * weight
    assert np.abs(mixed - expected).max() <= 1.0
    compositor.close()


# ---------------------------------------------------------------------------------------------- Qt side
@pytest.fixture
def provider(qtbot):
    from app.media.workers import ThumbnailProvider

    made = ThumbnailProvider(max_threads=2)
    yield made
    made.shutdown()


def test_thumbnail_provider_answers_async_then_from_cache(qtbot, provider, clips, tmp_path):
    path = str(make_video(tmp_path / "fresh.mkv", codec="ffv1"))
    with qtbot.waitSignal(provider.ready, timeout=10000) as blocker:
        assert provider.request_thumbnail(path, 7, 24) is None
    key, image = blocker.args
    assert key == (path, 7, 24) and (image.width(), image.height()) == (32, 24)
    again = provider.request_thumbnail(path, 7, 24)  # cached: synchronous
    assert again is not None and again.height() == 24

    with qtbot.waitSignal(provider.waveform_ready, timeout=10000) as blocker:
        assert provider.request_waveform(path, 16) is None
    assert blocker.args[1].shape == (16, 2)
    assert provider.request_waveform(path, 8).shape == (8, 2)

    with qtbot.waitSignal(provider.failed, timeout=10000) as blocker:
        provider.request_thumbnail(str(clips["bad"]), 0, 24)
    assert "bad.mp4" in blocker.args[1]
    provider.wait()


@pytest.fixture
def player(qtbot, doc):
    from app.media.workers import TimelinePlayer

    made = TimelinePlayer(doc, FrameCache(max_frames=64), audio=False)
    yield made
    made.shutdown()


def _pixels(image) -> np.ndarray:
    from PySide6.QtGui import QImage

    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    data = np.frombuffer(rgb.constBits(), np.uint8).reshape(rgb.height(), rgb.bytesPerLine())
    return data[:, : rgb.width() * 3].reshape(rgb.height(), rgb.width(), 3)


def _image_index(image) -> int:
    return decoded_index(_pixels(image))


def test_player_seeks_frame_accurately_and_latest_seek_wins(qtbot, player):
    shown: list[int] = []
    player.frame_ready.connect(lambda frame, image: shown.append((frame, _image_index(image))))
    with qtbot.waitSignal(player.frame_ready, timeout=10000, check_params_cb=lambda f, _i: f == 30):
        for frame in (3, 17, 40, 11, 30):  # a burst of scrubbing: only the last must be shown
            player.seek(frame)
    assert player.position == 30 and shown[-1] == (30, 30)
    assert all(frame == index for frame, index in shown)  # never a wrong picture for a frame number
    assert len(shown) <= 2  # stale requests were dropped, not rendered

    with qtbot.waitSignal(player.frame_ready, timeout=10000):
        player.step(1)
    assert player.position == 31 and shown[-1] == (31, 31)
    with qtbot.waitSignal(player.frame_ready, timeout=10000):
        player.step(-2)
    assert shown[-1] == (29, 29)
    player.seek(10_000)
    # clamped to one past the last frame (95): where an editor parks to add after everything
    assert player.position == 96 == player.end_frame() == player.last_frame() + 1


def test_player_plays_forward_and_stops_at_the_end(qtbot, player):
    states: list[bool] = []
    positions: list[int] = []
    player.playing_changed.connect(states.append)
    player.position_changed.connect(positions.append)
    player.seek(80)
    player.play()
    assert player.is_playing
    qtbot.waitUntil(lambda: not player.is_playing, timeout=10000)
    assert states == [True, False]
    assert player.position == 95 and positions[-1] == 95
    assert positions == sorted(positions) and len(set(positions)) > 1


def test_player_shuttles_backwards_and_k_stops(qtbot, player):
    player.seek(60)
    player.shuttle(-4)
    qtbot.waitUntil(lambda: player.position < 50, timeout=10000)
    player.shuttle(0)
    assert not player.is_playing
    stopped_at = player.position
    qtbot.wait(100)
    assert player.position == stopped_at
    player.shuttle(99)
    assert player.speed == 4
    player.pause()


def test_player_redraws_after_an_edit(qtbot, player, doc):
    with qtbot.waitSignal(player.frame_ready, timeout=10000):
        player.seek(10)
    video = doc.tracks(TrackKind.VIDEO)[0].id
    with qtbot.waitSignal(player.frame_ready, timeout=10000) as blocker:
        doc.lift([doc.clips(video)[0].id])  # frame 10 is now a gap: black
    frame, image = blocker.args
    assert frame == 10 and not _pixels(image).any()
