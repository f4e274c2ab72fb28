"""The Ray backend on a real local cluster: a head (no CPUs, so no work lands on it) and two worker nodes
with one CPU each, started by the test; tiny-model generations (noise, fast) on CPU actors.

The central test: 6 generations spread over both workers, one actor's worker process SIGKILLed mid-job;
every result lands once, bit-identical (decoded pictures and sound, latents) to the same job run here.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import av
import numpy as np
import pytest

ray = pytest.importorskip("ray")  # a pinned dependency: present wherever the studio is installed

from ray.cluster_utils import Cluster  # noqa: E402

from app.cluster.config import ClusterConfig, ClusterUnreachable  # noqa: E402
from app.cluster.farm import Farm  # noqa: E402
from app.cluster.landing import land  # noqa: E402
from app.jobs.master import LATENTS_SUFFIX, MASTER_SUFFIX, read_latents  # noqa: E402
from app.jobs.settings import EngineSettings  # noqa: E402
from app.jobs.spec import MODEL_TINY, JobSpec  # noqa: E402
from app.project.atomic import is_temporary  # noqa: E402

SETTINGS = EngineSettings(developer_tiny=True)


def shot(seed: int, name: str) -> JobSpec:
    return JobSpec(
        prompt=f"shot {name}: a lighthouse at dusk", width=64, height=64, frames=17, steps=4, seed=seed,
        model=MODEL_TINY, name=name,
    )  # fmt: skip


@pytest.fixture(scope="module")
def cluster():
    made = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    workers = [made.add_node(num_cpus=1), made.add_node(num_cpus=1)]
    made.wait_for_nodes()
    yield made, workers
    ray.shutdown()
    made.shutdown()


def decoded(path: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Every video frame and audio frame of a master, as decoded arrays (the container's own bytes carry
    a random segment id, so files are compared by what they hold)."""
    pictures, sound = [], []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            pictures.append(frame.to_ndarray())
    with av.open(str(path)) as container:
        if container.streams.audio:
            for frame in container.decode(audio=0):
                sound.append(frame.to_ndarray())
    return pictures, sound


def run_locally(spec: JobSpec, media: Path):
    """The same job as the studio's local worker runs it (the generate kind's runner's own steps)."""
    from app.jobs.result import build_media_item, generation_record
    from engine import Engine

    engine = Engine.tiny(device="cpu", quantization=spec.quantization)
    result = engine.generate(spec.to_request(), None, None, None)
    return build_media_item(media, spec, result, generation_record(spec, engine, result))


def test_a_batch_survives_a_killed_worker_and_lands_once_bit_identical(cluster, tmp_path):
    made, _workers = cluster
    farm = Farm(ClusterConfig(made.address, resources="cpu", max_attempts=3))
    info = farm.connect()
    assert len(info["actors"]) == 2  # one per worker CPU; the head offers none
    specs = {f"job{i}": shot(100 + i, f"shot{i}") for i in range(6)}
    for job_id, spec in specs.items():
        farm.submit(job_id, "generate", spec, SETTINGS)
    media = tmp_path / "media"
    killed: dict[str, int] = {}
    landed: dict[str, object] = {}

    seen: list[tuple[str, object, int]] = []  # (job, step, pid) of each progress event, for the message

    def on_event(event):
        if event.type == "progress":
            seen.append((event.job_id, event.data.get("step"), farm.actor_pid(event.job_id)))
        if event.type == "progress" and not killed:  # any progress: the job is running on that process
            pid = farm.actor_pid(event.job_id)
            if pid:
                os.kill(pid, signal.SIGKILL)  # mid-job: the job is denoising on that process
                killed[event.job_id] = pid
        if event.type == "finished":
            assert event.job_id not in landed
            landed[event.job_id] = land(event.data, media)

    events = farm.run_all(on_event)
    farm.shutdown()

    assert killed, f"no job was seen running; progress events (job, step, pid): {seen[:20]}"
    (victim,) = killed
    finished = [e for e in events if e.type == "finished"]
    assert sorted(e.job_id for e in finished) == sorted(specs)  # all six, each once
    assert not [e for e in events if e.type == "failed"]
    retries = [e for e in events if e.type == "retry"]
    assert [e.job_id for e in retries] == [victim]
    assert farm.attempts_of(victim) == 2
    # spread over both workers: each took jobs from the start (which finished where depends on how soon the
    # killed actor's replacement comes up, so only the starts are certain)
    started = {e.node for e in events if e.type == "started"}
    assert len(started) == 2 and {e.node for e in finished} <= started
    started = [e for e in events if e.type == "started" and e.job_id == victim]
    assert len(started) == 2
    # the project folder holds exactly one master and one latents file per job, nothing partial
    names = sorted(p.name for p in media.iterdir())
    assert not [n for n in names if is_temporary(n)]
    assert len([n for n in names if n.endswith(MASTER_SUFFIX)]) == 6
    assert len([n for n in names if n.endswith(LATENTS_SUFFIX)]) == 6

    reference = tmp_path / "local"
    for job_id, spec in specs.items():
        item = landed[job_id]
        assert Path(item.path).parent == media.resolve()
        assert item.generation["seed"] == spec.seed
        assert (media / item.generation["latents"]).is_file()
        mine = run_locally(spec, reference)
        theirs_pictures, theirs_sound = decoded(Path(item.path))
        ours_pictures, ours_sound = decoded(Path(mine.path))
        assert len(theirs_pictures) == len(ours_pictures) == spec.frames
        for a, b in zip(theirs_pictures, ours_pictures, strict=True):
            assert np.array_equal(a, b)
        assert len(theirs_sound) == len(ours_sound)
        for a, b in zip(theirs_sound, ours_sound, strict=True):
            assert np.array_equal(a, b)
        theirs_latents = read_latents(media / item.generation["latents"])
        ours_latents = read_latents(Path(mine.path).with_name(mine.generation["latents"]))
        assert theirs_latents.keys() == ours_latents.keys()
        for key in ours_latents:
            assert theirs_latents[key].equal(ours_latents[key])
        # the same provenance record (all but when it was made, and the latents file's name, which follows
        # the clip's name)
        assert {k: v for k, v in item.generation.items() if k not in ("latents", "created")} == {
            k: v for k, v in mine.generation.items() if k not in ("latents", "created")
        }


def test_an_unreachable_cluster_is_a_clear_error():
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    farm = Farm(ClusterConfig(f"127.0.0.1:{port}", resources="cpu", connect_timeout_s=2))
    with pytest.raises(ClusterUnreachable, match=r"cannot be reached .*ray start --head"):
        farm.connect()


def test_the_studio_queue_runs_on_the_cluster_and_shows_the_nodes(cluster, qtbot, tmp_path):
    """The job queue's engine lane on the real cluster (Settings: Ray cluster at ADDRESS): progress comes
    from polling the actors on the farm thread, each row names its node, results land in the media folder."""
    import app.jobs.variations  # noqa: F401 -- registers the variations kind (the main window imports it)
    from app.cluster.qt import ClusterWorker
    from app.jobs import JobQueue, JobStatus

    made, _workers = cluster
    queue = JobQueue(SETTINGS, tmp_path / "media")
    try:
        queue.cluster_worker_factory = lambda address: ClusterWorker(ClusterConfig(address, resources="cpu"))
        queue.set_settings(SETTINGS.with_changes(render_nodes=made.address))
        assert queue.backend == made.address
        seen_steps: dict[str, int] = {}
        queue.job_changed.connect(
            lambda job_id: seen_steps.__setitem__(
                job_id, max(seen_steps.get(job_id, 0), queue.job(job_id).step)
            )
        )
        done: list[str] = []
        queue.job_finished.connect(lambda job_id, _item: done.append(job_id))
        ids = [queue.submit(shot(200 + i, f"q{i}").with_changes(steps=8)) for i in range(2)]
        # a kind registered outside the built-ins (app.jobs.variations) runs there too: its module goes along
        ids.append(queue.submit(shot(202, "q2").with_changes(steps=8), kind="variations"))
        qtbot.waitUntil(lambda: all(queue.job(job_id).status.finished for job_id in ids), timeout=180_000)
        jobs = [queue.job(job_id) for job_id in ids]
        assert all(job.status is JobStatus.DONE for job in jobs), [job.error for job in jobs]
        assert len({job.node for job in jobs}) == 2 and all(job.node for job in jobs)
        assert any(steps > 0 for steps in seen_steps.values())  # progress polled while running
        media = (tmp_path / "media").resolve()
        assert sorted(Path(job.item.path).name for job in jobs) == ["q0.mkv", "q1.mkv", "q2.mkv"]
        assert all(Path(job.item.path).parent == media for job in jobs)

        # cancel while it denoises on a node: the cancel reaches the actor; nothing lands
        long = queue.submit(shot(299, "long").with_changes(steps=200))
        qtbot.waitUntil(lambda: queue.job(long).step >= 1, timeout=120_000)
        queue.cancel(long)
        qtbot.waitUntil(lambda: queue.job(long).status.finished, timeout=60_000)
        assert queue.job(long).status is JobStatus.CANCELLED
        assert queue.job(long).step < 200
        assert not list(media.glob("long*"))
    finally:
        assert queue.shutdown(30_000)


def test_exports_render_on_the_clusters_cpu_actors_survive_a_killed_one_and_cancel(cluster, qtbot, tmp_path):
    """The render lane on the real cluster: an export of a graded two-clip timeline (a shipped look, a LUT
    file) travels with its media, renders on a CPU export actor (no engine), survives its actor's process
    being killed mid-export (retried on the other), and lands once at the chosen destination with the same
    decoded frames as a local export; a cancelled export leaves no file. The Jobs row names the node."""
    from app.export import render_timeline
    from app.export.runner import ExportRequest
    from app.jobs import JobQueue, JobStatus
    from app.jobs.kinds import RENDER_LANE
    from tests.app.test_cluster_units import decoded_frames, graded_timeline
    from ui.job_queue import JobQueueView

    made, _workers = cluster
    preset, size = "prores_422_proxy", (640, 360)  # upscaled: slow enough to kill and cancel mid-export
    doc = graded_timeline(tmp_path / "project", frames=48)
    local = render_timeline(doc, preset, tmp_path / "local.mov", size=size)
    (tmp_path / "out").mkdir()
    queue = JobQueue(SETTINGS, tmp_path / "media")
    try:
        queue.set_settings(SETTINGS.with_changes(render_nodes=made.address))
        view = JobQueueView(queue)
        qtbot.addWidget(view)
        film = queue.submit(ExportRequest.of(doc, preset, tmp_path / "out" / "film.mov", size=size))
        qtbot.waitUntil(lambda: queue.job(film).step >= 1, timeout=120_000)
        farm = queue._lanes[RENDER_LANE].worker._farm  # the export actors' farm (the engine's never started)
        assert farm.config.resources == "cpu" and queue._lanes["engine"].worker._farm is None
        first_node = queue.job(film).node
        assert view.row(film).node.text() == f"render node: {first_node}"
        os.kill(farm.actor_pid(film), signal.SIGKILL)
        qtbot.waitUntil(lambda: queue.job(film).status.finished, timeout=180_000)
        job = queue.job(film)
        assert job.status is JobStatus.DONE, job.error
        assert farm.attempts_of(film) == 2 and job.node == farm.node_of(film) != first_node
        assert view.row(film).node.text() == f"render node: {job.node}"
        out = (tmp_path / "out" / "film.mov").absolute()
        assert job.item.path == out and sorted(p.name for p in out.parent.iterdir()) == ["film.mov"]
        mine, theirs = decoded_frames(out), decoded_frames(local.path)
        assert len(mine) == len(theirs) == 96
        assert all(np.array_equal(a, b) for a, b in zip(mine, theirs, strict=True))

        # a cancel reaches the actor mid-export; nothing lands at the destination
        reel = queue.submit(ExportRequest.of(doc, preset, tmp_path / "out" / "reel.mov", size=size))
        qtbot.waitUntil(lambda: queue.job(reel).step >= 1, timeout=120_000)
        queue.cancel(reel)
        qtbot.waitUntil(lambda: queue.job(reel).status.finished, timeout=60_000)
        assert queue.job(reel).status is JobStatus.CANCELLED
        assert sorted(p.name for p in out.parent.iterdir()) == ["film.mov"]
    finally:
        assert queue.shutdown(30_000)


def test_farm_submit_lands_a_shot_list_in_the_project_from_the_cluster(cluster, tmp_path, capsys):
    import json

    from app import cli
    from app.project import load_project

    made, _workers = cluster
    project = tmp_path / "Film.aiprod"
    assert cli.main(["new-project", str(project), "--size", "64x64", "--fps", "24"]) == 0
    shots = {"project": "Film.aiprod", "model": "tiny", "width": 64, "height": 64,
             "shots": [{"prompt": f"shot {n}", "duration": 0.7, "seed": n, "name": f"sh0{n}0", "steps": 3}
                       for n in (1, 2, 3)]}  # fmt: skip
    (tmp_path / "shots.json").write_text(json.dumps(shots))
    code = cli.main(["farm", "submit", str(tmp_path / "shots.json"), "--address", made.address,
                     "--actor-resources", "cpu"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, err
    assert "3 of 3 shot(s) landed" in err
    doc = load_project(project).doc
    assert sorted(item.name for item in doc.bin_items()) == ["sh010", "sh020", "sh030"]
    names = {item.id: item.name for item in doc.bin_items()}
    assert [names[clip.media_id] for clip in doc.clips(doc.tracks()[0].id)] == ["sh010", "sh020", "sh030"]
    record = json.loads((project / ".farm-status.json").read_text())
    assert {row["state"] for row in record["shots"]} == {"done"}
    assert all(row["node"].startswith(f"{__import__('socket').gethostname()}/") for row in record["shots"])
    assert cli.main(["farm", "status", str(project), "--address", made.address]) == 0
    out = capsys.readouterr().out
    assert "3 done" in out and "sh020" in out
    assert out.count(": alive,") >= 3  # the head and both workers


def test_a_cluster_without_gpus_says_so_for_gpu_actors(cluster):
    made, _workers = cluster
    with pytest.raises(ClusterUnreachable, match=r"has no GPU for a render actor .*AIPROD_RAY_ACTOR=cpu"):
        Farm(ClusterConfig(made.address, resources="gpu")).connect()


def test_a_whole_node_that_dies_mid_job_hands_its_job_to_another(cluster, tmp_path):
    """Not only an actor's process: the node itself (its raylet and every process on it) is killed while
    one of its jobs denoises; the job runs again on a surviving node and lands once. Runs last: the
    module's cluster keeps its two first workers."""
    made, _workers = cluster
    doomed = made.add_node(num_cpus=1)
    made.wait_for_nodes()
    farm = Farm(ClusterConfig(made.address, resources="cpu", actors=3))
    farm.connect()
    for index in range(4):
        farm.submit(f"n{index}", "generate", shot(300 + index, f"n{index}").with_changes(steps=8), SETTINGS)
    media = tmp_path / "media"
    removed: list[str] = []
    landed: list[str] = []

    def on_event(event):
        if event.type == "progress" and not removed and event.node.endswith(doomed.node_id[:6]):
            made.remove_node(doomed, allow_graceful=False)
            removed.append(event.job_id)
        if event.type == "finished":
            land(event.data, media)
            landed.append(event.job_id)

    events = farm.run_all(on_event)
    farm.shutdown()
    assert removed, "no job ran on the node that was to die"
    assert sorted(landed) == ["n0", "n1", "n2", "n3"]
    assert [e.job_id for e in events if e.type == "retry"] == removed
    assert not [e for e in events if e.type == "failed"]
    finished_on = {e.job_id: e.node for e in events if e.type == "finished"}
    assert not finished_on[removed[0]].endswith(doomed.node_id[:6])
    assert len(list(media.glob(f"*{MASTER_SUFFIX}"))) == 4
