"""Composition root: `aiprod-studio` starts here."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

NO_DISPLAY_MESSAGE = (
    "aiprod-studio: no display found; run `xvfb-run make run`, or use the headless `aiprod-cli` (see README)"
)


def display_available(environ: Mapping[str, str] = os.environ, platform: str = sys.platform) -> bool:
    """Whether Qt has somewhere to draw.

    Only Linux needs the check: there Qt aborts with a core dump when no display server is reachable.
    An explicit QT_QPA_PLATFORM (offscreen, xcb, wayland, ...) is the user's choice and is trusted.
    """
    if not platform.startswith("linux"):
        return True
    return any(environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def run_check() -> int:
    """`aiprod-studio --check`: versions, GPU, memory, disk, models and problems with fixes (no window, no
    display needed); exit status 1 when a problem was found."""
    from app.system_check import run_check as check

    settings_problems: list[str] = []
    try:
        from PySide6.QtCore import QCoreApplication, QSettings

        from app.jobs.settings import EngineSettings

        QCoreApplication.setOrganizationName("AIPROD")
        QCoreApplication.setApplicationName("AIPROD Studio")
        settings_problems = EngineSettings.load(QSettings()).detect()
    except ImportError as exc:
        settings_problems = [f"Qt cannot be loaded ({exc}); reinstall the studio (installer or make venv)."]
    report = check(settings_problems)
    print(report.text())
    return 1 if report.problems else 0


def main(argv: list[str] | None = None) -> int:
    if "--check" in (sys.argv if argv is None else argv)[1:]:
        return run_check()
    if not display_available():
        print(NO_DISPLAY_MESSAGE, file=sys.stderr)
        return 2

    # Qt is imported only once we know it can start, so the no-display path stays a one-liner.
    from PySide6.QtWidgets import QApplication

    from app import __version__
    from app.gc_freeze import freeze_long_lived
    from ui.main_window import MainWindow
    from ui.screen_fit import show_fitted
    from ui.theme import apply_dark_theme

    args = list(sys.argv if argv is None else argv)
    # QtMultimedia reports every optional backend library it does not find (pipewire, VA-API); noise.
    os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia.*=false")
    app = QApplication(args)
    app.setApplicationName("AIPROD Studio")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("AIPROD")
    apply_dark_theme(app)

    window = MainWindow()
    show_fitted(window)  # inside the screen's available area, a 1366 x 768 laptop's included
    # Start-up's ~210,000 long-lived objects out of the garbage collector's full collections (0.2-0.4 s
    # stalls otherwise); before any project opens, so a replaced project's document stays collectable.
    freeze_long_lived()
    # A project path on the command line opens it; crash recovery is offered first either way.
    project = next((a for a in args[1:] if not a.startswith("-")), None)
    window.project.start(project)
    from ui.model_manager import offer_on_first_run

    offer_on_first_run(window)  # the model manager, on the first start with no model set
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
