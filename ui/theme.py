"""The dark look: Fusion style, a dark palette for everything Qt draws itself, and a small style sheet."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from app.package_data import resources_dir

# resources/ ships as package data (app.resources; a source checkout reads the top-level folder).
STYLE_SHEET = resources_dir() / "style" / "dark.qss"

_WINDOW = QColor(37, 38, 41)
_BASE = QColor(27, 28, 30)
_TEXT = QColor(222, 223, 226)
_DISABLED_TEXT = QColor(120, 122, 128)
_ACCENT = QColor(64, 140, 230)


def dark_palette() -> QPalette:
    palette = QPalette()
    role = QPalette.ColorRole
    palette.setColor(role.Window, _WINDOW)
    palette.setColor(role.WindowText, _TEXT)
    palette.setColor(role.Base, _BASE)
    palette.setColor(role.AlternateBase, _WINDOW)
    palette.setColor(role.ToolTipBase, _BASE)
    palette.setColor(role.ToolTipText, _TEXT)
    palette.setColor(role.PlaceholderText, _DISABLED_TEXT)
    palette.setColor(role.Text, _TEXT)
    palette.setColor(role.Button, _WINDOW)
    palette.setColor(role.ButtonText, _TEXT)
    palette.setColor(role.BrightText, QColor(255, 90, 90))
    palette.setColor(role.Link, _ACCENT.lighter(120))
    palette.setColor(role.Highlight, _ACCENT)
    palette.setColor(role.HighlightedText, QColor(255, 255, 255))
    palette.setColor(role.Light, _WINDOW.lighter(140))
    palette.setColor(role.Midlight, _WINDOW.lighter(120))
    palette.setColor(role.Mid, _WINDOW.darker(130))
    palette.setColor(role.Dark, _WINDOW.darker(160))
    palette.setColor(role.Shadow, QColor(0, 0, 0))
    for disabled_role in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, disabled_role, _DISABLED_TEXT)
    return palette


def apply_dark_theme(app: QApplication) -> None:
    app.setStyle(QStyleFactory.create("Fusion"))
    app.setPalette(dark_palette())
    app.setStyleSheet(STYLE_SHEET.read_text(encoding="utf-8"))
