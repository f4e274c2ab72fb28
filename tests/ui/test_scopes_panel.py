"""The Scopes dock through the window: View > Scopes shows it, the modes switch, the scope follows the
playhead from one clip to another, shows the export's graded pixels, drops to 1/4 resolution while playing
and says why when a frame cannot be rendered."""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from opentimelineio.opentime import RationalTime
from PySide6.QtWidgets import QDockWidget
from window_helpers import opened_window

from app.color import scopes
from app.commands import push_edit
from app.document import TrackKind
from app.export import TimelineRenderer

sys.path.insert(0, str(Path(__file__).resolve().parent))

KR, KB = 0.2126, 0.0722
RED = (0.71, 0.26, 0.2)  # no channel on a rounding edge of the 256 levels
BLUE = (0.2, 0.31, 0.69)
FRAMES = 48


def chroma(rgb: tuple[float, float, float]) -> tuple[float, float]:
    r, g, b = rgb
    y = KR * r + (1 - KR - KB) * g + KB * b
    return (b - y) / (2 * (1 - KB)), (r - y) / (2 * (1 - KR))


def write_flat(path: Path, rgb: tuple[float, float, float], frames: int = FRAMES) -> Path:
    """A lossless 16-bit clip of one colour (64 x 48)."""
    picture = np.broadcast_to((np.asarray(rgb) * 65535 + 0.5).astype(np.uint16), (48, 64, 3))
    with av.open(str(path), "w", format="matroska") as container:
        stream = container.add_stream("ffv1", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "gbrp16le"
        stream.time_base = Fraction(1, 24)
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb48le")
            frame = frame.reformat(format="gbrp16le")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.setenv("AIPROD_DATA_DIR", str(tmp_path / "data"))
    with opened_window(qtbot, tmp_path) as window:
        yield window


@pytest.fixture
def two_clips(window, tmp_path):  # noqa: ANN001, ANN201
    """Red clip on frames 0..47, blue clip on 48..95; returns their clip ids."""
    paths = [write_flat(tmp_path / "red.mkv", RED), write_flat(tmp_path / "blue.mkv", BLUE)]
    ids = window.media_bin.import_files([str(p) for p in paths])
    doc, stack = window.session.doc, window.session.stack
    video = doc.tracks(TrackKind.VIDEO)[0].id

    def arrange(d):  # noqa: ANN001, ANN202
        d.insert(ids[0], video, RationalTime(0, 24))
        d.insert(ids[1], video, RationalTime(FRAMES, 24))
        return [c.id for c in d.clips(video)]

    return push_edit(stack, doc, "Arrange", arrange)


def show_scopes(window, qtbot):  # noqa: ANN001, ANN201
    panel = window.scopes_panel
    with qtbot.waitSignal(panel.updated, timeout=20_000):
        window.scopes_action.trigger()
    return panel


def wait_for(qtbot, panel, check, timeout: int = 20_000) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: panel.scope() is not None and check(), timeout=timeout)


def peak_cell(panel) -> tuple[int, int]:  # noqa: ANN001
    counts = panel.scope().counts
    return tuple(int(v) for v in np.unravel_index(np.argmax(counts), counts.shape))


def test_the_scopes_dock_is_toggled_from_the_view_menu(window, qtbot):
    dock = window.findChild(QDockWidget, "scopesDock")
    assert dock is window.scopes_dock and dock.widget() is window.scopes_panel
    assert not dock.isVisible()  # off until asked for: it costs a render per frame shown
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    assert window.scopes_action in view_menu.actions()
    panel = show_scopes(window, qtbot)
    assert dock.isVisible() and panel.isVisible()
    assert panel.scope().mode == "waveform"  # the default mode, of the empty timeline: all black
    assert panel.scope().counts[-1].sum() == panel.scope().counts.sum()
    window.scopes_action.trigger()
    assert not dock.isVisible()


def test_switching_modes_redraws_the_scope(window, qtbot, two_clips):
    window.seek(10)
    panel = show_scopes(window, qtbot)
    wait_for(qtbot, panel, lambda: panel.info.get("frame") == 10)
    shapes = {}
    assert panel.mode == "waveform"
    for mode in (*scopes.MODES[1:], scopes.MODES[0]):  # each one, ending where it started
        with qtbot.waitSignal(panel.updated, timeout=20_000):
            panel.mode_box.setCurrentIndex(scopes.MODES.index(mode))  # as a choice in the selector does
        assert panel.mode == mode and panel.scope().mode == mode
        shapes[mode] = panel.scope().counts.shape
    assert shapes["parade"][0] == 3 and shapes["histogram"][0] == 4
    assert shapes["vectorscope"][0] == shapes["vectorscope"][1]
    # The red clip's parade: R high, G and B low, each in its own panel.
    panel.set_mode("parade")
    wait_for(qtbot, panel, lambda: panel.scope().mode == "parade")
    rows = [int(np.nonzero(panel.scope().counts[c].sum(axis=1))[0][0]) for c in range(3)]
    levels = panel.scope().counts.shape[1]
    assert rows == [scopes.level_row(v, levels) for v in RED]
    with pytest.raises(ValueError, match="scope mode"):
        panel.set_mode("cie")


def test_the_scope_follows_the_playhead_to_another_clip(window, qtbot, two_clips):
    window.seek(5)
    panel = show_scopes(window, qtbot)
    panel.set_mode("vectorscope")
    wait_for(qtbot, panel, lambda: panel.scope().mode == "vectorscope" and panel.info.get("frame") == 5)
    size = panel.scope().counts.shape[0]
    assert panel.info["source"] == "export" and panel.scope().step == 1
    assert peak_cell(panel) == scopes.chroma_cell(*chroma(RED), size)
    window.seek(FRAMES + 10)  # into the blue clip
    wait_for(qtbot, panel, lambda: panel.info.get("frame") == FRAMES + 10)
    assert peak_cell(panel) == scopes.chroma_cell(*chroma(BLUE), size)
    assert "export frame 58" in panel.info_label.text()


def test_the_scope_shows_the_graded_export_frame(window, qtbot, two_clips):
    doc, stack = window.session.doc, window.session.stack
    window.seek(5)
    panel = show_scopes(window, qtbot)
    panel.set_mode("histogram")
    wait_for(qtbot, panel, lambda: panel.scope().mode == "histogram" and panel.info.get("frame") == 5)
    before = panel.scope().counts.copy()
    grade = {"cdl": {"slope": [0.5, 1.0, 1.0]}, "look": "teal_orange", "lut_mix": 0.5}
    push_edit(stack, doc, "Grade", lambda d: d.set_clip_grade(two_clips[0], grade))
    wait_for(qtbot, panel, lambda: not np.array_equal(panel.scope().counts, before))
    renderer = TimelineRenderer(doc)  # the export's own renderer, here on the test's thread
    try:
        exported = renderer.frame(5)
    finally:
        renderer.close()
    assert np.array_equal(panel.scope().counts, scopes.compute(exported, "histogram").counts)
    red_before = int(np.nonzero(before[0])[0][0])
    red_after = int(np.nonzero(panel.scope().counts[0])[0][0])
    assert red_after < red_before - 40  # the slope of 0.5 on red (then half a look) pulled red well down


def test_playing_shows_quarter_resolution_and_pausing_full(window, qtbot, two_clips, tmp_path):
    big = write_flat(tmp_path / "big.mkv", RED, frames=96)
    ids = window.media_bin.import_files([str(big)])
    doc, stack = window.session.doc, window.session.stack
    v2 = push_edit(stack, doc, "V2", lambda d: d.add_track(TrackKind.VIDEO))
    push_edit(stack, doc, "Big", lambda d: d.insert(ids[0], v2, RationalTime(0, 24)))
    panel = show_scopes(window, qtbot)
    window.player.play()
    try:
        wait_for(qtbot, panel, lambda: panel.info.get("source") == "player", timeout=10_000)
        assert panel.scope().step == scopes_step()
        assert "1/4 resolution" in panel.info_label.text()
    finally:
        window.player.pause()
    wait_for(qtbot, panel, lambda: panel.info.get("source") == "export")
    assert panel.scope().step == 1 and panel.info["frame"] == window.player.position


def scopes_step() -> int:
    from ui.scopes import PLAYING_STEP

    return PLAYING_STEP


def test_a_frame_the_export_cannot_render_says_why(window, qtbot, two_clips, tmp_path):
    doc, stack = window.session.doc, window.session.stack
    window.seek(5)
    panel = show_scopes(window, qtbot)
    with qtbot.waitSignal(panel.failed, timeout=20_000) as failure:
        push_edit(
            stack,
            doc,
            "Grade",
            lambda d: d.set_clip_grade(two_clips[0], {"lut_path": str(tmp_path / "x.cube")}),
        )
    assert "x.cube" in failure.args[0] and "x.cube" in panel.info_label.text()
    assert panel.scope() is None  # no scope rather than an ungraded one


def test_a_hidden_panel_computes_nothing(window, qtbot, two_clips):
    window.seek(5)
    panel = show_scopes(window, qtbot)
    wait_for(qtbot, panel, lambda: panel.info.get("frame") == 5)
    window.scopes_action.trigger()  # hide
    window.seek(FRAMES + 4)
    qtbot.waitUntil(lambda: window.viewer.shown_frame == FRAMES + 4, timeout=20_000)
    qtbot.wait(300)
    assert panel.info["frame"] == 5
    with qtbot.waitSignal(panel.updated, timeout=20_000):
        window.scopes_action.trigger()  # shown again: it catches up with the playhead
    wait_for(qtbot, panel, lambda: panel.info.get("frame") == FRAMES + 4)


def test_a_new_project_moves_the_scopes_to_its_timeline(window, qtbot, two_clips):
    window.seek(5)
    panel = show_scopes(window, qtbot)
    panel.set_mode("histogram")
    wait_for(qtbot, panel, lambda: panel.scope().mode == "histogram" and panel.info.get("frame") == 5)
    assert panel.scope().counts[0, 0] == 0  # the red clip: no black pixels
    old_player = window.player
    assert window.project.new_project()  # unsaved changes are discarded (the fixture's answer)
    assert window.player is not old_player
    # The new, empty timeline: a black frame from the new session's player.
    wait_for(qtbot, panel, lambda: panel.scope().counts[0, 0] == panel.scope().counts[0].sum())
    assert panel.info["frame"] == 0 and panel.info["source"] == "export"


def test_player_images_with_padded_rows_are_read_pixel_for_pixel():
    from ui.scopes import qimage_rgb, rgb_qimage

    rgb = np.random.default_rng(2).integers(0, 256, (7, 13, 3), dtype=np.uint8)  # 39-byte rows, padded to 40
    image = rgb_qimage(rgb)
    assert image.bytesPerLine() > 13 * 3
    assert np.array_equal(qimage_rgb(image), rgb)
    assert np.array_equal(qimage_rgb(image, 4), rgb[::4, ::4])
