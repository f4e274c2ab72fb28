"""The export's time left: an exponential moving average of frame times, shown as a steady countdown."""

from __future__ import annotations

from app.export.eta import UNKNOWN, SmoothedEta


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run(frame_times: list[float], total: int) -> list[float]:
    clock = Clock()
    eta = SmoothedEta(clock=clock)
    shown = []
    for done, seconds in enumerate(frame_times, start=1):
        clock.now += seconds
        shown.append(eta.update(done, total))
    return shown


def test_unknown_while_warming_up_then_the_true_time_left_at_a_steady_rate():
    shown = run([0.5] * 10, total=100)
    assert shown[:2] == [UNKNOWN, UNKNOWN]
    assert abs(shown[-1] - 0.5 * 90) < 1e-6
    assert run([0.5] * 100, total=100)[-1] == 0.0


def _raw(times: list[float], total: int) -> list[float]:
    """The renderer's own estimate: elapsed / done x frames left."""
    raw, elapsed = [], 0.0
    for done, seconds in enumerate(times, start=1):
        elapsed += seconds
        raw.append(elapsed / done * (total - done))
    return raw


def test_after_a_change_of_pace_it_finds_the_real_rate_then_counts_down():
    # cheap frames (a gap), then the expensive part: the raw estimate kept growing (0:23, 0:51, 1:04)
    times, total = [0.01] * 20 + [0.5] * 60, 200
    truth = [0.5 * (total - done) for done in range(1, len(times) + 1)]
    shown, raw = run(times, total), _raw(times, total)

    def settled(estimates: list[float]) -> int | None:
        return next(
            (i for i in range(20, len(times)) if all(abs(e - t) < 0.1 * t for e, t in
                                                     zip(estimates[i:], truth[i:], strict=True))),
            None,
        )

    first = settled(shown)
    assert first is not None and first < 20 + 40
    assert settled(raw) is None  # after 60 slow frames the raw one is still far off
    assert all(b <= a + 0.5 for a, b in zip(shown[first:], shown[first + 1:], strict=False))


def test_uneven_frames_give_a_steady_number():
    times, total = [0.1, 0.9] * 40, 200
    shown = run(times, total)[40:]
    assert max(abs(b - a) for a, b in zip(shown, shown[1:], strict=False)) < 2.0
    last_frame = [t * (total - d) for d, t in enumerate(times, start=1)][40:]  # "this frame's pace"
    assert max(abs(b - a) for a, b in zip(last_frame, last_frame[1:], strict=False)) > 50
