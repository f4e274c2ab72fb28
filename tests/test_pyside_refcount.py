"""The PySide6 refcount guard (app/pyside_refcount.py): without it, a few thousand Qt calls abort CPython
3.11; with it (importing `app` applies it), the same calls run through."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# Each emit() takes a reference from True, each setObjectName() one from None: 200k of each is far past
# the few thousand references either has in a fresh interpreter.
STRESS = """
import sys
{prelude}
from PySide6.QtCore import QObject, Signal
class Emitter(QObject):
    fired = Signal(int)
emitter = Emitter()
for i in range(200_000):
    emitter.fired.emit(i)
    emitter.setObjectName("x")
print("survived")
"""


def _run(prelude: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", STRESS.format(prelude=prelude)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12+ makes these objects immortal itself")
def test_importing_app_guards_against_the_pyside_refcount_bug():
    guarded = _run("import app")
    assert guarded.returncode == 0, guarded.stderr[-2000:]
    assert guarded.stdout.strip() == "survived"


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12+ makes these objects immortal itself")
def test_the_bug_is_still_there_without_the_guard():
    """When this fails, the pinned PySide6 is fixed: drop app/pyside_refcount.py."""
    bare = _run("")
    assert bare.returncode != 0 and "dealloc" in bare.stderr


def test_guard_is_applied_once():
    from app import pyside_refcount

    before = sys.getrefcount(None)
    assert pyside_refcount.keep_singletons_alive() is False  # `import app` already did it
    assert sys.getrefcount(None) - before < 1000
