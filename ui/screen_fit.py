"""Fitting the studio on small screens: panels that scroll instead of forcing their height on the window, and
windows and dialogs kept inside the screen's available area (a 1366 x 768 laptop included).

A dock's content inside a :func:`scrolled` area asks the window for almost nothing: the window's minimum
size then comes from the panels that cannot scroll (viewer, timeline), not from the tallest form.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QComboBox, QFrame, QScrollArea, QWidget

# The smallest laptop screen the studio is laid out for (README, "Limits"): its window and first-run
# dialogs fit on it (tests/ui/test_small_screen.py).
SMALL_SCREEN = QSize(1366, 768)
COMBO_MIN_CHARACTERS = 14  # a combo box shows this many characters at its narrowest; the popup shows all


def scrolled(widget: QWidget, name: str) -> QScrollArea:
    """`widget` inside a frameless scroll area that resizes it to its width (a vertical scroll bar appears
    when the dock is shorter than the widget; a horizontal one only below the widget's minimum width)."""
    area = QScrollArea(objectName=name)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    area.setWidget(widget)
    return area


def narrow_combos(widget: QWidget, characters: int = COMBO_MIN_CHARACTERS) -> None:
    """Let every combo box in `widget` shrink to `characters` (Qt's default sizes a combo box to its longest
    item, so one long label such as a recipe's description made the whole Generate panel 650 px wide)."""
    for combo in widget.findChildren(QComboBox):
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(characters)
        if not combo.toolTip():  # a cut-off choice can still be read whole
            combo.setToolTip(combo.currentText())
            combo.currentTextChanged.connect(combo.setToolTip)


def available_geometry(widget: QWidget) -> QRect:
    """The available area (screen less task bars and docks) of the screen `widget` is on, or the primary."""
    screen = widget.screen() or QGuiApplication.primaryScreen()
    return screen.availableGeometry()


def fit_to_screen(widget: QWidget, available: QRect | None = None) -> QRect:
    """Shrink a top-level `widget` (never below its minimum size) and move it so that it lies inside
    `available` (default: its screen's available area), window frame included when it has one already.
    Returns the frame geometry it ends with."""
    area = available if available is not None else available_geometry(widget)
    frame, inner = widget.frameGeometry(), widget.geometry()
    extra_w, extra_h = frame.width() - inner.width(), frame.height() - inner.height()
    minimum = widget.minimumSize().expandedTo(widget.minimumSizeHint())
    width = max(min(widget.width(), area.width() - extra_w), minimum.width())
    height = max(min(widget.height(), area.height() - extra_h), minimum.height())
    if (width, height) != (widget.width(), widget.height()):
        widget.resize(width, height)
    frame = widget.frameGeometry()
    x = min(max(frame.x(), area.left()), max(area.left(), area.right() + 1 - frame.width()))
    y = min(max(frame.y(), area.top()), max(area.top(), area.bottom() + 1 - frame.height()))
    if (x, y) != (frame.x(), frame.y()):
        widget.move(x, y)  # move() places the frame's top-left corner
    return widget.frameGeometry()


def show_fitted(window: QWidget, available: QRect | None = None) -> None:
    """Show the main window inside its screen's available area: shrunk and moved to fit, and again once
    shown, when its frame is known (a window manager may add it later, so a screen smaller than the window
    also asks for it maximized, which the window manager does frame included)."""
    area = available if available is not None else available_geometry(window)
    too_big = window.width() >= area.width() or window.height() >= area.height()
    fit_to_screen(window, area)
    if too_big and not window.isMaximized():
        window.showMaximized()
    else:
        window.show()
    if not window.isMaximized():
        fit_to_screen(window, area)


def width_without_sideways_scrolling(area: QScrollArea) -> int:
    """The width `area` needs to show its widget at the widget's minimum width beside a vertical scroll bar
    (a dock's default width: no horizontal scroll bar until the user narrows it)."""
    bar = area.style().pixelMetric(area.style().PixelMetric.PM_ScrollBarExtent, None, area)
    return area.widget().minimumSizeHint().width() + bar + 2 * area.frameWidth()
