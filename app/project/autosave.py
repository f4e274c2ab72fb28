"""Autosave: a few seconds after the last edit, write the recovery copy.

Debounced with a single-shot QTimer restarted on every change, so a burst of edits (a drag sends dozens)
costs one write, at most ``delay_ms`` after the edits stop. A kill -9 loses at most that window.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from app.errors import ProjectError

AUTOSAVE_DELAY_MS = 3000


class Autosave(QObject):
    """Calls ``write()`` once, ``delay_ms`` after the last ``schedule()``."""

    saved = Signal()
    failed = Signal(str)  # a message for the status bar; autosave keeps trying on the next edit

    def __init__(
        self, write: Callable[[], object], delay_ms: int = AUTOSAVE_DELAY_MS, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._write = write
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self.flush)

    @property
    def pending(self) -> bool:
        return self._timer.isActive()

    def schedule(self) -> None:
        self._timer.start()  # restarts a running timer: that is the debounce

    def cancel(self) -> None:
        self._timer.stop()

    def flush(self) -> None:
        """Write now (also used when the timer fires)."""
        self._timer.stop()
        try:
            self._write()
        except ProjectError as exc:
            self.failed.emit(str(exc))
            return
        self.saved.emit()
