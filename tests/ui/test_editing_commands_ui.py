"""The editing commands through the window: copy/paste (also between two windows), paste attributes, track
lock from the header's padlock, clip enable/disable (Shift+E), linked selection and the marker dialog."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from media_builders import make_video
from PySide6.QtCore import QPoint, QRectF, Qt
from PySide6.QtGui import QGuiApplication, QImage, QKeySequence, QPainter
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QStyleOptionGraphicsItem
from window_helpers import open_window, opened_window

from app.commands import push_edit
from app.document import TrackKind
from app.document.clipboard import CLIPBOARD_MIME
from ui.main_window import SHORTCUTS, MainWindow
from ui.timeline.ruler import RULER_HEIGHT
from ui.timeline.track_headers import lock_button

GRADE = {"exposure": 1.0}


pytestmark = pytest.mark.usefixtures("data_dir")  # tests/ui/conftest.py


@pytest.fixture
def window(qtbot, tmp_path):  # noqa: ANN001, ANN201
    with opened_window(qtbot, tmp_path) as window:
        yield window


@pytest.fixture(scope="module")
def shot(tmp_path_factory) -> Path:
    return make_video(
        tmp_path_factory.mktemp("editing") / "shot.mov", frames=48, codec="prores_ks", audio=True
    )


def press(window: MainWindow, key: str) -> None:
    window.activateWindow()
    window.timeline.setFocus()
    combo = QKeySequence(key)[0]
    QTest.keyClick(window.timeline.viewport(), combo.key(), combo.keyboardModifiers())


def clips(window: MainWindow, kind: TrackKind = TrackKind.VIDEO, index: int = 0):
    doc = window.session.doc
    return doc.clips(doc.tracks(kind)[index].id)


def place_shot(window: MainWindow, shot: Path) -> tuple[str, str]:
    [media_id] = window.media_bin.import_files([str(shot)])
    window.media_bin.select(media_id)
    window.seek(0)
    press(window, ",")
    return clips(window)[0].id, clips(window, TrackKind.AUDIO)[0].id


def click_clip(window: MainWindow, clip_id: str, modifiers=Qt.KeyboardModifier.NoModifier) -> None:  # noqa: ANN001
    view = window.timeline
    centre = view.mapFromScene(view.clip_item(clip_id).sceneBoundingRect().center())
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, modifiers, centre)


def item_brightness(window: MainWindow, clip_id: str) -> float:
    item = window.timeline.clip_item(clip_id)
    rect = item.boundingRect()
    image = QImage(int(rect.width()), int(rect.height()), QImage.Format.Format_RGB32)
    image.fill(0)
    painter = QPainter(image)
    option = QStyleOptionGraphicsItem()
    option.exposedRect = QRectF(rect)
    item.paint(painter, option, None)
    painter.end()
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.width(), 4)
    return float(pixels[..., :3].mean())


# ----------------------------------------------------------------------------------------- clipboard
def test_ctrl_c_ctrl_v_pastes_a_copy_at_the_playhead_and_undo_takes_it_back(window, shot):
    video, audio = place_shot(window, shot)
    doc = window.session.doc
    push_edit(window.session.stack, doc, "Grade", lambda d: d.set_clip_grade(video, GRADE))
    window.timeline.select([video, audio])
    press(window, "Ctrl+C")
    assert QGuiApplication.clipboard().mimeData().hasFormat(CLIPBOARD_MIME)
    window.seek(60)
    press(window, "Ctrl+V")
    starts = [(c.start.to_frames(), c.duration.to_frames()) for c in clips(window)]
    assert starts == [(0, 48), (60, 48)]
    pasted = clips(window)[1]
    assert pasted.id != video and pasted.grade == GRADE and pasted.media_id == doc.clip(video).media_id
    assert [c.start.to_frames() for c in clips(window, TrackKind.AUDIO)] == [0, 60]  # its sound came along
    assert window.timeline.selected_clip_ids() == [pasted.id, clips(window, TrackKind.AUDIO)[1].id]
    assert window.timeline.playhead() == 108  # after the pasted clip
    press(window, "Ctrl+Z")
    assert len(clips(window)) == 1 and len(clips(window, TrackKind.AUDIO)) == 1
    # Ctrl+Shift+V inserts: the clip at 0 is split and pushed right
    window.seek(24)
    press(window, "Ctrl+Shift+V")
    assert [(c.start.to_frames(), c.duration.to_frames()) for c in clips(window)] == [
        (0, 24),
        (24, 48),
        (72, 24),
    ]


def test_ctrl_x_cuts_and_a_second_window_pastes_it(window, shot, qtbot, tmp_path):
    video, _ = place_shot(window, shot)
    push_edit(window.session.stack, window.session.doc, "Grade", lambda d: d.set_clip_grade(video, GRADE))
    window.timeline.select([video])
    press(window, "Ctrl+X")
    assert clips(window) == [] and clips(window, TrackKind.AUDIO) == []  # linked selection: both went
    other = open_window(qtbot, tmp_path, "other.ini")
    try:
        other.seek(12)
        other.actions_by_name["paste"].trigger()  # (two windows: only one is active for key presses)
        [pasted] = clips(other)
        assert (pasted.start.to_frames(), pasted.grade) == (12, GRADE)
        assert other.session.doc.bin_item(pasted.media_id).path == str(shot)  # the media came along
        assert len(clips(other, TrackKind.AUDIO)) == 1
    finally:
        other.shutdown()


def test_paste_attributes_from_the_edit_menu(window, shot):
    video, audio = place_shot(window, shot)
    doc = window.session.doc
    stack = window.session.stack
    push_edit(stack, doc, "Level", lambda d: (d.set_clip_grade(video, GRADE), d.set_clip_gain(audio, -9.0)))
    window.timeline.select([video, audio])
    press(window, "Ctrl+C")
    window.seek(100)
    press(window, ",")  # the same shot again, ungraded
    second_v, second_a = clips(window)[1].id, clips(window, TrackKind.AUDIO)[1].id
    window.timeline.select([second_v, second_a])
    window.actions_by_name["pasteGrade"].trigger()
    assert doc.clip(second_v).grade == GRADE and doc.clip(second_a).gain_db == 0.0
    press(window, SHORTCUTS["pasteAttributes"][1][0])
    assert doc.clip(second_a).gain_db == -9.0


# ------------------------------------------------------------------------------------ lock and enable
def test_the_header_padlock_locks_a_track_and_a_locked_track_refuses_a_paste(window, shot):
    video, _ = place_shot(window, shot)
    view = window.timeline
    row = next(r for r in view.rows() if r.is_video)
    headers = view._headers
    top = view.scene_y_to_viewport_y(row.top) + RULER_HEIGHT
    spot = lock_button(QRectF(2, top, headers.width() - 4, row.height)).center().toPoint()
    QTest.mouseClick(headers, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, spot)
    doc = window.session.doc
    assert doc.track_info(row.track_id).locked
    view._ensure_synced()
    assert view.clip_item(video).look.locked
    before = doc.snapshot()
    window.timeline.select([video])
    press(window, "Ctrl+C")  # copying from a locked track is fine
    window.seek(60)
    press(window, "Ctrl+V")
    assert doc.snapshot() == before
    assert "V1 is locked" in window.statusBar().currentMessage()
    press(window, "Shift+E")
    assert doc.clip(video).enabled and "locked" in window.statusBar().currentMessage()
    QTest.mouseClick(headers, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, spot)
    assert not doc.track_info(row.track_id).locked
    press(window, "Ctrl+V")
    assert len(clips(window)) == 2


def image_mean(image: QImage) -> float:
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)
    return float(pixels[:, : image.width(), :3].mean())


def test_shift_e_disables_the_clip_dims_its_item_and_the_viewer_shows_black(window, shot, qtbot):
    video, audio = place_shot(window, shot)
    window.timeline.select([video, audio])
    bright = item_brightness(window, video)
    shown: list[tuple[int, QImage]] = []
    window.player.frame_ready.connect(lambda frame, image: shown.append((frame, QImage(image))))
    window.seek(10)
    qtbot.waitUntil(lambda: any(f == 10 for f, _ in shown), timeout=10000)
    assert image_mean(shown[-1][1]) > 40  # the shot's picture
    shown.clear()
    press(window, "Shift+E")
    qtbot.waitUntil(lambda: any(f == 10 for f, _ in shown), timeout=10000)
    assert image_mean([i for f, i in shown if f == 10][-1]) < 3  # black: the disabled clip shows nothing
    doc = window.session.doc
    assert not doc.clip(video).enabled and not doc.clip(audio).enabled
    window.timeline._ensure_synced()
    assert not window.timeline.clip_item(video).look.clip_enabled
    assert item_brightness(window, video) < 0.6 * bright
    assert doc.video_at(clips(window)[0].start) is None  # the viewer shows black there
    press(window, "Shift+E")
    assert doc.clip(video).enabled


def test_linked_selection_off_selects_and_deletes_the_picture_alone(window, shot):
    video, audio = place_shot(window, shot)
    window.seek(200)
    click_clip(window, video)
    assert sorted(window.timeline.selected_clip_ids()) == sorted([video, audio])
    press(window, "Ctrl+Shift+L")
    assert not window.actions_by_name["linkedSelection"].isChecked()
    window.timeline.select([])
    click_clip(window, video)
    assert window.timeline.selected_clip_ids() == [video]
    press(window, "Delete")
    assert clips(window) == [] and [c.id for c in clips(window, TrackKind.AUDIO)] == [audio]


# --------------------------------------------------------------------------------------------- markers
def test_double_clicking_a_marker_opens_its_dialog_and_ok_is_one_undo_step(window, shot, qtbot):
    place_shot(window, shot)
    view = window.timeline
    window.seek(20)
    press(window, "M")
    doc = window.session.doc
    [marker] = doc.markers()
    view._ensure_synced()
    ruler = view._ruler
    x = int(view.frame_to_viewport_x(20)) + 3
    QTest.mouseDClick(ruler, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(x, 18))
    dialog = window.editing.marker_dialog
    assert dialog is not None and dialog.isVisible() and dialog.marker_id == marker.id
    dialog.name_edit.setText("Sky")
    dialog.note_edit.setPlainText("regenerate: the sky flickers")
    dialog.color_box.setCurrentIndex(dialog.color_box.findData("GREEN"))
    dialog.accept()
    [edited] = doc.markers()
    assert (edited.name, edited.note, edited.color) == ("Sky", "regenerate: the sky flickers", "GREEN")
    view._ensure_synced()
    assert view.marker_frames() == [(20, "Sky", "GREEN")]  # the ruler shows the new name and colour
    assert ruler.marker_tip(x, 18) == "Sky\nregenerate: the sky flickers"  # hovering the flag shows the note
    assert ruler.marker_tip(x + 200, 18) == ruler.toolTip()
    press(window, "Ctrl+Z")
    [undone] = doc.markers()
    assert (undone.name, undone.note) == ("", "")


def test_ctrl_c_in_the_prompt_copies_its_text_not_clips(window, shot):
    video, _ = place_shot(window, shot)
    window.timeline.select([video])
    QGuiApplication.clipboard().setText("before")
    window.generate_dock.raise_()
    edit = window.generate_panel.prompt_edit
    edit.setFocus()
    QTest.keyClicks(edit, "a quiet lake")
    edit.selectAll()
    QTest.keyClick(edit, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    mime = QGuiApplication.clipboard().mimeData()
    assert QGuiApplication.clipboard().text() == "a quiet lake" and not mime.hasFormat(CLIPBOARD_MIME)
    QTest.keyClick(edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)  # pasted into the prompt
    assert edit.toPlainText() == "a quiet lake" and len(clips(window)) == 1
