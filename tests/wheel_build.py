"""Build the studio's wheel the way the packaging tests need it: from a copy of the tracked sources (what a
release is built from, never the developer's stray files), with no build isolation and no index, so
nothing is downloaded."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# What a wheel is built from (the rest of the checkout is tests, docs and tooling).
SOURCES = ("app", "engine", "ui", "resources", "luts", "pyproject.toml", "setup.py", "README.md", "NOTICE")


def build_wheel(tmp: Path) -> Path:
    """The wheel built into ``tmp/dist`` from a copy of SOURCES in ``tmp/src``; returns its path."""
    src = tmp / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=ignore)
        else:
            shutil.copy2(path, src / name)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "-q", "-w", str(tmp / "dist"), str(src)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = (tmp / "dist").glob("aiprod_studio-*.whl")
    return built
