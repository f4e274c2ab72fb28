"""Issue 13: what a first-time user tripped on in the studio, each as the flow that showed it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from window_helpers import tiny_job

from app.commands import push_edit
from app.project.paths import recovery_dir
from ui.main_window import MainWindow
from ui.project_actions import ProjectPrompts, RecoveryDecision, UnsavedChoice


class Answers:
    def __init__(self) -> None:
        self.save_path: str | None = None
        self.recover = None
        self.errors: list[str] = []

    def prompts(self) -> ProjectPrompts:
        return ProjectPrompts(
            unsaved=lambda _name: UnsavedChoice.DISCARD,
            open_path=lambda: None,
            save_path=lambda _suggested: self.save_path,
            confirm=lambda _text: True,
            recover=lambda entries: RecoveryDecision(recover=entries[0] if self.recover else None),
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


def open_window(qtbot, settings_path: str, answers: Answers, **kwargs) -> MainWindow:  # noqa: ANN001, ANN003
    window = MainWindow(
        QSettings(settings_path, QSettings.Format.IniFormat), prompts=answers.prompts(), **kwargs
    )
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


@pytest.fixture
def window(qtbot, settings_path, answers):  # noqa: ANN001, ANN201
    window = open_window(qtbot, settings_path, answers)
    yield window
    window.shutdown()


def settle() -> None:
    for _ in range(10):
        QApplication.processEvents()


# ------------------------------------------------------------------------------ 1: the viewer's height
def test_open_recent_keeps_the_viewers_height(window, answers, tmp_path):
    settle()
    height = window.viewer.height()
    assert height > 300
    answers.save_path = str(tmp_path / "Film.aiprod")
    assert window.project.save_as()
    window.project.fill_recent_menu(window.recent_menu)
    for _ in range(2):  # it got worse with each open
        [recent] = window.recent_menu.actions()
        recent.trigger()
        settle()
        assert window.viewer.height() == height
        assert window.timeline_dock.height() < window.height() // 2


def test_recovery_keeps_the_viewers_height(qtbot, settings_path, answers, tmp_path):
    first = open_window(qtbot, settings_path, answers, autosave_ms=50)
    push_edit(first.session.stack, first.session.doc, "Marker", lambda d: d.add_marker(d.duration()))
    session = first.session
    session.flush_autosave()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    (recovery_dir() / f"{session.session_id}.lock").write_text(json.dumps({"pid": child.pid}))
    session._closed = True  # noqa: SLF001 - a killed process cleans nothing up
    first.shutdown()

    second = open_window(qtbot, settings_path, answers)
    try:
        settle()
        height = second.viewer.height()
        answers.recover = True
        assert second.project.offer_recovery()
        settle()
        assert second.session.doc.markers() and second.viewer.height() == height
    finally:
        second.shutdown()


# ------------------------------------------------------------------- 4: the inspector shows one thing
def _add_media(doc, path: Path, name: str, **fields) -> str:  # noqa: ANN001
    import uuid

    from app.document import MediaItem
    from app.media.probe import probe_media

    item = MediaItem(id=uuid.uuid4().hex, path=str(path), name=name, info=probe_media(path), **fields)
    return doc.add_bin_item(item)


@pytest.fixture
def takes(window, tmp_path):  # noqa: ANN001, ANN201
    """A generated clip on V1 (with an inpaint take in the bin) and another bin item."""
    from opentimelineio.opentime import RationalTime

    from app.document import TrackKind
    from tests.media_builders import make_video

    doc, stack = window.session.doc, window.session.stack
    video = lambda name: make_video(tmp_path / f"{name}.mkv", frames=24, size=(64, 48), codec="ffv1")  # noqa: E731
    original = _add_media(doc, video("shot"), "shot", generation={"prompt": "a lighthouse", "seed": 1})
    take = _add_media(
        doc, video("take"), "shot_take1", take_of=original, take=1,
        generation={"prompt": "a red scarf", "seed": 2},
    )
    other = _add_media(doc, video("other"), "other", generation={"prompt": "a forest", "seed": 3})
    track = doc.tracks(TrackKind.VIDEO)[0].id

    def place(d):  # noqa: ANN001, ANN202 - as apply_result does: the clip records its generation
        [clip_id, *_] = d.insert(original, track, RationalTime(0, d.rate))
        d.set_clip_generation(clip_id, d.bin_item(original).generation)
        return clip_id

    clip_id = push_edit(stack, doc, "Place", place)
    stack.clear()
    settle()
    return clip_id, original, take, other


def inspected(window) -> dict:  # noqa: ANN001
    """What the inspector dock shows: the switcher's clip/media (None when hidden), the details' subject."""
    switcher, inspector = window.takes_switcher, window.inspector
    shown_switcher = not switcher.isHidden()
    return {
        "switcher_clip": switcher.clip_id if shown_switcher else None,
        "switcher_media": switcher.current_media_id() if shown_switcher else None,
        "clip": inspector.shown_clip_id(),
        "media": inspector.shown_media_id(),
        "prompt": inspector.field_text("Prompt"),
    }


def assert_one_subject(window, clip_id, media_id) -> None:  # noqa: ANN001
    seen = inspected(window)
    prompt = window.session.doc.bin_item(media_id).generation["prompt"]
    if clip_id is None:
        assert seen == {"switcher_clip": None, "switcher_media": None, "clip": None, "media": media_id,
                        "prompt": prompt}  # fmt: skip
    else:
        assert seen == {"switcher_clip": clip_id, "switcher_media": media_id, "clip": clip_id,
                        "media": media_id, "prompt": prompt}  # fmt: skip


def test_a_bin_item_chosen_after_a_clip_replaces_the_whole_inspector(window, takes):
    clip_id, original, _take, other = takes
    window.timeline.select([clip_id])
    assert_one_subject(window, clip_id, original)
    window.media_bin.select(other)
    assert_one_subject(window, None, other)  # no take switcher of the clip left above the bin item


def test_a_drag_from_the_bin_shows_the_dropped_clip(window, takes, qtbot):
    from PySide6.QtCore import QMimeData, QPointF, Qt
    from PySide6.QtGui import QDropEvent

    from ui.timeline.drops import MEDIA_IDS_MIME

    clip_id, original, _take, other = takes
    window.timeline.select([clip_id])
    window.media_bin.select(other)  # pressing on the bin item to drag it selects it
    assert_one_subject(window, None, other)  # while it is dragged: its details, not under A's take switcher
    mime = QMimeData()
    mime.setData(MEDIA_IDS_MIME, other.encode())
    timeline = window.timeline
    timeline._ensure_synced()  # noqa: SLF001
    row = timeline._rows[-1] if timeline._rows[-1].top < timeline._rows[0].top else timeline._rows[0]  # noqa: SLF001
    x = timeline.width() - 40
    point = timeline.mapFromScene(QPointF(0, row.top + row.height / 2))
    event = QDropEvent(
        QPointF(x, point.y()), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    timeline.dropEvent(event)
    settle()
    [dropped] = timeline.selected_clip_ids()[:1]
    assert window.session.doc.clip(dropped).media_id == other
    assert_one_subject(window, dropped, other)


def test_an_undo_that_refreshes_the_bin_leaves_one_subject(window, takes):
    from app.document import TrackKind

    clip_id, original, _take, other = takes
    window.media_bin.select(other)  # chosen in the bin earlier...
    window.timeline.select([clip_id])  # ...then a clip on the timeline
    assert_one_subject(window, clip_id, original)
    push_edit(window.session.stack, window.session.doc, "Track", lambda d: d.add_track(TrackKind.VIDEO))
    window.session.stack.undo()  # a reset: the bin rebuilds its list and reports its selection again
    settle()
    assert_one_subject(window, clip_id, original)  # still the clip selected last, details and takes


def test_a_take_switch_and_its_undo_show_the_take_on_show(window, takes):
    clip_id, original, take, _other = takes
    window.timeline.select([clip_id])
    assert window.takes_switcher.switch_to(take)
    settle()
    assert_one_subject(window, clip_id, take)  # the details are the take's, not the clip's first record
    window.session.stack.undo()
    settle()
    assert_one_subject(window, clip_id, original)
    window.session.stack.undo()  # nothing left to undo past the fixture's clean stack: still one subject
    window.media_bin.select(take)
    assert_one_subject(window, None, take)


def test_a_finished_inpaint_shows_the_new_take_in_the_inspector(window, takes, tmp_path):
    from dataclasses import replace

    from app.jobs import apply_inpaint_result

    clip_id, original, take, _other = takes
    window.timeline.select([clip_id])
    doc = window.session.doc
    fresh = replace(doc.bin_item(take), id="f" * 32, take=2, generation={"prompt": "a blue hat", "seed": 4})
    apply_inpaint_result(window.session.stack, doc, fresh, clip_id)
    settle()
    assert_one_subject(window, clip_id, fresh.id)
    window.session.stack.undo()  # the take leaves the bin: the clip shows its original again
    settle()
    assert_one_subject(window, clip_id, original)


# ------------------------------------------------------------------ 7: first run and the next launch
def test_developer_mode_alone_makes_generate_possible_with_small_defaults(window):
    from app.jobs import EngineSettings

    panel = window.generate_panel
    assert not panel.generate_button.isEnabled()  # no checkpoint yet
    assert "Cannot generate yet" in panel.message_label.text()
    window.apply_engine_settings(EngineSettings(developer_tiny=True))  # ticking Developer mode in Settings
    assert panel.model_combo.currentData() == "tiny"
    assert panel.generate_button.isEnabled()
    assert "Cannot generate yet" not in panel.message_label.text()
    spec = panel.current_spec()
    assert (spec.width, spec.height, spec.frames, spec.steps) == (256, 160, 25, 8)  # the CLI's tiny defaults

    panel.model_combo.setCurrentIndex(panel.model_combo.findData("ltx2"))  # back to the real model
    spec = panel.current_spec()
    assert (spec.width, spec.height, spec.frames, spec.steps) == (768, 512, 121, None)  # None: model default


def test_model_generate_settings_and_engine_settings_survive_a_relaunch(qtbot, settings_path, answers):
    from app.jobs import EngineSettings

    first = open_window(qtbot, settings_path, answers)
    first.apply_engine_settings(EngineSettings(developer_tiny=True, quantization="none"))
    panel = first.generate_panel
    panel.prompt_edit.setPlainText("a lighthouse at dusk")
    panel.size_combo.setCurrentIndex(panel.size_combo.findData("64x64"))
    panel.fps_combo.setCurrentIndex(panel.fps_combo.findData(25.0))
    panel.duration_spin.setValue(2.0)
    panel.steps_spin.setValue(3)
    panel.seed_lock.setChecked(True)
    panel.seed_spin.setValue(4321)
    panel.place_check.setChecked(False)
    asked = panel.current_spec()
    first.close()

    second = open_window(qtbot, settings_path, answers)
    try:
        assert second.engine_settings.developer_tiny
        again = second.generate_panel
        assert again.model_combo.currentData() == "tiny"
        assert again.current_spec() == asked
        assert again.seed_lock.isChecked()
    finally:
        second.shutdown()


# ------------------------------------------------------------------------- 11: the Generate panel's words
def test_a_refusal_goes_once_the_prompt_is_typed_and_keeps_the_seed(qtbot):
    from app.jobs import EngineSettings
    from ui.generate_panel import GeneratePanel

    panel = GeneratePanel(EngineSettings(developer_tiny=True))  # alone: nothing is queued for real
    qtbot.addWidget(panel)
    panel.prompt_edit.setPlainText("")
    seed = panel.seed_spin.value()
    assert not panel.seed_lock.isChecked()
    assert panel.request_generate() is None
    assert "prompt" in panel.message_label.text().lower()
    assert panel.seed_spin.value() == seed  # a refused Generate draws no new seed
    panel.prompt_edit.setPlainText("a lighthouse")
    assert "prompt" not in panel.message_label.text().lower()
    assert panel.message_label.property("state") != "error"
    spec = panel.request_generate()
    assert spec is not None and spec.seed == panel.seed_spin.value()  # a queued one does (unlocked)


# ----------------------------------------------------------------- 8: Regenerate makes a new take
class InstantEngine:
    model_name, identity, quantization = "fake", "fake", "none"

    def generate(self, request, on_progress=None, on_preview=None, cancel=None):  # noqa: ANN001, ANN201
        import numpy as np

        from engine.request import GenerationResult

        for step in range(1, request.steps + 1):
            on_progress(step, request.steps)
        frames = np.full((request.num_frames, request.height, request.width, 3), 0.5, np.float32)
        return GenerationResult(frames, np.zeros((2, 9000), np.float32), 48000, request.fps, {})


@pytest.fixture
def instant(qtbot, settings_path, answers):  # noqa: ANN001, ANN201
    from app.jobs import EngineSettings

    window = open_window(qtbot, settings_path, answers, engine_factory=lambda *_: InstantEngine())
    window.apply_engine_settings(EngineSettings(developer_tiny=True))
    panel = window.generate_panel
    tiny_job(panel, "a lighthouse in a storm")
    yield window
    window.shutdown()


def test_regenerate_offers_a_new_seed_and_says_so_without_locking_the_panel(instant, qtbot):
    window, panel = instant, instant.generate_panel
    with qtbot.waitSignal(window.jobs.job_finished, timeout=60_000) as first:
        panel.request_generate()
    original = first.args[1]
    window.media_bin.select(original.id)
    assert not window.inspector.same_seed_check.isChecked()
    status: list[str] = []
    window.statusBar().messageChanged.connect(status.append)
    with qtbot.waitSignal(window.jobs.job_finished, timeout=60_000) as second:
        window.inspector.regenerate_button.click()
    take = second.args[1]
    assert take.generation["seed"] != original.generation["seed"]
    assert not panel.seed_lock.isChecked()
    said = f"new seed {take.generation['seed']}"
    assert any(said in text for text in status)  # said while it ran; once done, the panel says that
    assert panel.message_label.text().startswith(f"Done: seed {take.generation['seed']}")

    window.inspector.same_seed_check.setChecked(True)  # the explicit choice: the same take again
    with qtbot.waitSignal(window.jobs.job_finished, timeout=60_000) as third:
        window.inspector.regenerate_button.click()
    assert third.args[1].generation["seed"] == original.generation["seed"]
    assert any(f"same seed {original.generation['seed']}" in text for text in status)
    assert panel.message_label.text().startswith(f"Done: seed {original.generation['seed']}")
    assert not panel.seed_lock.isChecked()


# ---------------------------------------------------------------- 10: the document follows its project
def test_after_save_as_every_output_names_the_project(window, answers, tmp_path, qtbot, takes):
    from app.export.renderer import provenance_tags
    from app.interchange.writer import export_timeline
    from app.project import find_recoverable

    answers.save_path = str(tmp_path / "MyFilm.aiprod")
    assert window.project.save_as()
    doc = window.session.doc
    assert doc.name == "MyFilm" and window.windowTitle().startswith("MyFilm")
    [edl] = export_timeline(doc, tmp_path / "cut.edl")
    assert "TITLE: MyFilm" in edl.read_text()
    assert provenance_tags(doc, 0, 24)["title"] == "MyFilm"

    push_edit(window.session.stack, doc, "Marker", lambda d: d.add_marker(d.duration()))
    window.session.stack.undo()  # restores a snapshot: the name stays the project's
    assert doc.name == "MyFilm"
    push_edit(window.session.stack, doc, "Marker", lambda d: d.add_marker(d.duration()))
    window.session.flush_autosave()
    window.session._lock.release()  # noqa: SLF001 - as if the process had died
    [entry] = find_recoverable()
    assert entry.name == "MyFilm"


def test_a_project_saved_as_untitled_opens_under_its_folders_name(window, answers, tmp_path):
    from app.document import TimelineDocument
    from app.project.store import load_project, save_project

    save_project(TimelineDocument(name="Untitled"), tmp_path / "Old.aiprod")  # an older studio's file
    assert window.project.open_project(str(tmp_path / "Old.aiprod"))
    assert window.session.doc.name == "Old"
    answers.save_path = str(tmp_path / "Renamed.aiprod")
    assert window.project.save_as()
    assert load_project(tmp_path / "Renamed.aiprod").doc.name == "Renamed"


# -------------------------------------------------------------------- 9: the export runs beside the editor
def test_the_export_goes_to_the_render_queue_and_the_editor_stays_usable(window, takes, tmp_path, qtbot):
    import threading

    from PySide6.QtCore import Qt

    from app.errors import ExportCancelled
    from app.jobs import JobStatus

    gate = threading.Event()
    dialog = window.open_export_dialog()
    assert dialog.windowModality() == Qt.WindowModality.NonModal and not dialog.isModal()
    assert QApplication.activeModalWidget() is None

    def render(doc, preset, out_path, *, on_progress, cancel, **_range):  # noqa: ANN001, ANN202
        for done in range(1, 5):
            on_progress(done, 8, -1.0)
        gate.wait(10)
        if cancel.is_set():
            raise ExportCancelled("cancelled")
        raise AssertionError("the test cancels first")

    dialog._render = render  # noqa: SLF001
    dialog.set_destination(str(tmp_path / "film.mov"))
    dialog.start_export()
    assert not dialog.isVisible()  # handed to the render queue: the dialog is closed
    [job] = [j for j in window.jobs.jobs() if j.kind == "export"]
    row = window.job_queue_view.row(job.id)
    qtbot.waitUntil(lambda: row.progress.value() >= 1, timeout=10_000)
    assert row.progress.format().startswith("frame ") and "film.mov" in row.title.text()
    assert QApplication.activeModalWidget() is None
    clip_id = takes[0]
    window.timeline.select([clip_id])  # the editor answers while the export runs
    assert window.inspector.shown_clip_id() == clip_id
    row.cancel_button.click()
    gate.set()
    qtbot.waitUntil(lambda: window.jobs.job(job.id).status is JobStatus.CANCELLED, timeout=10_000)
    assert not (tmp_path / "film.mov").exists()


# ------------------------------------------------------------------------- 9: the Jobs panel
def _fake_jobs(queue, count: int) -> None:  # noqa: ANN001
    from PySide6.QtGui import QColor, QImage

    from app.jobs import JobSpec, JobStatus
    from app.jobs.queue import Job

    for i in range(count):
        spec = JobSpec(
            prompt=f"shot {i}: a lighthouse in a storm at night, waves crashing, the camera pushing in",
            seed=123456789 + i, model="tiny",
        )  # fmt: skip
        image = QImage(96, 54, QImage.Format.Format_RGB32)
        image.fill(QColor(40 + 30 * i, 90, 160))
        status = JobStatus.RUNNING if i == count - 1 else JobStatus.DONE
        queue._jobs[f"job{i}"] = Job(  # noqa: SLF001 - rows as the queue would have them, without an engine
            id=f"job{i}", spec=spec, status=status, steps=30, step=12, eta_seconds=95.0, message=status.value,
            preview=image,
        )  # fmt: skip
        queue.job_added.emit(f"job{i}")


@pytest.fixture
def queue_view(qtbot, tmp_path):  # noqa: ANN001, ANN201
    from app.jobs import EngineSettings, JobQueue
    from ui.job_queue import JobQueueView

    queue = JobQueue(EngineSettings(developer_tiny=True), tmp_path / "media")
    view = JobQueueView(queue)
    qtbot.addWidget(view)
    view.resize(260, 420)  # a narrow dock
    view.show()
    qtbot.waitExposed(view)
    yield queue, view
    queue.shutdown()


def test_new_jobs_come_first_and_in_view(queue_view, qtbot):
    queue, view = queue_view
    _fake_jobs(queue, 6)
    settle()
    assert [row.job_id for row in view.rows()] == [f"job{i}" for i in reversed(range(6))]
    bar = view.scroll.verticalScrollBar()
    assert bar.maximum() > 0 and bar.value() == 0  # more than fits, and the newest is on show
    newest = view.rows()[0]
    assert newest.mapTo(view.scroll.viewport(), newest.rect().topLeft()).y() >= 0


def test_job_cards_fit_the_docks_width(queue_view):
    queue, view = queue_view
    _fake_jobs(queue, 3)
    settle()
    viewport = view.scroll.viewport().width()
    for row in view.rows():
        right = row.mapTo(view.scroll.viewport(), row.rect().topRight()).x()
        assert right <= viewport, f"{row.job_id} is cut off: {right} > {viewport}"
        assert row.cancel_button.isHidden() or row.cancel_button.mapTo(
            view.scroll.viewport(), row.cancel_button.rect().topRight()
        ).x() <= viewport


def test_history_keeps_finished_jobs_with_settings_and_thumbnails(qtbot, tmp_path):
    from app.jobs import EngineSettings, JobQueue
    from app.jobs.history import JobHistory
    from ui.job_queue import JobQueueView

    queue = JobQueue(EngineSettings(developer_tiny=True), tmp_path / "media")
    try:
        _fake_jobs(queue, 3)
        history = JobHistory(tmp_path / "jobs")
        for job in queue.jobs():
            history.record(job)  # the running one is not finished: not kept
    finally:
        queue.shutdown()
    later = JobHistory(tmp_path / "jobs")  # the next launch
    entries = later.entries()
    assert [e.parameters["seed"] for e in entries] == [123456790, 123456789]  # newest first
    assert all(later.thumbnail_path(e) is not None for e in entries)

    fresh = JobQueue(EngineSettings(developer_tiny=True), tmp_path / "media")
    view = JobQueueView(fresh, history=later)
    qtbot.addWidget(view)
    try:
        [first, second] = view.history_rows()
        assert not view.empty_label.isVisibleTo(view) and view.history_label.isVisibleTo(view)
        assert first.thumbnail.pixmap() is not None and not first.thumbnail.pixmap().isNull()
        assert "seed 123456790" in first.status.text()
        with qtbot.waitSignal(view.reuse_requested) as reused:
            first.reuse_button.click()
        assert reused.args[0].seed == 123456790 and reused.args[0].prompt.startswith("shot 1")
        view.clear_button.click()
        assert view.history_rows() == [] and JobHistory(tmp_path / "jobs").entries() == []
    finally:
        fresh.shutdown()


def test_a_generation_is_listed_again_after_a_relaunch_and_its_settings_reused(
    instant, qtbot, settings_path, answers
):
    window, panel = instant, instant.generate_panel
    panel.seed_lock.setChecked(True)
    panel.seed_spin.setValue(777)
    with qtbot.waitSignal(window.jobs.job_finished, timeout=60_000):
        panel.request_generate()
    [row] = window.job_queue_view.rows()
    assert row.reuse_button.isVisibleTo(row) and window.job_queue_view.history_rows() == []  # shown once
    window.shutdown()

    again = open_window(qtbot, settings_path, answers)
    try:
        assert again.job_queue_view.rows() == []
        [earlier] = again.job_queue_view.history_rows()
        assert earlier.entry.prompt == "a lighthouse in a storm"
        again.generate_panel.prompt_edit.setPlainText("something else")
        again.generate_panel.seed_spin.setValue(1)
        earlier.reuse_button.click()
        assert again.generate_panel.prompt_edit.toPlainText() == "a lighthouse in a storm"
        assert again.generate_panel.seed_spin.value() == 777
    finally:
        again.shutdown()


# --------------------------------------------------------------- 11: the ruler, refusals on the timeline
def _ruler_image(window):  # noqa: ANN001, ANN202
    ruler = window.timeline._ruler  # noqa: SLF001
    ruler.repaint()
    return ruler, ruler.grab().toImage()


def _distance(a, b) -> int:  # noqa: ANN001
    return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue())


def test_a_marker_does_not_look_like_the_playhead(window, takes):
    from ui.timeline.ruler import MARKER_TOP, PLAYHEAD_COLOR

    timeline = window.timeline
    timeline.zoom_in()
    window.seek(4)
    timeline.add_marker_at_playhead()  # what M does
    window.seek(16)
    settle()
    ruler, image = _ruler_image(window)
    marker_x = round(timeline.frame_to_viewport_x(4))
    flag = image.pixelColor(marker_x + 4, MARKER_TOP + 5)
    assert _distance(flag, PLAYHEAD_COLOR) > 150  # not red
    # a flag to the right of its pole, nothing on the left: the playhead's head is symmetric
    assert _distance(image.pixelColor(marker_x - 4, MARKER_TOP + 5), flag) > 150
    playhead_x = round(timeline.frame_to_viewport_x(16))
    assert _distance(image.pixelColor(playhead_x, ruler.height() - 8), PLAYHEAD_COLOR) < 40


def test_in_and_out_marks_show_on_the_ruler(window, takes):
    from ui.timeline.ruler import MARKER_TOP, RULER_BACKGROUND

    timeline = window.timeline
    timeline.zoom_in()
    window.seek(5)
    window.viewer.mark_in()
    window.seek(12)
    window.viewer.mark_out()
    window.seek(0)
    settle()
    assert timeline.in_out() == (5, 12)
    _ruler, image = _ruler_image(window)
    y = MARKER_TOP + 8
    inside = image.pixelColor(round(timeline.frame_to_viewport_x(9)), y)
    outside = image.pixelColor(round(timeline.frame_to_viewport_x(18)), y)
    assert _distance(outside, RULER_BACKGROUND) < 10
    assert _distance(inside, RULER_BACKGROUND) > 20 and inside.blue() > inside.red()


def test_a_dissolve_that_does_not_fit_is_refused_inline_without_a_dialog(window, takes):
    from opentimelineio.opentime import RationalTime

    clip_id, _original, _take, other = takes
    doc = window.session.doc
    track = doc.clip(clip_id).track_id
    push_edit(window.session.stack, doc, "Next", lambda d: d.insert(other, track, RationalTime(24, d.rate)))
    settle()
    window.timeline.select([clip_id])
    window.actions_by_name["dissolve"].trigger()  # Ctrl+D: both clips use their whole media, no handles
    settle()
    notice = window.timeline.notice
    assert notice.isVisible() and "frames" in notice.text()
    assert notice.text() in window.statusBar().currentMessage()
    assert not doc.dissolves(track)
