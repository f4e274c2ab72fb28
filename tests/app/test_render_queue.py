"""The render queue: exports are "export" jobs on the JobQueue's render lane, a thread of their own, so an
export runs while a generation runs; several exports wait in order; each renders the document as it was
when it was submitted; cancel leaves no file; a failure says why; the ETA is the smoothed one. Outputs are
probed back."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from app.document import TimelineDocument, TrackKind
from app.export import probe, render_timeline
from app.export.runner import ExportRequest
from app.jobs import EngineSettings, JobQueue, JobSpec, JobStatus
from engine.errors import GenerationCancelled
from engine.request import GenerationResult
from tests.media_builders import back_to_back, make_video

TIMEOUT_MS = 60_000
SPEC = JobSpec(prompt="a lighthouse", width=64, height=64, frames=9, steps=2, seed=3, model="tiny")


class GatedEngine:
    """Engine-shaped: every step waits for `gate`, so a test decides when the generation may finish."""

    model_name, identity, quantization = "fake", "fake", "none"

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.stepping = threading.Event()

    def generate(self, request, on_progress=None, on_preview=None, cancel=None):  # noqa: ANN001, ANN201
        for step in range(1, request.steps + 1):
            self.stepping.set()
            self.gate.wait(30)
            if cancel.is_set():
                raise GenerationCancelled(step)
            on_progress(step, request.steps)
        frames = np.zeros((request.num_frames, request.height, request.width, 3), np.float32)
        return GenerationResult(frames, np.zeros((2, 9000), np.float32), 24000, request.fps, {})


class PausingRender:
    """render_timeline, paused after `pause_at` frames until `gate` opens (0: before the first frame)."""

    def __init__(self, pause_at: int = 0) -> None:
        self.pause_at = pause_at
        self.gate = threading.Event()
        self.paused = threading.Event()
        self.started: list[Path] = []

    def __call__(self, doc, preset, out_path, *, on_progress, **kwargs):  # noqa: ANN001, ANN201
        self.started.append(Path(out_path))

        def progress(done: int, total: int, eta: float) -> None:
            on_progress(done, total, eta)
            if done == self.pause_at:
                self.paused.set()
                self.gate.wait(30)

        if self.pause_at == 0:
            self.paused.set()
            self.gate.wait(30)
        return render_timeline(doc, preset, out_path, on_progress=progress, **kwargs)


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("render_queue_media")
    return [make_video(root / f"{name}.mov", frames=12, codec="prores_ks") for name in ("a", "b")]


@pytest.fixture
def doc(media) -> TimelineDocument:
    """Two 12-frame clips on V1 (their sound on A1): 24 frames."""
    return back_to_back(media, name="Queue")


@pytest.fixture
def engine() -> GatedEngine:
    return GatedEngine()


@pytest.fixture
def queue(tmp_path, qapp, engine):
    made = JobQueue(EngineSettings(developer_tiny=True), tmp_path / "media", engine_factory=lambda *_: engine)
    yield made
    engine.gate.set()
    assert made.shutdown(20_000)


@pytest.fixture
def pausing(queue):
    """Makes PausingRenders whose gates open before the queue shuts down (a failed test never hangs)."""
    made: list[PausingRender] = []

    def make(pause_at: int = 0) -> PausingRender:
        made.append(PausingRender(pause_at))
        return made[-1]

    yield make
    for render in made:
        render.gate.set()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_an_export_runs_and_finishes_while_a_generation_is_running(queue, engine, doc, tmp_path, qtbot):
    generation = queue.submit(SPEC)
    assert engine.stepping.wait(20)  # the generation is on the engine thread, waiting at its first step
    out = tmp_path / "out" / "film.mov"
    out.parent.mkdir()
    with qtbot.waitSignal(queue.job_finished, timeout=TIMEOUT_MS) as finished:
        export = queue.submit(ExportRequest.of(doc, "prores_422_hq", out))
        assert queue.job(export).kind == "export"
    assert finished.args[0] == export
    assert not queue.job(generation).status.finished  # still running beside it
    report = queue.job(export).item
    assert report.path == out and probe(out)["frame_count"] == 24
    assert queue.job(export).step == queue.job(export).steps == 24
    with qtbot.waitSignal(queue.job_finished, timeout=TIMEOUT_MS) as finished:
        engine.gate.set()
    assert finished.args[0] == generation and queue.job(generation).status is JobStatus.DONE


def test_the_export_renders_the_document_as_it_was_when_submitted(queue, pausing, doc, tmp_path, qtbot):
    render = pausing(0)
    out = tmp_path / "snapshot.mov"
    job_id = queue.submit(ExportRequest.of(doc, "prores_422_hq", out, render=render))
    assert render.paused.wait(20)
    # edits while the export waits to render: a clip goes, the timeline is half as long
    second = doc.clips(doc.tracks(TrackKind.VIDEO)[0].id)[1]
    doc.ripple_delete([second.id])
    assert int(doc.duration().rescaled_to(24).value) == 12
    with qtbot.waitSignal(queue.job_finished, timeout=TIMEOUT_MS):
        render.gate.set()
    assert queue.job(job_id).status is JobStatus.DONE
    assert probe(out)["frame_count"] == 24  # the submitted document's 24 frames


def test_two_exports_wait_in_order_on_one_render_thread(queue, pausing, doc, tmp_path, qtbot):
    render = pausing(0)
    first_out, second_out = tmp_path / "first.mov", tmp_path / "second.mov"
    first = queue.submit(ExportRequest.of(doc, "prores_422_hq", first_out, render=render))
    second = queue.submit(ExportRequest.of(doc, "prores_422_proxy", second_out, render=render))
    assert render.paused.wait(20)
    assert render.started == [first_out] and queue.job(second).status is JobStatus.QUEUED
    done: list[str] = []
    queue.job_finished.connect(lambda job_id, _report: done.append(job_id))
    render.gate.set()
    qtbot.waitUntil(lambda: len(done) == 2, timeout=TIMEOUT_MS)
    assert done == [first, second] and render.started == [first_out, second_out]
    assert probe(first_out)["frame_count"] == probe(second_out)["frame_count"] == 24


def test_cancelling_a_running_export_leaves_nothing_behind(queue, pausing, doc, tmp_path, qtbot):
    folder = tmp_path / "deliveries"
    folder.mkdir()
    render = pausing(2)
    job_id = queue.submit(ExportRequest.of(doc, "prores_422_hq", folder / "film.mov", render=render))
    assert render.paused.wait(20)  # two frames are written into the temporary file
    with qtbot.waitSignal(queue.job_cancelled, timeout=TIMEOUT_MS):
        queue.cancel(job_id)
        render.gate.set()
    assert queue.job(job_id).status is JobStatus.CANCELLED
    assert leftovers(folder) == []  # neither the file nor a temporary one


def test_cancelling_a_waiting_export_drops_it_before_it_starts(queue, pausing, doc, tmp_path, qtbot):
    render = pausing(0)
    first = queue.submit(ExportRequest.of(doc, "prores_422_hq", tmp_path / "one.mov", render=render))
    second = queue.submit(ExportRequest.of(doc, "prores_422_hq", tmp_path / "two.mov", render=render))
    assert render.paused.wait(20)
    queue.cancel(second)
    assert queue.job(second).status is JobStatus.CANCELLED
    with qtbot.waitSignal(queue.job_finished, timeout=TIMEOUT_MS):
        render.gate.set()
    assert queue.job(first).status is JobStatus.DONE
    assert not (tmp_path / "two.mov").exists() and render.started == [tmp_path / "one.mov"]


def _read_only_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        (folder / "probe").touch()
    except PermissionError:
        return folder
    (folder / "probe").unlink()
    folder.chmod(0o755)
    pytest.skip("this user (root?) can write into a read-only folder")


@pytest.mark.parametrize("where", ["read-only folder", "folder that is a file"])
def test_a_destination_that_cannot_be_written_fails_with_a_message(queue, doc, tmp_path, qtbot, where):
    if where == "read-only folder":
        out = _read_only_folder(tmp_path) / "film.mov"
        expected = "Check its permissions"
    else:
        (tmp_path / "notes").write_text("not a folder")
        out = tmp_path / "notes" / "film.mov"
        expected = "it is a file, not a folder"
    with qtbot.waitSignal(queue.job_failed, timeout=TIMEOUT_MS) as failed:
        job_id = queue.submit(ExportRequest.of(doc, "prores_422_hq", out))
    assert failed.args[0] == job_id and expected in failed.args[1]
    assert queue.job(job_id).status is JobStatus.FAILED and not out.exists()


def test_the_jobs_eta_is_the_smoothed_one_not_the_renderers(queue, doc, tmp_path, qtbot):
    """The renderer's own estimate (999 s here) never reaches the job: the queue shows app.export.eta's
    moving average, unknown for the first frames."""

    def render(doc, preset, out_path, *, on_progress, **_kwargs):  # noqa: ANN001, ANN202
        for done in range(1, 25):
            on_progress(done, 24, 999.0)
        return render_timeline(doc, preset, out_path, **_kwargs)

    etas: list[float | None] = []
    steps: list[int] = []

    def seen(job_id: str) -> None:
        job = queue.job(job_id)
        if job.status is JobStatus.RUNNING and job.step:
            etas.append(job.eta_seconds)
            steps.append(job.step)

    queue.job_changed.connect(seen)
    with qtbot.waitSignal(queue.job_finished, timeout=TIMEOUT_MS):
        queue.submit(ExportRequest.of(doc, "prores_422_hq", tmp_path / "eta.mov", render=render))
    assert steps and steps[0] == 1 and etas[0] is None  # the first frame: still estimating
    assert all(eta is None or eta < 999.0 for eta in etas)


def test_an_empty_timeline_is_refused_at_submit(queue, tmp_path):
    from app.errors import ExportError

    with pytest.raises(ExportError, match="nothing to export"):
        queue.submit(ExportRequest.of(TimelineDocument(name="Empty"), "prores_422_hq", tmp_path / "e.mov"))
    assert queue.jobs() == []
