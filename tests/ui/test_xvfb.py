"""The studio on a real X server: the screenshot tests run again in a subprocess under `xvfb-run` with Qt's
xcb platform (the one `xvfb-run make run` uses), and what the X server displayed is saved beside the
offscreen renderings (artifacts/screenshots/*_xvfb.png)."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QImage
from xvfb_child import REPO_ROOT, needs_xvfb, run_under_xvfb

SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"


@pytest.mark.slow
@needs_xvfb
def test_studio_renders_on_a_real_x_server(tmp_path):
    for old in SCREENSHOTS.glob("*_xvfb.png"):
        old.unlink()
    env = {"AIPROD_DATA_DIR": str(tmp_path / "data")}
    run_under_xvfb("tests/ui/test_screenshot.py", env, screen="1600x1000x24")
    for name in ("main_window_xvfb.png", "main_window_populated_xvfb.png"):
        image = QImage(str(SCREENSHOTS / name))
        assert not image.isNull(), name
        assert (image.width(), image.height()) == (1600, 1000)
        colours = {image.pixel(x, y) for x in range(0, image.width(), 8) for y in range(0, image.height(), 8)}
        assert len(colours) > 20, f"{name}: the X server showed (nearly) one flat colour"
