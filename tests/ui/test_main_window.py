"""The main window shell and the start-up path of `aiprod-studio`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QLabel, QMessageBox

from app import __version__
from ui.main import NO_DISPLAY_MESSAGE, display_available
from ui.main_window import MainWindow

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def window(qtbot) -> MainWindow:
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_window_opens_with_title_menus_and_status(window):
    assert window.isVisible()
    assert window.windowTitle() == "AIPROD Studio"
    menus = [action.menu() for action in window.menuBar().actions()]
    assert [menu.title() for menu in menus] == ["&File", "&Help"]
    assert window.quit_action in menus[0].actions()
    assert window.about_action in menus[1].actions()
    assert window.quit_action.shortcut() == QKeySequence("Ctrl+Q")
    assert window.statusBar().currentMessage() == "Ready"
    assert window.statusBar().findChild(QLabel, "versionLabel").text() == f"version {__version__}"


def test_placeholder_points_to_the_cli(window):
    texts = [label.text() for label in window.centralWidget().findChildren(QLabel)]
    assert "aiprod-cli generate --help" in texts
    assert any("next release" in text for text in texts)


def test_about_names_the_version_and_ltx2(window, qtbot):
    window.about_action.trigger()
    box = window.findChild(QMessageBox, "aboutBox")
    assert box is not None
    qtbot.waitExposed(box)
    assert __version__ in box.text()
    assert "LTX-2" in box.text() and "Lightricks" in box.text()
    box.close()


def test_quit_closes_the_window(window, qtbot):
    window.quit_action.trigger()
    qtbot.waitUntil(lambda: not window.isVisible())


@pytest.mark.parametrize(
    ("environ", "platform", "expected"),
    [
        ({}, "linux", False),
        ({"DISPLAY": ":0"}, "linux", True),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
        ({"QT_QPA_PLATFORM": "offscreen"}, "linux", True),
        ({"DISPLAY": ""}, "linux", False),
        ({}, "win32", True),
        ({}, "darwin", True),
    ],
)
def test_display_detection(environ, platform, expected):
    assert display_available(environ, platform) is expected


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the display check is Linux-only")
def test_no_display_exits_2_with_one_line_and_no_traceback():
    env = {k: v for k, v in os.environ.items() if k not in {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"}}
    result = subprocess.run(
        [sys.executable, "-m", "ui.main"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [NO_DISPLAY_MESSAGE]
    assert "Traceback" not in result.stderr + result.stdout
    assert "xvfb-run make run" in NO_DISPLAY_MESSAGE and "aiprod-cli" in NO_DISPLAY_MESSAGE
