"""The studio on a real X server: the screenshot tests run again in a subprocess under `xvfb-run` with Qt's
xcb platform (the one `xvfb-run make run` uses), and what the X server displayed is saved beside the
offscreen renderings (artifacts/screenshots/*_xvfb.png)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="no xvfb-run (.ci/run installs it)")
def test_studio_renders_on_a_real_x_server(tmp_path):
    for old in SCREENSHOTS.glob("*_xvfb.png"):
        old.unlink()
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "AIPROD_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", sys.executable, "-m", "pytest", "-q",
         "-p", "no:cacheprovider", "tests/ui/test_screenshot.py"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for name in ("main_window_xvfb.png", "main_window_populated_xvfb.png"):
        image = QImage(str(SCREENSHOTS / name))
        assert not image.isNull(), name
        assert (image.width(), image.height()) == (1600, 1000)
        colours = {image.pixel(x, y) for x in range(0, image.width(), 8) for y in range(0, image.height(), 8)}
        assert len(colours) > 20, f"{name}: the X server showed (nearly) one flat colour"
