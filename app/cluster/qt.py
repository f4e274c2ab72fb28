"""The render-node farm as the job queue's engine lane (the Qt adapter of app.cluster).

:class:`ClusterWorker` is a JobWorker the queue treats as a *concurrent* lane: every waiting job is handed
to it at once (``concurrent = True``), and it keeps as many running as the cluster has actors. Its own
thread (``aiprod-farm``, never the UI thread) drives :class:`app.cluster.farm.Farm`: it polls the actors'
progress and previews, lands each finished job's files in the project's media folder
(:func:`app.cluster.landing.land`, so the kind's applier then applies it exactly as a local result; an
export's file lands at its destination, :func:`app.cluster.landing.land_export`) and
emits the same signals as the local worker, plus ``node_changed`` (which node runs a job: the queue's row
says it) and ``unreachable`` (the queue asks the user whether to run on this machine instead).
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

from PySide6.QtCore import Signal, Slot

from app.cluster.config import ClusterConfig, ClusterUnreachable
from app.errors import AppError
from app.jobs.kinds import JobStage, kind_for, kind_named
from app.jobs.worker import JobWorker, WorkItem, preview_image, user_message

log = logging.getLogger(__name__)


class ClusterWorker(JobWorker):
    """The engine lane (or, with ``config.for_exports()``, the render lane) on a Ray cluster.
    `farm_factory(config)` makes the farm (tests inject one)."""

    concurrent = True  # app.jobs.queue sends every waiting job at once
    node_changed = Signal(str, str)  # job id, the node running it ("" while it waits for another)
    unreachable = Signal(str, list)  # message, the ids of the jobs that could not be sent

    def __init__(self, config: ClusterConfig, farm_factory: Any = None) -> None:
        super().__init__()
        from app.cluster.farm import Farm

        self.config = config
        self._factory = farm_factory or Farm
        self._farm: Any = None
        self._inbox: queue.Queue[WorkItem] = queue.Queue()
        self._items: dict[str, WorkItem] = {}
        self._asked_cancel: set[str] = set()
        self._last: dict[str, dict[str, Any]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        return self.config.address

    # --- from the queue (queued onto the lane's QThread) ---------------------------------------------------

    @Slot(object)
    def run(self, item: WorkItem) -> None:
        if item.cancel.is_set():
            self.cancelled.emit(item.job_id)
            return
        self._inbox.put(item)
        with self._lock:
            if self._thread is not None and self._thread.is_alive() and self._stop.is_set():
                self._thread.join(timeout=30)  # released a moment ago: let it end, then start anew
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._loop, name="aiprod-farm", daemon=True)
                self._thread.start()

    def release(self) -> None:
        """Stop the farm thread and the actors (at shutdown, or when Settings go back to this machine)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)
        if self._farm is not None:
            try:
                self._farm.shutdown()
            except Exception:  # noqa: BLE001 -- the cluster may be gone already
                log.warning("the render actors could not be stopped", exc_info=True)
            self._farm = None

    # --- the farm thread ----------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            busy = self._farm is not None and self._farm.busy
            try:
                item = self._inbox.get(timeout=0.0 if busy else 0.2)
            except queue.Empty:
                item = None
            if item is not None:
                self._take(item)
                continue
            if self._farm is None:
                continue
            self._cancels()
            try:
                events = self._farm.step(0.2)
            except Exception as exc:  # noqa: BLE001 -- the cluster went away under us
                self._lost(exc)
                continue
            for event in events:
                self._emit(event)

    def _take(self, item: WorkItem) -> None:
        job_id = item.job_id
        try:
            if self._farm is None:
                farm = self._factory(self.config)
                farm.connect()
                self._farm = farm
            kind = kind_named(item.kind) if item.kind else kind_for(item.spec)
            self._items[job_id] = item
            self._farm.submit(job_id, kind.name, item.spec, item.settings, module=kind.run.__module__)
        except ClusterUnreachable as exc:
            self._farm = None
            ids = [job_id] + self._drain()
            for failed in ids:
                self.failed.emit(failed, str(exc))
            self.unreachable.emit(str(exc), ids)
        except AppError as exc:  # a file the job needs is missing, a kind that cannot travel
            self._items.pop(job_id, None)
            self.failed.emit(job_id, str(exc))
        except Exception as exc:  # noqa: BLE001 -- never let the farm thread die with jobs waiting on it
            self._items.pop(job_id, None)
            self.failed.emit(job_id, user_message(exc, "Sending the job to the render nodes"))

    def _drain(self) -> list[str]:
        ids = []
        while True:
            try:
                ids.append(self._inbox.get_nowait().job_id)
            except queue.Empty:
                return ids

    def _cancels(self) -> None:
        for job_id, item in list(self._items.items()):
            if item.cancel.is_set() and job_id not in self._asked_cancel:
                self._asked_cancel.add(job_id)
                for event in self._farm.cancel(job_id):
                    self._emit(event)

    def _lost(self, exc: BaseException) -> None:
        message = f"the render cluster at {self.address} stopped answering: {exc}"
        log.warning(message)
        for job_id in list(self._items):
            self._items.pop(job_id)
            self.failed.emit(job_id, message)
        self._farm = None

    def _emit(self, event: Any) -> None:
        job_id = event.job_id
        item = self._items.get(job_id)
        if item is None:
            return
        if event.type == "started":
            if event.data == 1:
                self.started.emit(job_id)
            self.node_changed.emit(job_id, event.node)
        elif event.type == "progress":
            self._progress(job_id, event.data)
        elif event.type == "retry":
            self.node_changed.emit(job_id, f"retrying: {event.data}")
            self._last.pop(job_id, None)
        elif event.type == "finished":
            self._finish(item, event)
        elif event.type == "failed":
            self._end(job_id)
            what = kind_named(item.kind).label if item.kind else "The job"
            error = event.error
            self.failed.emit(job_id, user_message(error, what) if error is not None else str(event.data))
        elif event.type == "cancelled":
            self._end(job_id)
            self.cancelled.emit(job_id)

    def _progress(self, job_id: str, snapshot: dict[str, Any]) -> None:
        last = self._last.setdefault(job_id, {})
        stage = snapshot.get("stage")
        if stage and stage != last.get("stage") and stage in JobStage.__members__:
            self.stage.emit(job_id, JobStage[stage])
        if snapshot.get("steps") and (snapshot["step"], snapshot["steps"]) != (
            last.get("step"),
            last.get("steps"),
        ):
            self.progress.emit(job_id, int(snapshot["step"]), int(snapshot["steps"]), float(snapshot["eta"]))
        if snapshot.get("step_label") and snapshot["step_label"] != last.get("step_label"):
            self.step_label.emit(job_id, snapshot["step_label"])
        if snapshot.get("preview") is not None:
            self.preview.emit(job_id, preview_image(snapshot["preview"]))
        last.update({k: v for k, v in snapshot.items() if k != "preview"})

    def _finish(self, item: WorkItem, event: Any) -> None:
        from app.cluster.landing import land, land_export

        self._end(item.job_id)
        self.stage.emit(item.job_id, JobStage.SAVING)
        try:
            if hasattr(item.spec, "out_path"):  # an export: at the destination the user chose
                result = land_export(event.data, item.spec)
            else:
                result = land(event.data, item.media_dir)
        except AppError as exc:
            self.failed.emit(
                item.job_id, f"the result came back from {event.node} but could not be saved: {exc}"
            )
            return
        self.finished.emit(item.job_id, result)

    def _end(self, job_id: str) -> None:
        self._items.pop(job_id, None)
        self._last.pop(job_id, None)
        self._asked_cancel.discard(job_id)
