"""The dispatcher on this machine: jobs go to long-lived engine actors on the cluster's nodes.

One actor per GPU (``num_gpus=1``), or per CPU on a CPU-only cluster (``ClusterConfig.resources="cpu"``,
``num_cpus=1``), each an :class:`app.cluster.host.EngineHost` keeping its engine loaded. A waiting job goes
to a free actor that already has its model loaded when there is one (else to any free actor, which loads
it). :meth:`Farm.step` is called in a loop by whoever drives the farm (the studio's farm thread, the CLI's
main thread; never the UI thread): it starts jobs, polls the running ones' progress and previews
(``EngineHost.poll``) and reports :class:`FarmEvent`s.

Faults: an actor (or its whole node) that dies mid-job is noticed through its run call's Ray error; the job
goes back to the front of the queue and runs on another actor, at most ``max_attempts`` starts in all. A
replacement actor is asked for (Ray places it where there is room). A job's "finished" event is reported
once, only from a complete outcome; nothing is written into the project on a node, so a death leaves no
partial file. Results land with :func:`app.cluster.landing.land`.

The render lane has a farm of its own (``ClusterConfig.for_exports()``): a few CPU actors of the same class
that never load an engine; an export renders there with app.export's code and lands with
:func:`app.cluster.landing.land_export`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from app.cluster.config import ClusterConfig, ClusterUnreachable, check_reachable
from app.cluster.host import EngineHost, JobPayload, RemoteOutcome, engine_key
from app.cluster.travel import pack
from app.errors import JobError

log = logging.getLogger(__name__)

POLL_TIMEOUT_S = 5.0  # a poll that takes longer is skipped this round (the node is busy or going away)
MAX_CONCURRENCY = 4  # run + poll + cancel at the same time on one actor
_INIT_LOCK = threading.Lock()  # the engine lane's and the render lane's farms join from their own threads


@dataclass
class FarmJob:
    """A job waiting for, or running on, an actor."""

    job_id: str
    kind: str
    spec: Any
    settings: Any
    payload: JobPayload
    key: tuple
    attempts: int = 0
    nodes: list[str] = field(default_factory=list)  # every node it was started on, in order
    cancelled: bool = False


@dataclass
class FarmEvent:
    """What happened: "started" (data: attempt), "progress" (data: poll snapshot), "retry" (data: the
    reason), "finished" (data: RemoteOutcome), "failed" (data: message; error: the exception when known),
    "cancelled"."""

    type: str
    job_id: str
    node: str = ""
    data: Any = None
    error: BaseException | None = None


@dataclass
class _Actor:
    handle: Any
    ready: Any  # the ObjectRef of its identity() while it starts; None once ready
    created: float
    node: str = ""
    pid: int = 0
    key: tuple | None = None  # the model it has loaded (after its first job)
    job: FarmJob | None = None
    run_ref: Any = None
    alive: bool = True


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - ray is a pinned dependency
        raise JobError("Ray is not installed; install the studio's dependencies (ray==2.60.0)") from exc
    return ray


class Farm:
    """Runs engine-lane jobs on a Ray cluster. Not thread-safe: one thread calls every method."""

    def __init__(self, config: ClusterConfig) -> None:
        config.validate()
        self.config = config
        self._actors: list[_Actor] = []
        self._waiting: deque[FarmJob] = deque()
        self._jobs: dict[str, FarmJob] = {}
        self._ended: set[str] = set()  # finished, failed or cancelled: never reported twice
        self._wanted = 0
        self._replacements = 0
        self._connected = False

    # --- set-up -------------------------------------------------------------------------------------------

    def connect(self) -> dict[str, Any]:
        """Join the cluster and start the actors. ClusterUnreachable (clear, in seconds) when the address
        cannot be reached or the cluster has nothing an actor could run on."""
        ray = _ray()
        if not self._connected:
            check_reachable(self.config.address, self.config.connect_timeout_s)
            with _INIT_LOCK:
                if not ray.is_initialized():
                    try:
                        ray.init(
                            address=self.config.address, log_to_driver=False, logging_level=logging.WARNING
                        )
                    except Exception as exc:  # noqa: BLE001 -- Ray raises ConnectionError, RuntimeError, ...
                        raise ClusterUnreachable(
                            f"cannot join the Ray cluster at {self.config.address}: {exc}"
                        ) from exc
            resources = ray.cluster_resources()
            count = self.config.actors
            if count is None:
                per = "GPU" if self.config.resources == "gpu" else "CPU"
                count = int(resources.get(per, 0))
            if count < 1:
                raise ClusterUnreachable(
                    f"the Ray cluster at {self.config.address} has no "
                    f"{'GPU' if self.config.resources == 'gpu' else 'CPU'} for a render actor "
                    f"(it offers {dict(resources)}); start nodes with `ray start --address=... --num-gpus=1`"
                    + ("" if self.config.resources == "cpu" else ", or AIPROD_RAY_ACTOR=cpu for CPU actors")
                )
            self._wanted = count
            for _ in range(count):
                self._start_actor()
            self._connected = True
        return self.info()

    def info(self) -> dict[str, Any]:
        return {
            "address": self.config.address,
            "actors": [
                {
                    "node": a.node or "starting",
                    "pid": a.pid,
                    "alive": a.alive,
                    "busy": a.job is not None,
                    "loaded": a.key,
                }  # fmt: skip
                for a in self._actors
            ],
        }

    def _start_actor(self) -> _Actor:
        ray = _ray()
        options: dict[str, Any] = {
            "max_concurrency": MAX_CONCURRENCY,
            "max_restarts": 0,
            "max_task_retries": 0,
            "scheduling_strategy": "SPREAD",
        }
        if self.config.resources == "gpu":
            options["num_gpus"] = 1
        else:
            options["num_cpus"] = 1
        handle = ray.remote(EngineHost).options(**options).remote()
        actor = _Actor(handle=handle, ready=handle.identity.remote(), created=time.monotonic())
        self._actors.append(actor)
        return actor

    def shutdown(self) -> None:
        """Stop the actors (their engines go with them); the cluster itself keeps running."""
        if not self._connected:
            return
        ray = _ray()
        for actor in self._actors:
            try:
                ray.kill(actor.handle)
            except Exception:  # noqa: BLE001 -- already gone
                pass
        self._actors.clear()

    # --- jobs ---------------------------------------------------------------------------------------------

    def submit(self, job_id: str, kind: str, spec: Any, settings: Any, module: str = "") -> None:
        """Queue a job (its media packed now: a missing file is a JobError here, not on a node). `module`:
        where the kind is registered, when not among the built-in kinds (imported on the node first)."""
        packed = pack(spec, self.config.shared_folder)
        payload = JobPayload(job_id, kind, packed, settings, module=module)
        job = FarmJob(job_id, kind, spec, settings, payload, engine_key(spec, settings))
        self._jobs[job_id] = job
        self._waiting.append(job)

    def cancel(self, job_id: str) -> list[FarmEvent]:
        """Cancel a waiting job now (its event is returned) or a running one at its next step (its
        "cancelled" event comes from a later step)."""
        job = self._jobs.get(job_id)
        if job is None or job_id in self._ended:
            return []
        job.cancelled = True
        if job in self._waiting:
            self._waiting.remove(job)
            return [self._end(FarmEvent("cancelled", job_id))]
        for actor in self._actors:
            if actor.job is job and actor.alive:
                actor.handle.cancel.remote(job_id)
        return []

    @property
    def busy(self) -> bool:
        return bool(self._waiting) or any(a.job is not None for a in self._actors)

    def node_of(self, job_id: str) -> str:
        job = self._jobs.get(job_id)
        return job.nodes[-1] if job is not None and job.nodes else ""

    def attempts_of(self, job_id: str) -> int:
        job = self._jobs.get(job_id)
        return job.attempts if job is not None else 0

    def actor_pid(self, job_id: str) -> int:
        """The process id of the actor running `job_id` now (0: none). Tests kill it."""
        for actor in self._actors:
            if actor.job is not None and actor.job.job_id == job_id:
                return actor.pid
        return 0

    # --- the loop -----------------------------------------------------------------------------------------

    def step(self, timeout: float = 0.2) -> list[FarmEvent]:
        """One round: actors that finished starting, jobs that ended, jobs to start, progress to report."""
        events: list[FarmEvent] = []
        self._check_ready()
        events += self._collect(timeout)
        events += self._dispatch()
        events += self._poll()
        events += self._starved()
        return events

    def _check_ready(self) -> None:
        ray = _ray()
        starting = [a for a in self._actors if a.alive and a.ready is not None]
        if not starting:
            return
        done, _ = ray.wait([a.ready for a in starting], num_returns=len(starting), timeout=0)
        for actor in starting:
            if actor.ready not in done:
                continue
            try:
                identity = ray.get(actor.ready)
            except Exception as exc:  # noqa: BLE001 -- it died while starting
                log.warning("a render actor failed to start: %s", exc)
                actor.alive = False
                continue
            actor.ready, actor.node, actor.pid = None, identity["node"], int(identity["pid"])

    def _collect(self, timeout: float) -> list[FarmEvent]:
        ray = _ray()
        running = [a for a in self._actors if a.run_ref is not None]
        if not running:
            if timeout:
                time.sleep(min(timeout, 0.05))
            return []
        done, _ = ray.wait([a.run_ref for a in running], num_returns=len(running), timeout=timeout)
        events: list[FarmEvent] = []
        for actor in running:
            if actor.run_ref not in done:
                continue
            job = actor.job
            assert job is not None
            ref, actor.run_ref, actor.job = actor.run_ref, None, None
            try:
                outcome: RemoteOutcome = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:  # the method itself broke (a result that won't pickle)
                message = f"the render node failed: {exc}"
                events.append(self._end(FarmEvent("failed", job.job_id, actor.node, message)))
                continue
            except ray.exceptions.RayError as exc:  # the actor, its worker process or its node died
                events += self._died(actor, job, exc)
                continue
            actor.key = job.key
            events.append(self._outcome(job, outcome))
        return events

    def _outcome(self, job: FarmJob, outcome: RemoteOutcome) -> FarmEvent:
        if outcome.status == "done":
            return self._end(FarmEvent("finished", job.job_id, outcome.node, outcome))
        if outcome.status == "cancelled":
            return self._end(FarmEvent("cancelled", job.job_id, outcome.node))
        return self._end(FarmEvent("failed", job.job_id, outcome.node, outcome.message, outcome.error))

    def _died(self, actor: _Actor, job: FarmJob, exc: BaseException) -> list[FarmEvent]:
        """The actor (or its node) is gone mid-job: retry the job elsewhere, or fail it after max_attempts;
        ask Ray for a replacement actor."""
        actor.alive = False
        name = actor.node or "a render node"
        reason = f"{name} stopped while running it ({type(exc).__name__})"
        log.warning("job %s: %s", job.job_id, reason)
        if self._replacements < self._wanted * self.config.max_attempts:
            self._replacements += 1
            self._start_actor()
        if job.cancelled:
            return [self._end(FarmEvent("cancelled", job.job_id, name))]
        if job.attempts >= self.config.max_attempts:
            where = ", ".join(job.nodes)
            return [self._end(FarmEvent(
                "failed", job.job_id, name,
                f"the job was started {job.attempts} times and its render node stopped each time ({where})",
            ))]  # fmt: skip
        self._waiting.appendleft(job)
        return [FarmEvent("retry", job.job_id, name, reason)]

    def _dispatch(self) -> list[FarmEvent]:
        events: list[FarmEvent] = []
        free = [a for a in self._actors if a.alive and a.ready is None and a.job is None]
        for actor in free:
            if not self._waiting:
                break
            job = next((j for j in self._waiting if j.key == actor.key), None)
            if job is None:  # nobody waits for this actor's model: take the oldest job, unless another free
                # actor already has the oldest job's model loaded
                oldest = self._waiting[0]
                if actor.key is not None and any(
                    a is not actor and a.alive and a.job is None and a.ready is None and a.key == oldest.key
                    for a in free
                ):
                    continue
                job = oldest
            self._waiting.remove(job)
            job.attempts += 1
            job.nodes.append(actor.node)
            job.payload.attempt = job.attempts
            actor.job, actor.run_ref = job, actor.handle.run.remote(job.payload)
            events.append(FarmEvent("started", job.job_id, actor.node, job.attempts))
        return events

    def _poll(self) -> list[FarmEvent]:
        ray = _ray()
        busy = [a for a in self._actors if a.run_ref is not None and a.job is not None]
        if not busy:
            return []
        refs = [a.handle.poll.remote(a.job.job_id) for a in busy]  # type: ignore[union-attr]
        done, _ = ray.wait(refs, num_returns=len(refs), timeout=POLL_TIMEOUT_S)
        events: list[FarmEvent] = []
        for actor, ref in zip(busy, refs, strict=True):
            if ref not in done:
                continue
            try:
                snapshot = ray.get(ref)
            except ray.exceptions.RayError:  # it died: _collect will say so through its run call
                continue
            if snapshot is not None and actor.job is not None:
                events.append(FarmEvent("progress", actor.job.job_id, actor.node, snapshot))
        return events

    def _starved(self) -> list[FarmEvent]:
        """Waiting jobs with no actor left that could run them fail, saying why."""
        if not self._waiting:
            return []
        now = time.monotonic()
        hopeful = [
            a for a in self._actors
            if a.alive and (a.ready is None or now - a.created < self.config.actor_start_timeout_s)
        ]  # fmt: skip
        if hopeful:
            return []
        events = []
        while self._waiting:
            job = self._waiting.popleft()
            events.append(self._end(FarmEvent(
                "failed", job.job_id, "",
                f"no render node is left in the cluster at {self.config.address} to run it",
            )))  # fmt: skip
        return events

    def _end(self, event: FarmEvent) -> FarmEvent:
        if event.job_id in self._ended:
            raise AssertionError(f"job {event.job_id} ended twice")  # the once-only guarantee
        self._ended.add(event.job_id)
        return event

    def run_all(self, on_event: Any = None, timeout: float = 0.2) -> list[FarmEvent]:
        """Step until every submitted job has ended; returns every event (each also given to `on_event`)."""
        events: list[FarmEvent] = []
        while self.busy:
            for event in self.step(timeout):
                events.append(event)
                if on_event is not None:
                    on_event(event)
        return events
