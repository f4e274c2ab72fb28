"""The source viewer through the window (issue 14): double-click a bin item or a take to load it, mark it with
I/O while it has the focus, `,` inserts and `.` overwrites the marked range against the timeline's marks
(three-point; four-point asks fit or trim), source patching, match frame (F), each edit one undo step."""

from __future__ import annotations

from pathlib import Path

import pytest
import shiboken6
from media_builders import decoded_index, make_video
from opentimelineio.opentime import RationalTime, TimeRange
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDockWidget
from window_helpers import dark_theme, opened_window

from app.commands import push_edit
from app.document import MediaItem, TrackKind
from ui.main_window import MainWindow
from ui.media_bin import MEDIA_ID_ROLE

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


pytestmark = pytest.mark.usefixtures("data_dir")  # tests/ui/conftest.py


@pytest.fixture
def window(qtbot, tmp_path):  # noqa: ANN001, ANN201
    with opened_window(qtbot, tmp_path) as window:
        yield window


@pytest.fixture
def media(window, tmp_path):  # noqa: ANN001, ANN201
    """Two clips with sound imported into the bin: "base" (48 frames) and "source" (60 frames)."""
    base = make_video(tmp_path / "base.mov", frames=48, codec="prores_ks", audio=True)
    source = make_video(tmp_path / "source.mov", frames=60, codec="prores_ks", audio=True)
    return window.media_bin.import_files([str(base), str(source)])


def put_base(window: MainWindow, base: str) -> None:
    """The base clip on V1 at 0 (the timeline's viewer seeks, and so marks, only inside the timeline)."""
    push_edit(
        window.session.stack,
        window.session.doc,
        "base",
        lambda d: d.insert(base, d.tracks(TrackKind.VIDEO)[0].id, RationalTime(0, 24)),
    )


def v1(window: MainWindow) -> list[tuple[str, int, int, int]]:
    """(media id, start, duration, source start) of every V1 clip."""
    return spans(window, TrackKind.VIDEO)


def spans(window: MainWindow, kind: TrackKind, index: int = 0) -> list[tuple[str, int, int, int]]:
    doc = window.session.doc
    return [
        (c.media_id, c.start.to_frames(), c.duration.to_frames(), c.source_start.to_frames())
        for c in doc.clips(doc.tracks(kind)[index].id)
    ]


def key(window: MainWindow, target, sequence: str) -> None:  # noqa: ANN001
    """Type a shortcut into `target` (the widget with the focus), as a user would."""
    window.activateWindow()
    target.setFocus()
    combo = QKeySequence(sequence)[0]
    QTest.keyClick(target, combo.key(), combo.keyboardModifiers())


def on_timeline(window: MainWindow, sequence: str) -> None:
    key(window, window.timeline.viewport(), sequence)


def on_source(window: MainWindow, sequence: str) -> None:
    key(window, window.source_viewer, sequence)


def double_click_bin(window: MainWindow, qtbot, media_id: str) -> None:  # noqa: ANN001
    view = window.media_bin.view
    model = view.model()
    tops = [model.index(row, 0) for row in range(model.rowCount())]
    takes = [model.index(row, 0, top) for top in tops for row in range(model.rowCount(top))]
    index = next(i for i in tops + takes if i.data(MEDIA_ID_ROLE) == media_id)
    view.scrollTo(index)  # (a small screen, e.g. xvfb-run's 640x480, leaves the bin a few rows tall)
    rect = view.visualRect(index)
    # a user's double-click: press and release, then the second press arrives as a double-click
    QTest.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center()
    )
    QTest.mouseDClick(
        view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center()
    )


def shown_index(qtbot, window: MainWindow, frame: int) -> int:  # noqa: ANN001
    viewer = window.source_viewer.viewer
    qtbot.waitUntil(lambda: viewer.shown_frame == frame, timeout=10000)
    return decoded_index(viewer.current_frame_array())


def mark_source(window: MainWindow, in_frame: int | None, out_frame: int | None) -> None:
    """Mark with the keys: step the source's own playhead with Right, then I / O."""
    for frame, letter in ((in_frame, "I"), (out_frame, "O")):
        if frame is None:
            continue
        on_source(window, "Home")
        for _ in range(frame):
            on_source(window, "Right")
        on_source(window, letter)


def mark_timeline(window: MainWindow, in_frame: int | None, out_frame: int | None) -> None:
    for frame, letter in ((in_frame, "I"), (out_frame, "O")):
        if frame is not None:
            window.seek(frame)
            on_timeline(window, letter)


# ------------------------------------------------------------------------------------------ loading
def test_the_source_dock_exists_and_starts_empty(window):
    assert window.findChild(QDockWidget, "sourceDock") is window.source_dock
    assert window.source_dock in window.docks()
    assert window.source_viewer.media_id is None and window.source_viewer.viewer is None
    assert not window.source_viewer.insert_button.isEnabled()


def test_double_clicking_a_bin_item_loads_it_with_its_own_playhead(window, media, qtbot):
    base, source = media
    double_click_bin(window, qtbot, source)
    sv = window.source_viewer
    assert sv.media_id == source
    assert sv.frame_count() == 60
    assert sv.has_focus_within()  # loading gives it the keys
    assert shown_index(qtbot, window, 0) == 0
    for _ in range(7):
        on_source(window, "Right")
    assert sv.frame == 7 and shown_index(qtbot, window, 7) == 7
    assert window.timeline.playhead() == 0  # the timeline's playhead is its own
    on_source(window, "End")
    assert sv.frame == 59 and shown_index(qtbot, window, 59) == 59
    assert "source.mov" in sv.name_label.text()


def test_marks_go_to_the_viewer_with_the_focus(window, media, qtbot):
    base, source = media
    put_base(window, base)
    window.load_source(source)
    mark_source(window, 10, 19)
    assert window.source_viewer.marks().frames() == 10
    assert (window.viewer.in_point, window.viewer.out_point) == (None, None)
    window.seek(5)
    on_timeline(window, "I")
    assert window.viewer.in_point == 5
    assert (window.source_viewer.in_point, window.source_viewer.out_point) == (10, 19)  # untouched


def test_a_click_on_the_source_picture_gives_it_the_keys_and_the_timeline_takes_them_back(
    window, media, qtbot
):
    base, source = media
    put_base(window, base)
    window.load_source(source)
    window.timeline.setFocus()
    assert not window.source_viewer.has_focus_within()
    QTest.mouseClick(window.source_viewer.viewer.frame_view, Qt.MouseButton.LeftButton)
    assert window.source_viewer.has_focus_within()
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Right)
    assert (window.source_viewer.frame, window.timeline.playhead()) == (1, 0)
    QTest.mouseClick(window.timeline.viewport(), Qt.MouseButton.LeftButton)
    assert not window.source_viewer.has_focus_within()


def test_a_bin_item_that_cannot_play_is_refused_with_a_message(window, qtbot):
    doc = window.session.doc
    push_edit(
        window.session.stack,
        doc,
        "add",
        lambda d: d.add_bin_item(MediaItem("m-x", "/nowhere/x.mov", "x", None)),
    )
    assert not window.load_source("m-x")
    assert window.source_viewer.media_id is None
    assert "length of 'x' is unknown" in window.statusBar().currentMessage()


def test_the_source_clears_when_its_item_leaves_the_bin(window, media, qtbot):
    _base, source = media
    window.load_source(source)
    window.session.stack.undo()  # the import of both clips
    assert window.source_viewer.media_id is None and window.source_viewer.viewer is None


def test_a_new_project_rate_reloads_the_source_at_the_same_time(window, media, qtbot):
    from app.document.sequence import SequenceSettings

    _base, source = media
    window.load_source(source, 24, (12, 36))
    assert window.source_viewer.frame_count() == 60
    window.apply_sequence_settings(SequenceSettings(64, 48, 25.0, 48000))
    sv = window.source_viewer
    assert sv.media_id == source
    assert sv.frame_count() == 62  # 2.5 s at 25 fps
    assert (sv.frame, sv.in_point, sv.out_point) == (25, 12, 37)  # the same times, in 25 fps frames


def test_a_new_project_gets_a_new_empty_source_viewer(window, media, qtbot):
    _base, source = media
    window.load_source(source)
    old = window.source_viewer
    window.project_actions["new"].trigger()
    assert window.source_viewer is not old
    assert window.source_viewer.media_id is None
    assert window.source_dock.widget().isAncestorOf(window.source_viewer)
    QApplication.sendPostedEvents(None, 52)  # QEvent.DeferredDelete: the old viewer is gone now
    assert not shiboken6.isValid(old)
    if window.sequence_dialog is not None:  # New offers the sequence settings (non-modal)
        window.sequence_dialog.close()
    window.activateWindow()
    window.timeline.setFocus()  # focus changes reach only the live viewer (pytest-qt fails on a slot error)
    qtbot.waitUntil(window.source_viewer.isVisible)  # (a layout shows a new child on the next turn)
    window.source_viewer.setFocus()
    assert window.source_viewer.has_focus_within()
    # (the QThread guard fails this test if the old source viewer's decode thread were left running)


# ------------------------------------------------------------------------------------ three-point
def test_comma_inserts_the_marked_range_at_the_playhead_and_ripples(window, media, qtbot):
    base, source = media
    put_base(window, base)
    double_click_bin(window, qtbot, source)
    mark_source(window, 10, 19)
    window.seek(24)
    steps = window.session.stack.count()
    on_timeline(window, ",")
    assert v1(window) == [(base, 0, 24, 0), (source, 24, 10, 10), (base, 34, 24, 24)]
    assert spans(window, TrackKind.AUDIO) == [(base, 0, 24, 0), (source, 24, 10, 10), (base, 34, 24, 24)]
    assert window.timeline.playhead() == 34  # past the edit
    assert window.session.stack.count() == steps + 1  # one undo step
    window.session.stack.undo()
    assert v1(window) == [(base, 0, 48, 0)]


def test_comma_uses_the_timeline_in_mark_and_the_marks_are_used_up(window, media, qtbot):
    base, source = media
    put_base(window, base)
    window.load_source(source)
    mark_source(window, 0, 3)
    mark_timeline(window, 5, None)
    window.seek(40)  # the in mark wins over the playhead
    on_timeline(window, ",")
    assert v1(window) == [(base, 0, 5, 0), (source, 5, 4, 0), (base, 9, 43, 5)]
    assert (window.viewer.in_point, window.viewer.out_point) == (None, None)
    assert (window.source_viewer.in_point, window.source_viewer.out_point) == (0, 3)  # kept for the next


def test_period_overwrites_the_timeline_range_from_the_source_in(window, media, qtbot):
    base, source = media
    put_base(window, base)
    window.load_source(source)
    mark_source(window, 20, None)  # source in only: the timeline range fixes the length
    mark_timeline(window, 30, 39)
    on_timeline(window, ".")
    assert v1(window) == [(base, 0, 30, 0), (source, 30, 10, 20), (base, 40, 8, 40)]
    assert window.session.doc.duration().to_frames() == 48  # nothing moved
    assert window.timeline.playhead() == 40


def test_a_source_range_past_the_media_end_is_refused_and_nothing_changes(window, media, qtbot):
    base, source = media
    put_base(window, base)
    window.load_source(source)
    mark_source(window, 50, None)  # 10 frames left after the in mark
    mark_timeline(window, 0, 19)  # 20 asked
    steps = window.session.stack.count()
    on_timeline(window, ",")
    assert v1(window) == [(base, 0, 48, 0)]
    assert window.session.stack.count() == steps
    assert "has only 10 from there" in window.statusBar().currentMessage()


def test_four_marks_of_different_lengths_trim_or_cancel(window, media, qtbot):
    base, source = media
    asked: list[tuple[int, int]] = []
    answer: list[str | None] = [None]

    def choose(source_frames: int, record_frames: int) -> str | None:
        asked.append((source_frames, record_frames))
        return answer[0]

    window.four_point_choice = choose
    put_base(window, base)
    window.load_source(source)
    mark_source(window, 0, 19)
    mark_timeline(window, 10, 14)
    on_timeline(window, ",")
    assert asked == [(20, 5)]
    assert v1(window) == [(base, 0, 48, 0)]  # cancelled
    assert (window.viewer.in_point, window.viewer.out_point) == (10, 14)  # kept for another try
    answer[0] = "trim"
    on_timeline(window, ",")
    assert v1(window) == [(base, 0, 10, 0), (source, 10, 5, 0), (base, 15, 38, 10)]
    assert "trimmed the source range to 5 frames" in window.statusBar().currentMessage()


def test_the_default_four_point_question_offers_fit_and_trim(window, media, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    seen: list[str] = []

    def answer(box: QMessageBox) -> int:  # closed without a click: as Cancel
        seen.append(box.text())
        return 0

    monkeypatch.setattr(QMessageBox, "exec", answer)
    assert window._ask_four_point(20, 5) is None
    assert "speed 400%" in seen[0] and "trim to the shorter (timeline)" in seen[0]


def test_source_patching_targets_v2_without_sound(window, media, qtbot):
    _base, source = media
    v2 = push_edit(window.session.stack, window.session.doc, "V2", lambda d: d.add_track(TrackKind.VIDEO))
    window.load_source(source)
    sv = window.source_viewer
    assert [sv.target_combo.itemText(i) for i in range(sv.target_combo.count())] == ["V1", "V2"]
    sv.set_target_track(v2)
    assert sv.audio_button.text() == "A2"
    sv.audio_button.click()  # sound off
    mark_source(window, 0, 9)
    sv.overwrite_button.click()  # the header's button does what "." does
    assert spans(window, TrackKind.VIDEO, 1) == [(source, 0, 10, 0)]
    assert v1(window) == []
    assert all(not window.session.doc.clips(t.id) for t in window.session.doc.tracks(TrackKind.AUDIO))


def test_linked_sound_follows_the_patched_picture(window, media, qtbot):
    _base, source = media
    window.load_source(source)
    mark_source(window, 5, 14)
    on_timeline(window, ",")
    [picture] = window.session.doc.clips(window.session.doc.tracks(TrackKind.VIDEO)[0].id)
    [sound] = window.session.doc.clips(window.session.doc.tracks(TrackKind.AUDIO)[0].id)
    assert window.session.doc.linked_clips(picture.id) == [picture.id, sound.id]
    assert sound.source_start.to_frames() == 5 and sound.duration.to_frames() == 10


def test_without_a_source_comma_still_inserts_the_bin_selection(window, media, qtbot):
    base, _source = media
    window.media_bin.select(base)
    on_timeline(window, ",")
    assert v1(window) == [(base, 0, 48, 0)]


# ---------------------------------------------------------------------------------------- match frame
def test_match_frame_loads_the_clip_under_the_playhead_at_its_frame(window, media, qtbot):
    base, source = media
    doc = window.session.doc
    push_edit(
        window.session.stack,
        doc,
        "clips",
        lambda d: (
            d.overwrite(base, d.tracks(TrackKind.VIDEO)[0].id, RationalTime(0, 24), _range(0, 12)),
            d.overwrite(source, d.tracks(TrackKind.VIDEO)[0].id, RationalTime(12, 24), _range(30, 20)),
        ),
    )
    window.seek(17)
    on_timeline(window, "F")
    sv = window.source_viewer
    assert sv.media_id == source
    assert sv.frame == 35  # 30 + (17 - 12)
    assert (sv.in_point, sv.out_point) == (30, 49)
    assert shown_index(qtbot, window, 35) == 35
    window.seek(40)
    on_timeline(window, "F")  # past every clip: nothing to match, the source stays
    assert sv.media_id == source
    assert "no clip under the playhead" in window.statusBar().currentMessage()


def _range(start: int, frames: int) -> TimeRange:
    return TimeRange(RationalTime(start, 24), RationalTime(frames, 24))


def test_double_clicking_a_take_in_the_bin_loads_the_take(window, media, qtbot):
    _base, source = media
    doc = window.session.doc
    original = doc.bin_item(source)
    take = MediaItem("take-3", original.path, "source take 3", original.info, take_of=source, take=3)
    push_edit(window.session.stack, doc, "take", lambda d: d.add_bin_item(take))
    double_click_bin(window, qtbot, "take-3")  # a row under its original
    assert window.source_viewer.media_id == "take-3"
    assert "source take 3" in window.source_viewer.name_label.text()


def test_a_take_opens_in_the_source_viewer_from_the_take_switcher(window, media, qtbot):
    base, source = media
    doc = window.session.doc
    original = doc.bin_item(source)
    take = MediaItem("take-2", original.path, "source take 2", original.info, take_of=source, take=2)
    [clip, _sound] = push_edit(
        window.session.stack,
        doc,
        "take",
        lambda d: (
            d.add_bin_item(take),
            d.insert(source, d.tracks(TrackKind.VIDEO)[0].id, RationalTime(0, 24)),
        )[1],
    )
    switcher = window.takes_switcher
    switcher.set_clip(clip)
    switcher.combo.setCurrentIndex(switcher.combo.findData("take-2"))  # shown, not applied
    with qtbot.waitSignal(switcher.source_requested):
        switcher.source_button.click()
    assert window.source_viewer.media_id == "take-2"
    assert doc.clip(clip).media_id == source  # the timeline kept the original


# ---------------------------------------------------------------------------------------- screenshot
@pytest.fixture
def dark_window(qtbot, tmp_path):  # noqa: ANN001, ANN201
    with (
        dark_theme(QApplication.instance()),
        opened_window(qtbot, tmp_path, name="s.ini", size=(1600, 1000)) as window,
    ):
        yield window


def test_source_viewer_screenshot(dark_window, qtbot, tmp_path):  # noqa: ANN001
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_screenshot import _scene

    window = dark_window
    dusk = _scene(tmp_path / "dusk.mov", (0.9, 0.45, 0.2), frames=72)
    sea = _scene(tmp_path / "sea.mov", (0.15, 0.4, 0.8), frames=72)
    dusk_id, sea_id = window.media_bin.import_files([str(dusk), str(sea)])
    push_edit(
        window.session.stack,
        window.session.doc,
        "base",
        lambda d: d.insert(dusk_id, d.tracks(TrackKind.VIDEO)[0].id, RationalTime(0, 24)),
    )
    # (by the methods the keys call: under a real X server without a window manager, xvfb-run with
    # QT_QPA_PLATFORM=xcb, the window is never active and window shortcuts do not fire)
    window.media_bin.select(sea_id)
    window.load_source(sea_id, 0, (12, 35))
    window.seek(24)
    window.viewer.mark_in()
    window.place_source(overwrite=False)  # the sea's 24 marked frames go in at the timeline's in mark
    window.seek(60)
    window.viewer.mark_in()
    window.seek(30)
    window.source_viewer.call("seek", 20)
    window.source_viewer.setFocus()
    qtbot.waitUntil(lambda: window.source_viewer.viewer.shown_frame == 20, timeout=10000)
    qtbot.waitUntil(lambda: window.viewer.shown_frame == 30, timeout=10000)
    qtbot.wait(100)
    assert v1(window)[1] == (sea_id, 24, 24, 12)
    picture = window.source_viewer.viewer.current_frame_array()
    assert picture[..., 2].mean() > picture[..., 0].mean()  # the source shows the blue sea, not black
    image = window.grab().toImage()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert image.save(str(SCREENSHOTS / "source_viewer.png"))
    if QGuiApplication.platformName() == "xcb":  # under xvfb-run: what the X server shows (GL viewers too)
        screen = window.screen().grabWindow(0).toImage()
        assert screen.save(str(SCREENSHOTS / "source_viewer_xvfb.png"))
