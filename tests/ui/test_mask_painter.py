"""Mask painting over the viewer: real mouse events on the overlay paint the clip's mask in media pixels
(through the letterboxed picture), each stroke is saved as a new mask file and is one undo step; eraser,
rectangle, ellipse, invert, clear; the mask's frame range follows the viewer's marks."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from opentimelineio.opentime import RationalTime
from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QUndoStack
from PySide6.QtTest import QTest

from app.document import MediaItem, TimelineDocument, TrackKind
from app.masks import MaskStore
from app.media.probe import probe_media
from app.media.workers import TimelinePlayer
from tests.media_builders import make_video
from ui.mask_painter import (
    MaskPainter,
    clip_source_range,
    fitted_rect,
    media_rect_in_widget,
    overlay_image,
    widget_to_media,
)
from ui.viewer import Viewer

LEFT, RIGHT = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton
NOMOD = Qt.KeyboardModifier.NoModifier
MEDIA = (128, 96)  # the clip's size = the project frame (the first clip sets it)


@pytest.fixture
def studio(qtbot, tmp_path):
    doc = TimelineDocument(name="Mask test", rate=24)
    track = doc.tracks(TrackKind.VIDEO)[0].id
    path = make_video(tmp_path / "shot.mkv", frames=24, size=MEDIA, codec="ffv1", audio=False)
    media_id = doc.add_bin_item(
        MediaItem(id=uuid.uuid4().hex, path=str(path), name="shot", info=probe_media(path))
    )
    doc.insert(media_id, track, RationalTime(0, 24))
    clip_id = doc.clips(track)[0].id
    stack = QUndoStack()
    store = MaskStore(tmp_path / "masks")
    player = TimelinePlayer(doc, audio=False)
    viewer = Viewer(player, gpu=False)
    qtbot.addWidget(viewer)
    painter = MaskPainter(viewer, doc, stack, lambda: store)
    qtbot.addWidget(painter.toolbar)
    viewer.resize(400, 300)  # frame view is wider than 4:3 here: pillarboxed picture
    viewer.show()
    qtbot.waitUntil(lambda: viewer.shown_frame == 0, timeout=10000)
    painter.set_clip(clip_id)
    painter.set_painting(True)
    painter.toolbar.feather_spin.setValue(0)
    yield doc, stack, store, viewer, painter, clip_id
    viewer.shutdown()
    player.shutdown()


def _widget_point(painter: MaskPainter, x: float, y: float) -> QPoint:
    """The overlay position showing media pixel centre (x, y)."""
    shown = painter.media_rect()
    return QPoint(
        round(shown.x() + (x + 0.5) * shown.width() / MEDIA[0]),
        round(shown.y() + (y + 0.5) * shown.height() / MEDIA[1]),
    )


def _drag(painter: MaskPainter, points: list[tuple[float, float]], button=LEFT) -> None:
    QTest.mousePress(painter, button, NOMOD, _widget_point(painter, *points[0]))
    for point in points[1:]:
        QTest.mouseMove(painter, _widget_point(painter, *point))
    QTest.mouseRelease(painter, button, NOMOD, _widget_point(painter, *points[-1]))


def _saved(doc: TimelineDocument, store: MaskStore, clip_id: str) -> np.ndarray:
    info = doc.clip(clip_id).mask
    assert info is not None, "no mask in the document"
    assert store.path(info["id"]).is_file()
    return store.load(info["id"])


# --------------------------------------------------------------------------------------------- mapping
def test_mapping_goes_through_the_letterboxed_picture_and_the_media_fit():
    # A 640x480 clip on a 1280x720 project: the compositor pillarboxes it to 960x720 at x = 160.
    assert fitted_rect(QRectF(0, 0, 1280, 720), QSize(640, 480)) == QRectF(160, 0, 960, 720)
    # The viewer shows the frame at half size 20 px down (letterboxed in a taller widget).
    picture = QRect(0, 20, 640, 360)
    assert media_rect_in_widget(picture, QSize(1280, 720), QSize(640, 480)) == QRectF(80, 20, 480, 360)
    corner = widget_to_media(QPointF(80, 20), picture, QSize(1280, 720), QSize(640, 480))
    far = widget_to_media(QPointF(560, 380), picture, QSize(1280, 720), QSize(640, 480))
    middle = widget_to_media(QPointF(320, 200), picture, QSize(1280, 720), QSize(640, 480))
    assert (corner.x(), corner.y()) == (0, 0) and (far.x(), far.y()) == (640, 480)
    assert (middle.x(), middle.y()) == (320, 240)
    off = widget_to_media(QPointF(40, 200), picture, QSize(1280, 720), QSize(640, 480))
    assert off.x() < 0  # in the black bar: off the clip, so nothing gets painted there
    assert widget_to_media(QPointF(1, 1), QRect(), QSize(1280, 720), QSize(640, 480)) is None


def test_marks_map_to_the_clips_source_frames():
    doc = TimelineDocument(rate=24)
    clip = type("Clip", (), {})()
    clip.start, clip.end = RationalTime(10, 24), RationalTime(30, 24)
    clip.source_start = RationalTime(100, 24)
    assert clip_source_range(clip, doc.rate, None, None) == (100, 120)  # no marks: the whole clip
    assert clip_source_range(clip, doc.rate, 12, 15) == (102, 106)  # the out mark includes its frame
    assert clip_source_range(clip, doc.rate, 5, None) == (100, 120)  # clipped to the clip
    assert clip_source_range(clip, doc.rate, None, 11) == (100, 102)
    assert clip_source_range(clip, doc.rate, 40, 50) is None  # marks beside the clip
    # A 48 fps file on the 24 fps timeline: timeline-rate source frames 102..105 show file frames 204..210.
    assert clip_source_range(clip, doc.rate, 12, 15, file_fps=48) == (204, 211)
    assert clip_source_range(clip, doc.rate, None, None, file_frames=110) == (100, 110)  # a shorter file


def test_overlay_image_is_a_red_tint_following_the_mask():
    mask = np.zeros((4, 6), np.uint8)
    mask[1, 2] = 255
    image = overlay_image(mask)
    assert image.size() == QSize(6, 4)
    painted, empty = image.pixelColor(2, 1), image.pixelColor(0, 0)
    assert empty.alpha() == 0 and 100 < painted.alpha() < 140 and painted.red() > painted.green()


def test_the_overlay_covers_the_frame_view_and_maps_the_pillarboxed_picture(studio):
    doc, stack, store, viewer, painter, clip_id = studio
    assert painter.parentWidget() is viewer.frame_view and painter.geometry() == viewer.frame_view.rect()
    picture = viewer.picture_rect()
    assert picture.height() == viewer.frame_view.height() and picture.x() > 0  # bars left and right
    assert painter.media_rect() == QRectF(picture)  # clip size == project size
    viewer.resize(500, 320)
    QTest.qWait(10)
    assert painter.geometry() == viewer.frame_view.rect()


# ------------------------------------------------------------------------------------------- painting
def test_a_brush_stroke_is_saved_as_one_undo_step_and_undo_restores_no_mask(studio):
    doc, stack, store, viewer, painter, clip_id = studio
    painter.toolbar.size_spin.setValue(10)
    _drag(painter, [(20, 48), (50, 48), (80, 48), (100, 48)])

    mask = _saved(doc, store, clip_id)
    assert mask.shape == (MEDIA[1], MEDIA[0])
    for x in (20, 35, 50, 65, 80, 100):  # under the whole path, between the reported points too
        assert mask[48, x] == 255, x
    assert mask[10, 60] == 0 and mask[90, 5] == 0 and mask[48, 120] == 0  # far away
    assert mask[48, 10] == 0 and mask[35, 60] == 0  # beyond the 5 px radius
    assert stack.count() == 1 and stack.undoText() == "Paint mask"
    assert doc.clip(clip_id).mask == {"id": painter.mask_id(), "in": 0, "out": 24}  # no marks: whole clip
    assert np.array_equal(painter.mask_array(), mask)

    stack.undo()
    assert doc.clip(clip_id).mask is None and painter.mask_id() is None
    assert not painter.mask_array().any()  # the overlay shows the previous (empty) mask
    stack.redo()
    assert np.array_equal(painter.mask_array(), mask)


def test_each_stroke_is_a_new_file_and_undo_shows_the_previous_mask(studio):
    doc, stack, store, viewer, painter, clip_id = studio
    painter.toolbar.size_spin.setValue(8)
    _drag(painter, [(20, 20), (30, 20)])
    first = painter.mask_id()
    _drag(painter, [(20, 70), (30, 70)])
    second = painter.mask_id()
    assert first != second and store.path(first).is_file() and store.path(second).is_file()
    assert stack.count() == 2
    assert painter.mask_array()[70, 25] == 255
    stack.undo()
    assert painter.mask_id() == first
    assert painter.mask_array()[70, 25] == 0 and painter.mask_array()[20, 25] == 255


def test_the_eraser_and_the_right_button_remove_from_the_mask(studio):
    doc, stack, store, viewer, painter, clip_id = studio
    painter.invert()  # everything
    painter.set_tool("eraser")
    painter.toolbar.size_spin.setValue(10)
    _drag(painter, [(10, 30), (110, 30)])
    mask = _saved(doc, store, clip_id)
    assert mask[30, 10] == 0 and mask[30, 60] == 0 and mask[30, 110] == 0
    assert mask[80, 60] == 255 and mask[5, 5] == 255
    assert stack.undoText() == "Erase mask"

    painter.set_tool("brush")
    _drag(painter, [(60, 80), (60, 81)], button=RIGHT)  # the right button erases with the brush too
    assert _saved(doc, store, clip_id)[80, 60] == 0
    assert stack.count() == 3


def test_rectangle_and_ellipse_drags(studio):
    doc, stack, store, viewer, painter, clip_id = studio
    painter.set_tool("rect")
    _drag(painter, [(10, 10), (25, 15), (40, 30)])
    mask = _saved(doc, store, clip_id)
    assert mask[20, 25] == 255 and mask[12, 12] == 255 and mask[28, 38] == 255
    assert mask[5, 25] == 0 and mask[20, 50] == 0 and mask[40, 25] == 0
    assert stack.count() == 1 and stack.undoText() == "Mask rectangle"

    painter.set_tool("ellipse")
    _drag(painter, [(60, 40), (120, 90)])
    mask = _saved(doc, store, clip_id)
    assert mask[65, 90] == 255  # the centre
    assert mask[42, 62] == 0 and mask[88, 118] == 0  # the bounding box's corners are outside an ellipse
    assert mask[20, 25] == 255  # the rectangle is still there
    _drag(painter, [(10, 10), (40, 30)], button=RIGHT)  # cut the rectangle out again
    assert _saved(doc, store, clip_id)[20, 25] == 0
    assert stack.count() == 3


def test_a_click_without_a_drag_paints_no_shape(studio):
    doc, stack, store, viewer, painter, clip_id = studio
    painter.set_tool("rect")
    _drag(painter, [(30, 30)])
    assert doc.clip(clip_id).mask is None and stack.count() == 0


def test_invert_and_clear(studio):
    doc, stack, store, viewer, painter, clip_id = studio
    painter.toolbar.invert_button.click()  # an empty mask inverted: the whole frame (a retake)
    assert (_saved(doc, store, clip_id) == 255).all()
    painter.set_tool("rect")
    _drag(painter, [(0, 0), (64, 96)], button=RIGHT)
    painter.toolbar.invert_button.click()
    mask = _saved(doc, store, clip_id)
    assert mask[50, 10] == 255 and mask[50, 100] == 0
    painter.toolbar.clear_button.click()
    assert doc.clip(clip_id).mask is None and not painter.mask_array().any()  # empty = no mask
    assert stack.count() == 4 and stack.undoText() == "Clear mask"
    stack.undo()
    assert np.array_equal(_saved(doc, store, clip_id), mask)


def test_strokes_off_the_picture_paint_nothing(studio):
    doc, stack, store, viewer, painter, clip_id = studio
    picture = viewer.picture_rect()
    assert picture.x() > 20
    painter.toolbar.size_spin.setValue(4)  # a big brush beside the picture would reach into it, rightly
    QTest.mousePress(painter, LEFT, NOMOD, QPoint(picture.x() // 2, 20))  # in the black bar
    QTest.mouseRelease(painter, LEFT, NOMOD, QPoint(picture.x() // 2, 40))
    assert doc.clip(clip_id).mask is None and stack.count() == 0


def test_the_mask_range_follows_the_viewers_marks(studio):
    doc, stack, store, viewer, painter, clip_id = studio
    viewer.seek(5)
    viewer.mark_in()
    viewer.seek(12)
    viewer.mark_out()
    _drag(painter, [(50, 50), (60, 50)])
    assert doc.clip(clip_id).mask["in"] == 5 and doc.clip(clip_id).mask["out"] == 13
    viewer.clear_marks()
    _drag(painter, [(50, 70), (60, 70)])  # no marks: the mask keeps its range
    assert (doc.clip(clip_id).mask["in"], doc.clip(clip_id).mask["out"]) == (5, 13)


def test_marks_beside_the_clip_refuse_to_paint_with_a_message(studio):
    doc, stack, store, viewer, painter, clip_id = studio
    viewer.in_point, viewer.out_point = 40, 50  # past the clip's end (frame 24)
    _drag(painter, [(50, 50), (60, 50)])
    assert doc.clip(clip_id).mask is None and stack.count() == 0
    assert "marks" in painter.toolbar.status_label.text()


def test_paint_mode_off_hides_the_overlay_and_a_missing_clip_disables_painting(studio):
    doc, stack, store, viewer, painter, clip_id = studio
    painter.toolbar.paint_button.click()
    assert not painter.painting and not painter.isVisible()
    painter.toolbar.paint_button.click()
    assert painter.isVisible()
    painter.set_clip(None)
    assert painter.mask_array() is None and not painter.toolbar.invert_button.isEnabled()
    _drag(painter, [(50, 50), (60, 50)])
    assert stack.count() == 0


def test_a_missing_mask_file_starts_from_an_empty_mask_and_says_so(studio):
    doc, stack, store, viewer, painter, clip_id = studio
    _drag(painter, [(50, 50), (60, 50)])
    store.path(painter.mask_id()).unlink()
    painter.set_clip(clip_id)
    assert not painter.mask_array().any()
    assert "missing" in painter.toolbar.status_label.text()


def test_the_overlay_moves_to_the_cpu_view_when_the_gpu_path_gives_way(studio, qtbot):
    doc, stack, store, viewer, painter, clip_id = studio
    old = viewer.frame_view
    viewer._gpu_failed("test: the driver refused the shader")  # what GLFrameView.failed triggers
    assert viewer.frame_view is not old and painter.parentWidget() is viewer.frame_view
    qtbot.waitUntil(painter.isVisible, timeout=5000)  # the layout shows the new view on the next turn
    assert painter.geometry() == viewer.frame_view.rect()
    viewer.set_overlay(None)
    assert viewer.overlay() is None and painter.parentWidget() is None
