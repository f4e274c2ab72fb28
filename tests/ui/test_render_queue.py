"""The render queue through the window (issue 14): File > Export hands the export to the Jobs panel and
closes; the row shows frames, ETA and cancel, then "Open Folder"; the editor stays usable and its edits do not
reach an export already queued; a generation with the tiny model runs and finishes while an export is in
progress; a refused destination is said in the dialog and queues nothing. Outputs are probed back."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from media_builders import make_video
from opentimelineio.opentime import RationalTime
from PySide6.QtWidgets import QApplication
from window_helpers import open_window

import ui.job_queue
from app.commands import push_edit
from app.document import TrackKind
from app.export import probe, render_timeline
from app.jobs import EngineSettings, JobSpec, JobStatus
from engine.errors import GenerationCancelled
from engine.request import GenerationResult, PreviewFrame
from ui.job_queue import JobQueueView
from ui.main_window import MainWindow

TIMEOUT_MS = 120_000
# a test run never rewrites the README's images in docs/screenshots (those are refreshed by hand)
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
pytestmark = pytest.mark.usefixtures("data_dir")  # tests/ui/conftest.py


class PausingRender:
    """render_timeline, paused after `pause_at` frames until `gate` opens; `frame_seconds` slows each frame
    (so every frame is reported past the queue's ~20/s throttle and the ETA has a rate to show)."""

    def __init__(self, pause_at: int, frame_seconds: float = 0.0) -> None:
        self.pause_at, self.gate, self.paused = pause_at, threading.Event(), threading.Event()
        self.frame_seconds = frame_seconds

    def __call__(self, doc, preset, out_path, *, on_progress, **kwargs):  # noqa: ANN001, ANN201
        def progress(done: int, total: int, eta: float) -> None:
            time.sleep(self.frame_seconds)
            on_progress(done, total, eta)
            if done == self.pause_at:
                self.paused.set()
                self.gate.wait(60)

        return render_timeline(doc, preset, out_path, on_progress=progress, **kwargs)


class GatedEngine:
    """Engine-shaped, for the screenshot: shows a preview, then waits at its second step."""

    model_name, identity, quantization = "fake", "fake", "none"

    def __init__(self) -> None:
        self.gate = threading.Event()

    def generate(self, request, on_progress=None, on_preview=None, cancel=None):  # noqa: ANN001, ANN201
        for step in range(1, request.steps + 1):
            if step > 1:
                self.gate.wait(60)
            if cancel.is_set():
                raise GenerationCancelled(step)
            on_progress(step, request.steps)
            ramp = np.linspace(40, 220, 64, dtype=np.uint8)
            image = np.stack(
                [np.tile(ramp, (64, 1)), np.full((64, 64), 90, np.uint8), np.tile(ramp[::-1], (64, 1))], -1
            )
            on_preview(PreviewFrame(step, request.steps, image))
        frames = np.zeros((request.num_frames, request.height, request.width, 3), np.float32)
        return GenerationResult(frames, np.zeros((2, 9000), np.float32), 24000, request.fps, {})


@pytest.fixture
def revealed(monkeypatch) -> list[Path]:
    """What "Open Folder" asked the file manager to show (nothing opens for real)."""
    shown: list[Path] = []
    monkeypatch.setattr(ui.job_queue, "reveal_in_file_manager", shown.append)
    return shown


@pytest.fixture
def gates() -> list[threading.Event]:
    opened: list[threading.Event] = []
    yield opened
    for gate in opened:
        gate.set()  # before the window's shutdown waits for the threads


def make_window(qtbot, tmp_path, engine_factory=None) -> MainWindow:  # noqa: ANN001
    window = open_window(qtbot, tmp_path, show=False, engine_factory=engine_factory)
    window.apply_engine_settings(EngineSettings(developer_tiny=True))
    window.show()
    qtbot.waitExposed(window)
    return window


@pytest.fixture
def window(qtbot, tmp_path, gates):  # noqa: ANN001, ANN201
    made = make_window(qtbot, tmp_path)
    yield made
    for gate in gates:
        gate.set()  # a failed test must not leave a worker waiting while the window shuts down
    made.shutdown()


def two_clips(window: MainWindow, tmp_path: Path) -> list[str]:
    paths = [make_video(tmp_path / f"{n}.mov", frames=12, codec="prores_ks") for n in ("a", "b")]
    ids = window.media_bin.import_files([str(p) for p in paths])
    doc = window.session.doc
    return push_edit(
        window.session.stack, doc, "place",
        lambda d: [d.insert(m, d.tracks(TrackKind.VIDEO)[0].id, RationalTime(12 * i, 24))[0]
                   for i, m in enumerate(ids)],
    )  # fmt: skip


def export_through_dialog(window: MainWindow, out: Path, render=None, preset: str = "prores_422_hq") -> str:  # noqa: ANN001
    dialog = window.open_export_dialog()
    dialog.select_preset(preset)
    dialog.set_destination(str(out))
    if render is not None:
        dialog._render = render  # noqa: SLF001
    queued: list[str] = []
    dialog.export_queued.connect(queued.append)
    dialog.start_export()
    assert queued and not dialog.isVisible()  # the dialog handed it on and closed
    assert window.export_dialog is None
    return queued[0]


def test_export_from_the_dialog_runs_in_the_jobs_panel_and_opens_its_folder(
    window, tmp_path, qtbot, revealed, gates
):
    clips = two_clips(window, tmp_path)
    render = PausingRender(pause_at=3)
    gates.append(render.gate)
    out = tmp_path / "deliveries" / "film.mov"
    out.parent.mkdir()
    job_id = export_through_dialog(window, out, render)
    row = window.job_queue_view.row(job_id)
    assert row.title.text() == "Export film.mov" and row.thumbnail.text() == "Export"
    assert render.paused.wait(30)
    qtbot.waitUntil(lambda: row.progress.value() >= 1, timeout=10_000)  # reports are throttled to ~20/s
    assert row.progress.format() == f"frame {row.progress.value()} / 24"
    assert row.cancel_button.isVisibleTo(row)
    assert not row.folder_button.isVisibleTo(row)
    # the editor answers while the export runs, and its edits stay out of this export
    assert QApplication.activeModalWidget() is None
    push_edit(window.session.stack, window.session.doc, "cut", lambda d: d.ripple_delete([clips[1]]))
    assert window.session.doc.duration().to_frames() == 12
    with qtbot.waitSignal(window.jobs.job_finished, timeout=TIMEOUT_MS):
        render.gate.set()
    assert probe(out)["frame_count"] == 24  # the timeline as it was when Export was pressed
    message = window.statusBar().currentMessage()
    assert f"Exported {out}" in message
    assert "24 of 24 frames took the fast path" in message  # one clip shown whole: every frame
    assert row.folder_button.isVisibleTo(row) and not row.cancel_button.isVisibleTo(row)
    row.folder_button.click()
    assert revealed == [out]


def test_a_refused_destination_is_said_in_the_dialog_and_queues_nothing(window, tmp_path):
    two_clips(window, tmp_path)
    media_file = Path(window.session.doc.bin_items()[0].path)
    dialog = window.open_export_dialog()
    dialog.select_preset("prores_422_hq")
    dialog.set_destination(str(media_file))  # exporting over a clip the project uses
    dialog.start_export()
    assert dialog.isVisible() and "media" in dialog.status_label.text().lower()
    assert [j for j in window.jobs.jobs() if j.kind == "export"] == []
    dialog.close()


def test_an_export_that_fails_says_why_on_its_row_and_in_the_status_bar(window, tmp_path, qtbot):
    two_clips(window, tmp_path)
    (tmp_path / "notes").write_text("a file where a folder should be")
    out = tmp_path / "notes" / "film.mov"
    with qtbot.waitSignal(window.jobs.job_failed, timeout=TIMEOUT_MS):
        job_id = export_through_dialog(window, out)
    row = window.job_queue_view.row(job_id)
    assert "it is a file, not a folder" in row.error.text() and row.error.isVisibleTo(row)
    assert window.statusBar().currentMessage().startswith("Export failed: Cannot save into")
    assert not row.folder_button.isVisibleTo(row) and not out.exists()


def test_a_tiny_model_generation_finishes_while_an_export_is_in_progress(window, tmp_path, qtbot, gates):
    two_clips(window, tmp_path)
    render = PausingRender(pause_at=2)
    gates.append(render.gate)
    out = tmp_path / "beside.mov"
    export = export_through_dialog(window, out, render)
    assert render.paused.wait(30)  # the export holds the render thread, mid-file
    spec = JobSpec(prompt="a lighthouse", width=64, height=64, frames=9, steps=2, seed=4, model="tiny")
    with qtbot.waitSignal(window.jobs.job_finished, timeout=TIMEOUT_MS) as finished:
        generation = window.submit_job(spec)
    assert finished.args[0] == generation  # not stuck behind the export
    assert window.jobs.job(export).status is JobStatus.RUNNING
    with qtbot.waitSignal(window.jobs.job_finished, timeout=TIMEOUT_MS) as finished:
        render.gate.set()
    assert finished.args[0] == export and probe(out)["frame_count"] == 24


def test_render_queue_screenshot(qtbot, tmp_path, gates):
    """artifacts/screenshots/render_queue.png: an export counting frames beside a generation denoising."""
    from ui.theme import apply_dark_theme

    app = QApplication.instance()
    previous = (app.style().name(), app.palette(), app.styleSheet())
    apply_dark_theme(app)
    engine = GatedEngine()
    gates.append(engine.gate)
    window = make_window(qtbot, tmp_path, engine_factory=lambda *_: engine)
    try:
        two_clips(window, tmp_path)
        render = PausingRender(pause_at=15, frame_seconds=0.08)
        gates.append(render.gate)
        first = export_through_dialog(window, tmp_path / "Dusk at sea.mov", render)
        second = export_through_dialog(window, tmp_path / "Dusk at sea proxy.mov", preset="prores_422_proxy")
        spec = JobSpec(prompt="a lighthouse in a storm, waves over the pier, dusk", width=64, height=64,
                       frames=9, steps=8, seed=4, model="tiny")  # fmt: skip
        generation = window.submit_job(spec)
        assert render.paused.wait(30)
        jobs = window.jobs
        qtbot.waitUntil(lambda: jobs.job(generation).step == 1 and jobs.job(first).step == 15, timeout=20_000)
        assert jobs.job(second).status is JobStatus.QUEUED  # waits for the first export, in order
        panel = JobQueueView(jobs)
        qtbot.addWidget(panel)
        panel.resize(520, 470)
        panel.show()
        qtbot.waitExposed(panel)
        qtbot.wait(100)
        rows = {row.job_id: row for row in panel.rows()}
        assert rows[first].progress.format() == "frame 15 / 24" and rows[first].eta.text()
        assert rows[generation].progress.format() == "step 1 / 8"
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        assert panel.grab().save(str(DOCS_SCREENSHOTS / "render_queue.png"))
    finally:
        for gate in gates:
            gate.set()
        window.shutdown()
        app.setStyle(previous[0])
        app.setPalette(previous[1])
        app.setStyleSheet(previous[2])
