"""The QThread leak guard in conftest.py: it sees running threads, and it fails a test that leaks one."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QThread

CONFTEST = Path(__file__).with_name("conftest.py")


def test_guard_sees_a_running_thread_until_it_is_stopped(qthread_leak_guard):
    thread = QThread()
    thread.start()
    try:
        assert [t for t, _ in qthread_leak_guard.running()] == [thread]
    finally:
        thread.quit()
        assert thread.wait(5000)
    assert qthread_leak_guard.running() == []


def test_guard_covers_subclasses(qthread_leak_guard):
    class Worker(QThread):
        def run(self) -> None:
            self.exec()

    worker = Worker()
    worker.start()
    try:
        assert [t for t, _ in qthread_leak_guard.running()] == [worker]
    finally:
        worker.quit()
        assert worker.wait(5000)


def test_a_leaking_test_fails_and_a_clean_one_passes(pytester: pytest.Pytester):
    pytester.makeconftest(CONFTEST.read_text(encoding="utf-8"))
    pytester.makepyfile(
        test_leak="""
        from PySide6.QtCore import QThread

        def test_leaks():
            thread = QThread()
            thread.start()
            test_leaks.thread = thread  # keep it alive, as a forgotten worker would be

        def test_clean():
            thread = QThread()
            thread.start()
            thread.quit()
            thread.wait()
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_leaks*", "*1 QThread(s) still running*"])
