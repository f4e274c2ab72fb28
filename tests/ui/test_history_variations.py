"""Issue 14, through the window: the project's History panel (every outcome, thumbnails, reuse settings),
batches of variations (new seeds, a guidance sweep), the variations grid (side by side at the playhead's
relative frame, cycling with the keys, the applied take marked), applying a variation as a take, prompt
presets, and the history surviving save and reopen. The engine is a fast stand-in whose pictures depend on
the seed and guidance (the tiny model's run is in test_gap_fill_window.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from app.document import TrackKind
from app.jobs import EngineSettings
from ui.main_window import SHORTCUTS, MainWindow
from ui.project_actions import ProjectPrompts, RecoveryDecision, UnsavedChoice


class SeededEngine:
    """Pictures that differ per seed and guidance (a colour) and per frame (a moving bar)."""

    model_name, identity, quantization = "seeded", "seeded", "none"

    def generate(self, request, on_progress=None, on_preview=None, cancel=None):  # noqa: ANN001, ANN201
        from engine.errors import EngineError
        from engine.request import GenerationResult

        if "fail" in request.prompt:
            raise EngineError("the stand-in engine refuses this prompt")
        for step in range(1, 3):
            if cancel is not None and cancel.is_set():
                from engine.errors import GenerationCancelled

                raise GenerationCancelled(step)
            on_progress(step, 2)
        rng = np.random.default_rng(request.seed)
        colour = rng.uniform(0.15, 0.95, 3).astype(np.float32)
        if request.guidance_scale is not None:
            colour = np.array(
                [request.guidance_scale / 10.0, 0.3, 1.0 - request.guidance_scale / 10.0], np.float32
            )
        frames = np.empty((request.num_frames, request.height, request.width, 3), np.float32)
        frames[:] = colour
        for index in range(request.num_frames):
            x = index * request.width // request.num_frames
            frames[index, :, x : x + max(2, request.width // 8)] = 1.0
        return GenerationResult(frames, np.zeros((2, 4800), np.float32), 48000, request.fps, {})


class Answers:
    save_path: str | None = None

    def prompts(self) -> ProjectPrompts:
        return ProjectPrompts(
            unsaved=lambda _name: UnsavedChoice.DISCARD,
            open_path=lambda: None,
            save_path=lambda _suggested: self.save_path,
            confirm=lambda _text: True,
            recover=lambda _entries: RecoveryDecision(),
            relink=lambda _actions: None,
            error=lambda _text: None,
        )


pytestmark = pytest.mark.usefixtures("data_dir")  # tests/ui/conftest.py


def open_window(qtbot, tmp_path, answers: Answers) -> MainWindow:  # noqa: ANN001
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings, prompts=answers.prompts(), engine_factory=lambda *_: SeededEngine())
    qtbot.addWidget(window)
    window.apply_engine_settings(EngineSettings(developer_tiny=True))
    panel = window.generate_panel
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("tiny"))
    panel.prompt_edit.setPlainText("a lighthouse in a storm")
    panel.size_combo.setCurrentIndex(panel.size_combo.findData("64x64"))
    panel.duration_spin.setValue(0.7)  # 17 frames
    panel.steps_spin.setValue(2)
    panel.place_check.setChecked(True)
    window.show()
    qtbot.waitExposed(window)
    return window


@pytest.fixture
def answers() -> Answers:
    return Answers()


@pytest.fixture
def window(qtbot, tmp_path, answers):  # noqa: ANN001, ANN201
    window = open_window(qtbot, tmp_path, answers)
    yield window
    window.shutdown()


SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def screenshot(window, name: str) -> None:  # noqa: ANN001
    """Kept for a human to look at (docs/screenshots has copies made with nicer stand-in pictures)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert window.grab().save(str(SCREENSHOTS / name))


def settle() -> None:
    for _ in range(5):
        QApplication.processEvents()


def generate(window, qtbot, seed: int | None = None):  # noqa: ANN001, ANN201
    panel = window.generate_panel
    if seed is not None:
        panel.seed_lock.setChecked(True)
        panel.seed_spin.setValue(seed)
    with qtbot.waitSignal(window.jobs.job_finished, timeout=30_000) as done:
        panel.request_generate()
    settle()
    return done.args[1]


def wait_jobs(window, qtbot) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=30_000)
    settle()


def picture(label) -> np.ndarray:  # noqa: ANN001
    """A label's pixmap as RGB samples on a 16 x 16 grid (enough to tell pictures apart)."""
    image = label.pixmap().toImage()
    w, h = image.width(), image.height()
    return np.array(
        [[image.pixelColor(x * w // 16, y * h // 16).getRgb()[:3] for x in range(16)] for y in range(16)],
        np.uint8,
    )


# ------------------------------------------------------------------------------------------------- history
def test_every_outcome_lands_in_the_history_with_its_thumbnail_and_message(window, qtbot):
    workflow, panel = window.workflow, window.workflow.panel
    item = generate(window, qtbot, seed=11)
    [done] = workflow.history.entries()
    assert done.status == "done" and done.media_id == item.id and done.parameters["seed"] == 11
    assert workflow.history.thumbnail_path(done) is not None
    assert not panel.items()[0].icon().isNull()
    assert panel.item_text(done.id).startswith("\u2713 Generation")  # placed: the timeline shows it

    window.generate_panel.prompt_edit.setPlainText("this one should fail")
    with qtbot.waitSignal(window.jobs.job_failed, timeout=30_000):
        window.generate_panel.request_generate()
    settle()
    failed = workflow.history.entries()[0]
    assert failed.status == "failed" and "refuses this prompt" in failed.error
    text = panel.item_text(failed.id)
    assert "\nfailed: " in text and "the stand-in engine refuses this prompt" in text

    window.generate_panel.prompt_edit.setPlainText("never runs")
    first = window.submit_job(window.generate_panel.current_spec())
    second = window.submit_job(window.generate_panel.current_spec().with_changes(seed=99))
    window.jobs.cancel(second)  # still waiting behind the first
    wait_jobs(window, qtbot)
    by_seed = {e.parameters["seed"]: e for e in workflow.history.entries()[:2]}
    assert by_seed[99].status == "cancelled" and window.jobs.job(first).status.value == "done"
    assert "cancelled" in panel.item_text(by_seed[99].id)
    window.history_dock.raise_()
    screenshot(window, "history.png")


def test_reuse_settings_fills_the_generate_panel(window, qtbot):
    generate(window, qtbot, seed=1234)
    gen = window.generate_panel
    gen.prompt_edit.setPlainText("something else")
    gen.seed_spin.setValue(5)
    panel = window.workflow.panel
    panel.select(window.workflow.history.entries()[0].id)
    panel.reuse_button.click()
    assert gen.prompt_edit.toPlainText() == "a lighthouse in a storm" and gen.seed_spin.value() == 1234


# ---------------------------------------------------------------------------------------------- variations
def test_new_seed_queues_the_same_settings_as_a_new_take(window, qtbot):
    original = generate(window, qtbot, seed=77)
    panel = window.workflow.panel
    entry = window.workflow.history.entries()[0]
    panel.select(entry.id)
    with qtbot.waitSignal(window.jobs.job_finished, timeout=30_000) as done:
        panel.regenerate_button.click()
    settle()
    take = done.args[1]
    assert take.take_of == original.id and take.generation["seed"] != 77
    assert take.generation["prompt"] == entry.prompt
    assert take.generation["frames"] == entry.parameters["frames"]
    newest = window.workflow.history.entries()[0]
    assert newest.kind == "variation" and newest.source == entry.id and newest.media_id == take.id


def test_queue_three_variations_makes_three_takes_with_distinct_seeds(window, qtbot):
    original = generate(window, qtbot, seed=7)
    panel = window.workflow.panel
    panel.select(window.workflow.history.entries()[0].id)
    panel.count_spin.setValue(3)
    panel.parameter_combo.setCurrentIndex(panel.parameter_combo.findData("seed"))
    before = {j.id for j in window.jobs.jobs()}
    panel.queue_button.click()
    jobs = [j for j in window.jobs.jobs() if j.id not in before]
    assert [j.kind for j in jobs] == ["variations"] * 3
    seeds = [j.spec.seed for j in jobs]
    assert len(set(seeds)) == 3 and 7 not in seeds
    assert all(j.spec.take_of == original.id and not j.spec.place_on_timeline for j in jobs)
    wait_jobs(window, qtbot)
    batch = window.workflow.history.batch(window.workflow.history.entries()[0].batch)
    assert [e.parameters["seed"] for e in batch] == seeds and {e.source for e in batch} == {
        window.workflow.history.entries()[-1].id
    }
    doc = window.session.doc
    assert [i.id for i in doc.takes(original.id)][1:] == [e.media_id for e in batch]  # takes of the clip
    assert "Variation · seed" in panel.item_text(batch[0].id)


def test_a_guidance_sweep_keeps_the_seed_and_gives_the_values(window, qtbot):
    generate(window, qtbot, seed=3)
    panel = window.workflow.panel
    panel.select(window.workflow.history.entries()[0].id)
    panel.count_spin.setValue(3)
    panel.parameter_combo.setCurrentIndex(panel.parameter_combo.findData("guidance"))
    panel.from_spin.setValue(2.0)
    panel.to_spin.setValue(6.0)
    before = {j.id for j in window.jobs.jobs()}
    panel.queue_button.click()
    jobs = [j for j in window.jobs.jobs() if j.id not in before]
    assert [j.spec.guidance for j in jobs] == [2.0, 4.0, 6.0] and {j.spec.seed for j in jobs} == {3}
    wait_jobs(window, qtbot)
    assert [e.variation for e in window.workflow.history.entries()[:3]] == [
        "guidance 6", "guidance 4", "guidance 2",
    ]  # fmt: skip

    panel.parameter_combo.setCurrentIndex(panel.parameter_combo.findData("lora"))  # it used no LoRA
    panel.queue_button.click()
    assert "used none" in panel.message_label.text()


def test_the_grid_compares_the_batch_cycles_and_applies_a_take(window, qtbot):
    original = generate(window, qtbot, seed=21)
    workflow, panel = window.workflow, window.workflow.panel
    source = workflow.history.entries()[0]
    panel.select(source.id)
    panel.count_spin.setValue(3)
    panel.queue_button.click()
    wait_jobs(window, qtbot)
    doc = window.session.doc
    [clip] = doc.clips(doc.tracks()[0].id)

    window.seek(5)
    window.actions_by_name["compareVariations"].trigger()
    grid = workflow.grid
    assert grid.isVisible() and not window.viewer.isVisible()
    assert len(grid.cells()) == 4 and grid.cells()[0].entry_id == source.id
    assert grid.captions()[0].startswith("\u2713 original") and not any(
        c.startswith("\u2713") for c in grid.captions()[1:]
    )
    assert grid.frame == 5  # the playhead's frame inside the clip
    window.thumbnails.wait()
    qtbot.waitUntil(lambda: all(p.frame == 5 for p in grid.pictures()))
    for shown in grid.pictures():  # frame 5 of 17 at 64 px: the stand-in's bar covers x = 18..25
        samples = picture(shown)[8]  # 16 samples across the middle row, every 4 px
        assert tuple(samples[5]) == (255, 255, 255) and tuple(samples[1]) != (255, 255, 255)
    assert len({picture(p).tobytes() for p in grid.pictures()}) == 4  # four different takes side by side
    window.history_dock.raise_()
    screenshot(window, "variations_grid.png")

    grid.set_single(True)
    assert len(grid.pictures()) == 1
    shown = picture(grid.pictures()[0]).copy()
    window.actions_by_name["nextVariation"].trigger()  # ] or Alt+Right
    window.thumbnails.wait()
    qtbot.waitUntil(lambda: grid.pictures()[0].pixmap() is not None and not np.array_equal(
        picture(grid.pictures()[0]), shown))  # fmt: skip
    assert grid.current == 1
    window.actions_by_name["previousVariation"].trigger()
    assert grid.current == 0
    window.actions_by_name["nextVariation"].trigger()
    window.actions_by_name["nextVariation"].trigger()
    chosen = grid.current_cell()

    count = window.session.stack.count()
    grid.apply_button.click()
    settle()
    chosen_entry = workflow.history.entry(chosen.entry_id)
    assert doc.clip(clip.id).media_id == chosen_entry.media_id
    assert window.session.stack.count() == count + 1
    assert panel.item_text(chosen_entry.id).startswith("\u2713 ")
    assert not panel.item_text(source.id).startswith("\u2713 ")
    assert grid.captions()[grid.current].startswith("\u2713 ")
    window.session.stack.undo()
    settle()
    assert doc.clip(clip.id).media_id == original.id and panel.item_text(source.id).startswith("\u2713 ")

    grid.close_button.click()
    assert not grid.isVisible() and window.viewer.isVisible()


def test_the_variation_keys_are_in_the_shortcut_map():
    assert SHORTCUTS["nextVariation"][1] == ("]", "Alt+Right")
    assert SHORTCUTS["previousVariation"][1] == ("[", "Alt+Left")


# ------------------------------------------------------------------------------------------ prompt presets
def test_prompt_presets_are_saved_per_user_and_added_from_the_menu(qtbot, tmp_path, answers):
    first = open_window(qtbot, tmp_path, answers)
    try:
        button = first.generate_panel.presets_button
        first.generate_panel.prompt_edit.setPlainText("35mm film, soft grain")
        assert button.save_current("Film look") is None
        assert button.save_current("") is not None and "name" in button.message
    finally:
        first.shutdown()
    second = open_window(qtbot, tmp_path, answers)  # another launch: the presets are the user's
    try:
        gen = second.generate_panel
        gen.prompt_edit.setPlainText("a harbour at dawn")
        gen.presets_button.fill_menu()
        [action] = [a for a in gen.presets_button.menu_.actions() if a.objectName() == "promptPresetAction"]
        assert action.text() == "Film look"
        action.trigger()
        assert gen.prompt_edit.toPlainText() == "a harbour at dawn, 35mm film, soft grain"
    finally:
        second.shutdown()


# --------------------------------------------------------------------------------------- save and reopen
def test_the_history_survives_save_and_reopen(qtbot, tmp_path, answers):
    window = open_window(qtbot, tmp_path, answers)
    try:
        generate(window, qtbot, seed=5)
        panel = window.workflow.panel
        panel.select(window.workflow.history.entries()[0].id)
        panel.count_spin.setValue(2)
        panel.queue_button.click()
        wait_jobs(window, qtbot)
        answers.save_path = str(tmp_path / "Film.aiprod")
        assert window.project.save_as()  # the untitled project's history moves into the folder
        kept = [(e.id, e.status, e.batch, e.variation) for e in window.workflow.history.entries()]
        assert (tmp_path / "Film.aiprod" / "history" / "history.json").is_file()
    finally:
        window.shutdown()
    again = open_window(qtbot, tmp_path, answers)
    try:
        assert again.workflow.history.entries() == []  # a new untitled project has its own
        assert again.project.open_project(str(tmp_path / "Film.aiprod"))
        settle()
        history = again.workflow.history
        assert [(e.id, e.status, e.batch, e.variation) for e in history.entries()] == kept
        assert all(history.thumbnail_path(e) is not None for e in history.entries())
        assert again.workflow.panel.item_text(kept[-1][0]).startswith("\u2713 ")  # the applied one
        variation = history.entries()[0]
        again.workflow.panel.select(variation.id)
        again.workflow.panel.apply_button.click()
        doc = again.session.doc
        assert doc.clips(doc.tracks()[0].id)[0].media_id == variation.media_id
    finally:
        again.shutdown()


def test_a_recovered_never_saved_project_keeps_its_history(window, qtbot):
    from types import SimpleNamespace

    from app.project.paths import scratch_dir
    from app.project.session import ProjectSession

    generate(window, qtbot, seed=9)
    dead = window.session.session_id  # as if this session had crashed
    kept = [e.id for e in window.workflow.history.entries()]
    session = ProjectSession()
    session.recovered_from = SimpleNamespace(session_id=dead)
    try:
        window.workflow.bind_session(session)
        assert [e.id for e in window.workflow.history.entries()] == kept
        assert window.workflow.history.folder == scratch_dir(session.session_id) / "history"
    finally:
        session.close()


def test_refusals_say_why_and_change_nothing(window, qtbot):
    from opentimelineio.opentime import RationalTime

    messages: list[str] = []
    window.statusBar().messageChanged.connect(messages.append)
    workflow = window.workflow
    window.actions_by_name["fillGap"].trigger()
    assert workflow.gap_dialog is None and "Select a gap first" in messages[-1]

    generate(window, qtbot, seed=1)
    generate(window, qtbot, seed=2)
    doc = window.session.doc
    video, audio = doc.tracks(TrackKind.VIDEO)[0].id, doc.tracks(TrackKind.AUDIO)[0].id
    second = doc.clips(video)[1]
    doc.move_clip(second.id, video, second.start + RationalTime(12, doc.rate))  # a gap on V1 and A1
    window.timeline.select_gap_at(audio, round(second.start.value) + 2)
    window.actions_by_name["fillGap"].trigger()
    assert workflow.gap_dialog is None and "video track" in messages[-1]

    first = workflow.history.entries()[-1]
    assert not workflow.compare(first) and "No variations" in workflow.panel.message_label.text()
    window.generate_panel.prompt_edit.setPlainText("fail please")
    with qtbot.waitSignal(window.jobs.job_failed, timeout=30_000):
        window.generate_panel.request_generate()
    settle()
    failed = workflow.history.entries()[0]
    workflow.panel.select(failed.id)
    assert not workflow.panel.apply_button.isEnabled()
    count = window.session.stack.count()
    assert workflow.apply_entry(failed) == [] and "made no clip" in workflow.panel.message_label.text()
    assert window.session.stack.count() == count
