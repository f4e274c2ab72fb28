"""The studio window: docks, menus, the editor's shortcuts, layout persistence, the start-up path, and the
newcomer's flow from the issue (generate with the tiny model, import, arrange, undo, save, reopen)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from media_builders import make_video
from opentimelineio.opentime import RationalTime
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDockWidget, QLabel, QMessageBox
from window_helpers import tiny_job

from app import __version__
from app.commands import push_edit
from app.document import TrackKind
from app.jobs import EngineSettings, JobStatus
from ui.main import NO_DISPLAY_MESSAGE, display_available
from ui.main_window import SHORTCUTS, MainWindow
from ui.project_actions import ProjectPrompts, RecoveryDecision, UnsavedChoice

REPO_ROOT = Path(__file__).resolve().parents[2]


class Answers:
    """Scripted answers to the project prompts, so no modal dialog ever opens."""

    def __init__(self) -> None:
        self.save_path: str | None = None
        self.open_path: str | None = None
        self.unsaved = UnsavedChoice.DISCARD
        self.errors: list[str] = []

    def prompts(self) -> ProjectPrompts:
        return ProjectPrompts(
            unsaved=lambda _name: self.unsaved,
            open_path=lambda: self.open_path,
            save_path=lambda _suggested: self.save_path,
            confirm=lambda _text: True,
            recover=lambda entries: RecoveryDecision(),
            relink=lambda _actions: None,
            error=self.errors.append,
        )


pytestmark = pytest.mark.usefixtures("data_dir")  # tests/ui/conftest.py


@pytest.fixture
def settings_path(tmp_path: Path) -> str:
    return str(tmp_path / "settings.ini")


@pytest.fixture
def answers() -> Answers:
    return Answers()


def open_window(qtbot, settings_path: str, answers: Answers) -> MainWindow:  # noqa: ANN001
    window = MainWindow(QSettings(settings_path, QSettings.Format.IniFormat), prompts=answers.prompts())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


@pytest.fixture
def window(qtbot, settings_path, answers):  # noqa: ANN001, ANN201
    window = open_window(qtbot, settings_path, answers)
    yield window
    window.shutdown()


def clips(window: MainWindow, kind: TrackKind = TrackKind.VIDEO, index: int = 0):  # noqa: ANN201
    doc = window.session.doc
    return doc.clips(doc.tracks(kind)[index].id)


def press(window: MainWindow, key: str) -> None:
    """Type a shortcut the way a user does: to the timeline, which has the focus while editing. Window
    shortcuts only fire in the active window, so make this one active (an earlier test's may still be)."""
    window.activateWindow()
    window.timeline.setFocus()
    sequence = QKeySequence(key)
    combo = sequence[0]
    QTest.keyClick(window.timeline.viewport(), combo.key(), combo.keyboardModifiers())


# --------------------------------------------------------------------------------------- the shell
def test_window_has_the_editor_docks_and_menus(window):
    assert window.windowTitle() == "Untitled — AIPROD Studio"
    docks = {dock.objectName() for dock in window.findChildren(QDockWidget)}
    assert {"mediaBinDock", "timelineDock", "inspectorDock", "generateDock", "jobQueueDock"} <= docks
    assert window.centralWidget().isAncestorOf(window.viewer)
    menus = [action.menu().title() for action in window.menuBar().actions()]
    assert menus == ["&File", "&Edit", "&Playback", "&View", "&Colour", "&Generate", "&Help"]
    assert window.statusBar().findChild(QLabel, "versionLabel").text() == f"version {__version__}"


def test_every_editor_shortcut_is_bound(window):
    expected = {
        "playPause": "Space", "shuttleBack": "J", "shuttleStop": "K", "shuttleForward": "L",
        "markIn": "I", "markOut": "O", "stepBack": "Left", "stepForward": "Right",
        "split": "B", "lift": "Delete", "rippleDelete": "Shift+Delete", "zoomIn": "+", "zoomOut": "-",
    }  # fmt: skip
    for name, key in expected.items():
        keys = window.actions_by_name[name].shortcuts()
        assert QKeySequence(key) in keys, (name, [k.toString() for k in keys])
    assert QKeySequence("Ctrl+K") in window.actions_by_name["split"].shortcuts()
    assert window.undo_action.shortcut() == QKeySequence("Ctrl+Z")
    assert QKeySequence("Ctrl+Shift+Z") in window.redo_action.shortcuts()
    assert window.project_actions["save"].shortcut() == QKeySequence(QKeySequence.StandardKey.Save)
    assert set(SHORTCUTS) == set(window.actions_by_name)


def test_shortcuts_edit_the_timeline_and_undo(window, tmp_path, qtbot):
    media = make_video(tmp_path / "shot.mov", frames=48, codec="prores_ks", audio=True)
    [media_id] = window.media_bin.import_files([str(media)])
    window.media_bin.select(media_id)
    press(window, ",")  # insert the bin selection at the playhead
    assert [c.duration.to_frames() for c in clips(window)] == [48]
    assert len(clips(window, TrackKind.AUDIO)) == 1  # its sound came along, linked
    assert window.windowTitle().startswith("Untitled*")
    assert window.timeline.playhead() == 48  # the playhead moved past the insert (issue 13)

    window.seek(0)
    for _ in range(10):
        press(window, "Right")
    assert window.timeline.playhead() == 10 and window.viewer.frame == 10
    press(window, "B")
    assert [c.duration.to_frames() for c in clips(window)] == [10, 38]
    press(window, "Ctrl+Z")
    assert [c.duration.to_frames() for c in clips(window)] == [48]
    press(window, "Ctrl+Shift+Z")
    assert [c.duration.to_frames() for c in clips(window)] == [10, 38]

    window.timeline.select([clips(window)[0].id])
    press(window, "Shift+Delete")  # ripple delete: the second half moves up to 0
    assert [(c.start.to_frames(), c.duration.to_frames()) for c in clips(window)] == [(0, 38)]
    before = window.timeline.pixels_per_frame()
    press(window, "+")
    assert window.timeline.pixels_per_frame() > before
    press(window, "I")
    assert window.viewer.in_point == window.viewer.frame


def test_typing_in_the_prompt_does_not_trigger_shortcuts(window, qtbot):
    window.generate_dock.raise_()
    edit = window.generate_panel.prompt_edit
    edit.setFocus()
    QTest.keyClicks(edit, "a big lake")  # contains B, K, L, I and Space
    assert edit.toPlainText() == "a big lake"
    assert window.session.stack.count() == 0 and not window.player.is_playing


def test_layout_and_recent_projects_persist(qtbot, settings_path, answers, tmp_path):
    first = open_window(qtbot, settings_path, answers)
    first.queue_dock.hide()
    first.resize(700, 520)  # the offscreen screen is small: restoreGeometry clamps to it
    size = (first.width(), first.height())
    answers.save_path = str(tmp_path / "Film.aiprod")
    assert first.project.save_as()
    first.close()
    assert not first.isVisible()

    second = open_window(qtbot, settings_path, answers)
    try:
        assert not second.queue_dock.isVisible() and second.bin_dock.isVisible()
        # restoreGeometry clamps to the (small, offscreen) screen; without a restore the window is 1440x900
        assert second.height() == size[1] and second.width() <= size[0] and second.width() < 1440
        assert second.project.recent_projects() == [str(tmp_path / "Film.aiprod")]
        second.reset_layout()
        assert second.queue_dock.isVisible()
    finally:
        second.shutdown()


def test_about_names_the_version_and_ltx2(window, qtbot):
    window.about_action.trigger()
    box = window.findChild(QMessageBox, "aboutBox")
    qtbot.waitExposed(box)
    assert __version__ in box.text() and "Lightricks" in box.text()
    box.close()


def test_shortcuts_help_lists_the_keys(window):
    box = window.show_shortcuts()
    assert "Ripple Delete" in box.text() and "Shift+Delete" in box.text() and "Ctrl+K" in box.text()
    box.close()


# ---------------------------------------------------------------------------- the newcomer's flow
@pytest.mark.slow
def test_generate_arrange_save_quit_reopen(qtbot, settings_path, answers, tmp_path):
    """The issue's "done when": generate with the tiny model, watch the preview, put the result and an
    imported file on the timeline, reorder, trim, split, undo, save, quit, reopen, find everything."""
    window = open_window(qtbot, settings_path, answers)
    window.apply_engine_settings(EngineSettings(developer_tiny=True))
    panel = window.generate_panel
    tiny_job(panel, "a lighthouse in a storm", steps=3, model="tiny")
    panel.place_check.setChecked(True)
    previews: list[str] = []
    window.jobs.job_changed.connect(
        lambda job_id: previews.append(job_id) if window.jobs.job(job_id).preview is not None else None
    )
    with qtbot.waitSignal(window.jobs.job_finished, timeout=300_000) as finished:
        qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
    job_id, item = finished.args
    assert window.jobs.job(job_id).status is JobStatus.DONE and previews
    qtbot.waitUntil(lambda: len(clips(window)) == 1)
    generated = clips(window)[0]
    assert generated.media_id == item.id and generated.generation["seed"] == item.generation["seed"]
    assert window.session.stack.count() == 1  # the result is one undo step

    imported = make_video(tmp_path / "import.mov", frames=24, codec="prores_ks", audio=False)
    [media_id] = window.media_bin.import_files([str(imported)])
    window.seek(generated.duration.to_frames())
    window.media_bin.select(media_id)
    placed = window.place_bin_selection()
    assert placed and [c.media_id for c in clips(window)] == [item.id, media_id]

    doc, stack = window.session.doc, window.session.stack
    push_edit(stack, doc, "Reorder", lambda d: d.reorder_clip(clips(window)[1].id, 0))
    assert [c.media_id for c in clips(window)] == [media_id, item.id]
    first = clips(window)[0].id
    push_edit(stack, doc, "Trim", lambda d: d.trim_out(first, RationalTime(-4, 24), ripple=True))
    window.seek(4)
    press(window, "B")
    press(window, "Ctrl+Z")
    assert [c.duration.to_frames() for c in clips(window)] == [20, 9]
    press(window, "Ctrl+Shift+Z")
    layout = [(c.media_id, c.start.to_frames(), c.duration.to_frames()) for c in clips(window)]
    assert layout == [(media_id, 0, 4), (media_id, 4, 16), (item.id, 20, 9)]

    answers.save_path = str(tmp_path / "Storm.aiprod")
    press(window, "Ctrl+S")
    assert window.windowTitle() == "Storm — AIPROD Studio"
    window.close()

    answers.open_path = str(tmp_path / "Storm.aiprod")
    reopened = open_window(qtbot, settings_path, answers)
    try:
        assert reopened.project.open_project(answers.open_path)
        assert [(c.media_id, c.start.to_frames(), c.duration.to_frames()) for c in clips(reopened)] == layout
        assert {m.id for m in reopened.session.doc.bin_items()} == {item.id, media_id}
        master = reopened.session.doc.bin_item(item.id)
        assert Path(master.path).is_file() and Path(master.path).is_relative_to(tmp_path / "Storm.aiprod")
        assert master.generation["prompt"] == "a lighthouse in a storm"
        assert not answers.errors
    finally:
        reopened.shutdown()


# ------------------------------------------------------------------------------------- start-up path
@pytest.mark.parametrize(
    ("environ", "platform", "expected"),
    [
        ({}, "linux", False),
        ({"DISPLAY": ":0"}, "linux", True),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
        ({"QT_QPA_PLATFORM": "offscreen"}, "linux", True),
        ({"DISPLAY": ""}, "linux", False),
        ({}, "win32", True),
        ({}, "darwin", True),
    ],
)
def test_display_detection(environ, platform, expected):
    assert display_available(environ, platform) is expected


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the display check is Linux-only")
def test_no_display_exits_2_with_one_line_and_no_traceback():
    env = {k: v for k, v in os.environ.items() if k not in {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"}}
    result = subprocess.run(
        [sys.executable, "-m", "ui.main"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [NO_DISPLAY_MESSAGE]
    assert "Traceback" not in result.stderr + result.stdout
    assert "xvfb-run make run" in NO_DISPLAY_MESSAGE and "aiprod-cli" in NO_DISPLAY_MESSAGE


class InstantEngine:
    """Stands in for the model: answers at once (the tiny model runs in the flow test above)."""

    model_name, identity, quantization = "fake", "fake", "none"

    def generate(self, request, on_progress=None, on_preview=None, cancel=None):  # noqa: ANN001, ANN201
        import numpy as np

        from engine.request import GenerationResult

        for step in range(1, request.steps + 1):
            on_progress(step, request.steps)
        frames = np.full((request.num_frames, request.height, request.width, 3), 0.5, np.float32)
        return GenerationResult(frames, np.zeros((2, 9000), np.float32), 24000, request.fps, {})


def test_regenerate_from_the_inspector_files_a_new_take_with_the_same_seed(qtbot, settings_path, answers):
    window = MainWindow(
        QSettings(settings_path, QSettings.Format.IniFormat),
        prompts=answers.prompts(),
        engine_factory=lambda *_: InstantEngine(),
    )
    qtbot.addWidget(window)
    try:
        window.apply_engine_settings(EngineSettings(developer_tiny=True))
        panel = window.generate_panel
        tiny_job(panel, "a lighthouse in a storm", model="tiny")
        panel.place_check.setChecked(True)
        with qtbot.waitSignal(window.jobs.job_finished, timeout=60_000) as first:
            panel.request_generate()
        original = first.args[1]
        window.timeline.select([clips(window)[0].id])
        window.inspector.show_clip(clips(window)[0].id)
        window.inspector.same_seed_check.setChecked(True)  # the default is a new seed (issue 13)
        with qtbot.waitSignal(window.jobs.job_finished, timeout=60_000) as second:
            window.inspector.regenerate_button.click()
        take = second.args[1]
        qtbot.waitUntil(lambda: len(window.session.doc.bin_items()) == 2)
        stored = window.session.doc.bin_item(take.id)
        assert stored.take_of == original.id and stored.take == 1
        assert stored.generation["seed"] == original.generation["seed"]
        assert stored.generation["prompt"] == original.generation["prompt"]
    finally:
        window.shutdown()


def test_grade_a_clip_in_the_inspector_export_it_and_undo_from_the_window(window, qtbot, tmp_path):
    """Issue 4's flow in the window: grade with a shipped look, the edit is on the window's undo stack
    (Ctrl+Z undoes it), then File > Export writes ProRes 422 HQ from the graded timeline."""
    from app.export import probe

    media = make_video(tmp_path / "shot.mov", frames=12, codec="prores_ks", audio=True)
    [media_id] = window.media_bin.import_files([str(media)])
    window.media_bin.select(media_id)
    press(window, ",")
    assert clips(window), window.statusBar().currentMessage()
    clip = clips(window)[0].id
    window.timeline.select([clip])
    panel = window.inspector.grade_panel
    assert panel.isVisibleTo(window.inspector)
    panel.set_look("teal_orange")
    assert window.session.doc.clip(clip).grade["look"] == "teal_orange"
    press(window, "Ctrl+Z")
    assert window.session.doc.clip(clip).grade is None  # the window's stack has the grade step
    press(window, "Ctrl+Shift+Z")
    assert window.session.doc.clip(clip).grade["look"] == "teal_orange"

    dialog = window.open_export_dialog()
    dialog.select_preset("prores_422_hq")
    out = tmp_path / "graded.mov"
    dialog.set_destination(str(out))
    with qtbot.waitSignal(window.jobs.job_finished, timeout=120_000):  # on the render queue
        dialog.start_export()
    info = probe(out)
    assert info["video_codec"] == "prores" and info["frame_count"] == 12
    assert info["audio_codec"] == "pcm_s24le"


def test_colour_settings_and_timeline_interchange_are_in_the_menus(window):
    file_actions = [a.objectName() for a in window.menuBar().actions()[0].menu().actions()]
    assert {"exportAction", "interchange_export_timelineAction", "interchange_import_timelineAction"} <= set(
        file_actions
    )
    dialog = window.open_color_settings()
    assert dialog.isVisible()
    dialog.close()


@pytest.mark.slow
def test_inpaint_a_region_of_a_generated_clip_into_a_new_take(qtbot, settings_path, answers):
    """Issue 5's "done when" in the window: generate with the tiny model, mark a range, paint a region with
    the mouse, write a prompt, run it: a new take replaces the clip on the timeline (one undo step), only
    the painted region changed, the sound is the original's sample for sample."""
    import numpy as np
    from PySide6.QtCore import QPoint

    from app.jobs.inpaint import read_audio_exact
    from app.media.reader import VideoReader

    window = open_window(qtbot, settings_path, answers)
    try:
        window.apply_engine_settings(EngineSettings(developer_tiny=True))
        panel = window.generate_panel
        tiny_job(panel, "a harbour at dawn", model="tiny")
        panel.place_check.setChecked(True)
        with qtbot.waitSignal(window.jobs.job_finished, timeout=300_000) as generated:
            panel.request_generate()
        original = generated.args[1]
        qtbot.waitUntil(lambda: len(clips(window)) == 1)
        clip = clips(window)[0].id
        window.timeline.select([clip])
        window.seek(1)
        window.viewer.mark_in()
        window.seek(8)
        window.viewer.mark_out()

        painter = window.mask_painter
        painter.set_painting(True)
        painter.toolbar.feather_spin.setValue(0)
        shown = painter.media_rect()
        left = QPoint(shown.x() + shown.width() // 4, shown.y() + shown.height() // 2)
        right = QPoint(shown.x() + shown.width() // 2, shown.y() + shown.height() // 2)
        QTest.mousePress(painter, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, left)
        QTest.mouseMove(painter, right)
        QTest.mouseRelease(painter, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, right)
        mask_info = window.session.doc.clip(clip).mask
        assert mask_info is not None and painter.mask_array().max() == 255

        inpaint = window.inpaint_panel
        inpaint.prompt_edit.setPlainText("a red boat")
        with qtbot.waitSignal(window.jobs.job_finished, timeout=300_000) as done:
            inpaint.request_inpaint()
        take = done.args[1]
        qtbot.waitUntil(lambda: clips(window)[0].media_id == take.id)
        assert take.take_of == original.id
        assert window.session.stack.undoText() == f"Inpaint {take.name}"  # one undo step

        mask = painter.store().load(mask_info["id"])
        source, result = VideoReader(original.path), VideoReader(take.path)
        try:
            for frame in range(9):
                a, b = source.frame(frame, depth=16), result.frame(frame, depth=16)
                inside = mask_info["in"] <= frame < mask_info["out"]
                assert np.array_equal(a[mask == 0], b[mask == 0]), frame  # outside the mask: untouched
                if not inside:
                    assert np.array_equal(a, b), frame  # outside the range: untouched
            assert any(
                not np.array_equal(
                    source.frame(f, depth=16)[mask == 255], result.frame(f, depth=16)[mask == 255]
                )
                for f in range(mask_info["in"], mask_info["out"])
            )
        finally:
            source.close()
            result.close()
        sound_a, _ = read_audio_exact(original.path)
        sound_b, _ = read_audio_exact(take.path)
        assert np.array_equal(sound_a, sound_b)

        press(window, "Ctrl+Z")  # the take leaves the timeline; the original is back
        assert clips(window)[0].media_id == original.id
    finally:
        window.shutdown()


def test_regenerate_on_an_inpaint_take_fills_the_inpaint_panel_instead_of_generating(window):
    generation = {"kind": "inpaint", "prompt": "a red boat", "negative_prompt": "blur", "seed": 4242,
                  "steps": 7, "strength": 0.6, "regenerate_audio": True}  # fmt: skip
    assert window.regenerate(generation) is None
    assert window.jobs.jobs() == []  # nothing was queued as a text-to-video job
    panel = window.inpaint_panel
    assert panel.prompt_edit.toPlainText() == "a red boat" and panel.negative_edit.text() == "blur"
    assert (panel.seed_spin.value(), panel.seed_lock.isChecked()) == (4242, True)
    assert (panel.steps_spin.value(), panel.strength_spin.value()) == (7, 0.6)
    assert panel.audio_check.isChecked()
    assert "inpainted" in window.statusBar().currentMessage()


def test_painting_keeps_the_viewer_on_the_selected_clip(window, tmp_path):
    first = make_video(tmp_path / "a.mov", frames=24, codec="prores_ks", audio=False)
    second = make_video(tmp_path / "b.mov", frames=24, codec="prores_ks", audio=False)
    ids = window.media_bin.import_files([str(first), str(second)])
    doc, stack = window.session.doc, window.session.stack
    video = doc.tracks(TrackKind.VIDEO)[0].id
    push_edit(
        stack,
        doc,
        "Place",
        lambda d: [d.insert(m, video, RationalTime(24 * i, 24)) for i, m in enumerate(ids)],
    )
    window.seek(5)  # on the first clip
    window.timeline.select([clips(window)[1].id])
    window.mask_painter.set_painting(True)  # painting the second clip: the viewer must show it
    assert window.timeline.playhead() == 24 and window.viewer.frame == 24
    window.timeline.select([clips(window)[0].id])
    assert window.timeline.playhead() == 0


def test_an_inpaint_take_whose_clip_was_deleted_meanwhile_still_lands_in_the_bin(window, tmp_path):
    from types import SimpleNamespace

    from app.document import MediaItem

    media = make_video(tmp_path / "shot.mov", frames=12, codec="prores_ks", audio=False)
    [media_id] = window.media_bin.import_files([str(media)])
    window.media_bin.select(media_id)
    press(window, ",")
    clip = clips(window)[0].id
    window.timeline.select([clip])
    press(window, "Delete")  # the clip is gone before the job finishes
    original = window.session.doc.bin_item(media_id)
    take = MediaItem(id="take-1", path=original.path, name="shot_take1", info=original.info,
                     generation={"kind": "inpaint"}, take_of=media_id, kind="generated")  # fmt: skip
    spec = SimpleNamespace(clip_id=clip, place=True)
    window.apply_finished_job(SimpleNamespace(kind="inpaint", spec=spec, item=take))  # the kind's applier
    assert window.session.doc.bin_item("take-1").take_of == media_id
    assert clips(window) == [] and "in the media bin" in window.statusBar().currentMessage()
    press(window, "Ctrl+Z")  # one undo step takes the take back out of the bin
    assert "take-1" not in [m.id for m in window.session.doc.bin_items()]
