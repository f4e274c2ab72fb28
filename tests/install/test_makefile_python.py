"""Issue 16: `make` picks whichever of python3.11 / python3.12 runs (3.11 first), or says neither does.

Fake interpreters on PATH stand in for the real ones: each either passes the Makefile's version check (exit 0)
or fails it the way a pyenv shim for an unselected version does. Nothing is installed: `make -n` prints the
venv command, and the failing case stops before creating anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _fake_path(tmp_path: Path, runs: dict[str, bool]) -> str:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("python3.11", "python3.12", "python3"):
        script = bin_dir / name
        fails = f"echo '{name}: command not found' >&2\nexit 127\n"
        script.write_text("#!/bin/sh\n" + ("exit 0\n" if runs.get(name, False) else fails))
        script.chmod(0o755)
    return f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin"


def _make(tmp_path: Path, runs: dict[str, bool], *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHON", "MAKEFLAGS", "MAKELEVEL"}}
    env["PATH"] = _fake_path(tmp_path, runs)
    venv = tmp_path / "venv"
    make = shutil.which("make")
    return subprocess.run([make, "-C", str(REPO), f"VENV={venv}", *args], env=env, capture_output=True,
                          text=True, timeout=60)  # fmt: skip


def test_python311_is_preferred_when_both_run(tmp_path):
    result = _make(tmp_path, {"python3.11": True, "python3.12": True}, "-n", "venv")
    assert result.returncode == 0, result.stderr
    assert f"python3.11 -m venv {tmp_path / 'venv'}" in result.stdout


def test_python312_is_taken_when_311_does_not_run(tmp_path):
    result = _make(tmp_path, {"python3.11": False, "python3.12": True}, "-n", "venv")
    assert result.returncode == 0, result.stderr
    assert f"python3.12 -m venv {tmp_path / 'venv'}" in result.stdout


def test_neither_version_stops_with_a_message_and_creates_nothing(tmp_path):
    result = _make(tmp_path, {}, "venv")
    assert result.returncode != 0
    assert "Python 3.11 or 3.12 not found" in result.stderr
    assert not (tmp_path / "venv").exists()


def test_an_explicit_python_wins(tmp_path):
    result = _make(tmp_path, {"python3.11": True}, "-n", "venv", "PYTHON=/opt/my/python3.12")
    assert f"/opt/my/python3.12 -m venv {tmp_path / 'venv'}" in result.stdout
