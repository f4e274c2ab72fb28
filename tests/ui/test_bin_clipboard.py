"""Copy, cut, paste and Delete follow the focus: with the media bin focused they act on the bin's selection
(Ctrl+C copies the bin items, Ctrl+V / Ctrl+Shift+V then place them at the playhead as the bin's insert does,
Ctrl+X is refused, Delete removes bin items) and never on the timeline's selected clips; with the timeline
focused they act on its clips as before."""

from __future__ import annotations

from pathlib import Path

import pytest
from media_builders import make_video
from PySide6.QtCore import QMimeData
from PySide6.QtGui import QGuiApplication
from window_helpers import focus, opened_window, press

from app.document import TrackKind
from app.document.clipboard import CLIPBOARD_MIME
from ui.main_window import MainWindow
from ui.media_bin import MEDIA_IDS_MIME

pytestmark = pytest.mark.usefixtures("data_dir")  # tests/ui/conftest.py


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("bin_clipboard")
    return [
        make_video(folder / "one.mov", frames=24, codec="prores_ks", audio=False),
        make_video(folder / "two.mov", frames=36, codec="prores_ks", audio=False),
    ]


@pytest.fixture
def window(qtbot, tmp_path):  # noqa: ANN001, ANN201
    with opened_window(qtbot, tmp_path) as window:
        yield window


def video_clips(window: MainWindow):  # noqa: ANN201
    doc = window.session.doc
    return doc.clips(doc.tracks(TrackKind.VIDEO)[0].id)


def spans(window: MainWindow) -> list[tuple[str, int, int]]:
    return [(c.media_id, c.start.to_frames(), c.duration.to_frames()) for c in video_clips(window)]


def set_up(window: MainWindow, shots: list[Path]) -> tuple[list[str], str]:
    """Both shots in the bin, the first on V1 at 0 and selected on the timeline; the second selected in the
    bin. Returns the media ids and the timeline clip's id."""
    ids = window.media_bin.import_files([str(p) for p in shots])
    window.media_bin.select(ids[0])
    window.seek(0)
    window.place_bin_selection()
    [clip] = video_clips(window)
    window.timeline.select([clip.id])
    window.media_bin.select(ids[1])
    return ids, clip.id


def put_on_clipboard(marker: bytes) -> None:
    mime = QMimeData()
    mime.setData("application/x-test-marker", marker)
    QGuiApplication.clipboard().setMimeData(mime)


# -------------------------------------------------------------------------------------------------- copy
def test_ctrl_c_in_the_focused_bin_copies_the_bin_items_and_ctrl_v_places_them_at_the_playhead(
    window, shots, qtbot
):
    ids, clip_id = set_up(window, shots)
    before = spans(window)
    press(qtbot, window.media_bin.view, "Ctrl+C")
    mime = QGuiApplication.clipboard().mimeData()
    assert not mime.hasFormat(CLIPBOARD_MIME)  # not the timeline's selected clip
    assert bytes(mime.data(MEDIA_IDS_MIME).data()).decode().split() == [ids[1]]
    assert str(shots[1]) in mime.text()  # other programs get the file's path
    assert "Copied" in window.statusBar().currentMessage() and "bin" in window.statusBar().currentMessage()
    assert spans(window) == before and window.timeline.selected_clip_ids() == [clip_id]

    window.seek(24)  # right after the clip on V1
    press(qtbot, window.timeline, "Ctrl+V")
    assert spans(window) == [(ids[0], 0, 24), (ids[1], 24, 36)]
    pasted = video_clips(window)[1]
    assert window.timeline.selected_clip_ids() == [pasted.id]
    assert window.timeline.playhead() == 60  # after what was pasted, ready for the next paste
    window.session.stack.undo()  # one undo step
    assert spans(window) == before


def test_paste_insert_of_bin_items_opens_up_the_track(window, shots, qtbot):
    ids, _clip_id = set_up(window, shots)
    press(qtbot, window.media_bin.view, "Ctrl+C")
    window.seek(12)
    press(qtbot, window.timeline, "Ctrl+Shift+V")
    assert spans(window) == [(ids[0], 0, 12), (ids[1], 12, 36), (ids[0], 48, 12)]
    window.seek(0)
    press(qtbot, window.timeline, "Ctrl+V")  # overwrite: what lay under it is replaced
    assert spans(window)[0] == (ids[1], 0, 36)


def test_copy_from_the_edit_menu_follows_the_focus_too(window, shots, qtbot):
    ids, clip_id = set_up(window, shots)
    focus(qtbot, window.media_bin.view)
    window.actions_by_name["copy"].trigger()
    mime = QGuiApplication.clipboard().mimeData()
    assert mime.hasFormat(MEDIA_IDS_MIME) and not mime.hasFormat(CLIPBOARD_MIME)
    focus(qtbot, window.timeline)
    window.actions_by_name["copy"].trigger()  # the timeline focused: its clips, as before
    mime = QGuiApplication.clipboard().mimeData()
    assert mime.hasFormat(CLIPBOARD_MIME) and not mime.hasFormat(MEDIA_IDS_MIME)


def test_ctrl_c_in_the_bin_with_nothing_selected_leaves_the_clipboard_alone(window, shots, qtbot):
    _ids, clip_id = set_up(window, shots)
    window.media_bin.view.clearSelection()
    put_on_clipboard(b"kept")
    press(qtbot, window.media_bin.view, "Ctrl+C")
    mime = QGuiApplication.clipboard().mimeData()
    assert bytes(mime.data("application/x-test-marker").data()) == b"kept"
    assert "Select" in window.statusBar().currentMessage()
    assert window.timeline.selected_clip_ids() == [clip_id]


def test_ctrl_x_in_the_bin_is_refused_and_changes_nothing(window, shots, qtbot):
    _ids, clip_id = set_up(window, shots)
    before, bin_before = spans(window), [m.id for m in window.session.doc.bin_items()]
    put_on_clipboard(b"kept")
    press(qtbot, window.media_bin.view, "Ctrl+X")
    assert spans(window) == before  # the timeline's selected clip was not cut
    assert [m.id for m in window.session.doc.bin_items()] == bin_before
    mime = QGuiApplication.clipboard().mimeData()
    assert bytes(mime.data("application/x-test-marker").data()) == b"kept"
    assert "Cut" in window.statusBar().currentMessage() and "bin" in window.statusBar().currentMessage()


def test_pasting_bin_items_no_longer_in_the_bin_says_so_and_changes_nothing(window, shots, qtbot):
    ids, _clip_id = set_up(window, shots)
    press(qtbot, window.media_bin.view, "Ctrl+C")
    window.media_bin.remove(ids[1])  # gone since the copy
    before = spans(window)
    window.seek(24)
    press(qtbot, window.timeline, "Ctrl+V")
    assert spans(window) == before
    assert "no longer in the media bin" in window.statusBar().currentMessage()


def test_paste_attributes_with_bin_items_on_the_clipboard_is_refused(window, shots, qtbot):
    _ids, clip_id = set_up(window, shots)
    press(qtbot, window.media_bin.view, "Ctrl+C")
    press(qtbot, window.timeline, "Ctrl+Alt+V")
    assert "no clips" in window.statusBar().currentMessage()


# ------------------------------------------------------------------------------------------------ delete
@pytest.mark.parametrize("key", ["Delete", "Shift+Delete"])
def test_delete_in_the_focused_bin_removes_bin_items_never_timeline_clips(window, shots, qtbot, key):
    ids, clip_id = set_up(window, shots)
    before = spans(window)
    press(qtbot, window.media_bin.view, key)
    assert spans(window) == before and window.timeline.selected_clip_ids() == [clip_id]
    assert [m.id for m in window.session.doc.bin_items()] == [ids[0]]  # the selected bin item went
    window.media_bin.select(ids[0])  # used on the timeline: refused, with the reason
    press(qtbot, window.media_bin.view, key)
    assert [m.id for m in window.session.doc.bin_items()] == [ids[0]] and spans(window) == before
    assert "used by 1 clip" in window.media_bin.message_label.text()


def test_delete_with_the_timeline_focused_still_lifts_its_clips(window, shots, qtbot):
    _ids, clip_id = set_up(window, shots)
    press(qtbot, window.timeline, "Delete")
    assert video_clips(window) == []
    assert len(window.session.doc.bin_items()) == 2


def test_the_timeline_clip_menu_copies_its_clips_whatever_has_the_focus(window, shots, qtbot):
    _ids, clip_id = set_up(window, shots)
    focus(qtbot, window.media_bin.view)
    dict(window.editing.clip_context_actions())["Copy"]()  # the menu of a right-clicked clip
    mime = QGuiApplication.clipboard().mimeData()
    assert mime.hasFormat(CLIPBOARD_MIME) and not mime.hasFormat(MEDIA_IDS_MIME)
    dict(window.editing.clip_context_actions())["Cut"]()
    assert video_clips(window) == []
