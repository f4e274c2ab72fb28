"""Suite-wide set-up: headless Qt, GPU test skipping, and a guard against QThreads left running."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterator

import pytest

# Before anything imports Qt: tests never need a real display (the few that need GL run under xvfb-run).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Every undo step also checks its pieces against a full capture (app.document.pieces.PieceTracker.verify), so
# an edit that changes the document without saying so fails the test that makes it. Costs ~4 % CPU on the
# edit-heavy tests (measured 2026-12-07); AIPROD_VERIFY_UNDO= (empty) turns it off.
os.environ.setdefault("AIPROD_VERIFY_UNDO", "1")
# A developer's shell may name a render cluster; the suite runs on this machine unless a test names one.
os.environ.pop("AIPROD_RAY_ADDRESS", None)
# The studio's per-machine step-time record (app.jobs.presets) goes to a throwaway folder, not the home.
if "AIPROD_STATE_DIR" not in os.environ:
    import tempfile

    os.environ["AIPROD_STATE_DIR"] = tempfile.mkdtemp(prefix="aiprod-test-state-")

pytest_plugins = ("pytester",)


# ------------------------------------------------------------------------------------------- GPU tests
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    gpu_items = [item for item in items if item.get_closest_marker("gpu")]
    if not gpu_items:
        return  # keep torch out of runs that do not need it
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in gpu_items:
        item.add_marker(skip)


# ------------------------------------------------------------------------------------ QThread guard
class QThreadLeakGuard:
    """Records every QThread started while installed, so a test's leftovers can be named.

    QThread.start is wrapped on the class, which also covers subclasses and QThread.create(). Threads
    are held by strong reference for the test's duration only: a leaked thread must not be garbage
    collected while running (Qt aborts the process), and holding it lets the guard stop it afterwards.
    """

    def __init__(self) -> None:
        self._started: list[tuple[object, str]] = []  # (QThread, where start() was called)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from PySide6.QtCore import QThread

        original_start = QThread.start
        started = self._started

        def start(thread: QThread, *args: object, **kwargs: object) -> None:
            caller = "".join(traceback.format_stack(limit=4)[:-1])
            started.append((thread, caller))
            original_start(thread, *args, **kwargs)

        monkeypatch.setattr(QThread, "start", start)

    def running(self) -> list[tuple[object, str]]:
        alive = []
        for thread, caller in self._started:
            try:
                if thread.isRunning():
                    alive.append((thread, caller))
            except RuntimeError:  # the C++ object is gone, so is the thread
                continue
        return alive

    def stop_leftovers(self) -> list[str]:
        """Stop what is still running (so one leak does not spoil the next test); describe each."""
        reports = []
        for thread, caller in self.running():
            thread.requestInterruption()
            thread.quit()
            stopped = thread.wait(5000)
            if not stopped:
                _UNSTOPPABLE.append(thread)  # never let it be destroyed while running
            state = "stopped by the guard" if stopped else "would not stop"
            reports.append(f"{thread!r} ({state}), started at:\n{caller}")
        self._started.clear()
        return reports


_UNSTOPPABLE: list[object] = []


@pytest.fixture(autouse=True)
def qthread_leak_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[QThreadLeakGuard | None]:
    """Fail (as a teardown error) any test that leaves a QThread running.

    Autouse fixtures are set up first and so torn down last: a fixture that stops its worker in its
    own teardown does so before this check. Tests that never import Qt (tests/engine) pay nothing.
    """
    if "PySide6.QtCore" not in sys.modules:
        yield None
        return
    guard = QThreadLeakGuard()
    guard.install(monkeypatch)
    yield guard
    leftovers = guard.stop_leftovers()
    if leftovers:
        pytest.fail(
            f"{len(leftovers)} QThread(s) still running after the test; quit() and wait() them:\n"
            + "\n".join(leftovers),
            pytrace=False,
        )
