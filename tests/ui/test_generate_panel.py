"""The generation panel, and a generation through the UI with the tiny random model: progress advances, a
preview arrives, cancel works, the clip lands in the bin and on the timeline, and the undo stack has it."""

from __future__ import annotations

import numpy as np
import pytest
from opentimelineio.opentime import RationalTime
from PySide6.QtCore import Qt
from PySide6.QtGui import QUndoStack
from window_helpers import tiny_job

from app.document import TimelineDocument, TrackKind
from app.jobs import EngineSettings, JobQueue, JobStatus, apply_result
from ui.generate_panel import GeneratePanel
from ui.job_queue import JobQueueView

DEV = EngineSettings(developer_tiny=True)


def _tiny_setup(panel: GeneratePanel, steps: int = 4) -> None:
    tiny_job(panel, "a cat on a beach at sunset", steps=steps, model="tiny")


def test_generate_is_disabled_with_an_actionable_message_until_settings_are_complete(qtbot):
    panel = GeneratePanel(EngineSettings())
    qtbot.addWidget(panel)
    assert not panel.generate_button.isEnabled()
    assert "No LTX-2 checkpoint" in panel.message_label.text() and "Settings" in panel.message_label.text()
    assert "developer mode" in panel.message_label.text()  # how a newcomer tries it without weights
    assert panel.model_combo.findData("tiny") == -1  # the noise model only in developer mode
    panel.set_settings(DEV)
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("tiny"))
    assert panel.generate_button.isEnabled() and "noise" in panel.message_label.text()
    assert "noise" in panel.model_combo.currentText()


def test_duration_shows_the_real_snapped_length(qtbot):
    panel = GeneratePanel(DEV)
    qtbot.addWidget(panel)
    panel.fps_combo.setCurrentIndex(panel.fps_combo.findData(24.0))
    panel.duration_spin.setValue(5.0)
    assert panel.duration_label.text() == "= 121 frames, 5.04 s"
    _tiny_setup(panel)
    assert panel.current_spec().frames == 9


def test_seed_is_random_each_time_unless_locked(qtbot):
    panel = GeneratePanel(DEV)
    qtbot.addWidget(panel)
    _tiny_setup(panel)
    emitted = []
    panel.generate_requested.connect(emitted.append)
    seeds = {panel.request_generate().seed for _ in range(4)}
    assert len(seeds) > 1
    panel.seed_lock.setChecked(True)
    panel.seed_spin.setValue(1234)
    assert {panel.request_generate().seed for _ in range(3)} == {1234}
    assert len(emitted) == 7 and emitted[-1].seed == 1234


def test_bad_fields_show_a_message_and_emit_nothing(qtbot, tmp_path):
    panel = GeneratePanel(DEV)
    qtbot.addWidget(panel)
    _tiny_setup(panel)
    emitted = []
    panel.generate_requested.connect(emitted.append)
    panel.prompt_edit.setPlainText("")
    assert panel.request_generate() is None and "prompt is empty" in panel.message_label.text()
    panel.prompt_edit.setPlainText("x")
    panel.start_combo.setCurrentIndex(panel.start_combo.findData("file"))
    panel.image_edit.setText(str(tmp_path / "missing.png"))
    assert panel.request_generate() is None and "does not exist" in panel.message_label.text()
    assert emitted == []


def test_start_image_from_the_viewers_current_frame(qtbot):
    frame = np.full((64, 64, 3), 90, np.uint8)
    panel = GeneratePanel(DEV, current_frame=lambda: frame)
    qtbot.addWidget(panel)
    _tiny_setup(panel)
    panel.start_combo.setCurrentIndex(panel.start_combo.findData("viewer"))
    spec = panel.current_spec()
    assert spec.image is None and np.array_equal(spec.image_array, frame)
    assert spec.generation_parameters()["image"] == "<frame>"


def test_regenerate_loads_a_clips_parameters_and_leaves_the_lock_alone(qtbot):
    panel = GeneratePanel(DEV)
    qtbot.addWidget(panel)
    _tiny_setup(panel)
    original = panel.current_spec().with_changes(seed=2**40, steps=3)
    other = GeneratePanel(DEV)
    qtbot.addWidget(other)
    other.load_spec(original)
    assert not other.seed_lock.isChecked()  # issue 13: it used to tick Lock silently
    assert other.current_spec() == original.with_changes(place_on_timeline=other.place_check.isChecked())
    other.seed_lock.setChecked(True)  # the user's choice: this seed again
    again = other.request_generate()
    assert again == original.with_changes(place_on_timeline=other.place_check.isChecked())


@pytest.fixture()
def studio(qtbot, tmp_path):
    """Panel + queue view + document wired like the main window does it."""
    queue = JobQueue(DEV, tmp_path / "media")
    panel = GeneratePanel(DEV)
    view = JobQueueView(queue)
    qtbot.addWidget(panel)
    qtbot.addWidget(view)
    doc, stack = TimelineDocument(rate=24), QUndoStack()
    video = doc.tracks(TrackKind.VIDEO)[0].id
    playhead = RationalTime(0, 24)
    panel.generate_requested.connect(queue.submit)
    queue.job_finished.connect(
        lambda job_id, item: apply_result(
            stack, doc, item, playhead if queue.job(job_id).spec.place_on_timeline else None, video
        )
    )
    yield panel, queue, view, doc, stack, video
    assert queue.shutdown(60_000)


def test_a_generation_through_the_ui_with_the_tiny_model(studio, qtbot):
    panel, queue, view, doc, stack, video = studio
    _tiny_setup(panel, steps=4)
    panel.place_check.setChecked(True)
    progress_values, previews = [], []

    def watch(job_id: str) -> None:
        row = view.row(job_id)
        progress_values.append(row.progress.value())
        if row.thumbnail.pixmap() is not None and not row.thumbnail.pixmap().isNull():
            previews.append(job_id)

    queue.job_changed.connect(watch)
    with qtbot.waitSignal(queue.job_finished, timeout=300_000) as finished:
        qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
    job_id, item = finished.args
    assert progress_values == sorted(progress_values)  # never goes backwards
    assert {1, 2, 3} <= set(progress_values)  # the bar advanced step by step
    assert previews, "no live preview reached the queue view"
    row = view.row(job_id)
    assert queue.job(job_id).status is JobStatus.DONE and not row.cancel_button.isVisible()
    # the clip landed: in the bin, on the timeline at the playhead, one undo step
    assert [m.id for m in doc.bin_items()] == [item.id]
    assert item.generation["checkpoint_identity"] == "tiny-random" and item.info.has_audio
    clips = doc.clips(video)
    assert len(clips) == 1 and clips[0].media_id == item.id and clips[0].start.to_frames() == 0
    assert stack.count() == 1 and item.name in stack.text(0)
    stack.undo()
    assert doc.bin_items() == [] and doc.clips(video) == []


def test_cancel_from_the_queue_view_stops_the_tiny_model(studio, qtbot):
    panel, queue, view, doc, stack, video = studio
    _tiny_setup(panel, steps=50)  # long enough that the cancel lands mid-denoising
    started = []
    queue.job_changed.connect(lambda job_id: started.append(job_id) if queue.job(job_id).step >= 1 else None)
    panel.request_generate()
    qtbot.waitUntil(lambda: bool(started), timeout=300_000)
    job_id = started[0]
    with qtbot.waitSignal(queue.job_cancelled, timeout=120_000):
        qtbot.mouseClick(view.row(job_id).cancel_button, Qt.MouseButton.LeftButton)
    job = queue.job(job_id)
    assert job.status is JobStatus.CANCELLED and job.step < 50
    assert "cancelled" in view.row(job_id).status.text()
    assert doc.bin_items() == [] and stack.count() == 0


def test_settings_dialog_says_what_is_missing_and_saves_to_the_given_store(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from ui.settings_dialog import SettingsDialog

    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    dialog = SettingsDialog(EngineSettings(), store)
    qtbot.addWidget(dialog)
    assert "No LTX-2 checkpoint" in dialog.status_label.text()
    dialog.checkpoint_edit.setText(str(tmp_path / "nope.safetensors"))
    assert "does not exist" in dialog.status_label.text()
    dialog.quantization_combo.setCurrentIndex(dialog.quantization_combo.findData("int4"))
    dialog.developer_check.setChecked(True)
    with qtbot.waitSignal(dialog.settings_changed) as changed:
        dialog.accept()
    saved = EngineSettings.load(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    assert saved == changed.args[0] and saved.quantization == "int4" and saved.developer_tiny


def test_steps_and_negative_prompt_default_to_the_models_reference_values(qtbot):
    """Left alone, the steps box and the negative prompt are the loaded model's reference values (None in
    the job, filled in by the engine); the box names the value for the chosen model's version."""
    from engine.models import LTX_2_0, LTX_2_3
    from tests.shared_fixtures import LTX23_FIXTURE, ltx23_monolith

    panel = GeneratePanel(DEV)
    qtbot.addWidget(panel)
    _tiny_setup(panel)
    panel.steps_spin.setValue(panel.steps_spin.minimum())
    assert panel.steps_spin.text() == f"model default ({LTX_2_0.steps})"
    spec = panel.current_spec()
    assert spec.steps is None and spec.negative_prompt is None and spec.guidance is None
    assert spec.to_request().with_defaults(LTX_2_0.guidance_defaults()).steps == LTX_2_0.steps
    panel.steps_spin.setValue(12)
    panel.negative_edit.setText("fog")
    assert (panel.current_spec().steps, panel.current_spec().negative_prompt) == (12, "fog")
    # a regenerated clip's record holds the resolved values; the model's own negative prompt stays hidden
    panel.load_spec(spec.with_changes(steps=None, negative_prompt=LTX_2_0.negative_prompt))
    assert panel.current_spec().steps is None and panel.negative_edit.text() == ""
    assert panel.duration_spin.maximum() == LTX_2_0.max_seconds

    if LTX23_FIXTURE is None:
        return
    panel.set_settings(DEV.with_changes(checkpoint=str(ltx23_monolith(LTX23_FIXTURE))))
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("ltx2"))
    assert panel.model_combo.currentText().startswith("LTX-2.3")
    assert panel.steps_spin.text() == f"model default ({LTX_2_3.steps})"
