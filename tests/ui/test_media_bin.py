"""The media bin: info text, drag and drop in and out, missing media, relink and remove as undo steps."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QUndoStack
from PySide6.QtWidgets import QApplication

from app.document import MediaItem, TimelineDocument
from app.media.probe import probe_media
from app.media.thumbnails import clear_thumbnails
from app.media.workers import ThumbnailProvider
from tests.media_builders import make_audio, make_corrupt, make_vfr_video, make_video
from ui.media_bin import MEDIA_ID_ROLE, MEDIA_IDS_MIME, MISSING_ROLE, MediaBin
from ui.theme import apply_dark_theme

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture
def doc() -> TimelineDocument:
    return TimelineDocument(name="Bin test", rate=24)


@pytest.fixture
def stack() -> QUndoStack:
    return QUndoStack()


@pytest.fixture
def media_bin(qtbot, doc, stack) -> MediaBin:
    widget = MediaBin(doc, stack)
    qtbot.addWidget(widget)
    widget.resize(420, 480)
    widget.show()
    return widget


def _rows(media_bin: MediaBin) -> dict[str, str]:
    """media id -> the row's text, for every row (takes included)."""
    return {index.data(MEDIA_ID_ROLE): index.data() for index in media_bin._all_indexes()}


def _index_of(media_bin: MediaBin, media_id: str):
    return next(i for i in media_bin._all_indexes() if i.data(MEDIA_ID_ROLE) == media_id)


def _add(doc: TimelineDocument, path: Path, **fields) -> str:
    info = fields.pop("info", None) or probe_media(path)
    item = MediaItem(id=uuid.uuid4().hex, path=str(path), name=path.name, info=info, **fields)
    return doc.add_bin_item(item)


def _drop(widget, urls: list[QUrl]) -> tuple[bool, bool]:
    """Send enter/move/drop of `urls` to the bin's viewport; returns (enter accepted, drop accepted)."""
    viewport = widget.view.viewport()
    mime = QMimeData()
    mime.setUrls(urls)
    pos = QPointF(viewport.width() // 2, viewport.height() // 2)
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, buttons, mods)
    QApplication.sendEvent(viewport, enter)
    move = QDragMoveEvent(pos, Qt.DropAction.CopyAction, mime, buttons, mods)
    QApplication.sendEvent(viewport, move)
    drop = QDropEvent(pos, Qt.DropAction.CopyAction, mime, buttons, mods)
    QApplication.sendEvent(viewport, drop)
    return enter.isAccepted(), drop.isAccepted()


def test_import_shows_resolution_fps_duration_codec(media_bin, doc, tmp_path):
    video = make_video(tmp_path / "shot.mp4", frames=48, fps=24, size=(64, 48))
    sound = make_audio(tmp_path / "music.wav", seconds=1.5)

    ids = media_bin.import_files([str(video), str(sound)])

    assert len(ids) == 2 and [i.id for i in doc.bin_items()] == ids
    rows = _rows(media_bin)
    assert rows[ids[0]].splitlines()[0] == "shot.mp4"
    assert rows[ids[0]].splitlines()[1].startswith("64×48 · 24 fps · 00:00:02:00 · h264")
    assert "audio · 1.50 s" in rows[ids[1]]
    assert not media_bin.message_label.isVisible()


def test_variable_frame_rate_footage_is_labelled_so(media_bin, doc, tmp_path):
    phone, _times = make_vfr_video(tmp_path / "phone.mp4", [10, 10, 100, 40, 200, 20, 80, 40] * 4)
    steady = make_video(tmp_path / "steady.mp4", frames=24, audio=False)

    ids = media_bin.import_files([str(phone), str(steady)])

    rows = _rows(media_bin)
    facts = rows[ids[0]].splitlines()[1]
    assert facts.startswith("64×48 · variable frame rate (~") and " fps) · " in facts, facts
    assert "variable" not in rows[ids[1]]
    assert "variable frame rate" in _index_of(media_bin, ids[0]).data(Qt.ItemDataRole.ToolTipRole)


def test_dropping_files_imports_good_ones_and_reports_bad_ones(media_bin, doc, stack, tmp_path, qtbot):
    good = make_video(tmp_path / "good.mov", codec="prores_ks", audio=False)
    bad = make_corrupt(tmp_path / "bad.mp4")

    with qtbot.waitSignal(media_bin.message) as message:
        entered, dropped = _drop(media_bin, [QUrl.fromLocalFile(str(good)), QUrl.fromLocalFile(str(bad))])

    assert entered and dropped
    assert [item.path for item in doc.bin_items()] == [str(good)]
    assert "bad.mp4" in message.args[0] and "good.mov" not in message.args[0]
    assert media_bin.message_label.isVisible() and "bad.mp4" in media_bin.message_label.text()
    assert "prores" in _rows(media_bin)[doc.bin_items()[0].id]
    # One drop, one undo step.
    assert stack.count() == 1
    stack.undo()
    assert doc.bin_items() == [] and _rows(media_bin) == {}


def test_dropping_only_bad_files_adds_nothing_and_no_undo_step(media_bin, doc, stack, tmp_path):
    bad = make_corrupt(tmp_path / "bad.mp4")
    _drop(media_bin, [QUrl.fromLocalFile(str(bad)), QUrl.fromLocalFile(str(tmp_path / "nope.mov"))])
    assert doc.bin_items() == []
    assert stack.count() == 0
    assert "bad.mp4" in media_bin.message_label.text() and "nope.mov" in media_bin.message_label.text()


def test_own_items_and_non_file_drops_are_refused(media_bin):
    viewport = media_bin.view.viewport()
    mime = QMimeData()
    mime.setData(MEDIA_IDS_MIME, b"abc")
    event = QDragEnterEvent(
        QPointF(5, 5),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(viewport, event)
    assert not event.isAccepted()


def test_drag_out_carries_the_selected_media_ids(media_bin, doc, tmp_path):
    first = _add(doc, make_video(tmp_path / "a.mp4", audio=False))
    second = _add(doc, make_video(tmp_path / "b.mp4", audio=False))
    media_bin.view.selectAll()

    assert sorted(media_bin.selected_ids()) == sorted([first, second])
    mime = media_bin.model.mimeData(media_bin.view.selectionModel().selectedIndexes())
    assert mime.hasFormat(MEDIA_IDS_MIME)
    assert sorted(bytes(mime.data(MEDIA_IDS_MIME)).decode("utf-8").split("\n")) == sorted([first, second])


def test_selection_and_activation_signals(media_bin, doc, tmp_path, qtbot):
    media_id = _add(doc, make_video(tmp_path / "a.mp4", audio=False))
    with qtbot.waitSignal(media_bin.selection_changed) as selected:
        media_bin.select(media_id)
    assert selected.args == [[media_id]]
    with qtbot.waitSignal(media_bin.item_activated) as activated:
        media_bin.view.doubleClicked.emit(_index_of(media_bin, media_id))
    assert activated.args == [media_id]


def test_missing_media_is_flagged(media_bin, doc, tmp_path):
    path = make_video(tmp_path / "moved.mp4", audio=False)
    media_id = _add(doc, path)
    present = _add(doc, make_video(tmp_path / "here.mp4", audio=False))
    path.unlink()
    media_bin.refresh()

    missing = _index_of(media_bin, media_id)
    assert missing.data(MISSING_ROLE) is True
    assert "Missing" in missing.data() and "Relink" in missing.data(Qt.ItemDataRole.ToolTipRole)
    assert missing.data(Qt.ItemDataRole.ForegroundRole).color().red() > 200
    assert _index_of(media_bin, present).data(MISSING_ROLE) is False


def test_relink_updates_the_item_and_is_undoable(media_bin, doc, stack, tmp_path):
    (tmp_path / "old").mkdir()
    old = make_video(tmp_path / "old" / "clip.mp4", audio=False)
    media_id = _add(doc, old)
    old.unlink()
    media_bin.refresh()
    new = make_video(tmp_path / "clip_new.mp4", frames=30, audio=False)

    assert media_bin.relink(media_id, str(new))

    assert doc.bin_item(media_id).path == str(new)
    assert _index_of(media_bin, media_id).data(MISSING_ROLE) is False
    stack.undo()
    assert doc.bin_item(media_id).path == str(old)
    assert _index_of(media_bin, media_id).data(MISSING_ROLE) is True
    stack.redo()
    assert doc.bin_item(media_id).path == str(new)


def test_relink_to_an_unreadable_file_changes_nothing(media_bin, doc, stack, tmp_path, qtbot):
    path = make_video(tmp_path / "clip.mp4", audio=False)
    media_id = _add(doc, path)
    bad = make_corrupt(tmp_path / "bad.mp4")
    with qtbot.waitSignal(media_bin.message):
        assert not media_bin.relink(media_id, str(bad))
    assert doc.bin_item(media_id).path == str(path)
    assert stack.count() == 0


def test_relink_from_folder_matches_by_name_in_one_undo_step(media_bin, doc, stack, tmp_path):
    a = make_video(tmp_path / "a.mp4", audio=False)
    b = make_video(tmp_path / "b.mp4", audio=False)
    ids = [_add(doc, a), _add(doc, b)]
    moved = tmp_path / "moved" / "deeper"
    moved.mkdir(parents=True)
    a.rename(moved / "a.mp4")
    b.rename(moved / "b.mp4")

    assert media_bin.relink_from_folder(ids, str(tmp_path / "moved")) == ids
    assert doc.bin_item(ids[1]).path == str(moved / "b.mp4")
    stack.undo()
    assert [doc.bin_item(i).path for i in ids] == [str(a), str(b)]


def test_remove_is_refused_for_media_on_the_timeline(media_bin, doc, stack, tmp_path, qtbot):
    from opentimelineio.opentime import RationalTime

    used = _add(doc, make_video(tmp_path / "used.mp4", audio=False))
    unused = _add(doc, make_video(tmp_path / "unused.mp4", audio=False))
    video_track = doc.tracks()[0].id if doc.tracks()[0].kind.value == "Video" else doc.tracks()[1].id
    doc.insert(used, video_track, RationalTime(0, 24))

    with qtbot.waitSignal(media_bin.message):
        assert not media_bin.remove(used)
    assert media_bin.remove(unused)
    assert [item.id for item in doc.bin_items()] == [used]
    stack.undo()
    assert {item.id for item in doc.bin_items()} == {used, unused}


def test_takes_are_grouped_under_their_original(media_bin, doc, tmp_path):
    generation = {"prompt": "a red fox", "seed": 7}
    original = _add(
        doc, make_video(tmp_path / "gen.mkv", codec="ffv1"), kind="generated", generation=generation
    )
    take = _add(
        doc,
        make_video(tmp_path / "gen_take2.mkv", codec="ffv1"),
        kind="generated",
        generation=generation,
        take_of=original,
        take=2,
    )
    top = _index_of(media_bin, original)
    assert not top.parent().isValid() and "[generated]" in top.data()
    child = _index_of(media_bin, take)
    assert child.parent() == top and "[take 2]" in child.data()


@pytest.fixture
def thumbnails():
    clear_thumbnails()  # a cached thumbnail would come back synchronously and skip the path under test
    provider = ThumbnailProvider()
    yield provider
    provider.shutdown()


def test_thumbnails_arrive_from_the_provider(qtbot, doc, stack, tmp_path, thumbnails):
    widget = MediaBin(doc, stack, thumbnails)
    qtbot.addWidget(widget)
    sound = _add(doc, make_audio(tmp_path / "tone.wav"))
    media_id = _add(doc, make_video(tmp_path / "wide.mp4", size=(128, 48), audio=False))

    def sizes(media_id: str) -> list:
        return _index_of(widget, media_id).data(Qt.ItemDataRole.DecorationRole).availableSizes()

    assert [s.toTuple() for s in sizes(media_id)] == [(96, 54)]  # the placeholder until it is decoded
    assert thumbnails.wait(10000)
    qtbot.waitUntil(lambda: [s.toTuple() for s in sizes(media_id)] == [(144, 54)], timeout=10000)
    assert [s.toTuple() for s in sizes(sound)] == [(96, 54)]  # audio keeps its placeholder


def test_screenshot_of_the_bin(qtbot, doc, stack, tmp_path, thumbnails):
    app = QApplication.instance()
    previous = (app.style().name(), app.palette(), app.styleSheet())
    apply_dark_theme(app)
    try:
        widget = MediaBin(doc, stack, thumbnails)
        qtbot.addWidget(widget)
        widget.resize(420, 520)
        widget.show()
        widget.import_files(
            [
                str(make_video(tmp_path / "interview_A.mov", codec="prores_ks", size=(192, 108))),
                str(make_video(tmp_path / "broll_city.mp4", frames=120, size=(160, 90))),
                str(make_audio(tmp_path / "music_bed.wav", seconds=3)),
            ]
        )
        gen = make_video(tmp_path / "fox_forest.mkv", codec="ffv1", size=(128, 72))
        original = _add(doc, gen, kind="generated", generation={"prompt": "a red fox", "seed": 42})
        take = make_video(tmp_path / "fox_forest_take2.mkv", codec="ffv1", size=(128, 72))
        _add(doc, take, kind="generated", take_of=original, take=2, generation={"prompt": "a red fox"})
        gone = make_video(tmp_path / "lost_drone.mp4", size=(128, 72))
        _add(doc, gone)
        gone.unlink()
        widget.import_files([str(make_corrupt(tmp_path / "broken.mp4"))])
        widget.refresh()
        assert thumbnails.wait(10000)
        qtbot.wait(100)  # the finished thumbnails are delivered through queued signals
        image = widget.grab().toImage()
    finally:
        app.setStyle(previous[0])
        app.setPalette(previous[1])
        app.setStyleSheet(previous[2])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert image.save(str(SCREENSHOTS / "media_bin.png"))
    assert len(_rows(widget)) == 6


def test_import_dialog_imports_what_was_picked(media_bin, doc, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    picked = [str(make_video(tmp_path / "picked.mp4", audio=False))]
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: (picked, ""))
    assert media_bin.import_dialog() == [doc.bin_items()[0].id]
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: ([], ""))
    assert media_bin.import_dialog() == [] and len(doc.bin_items()) == 1  # cancelled


def test_context_menu_offers_relink_reveal_remove(media_bin, doc, stack, tmp_path):
    media_id = _add(doc, make_video(tmp_path / "a.mp4", audio=False))
    menu = media_bin.context_menu(media_id)
    actions = {a.text(): a for a in menu.actions() if a.text()}
    assert list(actions) == ["Relink...", "Reveal path", "Remove", "Import..."]
    actions["Remove"].trigger()
    assert doc.bin_items() == [] and stack.count() == 1
    assert [a.text() for a in media_bin.context_menu(None).actions()] == ["Import..."]


def test_delete_key_removes_the_selection(media_bin, doc, qtbot, tmp_path):
    media_id = _add(doc, make_video(tmp_path / "a.mp4", audio=False))
    media_bin.select(media_id)
    qtbot.keyClick(media_bin.view, Qt.Key.Key_Delete)
    assert doc.bin_items() == []


def test_offer_relink_after_opening_a_moved_project(media_bin, doc, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    path = make_video(tmp_path / "shot.mp4", audio=False)
    media_id = _add(doc, path)
    (tmp_path / "new").mkdir()
    path.rename(tmp_path / "new" / "shot.mp4")
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path / "new"))

    assert media_bin.offer_relink([media_id]) == [media_id]
    assert doc.bin_item(media_id).path == str(tmp_path / "new" / "shot.mp4")
    assert _index_of(media_bin, media_id).data(MISSING_ROLE) is False
