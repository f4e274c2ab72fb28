"""Autosave: a few seconds after the last edit, write the recovery copy, and never later than a maximum
wait after the first unsaved edit.

Debounced with a single-shot QTimer restarted on every change, so a burst of edits (a drag sends dozens)
costs one write ``delay_ms`` after the edits stop. Steady editing (an edit every second, say) would keep
restarting that timer forever, so a second single-shot timer, started by the first edit after a write and
never restarted, bounds the wait (Kdenlive and Resolve do the same): a kill -9 loses at most the edits
of the last ``max_wait_ms`` (plus the time one write takes).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from app.errors import ProjectError

AUTOSAVE_DELAY_MS = 3000  # quiet time after the last edit
AUTOSAVE_MAX_WAIT_MS = 10000  # the promise: the first unsaved edit is on disk within this long


class Autosave(QObject):
    """Calls ``write()`` once, ``delay_ms`` after the last ``schedule()`` or ``max_wait_ms`` after the first
    ``schedule()`` since the last write, whichever comes first."""

    saved = Signal()
    failed = Signal(str)  # a message for the status bar; autosave keeps trying on the next edit

    def __init__(
        self,
        write: Callable[[], object],
        delay_ms: int = AUTOSAVE_DELAY_MS,
        parent: QObject | None = None,
        *,
        max_wait_ms: int = AUTOSAVE_MAX_WAIT_MS,
    ) -> None:
        super().__init__(parent)
        self._write = write
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self.flush)
        # A maximum wait shorter than the debounce would make the debounce pointless; never below it.
        self._deadline = QTimer(self)
        self._deadline.setSingleShot(True)
        self._deadline.setInterval(max(max_wait_ms, delay_ms))
        self._deadline.timeout.connect(self.flush)

    @property
    def delay_ms(self) -> int:
        return self._timer.interval()

    @property
    def max_wait_ms(self) -> int:
        return self._deadline.interval()

    @property
    def pending(self) -> bool:
        return self._timer.isActive() or self._deadline.isActive()

    def schedule(self) -> None:
        self._timer.start()  # restarts a running timer: that is the debounce
        if not self._deadline.isActive():  # never restarted: that is the bound
            self._deadline.start()

    def cancel(self) -> None:
        self._timer.stop()
        self._deadline.stop()

    def flush(self) -> None:
        """Write now (also used when either timer fires)."""
        self.cancel()
        try:
            self._write()
        except ProjectError as exc:
            self.failed.emit(str(exc))
            return
        self.saved.emit()
