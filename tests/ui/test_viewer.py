"""The viewer: frame-accurate seeks across the timeline, timecode, transport (J/K/L, steps), marks."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from opentimelineio.opentime import RationalTime
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from app.document import MediaItem, TimelineDocument, TrackKind
from app.media.probe import probe_media
from app.media.workers import TimelinePlayer
from tests.media_builders import decoded_index, make_video
from ui.theme import apply_dark_theme
from ui.viewer import FrameView, Viewer, format_timecode, qimage_to_array

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def _add(doc: TimelineDocument, path: Path) -> str:
    item = MediaItem(id=uuid.uuid4().hex, path=str(path), name=path.name, info=probe_media(path))
    return doc.add_bin_item(item)


@pytest.fixture
def doc(tmp_path) -> TimelineDocument:
    """Two clips back to back on V1: 48 frames of H.264 (GOP 12, B-frames), then 24 frames of ProRes."""
    doc = TimelineDocument(name="Viewer test", rate=24)
    track = doc.tracks(TrackKind.VIDEO)[0].id
    h264 = _add(doc, make_video(tmp_path / "a.mp4", frames=48, size=(64, 48), audio=False))
    prores = _add(
        doc, make_video(tmp_path / "b.mov", frames=24, size=(64, 48), codec="prores_ks", audio=False)
    )
    doc.insert(h264, track, RationalTime(0, 24))
    doc.insert(prores, track, RationalTime(48, 24))
    return doc


@pytest.fixture
def player(doc):
    player = TimelinePlayer(doc, audio=False)
    yield player
    player.shutdown()


@pytest.fixture
def viewer(qtbot, player) -> Viewer:
    widget = Viewer(player)
    qtbot.addWidget(widget)
    widget.resize(480, 360)
    widget.show()
    return widget


def _wait_shown(qtbot, viewer: Viewer, frame: int) -> None:
    qtbot.waitUntil(lambda: viewer.shown_frame == frame, timeout=10000)


def test_format_timecode():
    assert format_timecode(25, 24) == "00:00:01:01"
    assert format_timecode(24 * 3600 + 24 * 61 + 5, 24) == "01:01:01:05"
    assert format_timecode(30, 24000 / 1001) == "00:00:01:06"  # 23.976 counts as 24 (non-drop)
    assert format_timecode(-1, 25) == "-00:00:00:01"


def test_qimage_to_array_keeps_pixels_of_odd_widths():
    image = QImage(5, 2, QImage.Format.Format_RGB888)  # 15 bytes a row, padded to 16
    image.fill(0)
    image.setPixelColor(4, 1, "#102030")
    rgb = qimage_to_array(image)
    assert rgb.shape == (2, 5, 3) and rgb[1, 4].tolist() == [16, 32, 48] and rgb[0].sum() == 0


def test_seek_shows_that_exact_frame_with_its_timecode(qtbot, viewer):
    qtbot.waitUntil(lambda: viewer.shown_frame == 0, timeout=10000)
    with qtbot.waitSignal(viewer.position_changed) as moved:
        viewer.seek(25)
    assert moved.args == [25]
    _wait_shown(qtbot, viewer, 25)

    assert viewer.timecode_text().startswith("00:00:01:01")
    assert "25" in viewer.timecode_text()
    assert viewer.slider.value() == 25
    assert decoded_index(viewer.current_frame_array()) == 25  # mid-GOP in the H.264 clip


def test_seeking_into_the_second_clip_and_back_is_frame_accurate(qtbot, viewer):
    # Timeline frame 60 is frame 12 of the ProRes clip; 47 is the H.264 clip's last frame.
    for timeline_frame, media_frame in ((60, 12), (47, 47), (3, 3), (71, 23)):
        viewer.seek(timeline_frame)
        _wait_shown(qtbot, viewer, timeline_frame)
        assert decoded_index(viewer.current_frame_array()) == media_frame, timeline_frame


def test_scrub_slider_and_steps_move_the_playhead(qtbot, viewer, player):
    assert viewer.slider.maximum() == 71
    viewer.slider.setValue(40)
    assert player.position == 40
    viewer.step(1)
    viewer.step(1)
    viewer.step(-5)
    assert player.position == 37 and viewer.frame == 37
    _wait_shown(qtbot, viewer, 37)
    assert decoded_index(viewer.current_frame_array()) == 37
    viewer.end_button.click()
    assert player.position == 71
    viewer.start_button.click()
    assert player.position == 0


def test_jkl_shuttle_speeds_and_stop(viewer, player):
    viewer.shuttle_forward()
    assert player.speed == 1 and player.is_playing
    viewer.shuttle_forward()
    viewer.shuttle_forward()
    assert player.speed == 4 and viewer.speed_label.text() == "+4×"
    viewer.shuttle_forward()
    assert player.speed == 4  # the top speed stays
    viewer.shuttle_backward()  # from forward, J starts reverse at 1x
    assert player.speed == -1
    viewer.shuttle_backward()
    assert player.speed == -2
    viewer.stop()
    assert player.speed == 0 and not player.is_playing and viewer.speed_label.text() == ""


def test_play_advances_and_pause_stops(qtbot, viewer, player):
    viewer.toggle_play()
    assert player.is_playing
    qtbot.waitUntil(lambda: viewer.frame >= 3, timeout=10000)
    viewer.toggle_play()
    assert not player.is_playing
    stopped = viewer.frame
    qtbot.wait(100)
    assert viewer.frame == stopped


def test_marks_show_in_and_out(viewer, qtbot):
    viewer.seek(24)
    with qtbot.waitSignal(viewer.marks_changed) as marks:
        viewer.mark_in()
    assert marks.args == [24, None]
    viewer.seek(50)
    viewer.mark_out()
    assert (viewer.in_point, viewer.out_point) == (24, 50)
    assert viewer.marks_label.text() == "In 00:00:01:00   Out 00:00:02:02"
    viewer.seek(10)
    viewer.mark_out()  # an out before the in drops the in
    assert (viewer.in_point, viewer.out_point) == (None, 10)


def test_picture_is_letterboxed_with_its_aspect(qtbot):
    view = FrameView()
    qtbot.addWidget(view)
    view.resize(400, 400)
    view.set_image(QImage(64, 48, QImage.Format.Format_RGB888))
    rect = view.image_rect()
    assert (rect.width(), rect.height()) == (400, 300) and rect.top() == 50


def test_screenshot_of_the_viewer(qtbot, player):
    app = QApplication.instance()
    previous = (app.style().name(), app.palette(), app.styleSheet())
    apply_dark_theme(app)
    try:
        viewer = Viewer(player)
        qtbot.addWidget(viewer)
        viewer.resize(640, 420)
        viewer.show()
        viewer.seek(30)
        viewer.mark_in()
        viewer.seek(41)
        _wait_shown(qtbot, viewer, 41)
        qtbot.wait(50)
        image = viewer.grab().toImage()
    finally:
        app.setStyle(previous[0])
        app.setPalette(previous[1])
        app.setStyleSheet(previous[2])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert image.save(str(SCREENSHOTS / "viewer.png"))
    assert decoded_index(viewer.current_frame_array()) == 41
