"""Tests that need a real X server run again in a child process under `xvfb-run` with Qt's xcb platform (Qt's
offscreen platform has no OpenGL): the GL tests, which write what they measured to a JSON file the parent
asserts on, and the screenshots on a real X server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

needs_xvfb = pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="no xvfb-run (.ci/run installs it)")


def run_under_xvfb(target: str, env: dict[str, str], screen: str = "1280x800x24") -> None:
    """``pytest target`` (a path from the repository root, ``::test_name`` allowed) under xvfb-run with
    ``QT_QPA_PLATFORM=xcb`` and `env` added; fails the calling test with the child's output if it fails."""
    result = subprocess.run(
        ["xvfb-run", "-a", "-s", f"-screen 0 {screen}", sys.executable, "-m", "pytest", "-q",
         "-p", "no:cacheprovider", target],
        cwd=REPO_ROOT, env={**os.environ, "QT_QPA_PLATFORM": "xcb", **env}, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def measure_under_xvfb(test_file: str, test_name: str, out_env: str, out: Path) -> dict[str, Any]:
    """Run `test_name` of `test_file` (its ``__file__``) under Xvfb with `out_env` naming `out`, and return
    the JSON the child wrote there; skips the calling test where the child found no usable OpenGL (it writes
    ``{"skipped": why}``)."""
    target = f"{Path(test_file).resolve().relative_to(REPO_ROOT)}::{test_name}"
    run_under_xvfb(target, {out_env: str(out)})
    measured = json.loads(out.read_text())
    if "skipped" in measured:
        pytest.skip(f"no usable OpenGL under Xvfb: {measured['skipped']}")
    return measured
