"""The render-node choice in Settings and what the Jobs panel shows of it: the node each job runs on, the
cluster the queue uses, and the question asked when the cluster cannot be reached (run here or not)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from app.cluster.config import ClusterConfig, ClusterUnreachable
from app.cluster.farm import FarmEvent
from app.cluster.qt import ClusterWorker
from app.jobs import EngineSettings, JobQueue, JobSpec, JobStatus
from ui.job_queue import JobQueueView
from ui.settings_dialog import SettingsDialog

ADDRESS = "192.168.7.20:6379"
LOCAL = EngineSettings(developer_tiny=True)
SPEC = JobSpec(prompt="a pier at night", width=64, height=64, frames=9, steps=2, model="tiny")


def test_settings_choose_this_machine_or_a_ray_cluster(qtbot, tmp_path):
    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    dialog = SettingsDialog(LOCAL, store)
    qtbot.addWidget(dialog)
    assert dialog.nodes_combo.currentData() == "local" and not dialog.nodes_edit.isEnabled()
    dialog.nodes_combo.setCurrentIndex(dialog.nodes_combo.findData("cluster"))
    assert dialog.nodes_edit.isEnabled()
    dialog.nodes_edit.setText(f"  {ADDRESS} ")
    dialog.accept()
    assert EngineSettings.load(store).render_nodes == ADDRESS

    again = SettingsDialog(EngineSettings.load(store), store)
    qtbot.addWidget(again)
    assert again.nodes_combo.currentData() == "cluster" and again.nodes_edit.text() == ADDRESS
    again.nodes_combo.setCurrentIndex(again.nodes_combo.findData("local"))
    assert again.settings().render_nodes == ""  # the address is kept in the field, not used


class _Farm:
    """Starts every job on a named node and keeps it running (what the panel shows meanwhile)."""

    def __init__(self, config, unreachable=False):
        self.config, self.unreachable, self.waiting = config, unreachable, []

    def connect(self):
        if self.unreachable:
            raise ClusterUnreachable(
                f"the Ray cluster at {self.config.address} cannot be reached (timed out)"
            )

    def submit(self, job_id, kind, spec, settings, module=""):
        self.waiting.append(job_id)

    def cancel(self, job_id):
        return [FarmEvent("cancelled", job_id)]

    busy = property(lambda self: True)

    def step(self, timeout=0.2):
        events = []
        for job_id in self.waiting:
            n = self.started = getattr(self, "started", 0) + 1
            events.append(FarmEvent("started", job_id, f"gpu-box-{n}/3f9a0{n - 1}", 1))
        self.waiting = []
        return events

    def shutdown(self):
        pass


@pytest.fixture()
def queue(tmp_path, qapp):
    made = JobQueue(LOCAL, tmp_path / "media")
    yield made
    assert made.shutdown(10_000)


def test_the_jobs_panel_names_the_node_and_the_cluster(queue, qtbot):
    queue.cluster_worker_factory = lambda address: ClusterWorker(
        ClusterConfig(address, resources="cpu"), farm_factory=_Farm
    )
    queue.set_settings(LOCAL.with_changes(render_nodes=ADDRESS))
    view = JobQueueView(queue)
    qtbot.addWidget(view)
    first, second = queue.submit(SPEC), queue.submit(SPEC.with_changes(seed=2))
    qtbot.waitUntil(lambda: bool(queue.job(second).node), timeout=10_000)
    assert view.row(first).node.text() == "render node: gpu-box-1/3f9a00"
    assert view.row(second).node.text() == "render node: gpu-box-2/3f9a01"
    assert not view.row(first).node.isHidden()
    assert view.backend_label.text() == f"on the Ray cluster at {ADDRESS}"
    assert queue.job(first).status is JobStatus.LOADING


def test_an_unreachable_cluster_asks_and_yes_runs_the_jobs_here(queue, qtbot):
    queue.cluster_worker_factory = lambda address: ClusterWorker(
        ClusterConfig(address, resources="cpu"), farm_factory=lambda config: _Farm(config, unreachable=True)
    )
    queue.set_settings(LOCAL.with_changes(render_nodes=ADDRESS))
    questions = []

    def answer(parent, title, text):
        questions.append(text)
        return True

    view = JobQueueView(queue, ask=answer)
    qtbot.addWidget(view)
    failed = queue.submit(SPEC)
    qtbot.waitUntil(lambda: bool(questions), timeout=10_000)
    assert f"the Ray cluster at {ADDRESS} cannot be reached" in questions[0]
    assert "Run these jobs on this machine instead?" in questions[0]
    assert queue.job(failed).status is JobStatus.FAILED
    assert queue.backend == ""
    rerun = [job for job in queue.jobs() if job.id != failed]
    assert len(rerun) == 1 and rerun[0].spec == SPEC  # submitted again, on this machine
    assert view.backend_label.isHidden()


def test_no_means_the_jobs_stay_failed_and_the_cluster_stays_chosen(queue, qtbot):
    queue.cluster_worker_factory = lambda address: ClusterWorker(
        ClusterConfig(address, resources="cpu"), farm_factory=lambda config: _Farm(config, unreachable=True)
    )
    queue.set_settings(LOCAL.with_changes(render_nodes=ADDRESS))
    asked = []
    view = JobQueueView(queue, ask=lambda *args: asked.append(args) or False)
    qtbot.addWidget(view)
    failed = queue.submit(SPEC)
    qtbot.waitUntil(lambda: bool(asked), timeout=10_000)
    assert [job.id for job in queue.jobs()] == [failed]
    assert queue.backend == ADDRESS
    assert "cannot be reached" in view.row(failed).error.text()
