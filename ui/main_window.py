"""The main window. For now a shell: menus, a placeholder where the editor will go, a status bar."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QLabel,
    QMainWindow,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from app import __version__

LTX2_ATTRIBUTION = "Video and audio generation uses LTX-2 by Lightricks, under the LTX-2 Community License."


def about_text() -> str:
    return (
        f"<h3>AIPROD Studio {__version__}</h3>"
        "<p>Local AI video generation, editing, grading and delivery.</p>"
        f"<p>{LTX2_ATTRIBUTION}</p>"
        "<p>Third-party licences are listed in the NOTICE file.</p>"
    )


class PlaceholderPanel(QWidget):
    """Stands where the editor will be, and says how to generate clips until then."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        card = QFrame(objectName="placeholderCard")
        title = QLabel("AIPROD Studio", objectName="placeholderTitle")
        # Explicit line breaks, no word wrap: a wrapping label inside an aligned layout gets clipped.
        body = QLabel(
            "The editor arrives in the next release:\n"
            "timeline, viewer, grading and export.\n\n"
            "Until then, generate clips from the command line:",
            objectName="placeholderBody",
        )
        command = QLabel("aiprod-cli generate --help", objectName="placeholderCommand")
        command.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        card_layout = QVBoxLayout(card)
        card_layout.setContentsMargins(36, 32, 36, 32)
        card_layout.setSpacing(14)
        card_layout.addWidget(title)
        card_layout.addWidget(body)
        card_layout.addWidget(command, alignment=Qt.AlignmentFlag.AlignLeft)

        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(card, alignment=Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(1)


class MainWindow(QMainWindow):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("AIPROD Studio")
        self.resize(1100, 680)
        self.setCentralWidget(PlaceholderPanel(self))

        self.quit_action = QAction("&Quit", self, objectName="quitAction")
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.quit_action.triggered.connect(QApplication.closeAllWindows)

        self.about_action = QAction("&About AIPROD Studio", self, objectName="aboutAction")
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.about_action.triggered.connect(self.show_about)

        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.quit_action)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self.about_action)

        self.statusBar().addPermanentWidget(QLabel(f"version {__version__}", objectName="versionLabel"))
        self.statusBar().showMessage("Ready")

    def show_about(self) -> QMessageBox:
        # open() rather than exec(): window-modal without a nested event loop.
        box = QMessageBox(QMessageBox.Icon.NoIcon, "About AIPROD Studio", about_text(), parent=self)
        box.setObjectName("aboutBox")
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box
