"""A screenshot of the main window, kept under artifacts/screenshots for a human to look at."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QApplication

from ui.main_window import MainWindow
from ui.theme import apply_dark_theme, dark_palette

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def test_main_window_screenshot(qtbot):
    app = QApplication.instance()
    previous = (app.style().name(), app.palette(), app.styleSheet())
    apply_dark_theme(app)
    try:
        window = MainWindow()
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        qtbot.wait(50)  # let posted layout requests (status bar) settle before grabbing
        image = window.grab().toImage()
    finally:
        app.setStyle(previous[0])
        app.setPalette(previous[1])
        app.setStyleSheet(previous[2])

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / "main_window.png"
    assert image.save(str(path))

    assert (image.width(), image.height()) == (window.width(), window.height())
    colours = {image.pixel(x, y) for x in range(0, image.width(), 4) for y in range(0, image.height(), 4)}
    assert len(colours) > 20, "the window rendered as (nearly) one flat colour"
    # The dark theme took: the window background is the palette's window colour.
    assert image.pixelColor(image.width() // 2, image.height() - 40) == dark_palette().window().color()
