"""ExportRunner: the renderer runs on a worker thread with a private copy of the document; its progress,
result, errors and cancel come back as signals on the UI thread; shutdown stops the thread.

A fake renderer (same signature as app.export.render_timeline) keeps most tests fast; the last test runs
the real one on a tiny timeline when app.export provides it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from opentimelineio.opentime import RationalTime

from app.document import TimelineDocument
from app.errors import ExportCancelled, ExportError
from app.export.runner import ExportRunner

TIMEOUT_MS = 10_000


class FakeRender:
    """render_timeline-shaped: reports progress per frame, honours cancel, writes the file at the end."""

    def __init__(self, frames: int = 5, fail: Exception | None = None, gate: threading.Event | None = None):
        self.frames = frames
        self.fail = fail
        self.gate = gate  # when given, every frame waits for it (lets a test cancel mid-export)
        self.calls: list[dict] = []
        self.threads: list[int] = []
        self.first_frame = threading.Event()

    def __call__(self, doc, preset, out_path, *, in_frame, out_frame, size, on_progress, cancel):
        self.threads.append(threading.get_ident())
        self.calls.append(
            dict(doc=doc, preset=preset, out=out_path, in_frame=in_frame, out_frame=out_frame, size=size)
        )
        if self.fail is not None:
            raise self.fail
        for done in range(1, self.frames + 1):
            if self.gate is not None:
                self.first_frame.set()
                self.gate.wait(5)
            if cancel is not None and cancel.is_set():
                raise ExportCancelled("Export cancelled; nothing was written.")
            on_progress(done, self.frames, float(self.frames - done))
        Path(out_path).write_bytes(b"video")
        return {"path": str(out_path), "frames": self.frames}


@pytest.fixture
def make_runner(qtbot):
    runners: list[ExportRunner] = []

    def make(render) -> ExportRunner:
        runner = ExportRunner(render)
        runners.append(runner)
        return runner

    yield make
    for runner in runners:
        assert runner.shutdown(TIMEOUT_MS)


def test_export_runs_on_the_worker_thread_and_reports(qtbot, make_runner, tmp_path):
    render = FakeRender(frames=3)
    runner = make_runner(render)
    seen: list[tuple[int, int, float]] = []
    runner.progress.connect(lambda d, t, e: seen.append((d, t, e)))
    doc = TimelineDocument(name="Cut")
    with qtbot.waitSignal(runner.finished, timeout=TIMEOUT_MS) as result:
        runner.start(doc, "preset-object", tmp_path / "out.mov", in_frame=2, out_frame=9, size=(64, 36))
        assert runner.busy
    assert result.args == [{"path": str(tmp_path / "out.mov"), "frames": 3}]
    assert not runner.busy
    assert (tmp_path / "out.mov").read_bytes() == b"video"
    assert render.threads and render.threads[0] != threading.get_ident()
    call = render.calls[0]
    assert (call["preset"], call["in_frame"], call["out_frame"], call["size"]) == (
        "preset-object",
        2,
        9,
        (64, 36),
    )
    # The last progress always arrives (throttling never drops "done == total").
    assert seen and seen[-1] == (3, 3, 0.0)


def test_the_renderer_gets_a_private_copy_of_the_document(qtbot, make_runner, tmp_path):
    render = FakeRender(frames=1)
    runner = make_runner(render)
    doc = TimelineDocument(name="Cut")
    doc.add_marker(RationalTime(3, 24), "keep")
    with qtbot.waitSignal(runner.finished, timeout=TIMEOUT_MS):
        runner.start(doc, "p", tmp_path / "a.mov")
    copy = render.calls[0]["doc"]
    assert copy is not doc
    assert copy.snapshot() == doc.snapshot()


def test_an_export_error_arrives_as_failed_with_its_message(qtbot, make_runner, tmp_path):
    runner = make_runner(FakeRender(fail=ExportError("The folder /x is not writable; choose another.")))
    with qtbot.waitSignal(runner.failed, timeout=TIMEOUT_MS) as result:
        runner.start(TimelineDocument(), "p", tmp_path / "a.mov")
    assert result.args == ["The folder /x is not writable; choose another."]
    assert not runner.busy


def test_an_unexpected_exception_is_reported_not_swallowed(qtbot, make_runner, tmp_path):
    runner = make_runner(FakeRender(fail=ZeroDivisionError("boom")))
    with qtbot.waitSignal(runner.failed, timeout=TIMEOUT_MS) as result:
        runner.start(TimelineDocument(), "p", tmp_path / "a.mov")
    assert "ZeroDivisionError: boom" in result.args[0]


def test_cancel_mid_export_emits_cancelled_and_writes_nothing(qtbot, make_runner, tmp_path):
    gate = threading.Event()
    render = FakeRender(frames=50, gate=gate)
    runner = make_runner(render)
    finished: list[object] = []
    runner.finished.connect(finished.append)
    runner.start(TimelineDocument(), "p", tmp_path / "a.mov")
    assert render.first_frame.wait(5)
    runner.cancel()
    assert runner.cancelling
    with qtbot.waitSignal(runner.cancelled, timeout=TIMEOUT_MS):
        gate.set()
    assert not finished
    assert not (tmp_path / "a.mov").exists()
    assert not runner.busy


def test_a_second_export_waits_for_the_first_and_the_runner_is_reusable(qtbot, make_runner, tmp_path):
    gate = threading.Event()
    render = FakeRender(frames=2, gate=gate)
    runner = make_runner(render)
    runner.start(TimelineDocument(), "p", tmp_path / "a.mov")
    with pytest.raises(RuntimeError, match="already running"):
        runner.start(TimelineDocument(), "p", tmp_path / "b.mov")
    with qtbot.waitSignal(runner.finished, timeout=TIMEOUT_MS):
        gate.set()
    with qtbot.waitSignal(runner.finished, timeout=TIMEOUT_MS):
        runner.start(TimelineDocument(), "p", tmp_path / "b.mov")
    assert (tmp_path / "a.mov").exists() and (tmp_path / "b.mov").exists()


def test_shutdown_cancels_a_running_export_and_stops_the_thread(qtbot, tmp_path):
    gate = threading.Event()
    render = FakeRender(frames=1000, gate=gate)
    runner = ExportRunner(render)
    runner.start(TimelineDocument(), "p", tmp_path / "a.mov")
    assert render.first_frame.wait(5)
    gate.set()  # frames now run freely; shutdown's cancel stops them
    assert runner.shutdown(TIMEOUT_MS)
    assert not (tmp_path / "a.mov").exists()
    with pytest.raises(RuntimeError, match="after shutdown"):
        runner.start(TimelineDocument(), "p", tmp_path / "b.mov")


def test_shutdown_without_an_export_is_harmless(qtbot):
    runner = ExportRunner(FakeRender())
    assert runner.shutdown(TIMEOUT_MS)
    assert runner.shutdown(TIMEOUT_MS)
