"""Keys that edit the timeline's SELECTED CLIPS (CLIP_EDIT_SHORTCUTS in ui.main_window) do nothing but say so
while the media bin has the keyboard focus, and act as before with the timeline focused; the Edit menu's
Lift / Ripple Delete there remove the bin's selected items (its Delete); the playhead's keys (a marker with M)
work whatever has the focus; a text field keeps its own keys."""

from __future__ import annotations

from pathlib import Path

import opentimelineio as otio
import pytest
from media_builders import make_video
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from window_helpers import focus, opened_window, press

from app.commands import push_edit
from app.document import TrackKind
from ui.main_window import BIN_FOCUS_MESSAGE, CLIP_EDIT_SHORTCUTS, SHORTCUTS, MainWindow

pytestmark = pytest.mark.usefixtures("data_dir")  # tests/ui/conftest.py

GRADE = {"exposure": 1.0}


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("bin_focus")
    return [
        make_video(folder / "shot.mov", frames=48, codec="prores_ks", audio=True),
        make_video(folder / "other.mov", frames=24, codec="prores_ks", audio=False),
    ]


@pytest.fixture
def window(qtbot, tmp_path):  # noqa: ANN001, ANN201
    with opened_window(qtbot, tmp_path) as window:
        yield window


def clips(window: MainWindow, kind: TrackKind = TrackKind.VIDEO):  # noqa: ANN201
    doc = window.session.doc
    return doc.clips(doc.tracks(kind)[0].id)


def snapshot(window: MainWindow) -> tuple[str, int]:
    """The whole document as OTIO JSON, and the undo stack's length."""
    return otio.adapters.write_to_string(window.session.doc.to_otio()), window.session.stack.count()


def set_up(window: MainWindow, shots: list[Path]) -> list[str]:
    """The shot (picture + sound) on V1/A1 split at 24 into two touching halves; the left half graded, its
    sound at -9 dB and both copied; the right half (ungraded, 0 dB) selected on the timeline with the playhead
    inside it; the other shot selected in the bin. Returns the bin ids."""
    ids = window.media_bin.import_files([str(p) for p in shots])
    window.media_bin.select(ids[0])
    window.seek(0)
    window.place_bin_selection()
    window.seek(24)
    window.timeline.select([])
    window.timeline.split_at_playhead()
    left_v, right_v = (c.id for c in clips(window, TrackKind.VIDEO))
    left_a, right_a = (c.id for c in clips(window, TrackKind.AUDIO))
    doc, stack = window.session.doc, window.session.stack
    push_edit(stack, doc, "Level", lambda d: (d.set_clip_grade(left_v, GRADE), d.set_clip_gain(left_a, -9.0)))
    window.timeline.select([left_v, left_a])
    assert window.editing.copy_clips() is not None
    window.timeline.select([right_v, right_a])
    window.seek(36)
    window.media_bin.select(ids[1])
    return ids


# Each clip-editing action and how to run it: its keys where it has any, else the Edit menu entry.
# (Delete / Shift+Delete in the bin are the bin's own: tests/ui/test_bin_clipboard.py.)
GUARDED_KEYS = [
    (name, key)
    for name in sorted(CLIP_EDIT_SHORTCUTS - {"lift", "rippleDelete"})
    for key in SHORTCUTS[name][1]
]
MENU_ONLY = sorted(name for name in CLIP_EDIT_SHORTCUTS if not SHORTCUTS[name][1])


def test_the_guarded_set_names_the_clip_edits():
    assert set(CLIP_EDIT_SHORTCUTS) <= set(SHORTCUTS)
    for name in ("toggleClipEnabled", "dissolve", "pasteAttributes", "split"):
        assert name in CLIP_EDIT_SHORTCUTS
    for name in ("playPause", "marker", "copy", "paste", "insert", "zoomIn"):  # the playhead's / focus-aware
        assert name not in CLIP_EDIT_SHORTCUTS


@pytest.mark.parametrize(("name", "key"), GUARDED_KEYS)
def test_a_clip_edit_key_with_the_bin_focused_changes_nothing_and_says_so(window, shots, qtbot, name, key):
    set_up(window, shots)
    selected = window.timeline.selected_clip_ids()
    before = snapshot(window)
    window.statusBar().clearMessage()
    press(qtbot, window.media_bin.view, key)
    assert snapshot(window) == before
    assert window.statusBar().currentMessage() == BIN_FOCUS_MESSAGE.format(SHORTCUTS[name][0])
    assert window.timeline.selected_clip_ids() == selected
    assert len(window.session.doc.bin_items()) == 2

    press(qtbot, window.timeline, key)  # the timeline focused: the key edits its clips as before
    after = snapshot(window)
    assert after[0] != before[0] and after[1] == before[1] + 1  # one undo step


@pytest.mark.parametrize("name", MENU_ONLY)
def test_a_clip_edit_from_the_menu_with_the_bin_focused_changes_nothing(window, shots, qtbot, name):
    set_up(window, shots)
    before = snapshot(window)
    focus(qtbot, window.media_bin.view)
    window.actions_by_name[name].trigger()
    assert snapshot(window) == before
    assert window.statusBar().currentMessage() == BIN_FOCUS_MESSAGE.format(SHORTCUTS[name][0])
    focus(qtbot, window.timeline)
    window.actions_by_name[name].trigger()
    after = snapshot(window)
    assert after[0] != before[0] and after[1] == before[1] + 1


def test_the_changes_the_guarded_keys_make_with_the_timeline_focused(window, shots, qtbot):
    """What the parametrized test's "changed" means, key by key: the selected right half is the one edited."""
    set_up(window, shots)
    doc = window.session.doc
    right_v, right_a = window.timeline.selected_clip_ids()
    press(qtbot, window.timeline, "Ctrl+Alt+V")
    assert doc.clip(right_v).grade == GRADE and doc.clip(right_a).gain_db == -9.0
    press(qtbot, window.timeline, "Shift+E")
    assert not doc.clip(right_v).enabled
    press(qtbot, window.timeline, "Ctrl+D")
    assert len(doc.to_otio().video_tracks()[0].find_children(descended_from_type=otio.schema.Transition)) == 1
    window.timeline.select([right_v])
    press(qtbot, window.timeline, "B")
    assert [c.start.to_frames() for c in clips(window)] == [0, 24, 36]


@pytest.mark.parametrize("name", ["lift", "rippleDelete"])
def test_the_edit_menus_lift_with_the_bin_focused_removes_bin_items_not_clips(window, shots, qtbot, name):
    ids = set_up(window, shots)
    spans = [(c.id, c.start.to_frames()) for c in clips(window)]
    focus(qtbot, window.media_bin.view)
    window.actions_by_name[name].trigger()
    assert [m.id for m in window.session.doc.bin_items()] == [ids[0]]  # the selected (unused) bin item
    assert [(c.id, c.start.to_frames()) for c in clips(window)] == spans
    focus(qtbot, window.timeline)
    window.actions_by_name[name].trigger()  # the timeline focused: its selected clip goes
    assert len(clips(window)) == 1


def test_m_adds_a_marker_at_the_playhead_whatever_has_the_focus(window, shots, qtbot):
    set_up(window, shots)
    count = window.session.stack.count()
    press(qtbot, window.media_bin.view, "M")
    assert [m.time.to_frames() for m in window.session.doc.markers()] == [36]
    assert window.session.stack.count() == count + 1


def test_a_text_field_keeps_the_guarded_keys(window, shots, qtbot):
    set_up(window, shots)
    before = snapshot(window)
    window.generate_dock.raise_()
    edit = window.generate_panel.prompt_edit
    focus(qtbot, edit)
    QTest.keyClick(edit, Qt.Key.Key_E, Qt.KeyboardModifier.ShiftModifier)
    QTest.keyClick(edit, Qt.Key.Key_B)
    assert edit.toPlainText().lower() == "eb"  # (QTest sends Shift+E's text as "e")
    assert snapshot(window) == before
