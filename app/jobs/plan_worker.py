"""The Generate panel's memory plan line, computed off the UI thread.

`app.jobs.memory_plan.plan_line` builds meta-device skeletons the first time it sees a checkpoint (about a
second for a full-size model); here it runs on a one-thread QThreadPool and the line arrives through
`ready` on the requester's thread. Only the latest request's line is delivered: a field changed while an
older plan was computing makes that older line stale, and it is dropped.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from app.jobs import memory_plan

PLANNING = "planning…"


class _Job(QRunnable):
    def __init__(self, worker: PlanWorker, generation: int, args: tuple, kwargs: dict) -> None:
        super().__init__()
        self._worker = worker
        self._generation = generation
        self._args = args
        self._kwargs = kwargs

    def run(self) -> None:
        try:
            line = memory_plan.plan_line(*self._args, **self._kwargs)
        except Exception as exc:  # noqa: BLE001 - a worker must report, never die silently
            line = f"No memory plan: {exc}"
        try:
            self._worker._done.emit(self._generation, line)
        except RuntimeError:  # the panel (and this worker with it) was closed while planning
            pass


class PlanWorker(QObject):
    """`request(...)` takes `plan_line`'s arguments; `ready(line)` brings the latest request's line."""

    ready = Signal(str)
    _done = Signal(int, str)  # internal: from the pool thread to this object's thread

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._lock = threading.Lock()
        self._generation = 0
        self._done.connect(self._deliver)

    def request(self, *args: object, **kwargs: object) -> None:
        with self._lock:
            self._generation += 1
            generation = self._generation
        self._pool.clear()  # queued (not yet running) requests are stale now
        self._pool.start(_Job(self, generation, args, kwargs))

    def cancel(self) -> None:
        """Drop the line of any plan in progress (the panel no longer wants one)."""
        with self._lock:
            self._generation += 1
        self._pool.clear()

    def wait(self, msecs: int = -1) -> bool:
        """Block until the plan in progress is done (tests and shutdown)."""
        return self._pool.waitForDone(msecs)

    @Slot(int, str)
    def _deliver(self, generation: int, line: str) -> None:
        with self._lock:
            latest = generation == self._generation
        if latest:
            self.ready.emit(line)
