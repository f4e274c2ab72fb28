"""Time left in an export, from an exponential moving average of the time per frame.

The renderer's own estimate (elapsed / done x remaining) swings whenever the cost per frame changes (a gap
renders in microseconds, a dissolve decodes two files): the estimate the dialog showed went 0:23, 0:51,
1:04 on one export. An average weighted towards recent frames follows the real rate within a few dozen
frames, and the shown value moves by a bounded step, so the number reads as a countdown, not a lottery.
"""

from __future__ import annotations

import time
from collections.abc import Callable

UNKNOWN = -1.0  # "estimating...": too few frames to say


class SmoothedEta:
    """``update(done, total)`` after each rendered frame -> seconds left (``UNKNOWN`` while warming up)."""

    def __init__(
        self,
        alpha: float = 0.1,
        warmup_frames: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.alpha = alpha
        self.warmup_frames = warmup_frames
        self._clock = clock
        self._last_time = clock()
        self._last_done = 0
        self._frame_seconds: float | None = None
        self._shown: float | None = None
        self._shown_at = self._last_time

    @property
    def frame_seconds(self) -> float | None:
        """The smoothed time one frame takes, None before the first frame."""
        return self._frame_seconds

    def update(self, done: int, total: int) -> float:
        now = self._clock()
        frames = done - self._last_done
        if frames > 0:
            per_frame = (now - self._last_time) / frames
            if self._frame_seconds is None:
                self._frame_seconds = per_frame
            else:  # several frames at once weigh as several updates
                keep = (1.0 - self.alpha) ** frames
                self._frame_seconds = keep * self._frame_seconds + (1.0 - keep) * per_frame
            self._last_time, self._last_done = now, done
        if done >= total:
            return 0.0
        if done < self.warmup_frames or self._frame_seconds is None:
            return UNKNOWN
        estimate = self._frame_seconds * (total - done)
        if self._shown is None:
            self._shown = estimate
        else:
            # The countdown runs with the clock; the estimate pulls it at most a quarter of the way.
            counted = max(0.0, self._shown - (now - self._shown_at))
            self._shown = counted + 0.25 * (estimate - counted)
        self._shown_at = now
        return self._shown
