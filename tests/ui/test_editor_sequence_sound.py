"""Issue 13 UI: the Sequence Settings dialog, inspector transform / sound / title fields, track header
mute/solo/volume, the stereo level meter fed by the player, and drops below the last track."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QUndoStack, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialogButtonBox

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from media_builders import make_audio  # noqa: E402
from opentimelineio.opentime import RationalTime  # noqa: E402
from timeline_helpers import fake_media, make_view, point, rt, track_id  # noqa: E402

from app.commands import push_edit  # noqa: E402
from app.document import TimelineDocument, TrackKind  # noqa: E402
from app.document.sequence import SequenceSettings  # noqa: E402
from app.media.importer import import_files  # noqa: E402
from app.media.levels import MeterReading  # noqa: E402
from app.media.workers import TimelinePlayer  # noqa: E402
from ui.clip_properties import ClipPropertiesPanel  # noqa: E402
from ui.level_meter import LevelMeter  # noqa: E402
from ui.sequence_dialog import SequenceSettingsDialog  # noqa: E402
from ui.timeline.ruler import RULER_HEIGHT  # noqa: E402
from ui.timeline.track_headers import TrackHeaders, audio_buttons  # noqa: E402

MIME = "application/x-aiprod-media-ids"


# ----------------------------------------------------------------------------------- sequence dialog
def test_sequence_dialog_presets_refusal_and_match_first_clip(qtbot):
    first = SequenceSettings(1280, 720, 25.0, 48000)
    dialog = SequenceSettingsDialog(SequenceSettings(1920, 1080, 24.0, 48000), first)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.preset.setCurrentIndex(dialog.preset.findData("9:16 vertical"))
    assert (dialog.width_box.value(), dialog.height_box.value()) == (1080, 1920)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    dialog.width_box.setValue(1081)  # odd: refused with the core's message
    assert not ok.isEnabled() and "even" in dialog.problem.text()
    assert dialog.preset.currentData() == "Custom"
    dialog.match_button.click()
    assert dialog.settings() == first and ok.isEnabled()
    dialog.rate.setCurrentIndex(dialog.rate.findText("29.97 fps"))
    with qtbot.waitSignal(dialog.settings_chosen) as chosen:
        ok.click()
    assert chosen.args[0] == SequenceSettings(1280, 720, 30000 / 1001, 48000)


# ------------------------------------------------------------------------------------- inspector
def test_clip_properties_edit_transform_sound_and_title_undoably(qtbot, tmp_path):
    doc = TimelineDocument(name="P", sequence=SequenceSettings(640, 360, 24.0, 48000))
    stack = QUndoStack()
    picture = fake_media(doc, "pic", 48)
    sound = fake_media(doc, "snd", 48, audio=True, video=False)
    (clip,) = doc.insert(picture, track_id(doc, "V1"), rt(0))
    (audio,) = doc.insert(sound, track_id(doc, "A1"), rt(0))
    title = doc.insert_title(doc.add_track(TrackKind.VIDEO), rt(0), {"text": "Hi"})
    panel = ClipPropertiesPanel(doc, stack)
    qtbot.addWidget(panel)
    panel.show()
    panel.set_clip(clip)
    assert panel.picture.isVisible() and not panel.sound.isVisible() and not panel.title.isVisible()
    panel.mode.setCurrentText("Fill")
    panel.scale.setValue(150)
    panel.crops[0].setValue(10)
    assert doc.clip(clip).transform == {
        "mode": "fill",
        "scale": 1.5,
        "x": 0.0,
        "y": 0.0,
        "crop": [0.1, 0, 0, 0],
    }
    while stack.canUndo():
        stack.undo()
    assert doc.clip(clip).transform is None and panel.mode.currentText() == "Fit"  # follows the undo
    panel.set_clip(audio)
    assert panel.sound.isVisible() and not panel.picture.isVisible()
    panel.gain.setValue(-6.0)
    panel.fade_in.setValue(12)
    assert doc.clip(audio).gain_db == -6.0 and doc.clip(audio).fade_in == 12
    panel.fade_out.setValue(40)  # 12 + 40 > 48 frames: refused, the field goes back
    assert "longer than the clip" in panel.message.text()
    assert doc.clip(audio).fade_out == 0 and panel.fade_out.value() == 0
    panel.set_clip(title)
    assert panel.title.isVisible() and panel.text.text() == "Hi"
    panel.text.setText("Hello there")
    panel.text.editingFinished.emit()
    assert doc.clip(title).title["text"] == "Hello there"
    panel.color.setText("not a colour")
    panel.color.editingFinished.emit()
    assert "colour" in panel.message.text() and doc.clip(title).title["color"] == "#ffffff"


# ---------------------------------------------------------------------------------- track headers
def test_audio_track_header_mute_solo_and_volume(qtbot):
    doc = TimelineDocument(name="H", rate=24)
    stack = QUndoStack()
    view = make_view(qtbot, doc, stack, (900, 300))
    headers = view.findChild(TrackHeaders)
    view.clip_item("")
    row = next(r for r in view.rows() if r.name == "A1")
    top = view.scene_y_to_viewport_y(row.top) + RULER_HEIGHT
    spots = audio_buttons(QRectF(2, top, headers.width() - 4, row.height))
    a1 = track_id(doc, "A1")
    QTest.mouseClick(
        headers, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, spots["mute"].center().toPoint()
    )
    assert doc.track_info(a1).mute
    QTest.mouseClick(
        headers, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, spots["solo"].center().toPoint()
    )
    assert doc.track_info(a1).solo
    where = spots["volume"].center()
    for _ in range(3):  # three wheel notches down: -3 dB, one undo step
        wheel = QWheelEvent(
            where,
            headers.mapToGlobal(where),
            QPoint(),
            QPoint(0, -120),
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(headers, wheel)
    assert doc.track_info(a1).volume_db == -3.0
    stack.undo()
    assert doc.track_info(a1).volume_db == 0.0 and doc.track_info(a1).solo
    stack.undo()
    stack.undo()
    assert not doc.track_info(a1).mute and not doc.track_info(a1).solo


# ---------------------------------------------------------------------------------- drops
def _drop(view, mime: QMimeData, pos: QPoint) -> bool:  # noqa: ANN001
    actions, buttons, mods = (
        Qt.DropAction.CopyAction,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(view.viewport(), QDragEnterEvent(QPointF(pos), actions, mime, buttons, mods))
    QApplication.sendEvent(view.viewport(), QDragMoveEvent(QPointF(pos), actions, mime, buttons, mods))
    event = QDropEvent(QPointF(pos), actions, mime, buttons, Qt.KeyboardModifier.ControlModifier)
    QApplication.sendEvent(view.viewport(), event)
    return event.isAccepted()


def test_a_drop_below_the_last_track_makes_a_track_and_leaves_a1_alone(qtbot):
    doc = TimelineDocument(name="D", rate=24)
    stack = QUndoStack()
    view = make_view(qtbot, doc, stack, (900, 420))
    song = fake_media(doc, "song", 96, audio=True, video=False)
    voice = fake_media(doc, "voice", 96, audio=True, video=False)
    push_edit(stack, doc, "insert", lambda d: d.insert(voice, track_id(doc, "A1"), rt(0)))
    QApplication.processEvents()
    below = point(view, 10, "A1", dy=80)  # well under the last row
    mime = QMimeData()
    mime.setData(MIME, song.encode())
    assert _drop(view, mime, below)
    assert [c.name for c in doc.clips(track_id(doc, "A1"))] == ["voice"]  # not overwritten
    assert [c.name for c in doc.clips(track_id(doc, "A2"))] == ["song"]
    assert stack.count() == 2
    stack.undo()
    assert len(doc.tracks(TrackKind.AUDIO)) == 1


# ------------------------------------------------------------------------------------- meter
def test_level_meter_follows_the_player_while_playing(qtbot, tmp_path):
    doc = TimelineDocument(name="M", sequence=SequenceSettings(64, 48, 24.0, 48000))
    ids, _ = import_files(doc, [make_audio(tmp_path / "tone.wav", seconds=2.0)])
    doc.insert(ids[0], track_id(doc, "A1"), rt(0))
    player = TimelinePlayer(doc, audio=False)
    meter = LevelMeter()
    qtbot.addWidget(meter)
    player.levels.connect(meter.set_levels)
    try:
        with qtbot.waitSignal(player.levels, timeout=5000) as got:
            player.play()
        reading = got.args[0]
        assert isinstance(reading, MeterReading)
        assert reading.peak[0] == pytest.approx(-6.02, abs=0.3)  # the 0.5 sine
        assert meter.peak[0] == pytest.approx(-6.02, abs=0.3)
        with qtbot.waitSignal(player.levels, timeout=2000) as stopped:
            player.pause()
        assert stopped.args[0].peak[0] < -80  # bars drop when playback stops
    finally:
        player.shutdown()


def test_a_crossfade_on_the_sound_alone_or_with_the_dissolve(qtbot):
    from timeline_helpers import span

    doc = TimelineDocument(name="X", rate=24)
    stack = QUndoStack()
    view = make_view(qtbot, doc, stack, (900, 300))
    shot = fake_media(doc, "shot", 96, audio=True)
    v1, a1 = track_id(doc, "V1"), track_id(doc, "A1")
    left_v, left_a = doc.insert(shot, v1, rt(0), span(0, 24))
    doc.insert(shot, v1, rt(24), span(48, 24))
    view.select([left_a])  # the sound alone (as an Alt-click selects it)
    view.add_dissolve_at_selection(frames=8)
    assert len(doc.dissolves(a1)) == 1 and doc.dissolves(v1) == []
    assert stack.undoText() == "Add audio crossfade"
    stack.undo()
    view.select([left_v, left_a])
    view.add_dissolve_at_selection(frames=8)
    assert len(doc.dissolves(a1)) == 1 and len(doc.dissolves(v1)) == 1


def test_main_window_sequence_settings_titles_meter_and_new_project(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_screenshot import _discarding_prompts

    from ui.main_window import MainWindow

    monkeypatch.setenv("AIPROD_DATA_DIR", str(tmp_path / "data"))
    window = MainWindow(
        QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), prompts=_discarding_prompts()
    )
    qtbot.addWidget(window)
    window.show()
    try:
        assert window.level_meter.isVisible()  # beside the viewer
        assert window.centralWidget().isAncestorOf(window.level_meter)
        doc, stack = window.session.doc, window.session.stack
        first = fake_media(doc, "first", 48)
        push_edit(stack, doc, "Insert", lambda d: d.insert(first, d.tracks(TrackKind.VIDEO)[0].id, rt(0)))
        # the first clip's format is offered in the status bar; no dialog takes the keyboard mid-edit
        assert window.sequence_dialog is None
        assert "64 × 48" in window.statusBar().currentMessage()
        stack.undo()
        window.sequence_action.trigger()
        dialog = window.sequence_dialog
        assert dialog is not None and dialog.isVisible() and not dialog.isModal()
        dialog.preset.setCurrentIndex(dialog.preset.findData("720p"))
        dialog.rate.setCurrentIndex(dialog.rate.findText("25 fps"))
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
        assert doc.sequence_settings() == SequenceSettings(1280, 720, 25.0, 48000)
        assert stack.undoText() == "Sequence settings"
        stack.undo()
        assert not doc.has_sequence_settings() and doc.rate == 24
        window.seek(10)
        title = window.add_title("Opening")
        assert doc.clip(title).title["text"] == "Opening" and doc.clip(title).start.value == 10
        assert doc.track_info(doc.clip(title).track_id).name == "V2"  # above the picture
        assert window.inspector.clip_properties.title.isVisible()
        window.project_actions["new"].trigger()  # a new project is offered its settings
        new_dialog = window.sequence_dialog
        assert new_dialog is not dialog and new_dialog.isVisible()
        assert window.session.doc is not doc
    finally:
        window.shutdown()


def test_m_unmutes_a_track_switched_off_the_older_way(qtbot):
    doc = TimelineDocument(name="L", rate=24)
    stack = QUndoStack()
    view = make_view(qtbot, doc, stack, (900, 300))
    a1 = track_id(doc, "A1")
    doc.set_track_enabled(a1, False)  # a project saved before M/S existed
    view.toggle_mute(a1)
    info = doc.track_info(a1)
    assert info.enabled and not info.mute and stack.count() == 1
    view.toggle_mute(a1)
    assert doc.track_info(a1).mute


def test_the_bin_describes_a_still(tmp_path):
    from media_builders import make_image

    from app.media.probe import probe_media
    from ui.media_bin import describe_media

    text = describe_media(probe_media(make_image(tmp_path / "card.png", size=(40, 30))))
    assert text.startswith("40×30 · still · png") and "fps" not in text


def test_dragging_a_sound_clips_fade_handles(qtbot):
    from PySide6.QtGui import QMouseEvent
    from timeline_helpers import PPF

    doc = TimelineDocument(name="F", rate=24)
    stack = QUndoStack()
    view = make_view(qtbot, doc, stack, (900, 300))
    snd = fake_media(doc, "snd", 96, audio=True, video=False)
    (clip,) = doc.insert(snd, track_id(doc, "A1"), rt(0))
    view.set_snapping(False)
    item = view.clip_item(clip)
    handles = item.fade_handles()

    def mouse(kind, scene_point: QPointF) -> None:  # noqa: ANN001
        local = QPointF(view.mapFromScene(scene_point))
        held = (
            Qt.MouseButton.NoButton
            if kind == QMouseEvent.Type.MouseButtonRelease
            else Qt.MouseButton.LeftButton
        )
        button = Qt.MouseButton.NoButton if kind == QMouseEvent.Type.MouseMove else Qt.MouseButton.LeftButton
        event = QMouseEvent(kind, local, QPointF(view.viewport().mapToGlobal(local.toPoint())), button, held,
                            Qt.KeyboardModifier.NoModifier)  # fmt: skip
        QApplication.sendEvent(view.viewport(), event)

    start = item.pos() + handles["in"]
    mouse(QMouseEvent.Type.MouseButtonPress, start)
    for step in range(1, 6):
        mouse(QMouseEvent.Type.MouseMove, start + QPointF(step * 4 * PPF, 0))  # 20 frames right in all
    mouse(QMouseEvent.Type.MouseButtonRelease, start + QPointF(20 * PPF, 0))
    fade_in = doc.clip(clip).fade_in
    assert fade_in == 20 and doc.clip(clip).start.value == 0  # the fade follows the mouse; the clip stays
    assert stack.count() == 1  # the whole drag is one undo step
    handles = view.clip_item(clip).fade_handles()
    end = view.clip_item(clip).pos() + handles["out"]
    mouse(QMouseEvent.Type.MouseButtonPress, end)
    for step in range(1, 4):
        mouse(QMouseEvent.Type.MouseMove, end - QPointF(step * 4 * PPF, 0))
    mouse(QMouseEvent.Type.MouseButtonRelease, end - QPointF(12 * PPF, 0))
    assert doc.clip(clip).fade_out >= 12 and doc.clip(clip).duration.value == 96  # not trimmed
    stack.undo()
    assert doc.clip(clip).fade_out == 0 and doc.clip(clip).fade_in == fade_in


def test_export_defaults_to_the_sequence_size(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from ui.export_dialog import ExportDialog

    doc = TimelineDocument(name="E", sequence=SequenceSettings(1280, 720, 25.0, 48000))
    doc.insert(fake_media(doc, "small", 48), track_id(doc, "V1"), RationalTime(0, 25))  # a 64x48 clip
    dialog = ExportDialog(doc, QSettings(str(tmp_path / "e.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(dialog)
    assert dialog.size_combo.itemText(0) == "Sequence size (1280 × 720)"
    assert dialog.size_combo.currentIndex() == 0
    assert "1280 × 720, 25 fps" in dialog.summary_label.text()
