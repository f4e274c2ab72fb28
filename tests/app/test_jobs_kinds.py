"""Job kinds as data (app.jobs.kinds): a kind registered in one call runs on a worker and is applied after,
with no edit to the worker, the queue or the main window; an unknown kind is a clear error; stages travel
as JobStage members from the worker to the job."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest
from opentimelineio.opentime import RationalTime

from app.commands import push_edit
from app.document import TimelineDocument
from app.errors import JobError
from app.jobs import EngineSettings, JobQueue, JobSpec, JobStatus
from app.jobs.apply import ApplyContext, apply_finished
from app.jobs.kinds import (
    RENDER_LANE,
    JobKind,
    JobStage,
    UnknownJobKind,
    kind_for,
    kind_named,
    kinds,
    register,
    unregister,
)

DEV = EngineSettings(developer_tiny=True)


@dataclass(frozen=True)
class EchoSpec:
    """A test kind's spec: no model, the render lane, a result computed on the worker."""

    text: str
    steps: int | None = 3

    def validate(self) -> None:
        if not self.text:
            raise JobError("say something to echo")

    def display_name(self) -> str:
        return f"echo {self.text}"


def run_echo(ctx):  # noqa: ANN001, ANN201
    ctx.stage(JobStage.RENDERING)
    for step in range(1, 4):
        ctx.progress(step, 3, 0.0)
        ctx.check_cancelled()
    return {"text": ctx.spec.text.upper(), "thread": threading.get_ident()}


def apply_echo(ctx: ApplyContext, job) -> None:  # noqa: ANN001
    push_edit(ctx.stack, ctx.doc, "Echo", lambda doc: doc.add_marker(RationalTime(0, 24), job.item["text"]))
    ctx.message(f"echoed {job.item['text']}")


@pytest.fixture()
def echo_kind():
    kind = register(
        JobKind("echo", EchoSpec, run_echo, apply_echo, title="Echo", lane=RENDER_LANE, needs_model=False)
    )
    yield kind
    unregister("echo")


@pytest.fixture()
def queue(tmp_path, qapp):
    made = JobQueue(DEV, tmp_path / "media", engine_factory=lambda *_: pytest.fail("no model is needed"))
    yield made
    assert made.shutdown(10_000)


def test_the_studio_kinds_are_registered_with_their_lanes():
    names = {kind.name: kind for kind in kinds()}
    assert {"generate", "inpaint", "extend", "duration", "export"} <= set(names)
    assert names["export"].lane == RENDER_LANE and not names["export"].needs_model
    assert names["generate"].lane == "engine" and names["generate"].needs_model
    assert kind_for(JobSpec(prompt="x", model="tiny")).name == "generate"


def test_an_unknown_kind_is_a_clear_error_and_queues_nothing(queue):
    with pytest.raises(UnknownJobKind, match="no job kind named 'nope'"):
        kind_named("nope")
    with pytest.raises(UnknownJobKind, match="EchoSpec"):
        queue.submit(EchoSpec("hello"))  # not registered (no fixture here)
    with pytest.raises(JobError, match="no job kind named 'timelapse'"):
        queue.submit(JobSpec(prompt="x", model="tiny", width=64, height=64, frames=9), kind="timelapse")
    assert queue.jobs() == []


def test_registering_a_taken_name_or_an_unknown_lane_is_refused(echo_kind):
    with pytest.raises(ValueError, match="already registered"):
        register(JobKind("echo", EchoSpec, run_echo))
    with pytest.raises(ValueError, match="unknown lane 'gpu2'"):
        register(JobKind("echo2", EchoSpec, run_echo, lane="gpu2"))
    assert kind_named("echo") is echo_kind


def test_a_registered_kind_runs_on_its_worker_and_is_applied_by_its_applier(echo_kind, queue, qtbot):
    stages = []
    queue.job_changed.connect(lambda job_id: stages.append(queue.job(job_id).stage))
    with qtbot.waitSignal(queue.job_finished, timeout=10_000) as finished:
        job_id = queue.submit(EchoSpec("hello"))
    job = queue.job(job_id)
    assert job.kind == "echo" and job.status is JobStatus.DONE
    assert finished.args[1]["text"] == "HELLO" and job.item["thread"] != threading.main_thread().ident
    assert JobStage.RENDERING in stages and job.message == "done"
    # applied through the registry: the marker is on the document, as one undo step
    from PySide6.QtGui import QUndoStack

    doc, stack, messages = TimelineDocument(name="K"), QUndoStack(), []
    apply_finished(job, ApplyContext(doc, stack, message=messages.append))
    assert [m.name for m in doc.markers()] == ["HELLO"] and messages == ["echoed HELLO"]
    stack.undo()
    assert doc.markers() == []


def test_a_kind_failure_and_a_refused_spec_name_the_kind(echo_kind, queue, qtbot):
    with pytest.raises(JobError, match="say something"):
        queue.submit(EchoSpec(""))

    def broken(ctx):  # noqa: ANN001, ANN202
        raise RuntimeError("boom")

    register(JobKind("broken", EchoSpec, broken, title="Echo test", lane=RENDER_LANE, needs_model=False))
    try:
        with qtbot.waitSignal(queue.job_failed, timeout=10_000) as failed:
            queue.submit(EchoSpec("x"), kind="broken")
    finally:
        unregister("broken")
    assert failed.args[1].startswith("Echo test failed unexpectedly (RuntimeError: boom)")


def test_an_apply_context_offers_panel_results_to_their_receiver():
    got = []
    ctx = ApplyContext(TimelineDocument(name="O"), None, receivers={"duration": got.append})
    assert ctx.offer("duration", 4.2) and got == [4.2]
    assert not ctx.offer("variations", [1, 2])  # nobody receives it: the caller says so instead
