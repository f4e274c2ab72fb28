"""Variable-frame-rate footage: frames are found by presentation time, not by the average rate.

The clips are made with PyAV with irregular timestamps (bursts of 10 ms frames, 100-300 ms holds), and every
frame shows its own number, so each check compares the frame shown with the frame whose presentation time
covers the moment asked for: ``times[k] <= t < times[k + 1]``.
"""

from __future__ import annotations

import bisect
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from media_builders import decoded_index, make_vfr_video, make_video
from opentimelineio.opentime import RationalTime

from app.document import MediaItem, TimelineDocument, TrackKind
from app.media.cache import FrameCache
from app.media.compositor import TimelineCompositor
from app.media.probe import probe_media
from app.media.reader import VideoReader
from app.media.thumbnails import clear_thumbnails, thumbnail

DURATIONS_MS = [10, 10, 10, 100, 40, 40, 200, 20, 20, 20, 80, 41, 42, 43, 100, 10, 10, 10, 10, 300] * 3


def covering(times: list[Fraction], t: Fraction) -> int:
    """The frame presented at ``t``: the last one starting at or before it."""
    return max(bisect.bisect_right(times, t) - 1, 0)


@pytest.fixture(scope="module", params=[".mp4", ".mkv"])
def vfr(request, tmp_path_factory) -> tuple[Path, list[Fraction]]:
    return make_vfr_video(tmp_path_factory.mktemp("vfr") / f"phone{request.param}", DURATIONS_MS)


def test_probe_flags_variable_frame_rate_and_not_constant_rate(vfr, tmp_path):
    path, times = vfr
    info = probe_media(path)
    assert info.variable_frame_rate
    assert info.frame_count == len(times)
    # the average rate spans the frames' times (the last frame's own length is not in its timestamp)
    assert float(times[-1]) <= info.duration_seconds <= sum(DURATIONS_MS) / 1000
    for suffix in (".mp4", ".mkv"):
        steady = make_video(tmp_path / f"steady{suffix}", frames=30, audio=False)
        assert not probe_media(steady).variable_frame_rate, suffix


def test_reader_finds_the_frame_whose_presentation_time_covers_each_moment(vfr):
    path, times = vfr
    wrong = []
    with VideoReader(path) as reader:
        assert reader.frame_count == len(times)
        for frame in range(int(sum(DURATIONS_MS) * 24 / 1000)):  # every 24 fps timeline frame, in order
            t = Fraction(frame, 24)
            shown = decoded_index(reader.frame(reader.index_at(float(t))))
            if shown != covering(times, t):
                wrong.append((frame, shown, covering(times, t)))
        for frame in (70, 3, 50, 0, 71, 12):  # and seeking back and forth
            t = Fraction(frame, 24)
            assert decoded_index(reader.frame(reader.index_at(float(t)))) == covering(times, t), frame
    assert not wrong, wrong


def test_timeline_frames_show_the_source_frame_at_their_time(vfr):
    """The viewer and the export read through the compositor: timeline frame t (24 fps) of a clip placed
    at 0 shows the source frame whose presentation time covers t / 24 s."""
    path, times = vfr
    doc = TimelineDocument(name="vfr", rate=24)
    doc.add_bin_item(MediaItem("phone", str(path), path.name, probe_media(path)))
    video = doc.tracks(TrackKind.VIDEO)[0].id
    doc.insert("phone", video, RationalTime(0, 24))
    clip = doc.clips(video)[0]
    compositor = TimelineCompositor(doc, FrameCache(max_frames=8), size=(64, 48))
    try:
        wrong = []
        for frame in range(int(clip.duration.value)):
            expected = covering(times, Fraction(frame, 24))
            shown = decoded_index(compositor.frame_at(RationalTime(frame, 24)))
            exported = compositor.frame_at_float(RationalTime(frame, 24))
            exported_index = decoded_index(np.clip(exported * 255 + 0.5, 0, 255).astype(np.uint8))
            if shown != expected or exported_index != expected:
                wrong.append((frame, shown, exported_index, expected))
        assert not wrong, f"{len(wrong)} of {int(clip.duration.value)} frames wrong: {wrong[:10]}"
    finally:
        compositor.close()


def test_thumbnails_show_the_frame_presented_at_their_time(vfr):
    path, times = vfr
    clear_thumbnails()
    fps = probe_media(path).fps
    for index in (0, 5, 20, 40):
        small = thumbnail(path, index, height=48)
        assert decoded_index(small) == covering(times, Fraction(index) / fps), index


def test_media_info_keeps_the_flag_through_a_project_file(vfr):
    path, _times = vfr
    info = probe_media(path)
    from app.media.info import MediaInfo

    assert MediaInfo.from_dict(info.to_dict()) == info
    old = {k: v for k, v in info.to_dict().items() if k != "variable_frame_rate"}  # saved before the field
    assert MediaInfo.from_dict(old).variable_frame_rate is False
