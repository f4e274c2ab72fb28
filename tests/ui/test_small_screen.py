"""The studio on a laptop screen (1366 x 768, the smallest common one): the main window's minimum size fits
it with room for a task bar and a title bar, the Generate form scrolls inside its dock so its Generate button
can always be reached, and the dialogs a first run shows (model manager, settings) fit too and are moved
inside the screen's available area. Under `xvfb-run` on a 1366 x 768 screen the screen is saved to
artifacts/screenshots/small_screen_*.png (copies we looked at are in docs/screenshots/)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hf_home import isolate_hf_home
from PySide6.QtCore import QPoint, QRect, QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QScrollArea
from window_helpers import dark_theme, opened_window, tiny_job
from xvfb_child import needs_xvfb, run_under_xvfb

from app.jobs import EngineSettings
from ui.model_manager import ModelManagerDialog
from ui.screen_fit import SMALL_SCREEN, fit_to_screen, show_fitted
from ui.settings_dialog import SettingsDialog

pytestmark = pytest.mark.usefixtures("data_dir")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
SCREEN = QRect(QPoint(0, 0), SMALL_SCREEN)
# What a desktop takes from 768 px: a task bar (up to 48 px) and the window's title bar (up to 32 px).
USABLE = QSize(SMALL_SCREEN.width(), SMALL_SCREEN.height() - 48 - 32)
SHOT_ENV = "AIPROD_SMALL_SCREEN_SHOTS"


@pytest.fixture
def hf_home(monkeypatch, tmp_path):
    """The model manager reads the Hugging Face token state: an empty home of the test's own."""
    isolate_hf_home(monkeypatch, tmp_path / "hf-home")


def _fits(size: QSize, room: QSize) -> bool:
    return size.width() <= room.width() and size.height() <= room.height()


def test_the_main_window_fits_a_1366x768_screen(qtbot, tmp_path):
    with opened_window(qtbot, tmp_path) as window:
        hint = window.minimumSizeHint().expandedTo(window.minimumSize())
        assert _fits(hint, USABLE), hint
        for dock in window.docks():  # no dock alone asks for more than the screen's height
            assert dock.minimumSizeHint().height() <= USABLE.height(), dock.objectName()
        frame = fit_to_screen(window, SCREEN)
        assert SCREEN.contains(frame), frame
        assert window.size().width() <= SCREEN.width() and window.size().height() <= SCREEN.height()


def test_a_window_restored_larger_than_the_screen_is_shrunk_and_moved_inside(qtbot, tmp_path):
    with opened_window(qtbot, tmp_path, show=False) as window:
        window.setGeometry(300, 200, 1640, 974)  # what an earlier, larger screen left in the settings
        frame = fit_to_screen(window, SCREEN)
        assert SCREEN.contains(frame), frame
        assert window.width() == SCREEN.width() - (frame.width() - window.width())


def test_show_fitted_opens_the_window_inside_the_available_area(qtbot, tmp_path):
    area = QRect(0, 32, 1366, 736)  # a 1366 x 768 screen less a 32 px top bar
    with opened_window(qtbot, tmp_path, show=False) as window:
        window.setGeometry(500, 400, 1300, 700)  # smaller than the area, but hanging off its corner
        show_fitted(window, area)
        qtbot.waitExposed(window)
        assert area.contains(window.frameGeometry()), window.frameGeometry()
        assert (window.width(), window.height()) == (1300, 700)  # moved, not shrunk: it fitted


def test_the_generate_form_scrolls_and_its_button_can_be_reached(qtbot, tmp_path):
    with opened_window(qtbot, tmp_path, size=(1366, 700)) as window:
        window.generate_dock.raise_()
        area = window.generate_dock.widget()
        assert isinstance(area, QScrollArea) and area.widget() is window.generate_panel
        assert area.widgetResizable()
        button = window.generate_panel.generate_button
        qtbot.waitUntil(lambda: area.verticalScrollBar().maximum() > 0)  # the form is taller than the dock
        area.verticalScrollBar().setValue(0)
        area.ensureWidgetVisible(button)
        top_left = button.mapTo(area.viewport(), QPoint(0, 0))
        assert area.viewport().rect().contains(QRect(top_left, button.size())), (top_left, button.size())
        assert area.verticalScrollBar().value() > 0  # reaching it took scrolling
        # and the form is not wider than the dock: no sideways scrolling to reach the fields
        assert area.horizontalScrollBar().maximum() == 0
        # a choice cut off by the narrow dock can be read whole in its tooltip
        panel = window.generate_panel
        panel.options.recipe_combo.setCurrentIndex(panel.options.recipe_combo.count() - 1)
        assert panel.options.recipe_combo.toolTip() == panel.options.recipe_combo.currentText()


def test_the_inpaint_form_scrolls_too(qtbot, tmp_path):
    with opened_window(qtbot, tmp_path, size=(1366, 700)) as window:
        area = window.inpaint_panel.parentWidget().parentWidget()
        assert isinstance(area, QScrollArea) and area.objectName() == "inpaintScroll"
        # ... up and down only: its widest row (the mask tools) fits the dock's width
        generate = window.generate_panel.parentWidget().parentWidget()
        assert isinstance(generate, QScrollArea)
        widest = area.widget().minimumSizeHint().width()
        assert widest <= generate.widget().minimumSizeHint().width(), widest


def test_the_model_manager_fits_and_is_moved_inside_the_screen(qtbot, hf_home):
    dialog = ModelManagerDialog(first_run=True)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert _fits(dialog.minimumSizeHint(), USABLE), dialog.minimumSizeHint()
    dialog.move(900, 500)  # opened over a window near the screen's corner
    frame = fit_to_screen(dialog, SCREEN)
    assert SCREEN.contains(frame), frame
    small = QRect(0, 0, 900, 600)  # and a screen smaller than its default size: it shrinks
    frame = fit_to_screen(dialog, small)
    assert small.contains(frame) and dialog.width() < 1000, frame


def test_the_settings_dialog_fits_the_screen(qtbot):
    dialog = SettingsDialog(EngineSettings())
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert _fits(dialog.minimumSizeHint(), USABLE), dialog.minimumSizeHint()
    assert _fits(dialog.size(), USABLE), dialog.size()
    dialog.move(1200, 600)
    assert SCREEN.contains(fit_to_screen(dialog, SCREEN))


def test_dialogs_draw_an_edge_of_their_own(qtbot):
    """The dark style sheet gives dialogs a border: with no window manager's frame they would melt into the
    window behind them (same background)."""
    from ui.theme import STYLE_SHEET

    with dark_theme(QApplication.instance()):
        dialog = SettingsDialog(EngineSettings())
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        image = dialog.grab().toImage()
        edge, inside = image.pixelColor(0, image.height() // 2), image.pixelColor(3, image.height() // 2)
        assert edge != inside, (edge.name(), inside.name())
        assert edge.lightness() > inside.lightness()  # a lighter line around the dark dialog
    assert "QDialog {" in STYLE_SHEET.read_text(encoding="utf-8")


# ---------------------------------------------------------------------- screenshots on a 1366 x 768 X server
@pytest.mark.slow
@needs_xvfb
def test_screenshots_on_a_1366x768_x_server(tmp_path):
    from PySide6.QtGui import QImage

    for old in SCREENSHOTS.glob("small_screen_*.png"):
        old.unlink()
    env = {SHOT_ENV: "1", "AIPROD_DATA_DIR": str(tmp_path / "data"), "HF_HOME": str(tmp_path / "hf-home")}
    run_under_xvfb(f"{Path(__file__).relative_to(Path(__file__).parents[2])}::test_small_screen_shots", env,
                   screen="1366x768x24")  # fmt: skip
    for name in ("small_screen_first_start.png", "small_screen_generate_button.png",
                 "small_screen_model_manager.png", "small_screen_settings.png",
                 "small_screen_clip_done.png"):  # fmt: skip
        image = QImage(str(SCREENSHOTS / name))
        assert (image.width(), image.height()) == (1366, 768), name


class _InstantEngine:
    model_name, identity, quantization = "fake", "fake", "none"

    def generate(self, request, on_progress=None, on_preview=None, cancel=None):  # noqa: ANN001, ANN201
        import numpy as np

        from engine.request import GenerationResult

        frames = np.full((request.num_frames, request.height, request.width, 3), 0.5, np.float32)
        return GenerationResult(frames, np.zeros((2, 9000), np.float32), 48000, request.fps, {})


@pytest.mark.skipif(os.environ.get(SHOT_ENV) != "1", reason="run under xvfb-run by the test above")
def test_small_screen_shots(qtbot, tmp_path, hf_home):
    assert QGuiApplication.platformName() == "xcb"
    area = QGuiApplication.primaryScreen().availableGeometry()
    assert (area.width(), area.height()) == (1366, 768)

    def shot(name: str) -> None:
        qtbot.wait(300)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        assert QGuiApplication.primaryScreen().grabWindow(0).save(str(SCREENSHOTS / name))

    engine = lambda *_: _InstantEngine()  # noqa: E731 -- a clip at once, for the "Done" line
    with (
        dark_theme(QApplication.instance()),
        opened_window(qtbot, tmp_path, show=False, engine_factory=engine) as window,
    ):
        show_fitted(window)  # as ui.main does
        qtbot.waitExposed(window)
        assert area.contains(window.frameGeometry())
        shot("small_screen_first_start.png")
        scroll = window.generate_dock.widget()
        scroll.ensureWidgetVisible(window.generate_panel.generate_button)
        shot("small_screen_generate_button.png")
        manager = window.open_model_manager()
        qtbot.waitExposed(manager)
        assert area.contains(manager.frameGeometry())
        shot("small_screen_model_manager.png")
        manager.close()
        settings = window.open_settings()
        qtbot.waitExposed(settings)
        assert area.contains(settings.frameGeometry())
        shot("small_screen_settings.png")
        settings.close()
        window.apply_engine_settings(EngineSettings(developer_tiny=True))
        panel = window.generate_panel
        tiny_job(panel, "a lighthouse at dusk, waves, wind")
        with qtbot.waitSignal(window.jobs.job_finished, timeout=60_000):
            panel.request_generate()
        assert panel.message_label.text().startswith("Done:")
        qtbot.wait(200)  # the longer message is laid out first
        scroll.ensureWidgetVisible(panel.generate_button)
        shot("small_screen_clip_done.png")
