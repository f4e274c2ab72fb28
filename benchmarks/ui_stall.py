"""How long does the UI event loop stall while a generation runs? Goal: at most 50 ms.

A 5 ms QTimer ticks in the GUI thread's event loop; the longest gap between two ticks is the longest time
the UI could not repaint or react. Measured twice with the tiny model, already loaded (the app keeps it
loaded between jobs):

* queued: the generation goes through `app.jobs.JobQueue`, i.e. the engine worker's long-lived QThread,
  including writing the lossless master, exactly as the studio runs it;
* reference: the same generation and master run directly on the GUI thread (what the queue exists to
  avoid), which stalls for the whole generation.

    .venv/bin/python benchmarks/ui_stall.py               # 128x128x17, 8 steps, 3 runs each
    .venv/bin/python benchmarks/ui_stall.py --dry-run --out /tmp
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere: the repo's packages

import numpy as np  # noqa: E402
from _common import load_average, machine_info, now_utc, run_with_threads, today, write_json  # noqa: E402

GOAL_MS = 50.0
TICK_MS = 5


class StallMeter:
    """Records when a 5 ms timer actually fires; the gaps are the event loop's stalls (plus the tick)."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.ticks: list[float] = []

    def _tick(self) -> None:
        self.ticks.append(time.perf_counter())

    def start(self) -> None:
        self.ticks = [time.perf_counter()]
        self.timer.start()

    def stop(self) -> dict[str, Any]:
        self.timer.stop()
        self.ticks.append(time.perf_counter())
        gaps = np.diff(np.array(self.ticks)) * 1000.0
        return {
            "max_ms": round(float(gaps.max()), 2),
            "p99_ms": round(float(np.percentile(gaps, 99)), 2),
            "median_ms": round(float(np.median(gaps)), 2),
            "ticks": len(gaps),
            "wall_s": round(self.ticks[-1] - self.ticks[0], 3),
        }


def _spec(args):
    from app.jobs import JobSpec

    return JobSpec(
        prompt="a cat on a beach at sunset",
        width=args.width,
        height=args.height,
        frames=args.frames,
        fps=24.0,
        steps=args.steps,
        seed=0,
        model="tiny",
        preview_every=2,
    )


def run_queued(engine, args, media: Path) -> dict[str, Any]:
    from PySide6.QtCore import QEventLoop, QTimer

    from app.jobs import EngineSettings, JobQueue

    queue = JobQueue(EngineSettings(developer_tiny=True), media, engine_factory=lambda *_: engine)
    loop, meter, outcome = QEventLoop(), StallMeter(), {}
    queue.job_finished.connect(lambda *_: (outcome.setdefault("status", "done"), loop.quit()))
    queue.job_failed.connect(lambda _id, msg: (outcome.setdefault("status", f"failed: {msg}"), loop.quit()))
    previews = []
    queue.job_changed.connect(lambda job_id: previews.append(job_id) if queue.job(job_id).preview else None)
    meter.start()
    QTimer.singleShot(0, lambda: queue.submit(_spec(args)))
    loop.exec()
    result = meter.stop()
    queue.shutdown()
    result.update(status=outcome.get("status"), preview_updates=len(previews))
    return result


def run_reference(engine, args, media: Path) -> dict[str, Any]:
    from PySide6.QtCore import QEventLoop, QTimer

    from app.jobs import build_media_item, generation_record

    loop, meter = QEventLoop(), StallMeter()
    spec = _spec(args)

    def blocking() -> None:
        result = engine.generate(spec.to_request(), lambda *_: None, lambda *_: None)
        build_media_item(media, spec, result, generation_record(spec, engine))
        QTimer.singleShot(20, loop.quit)  # a few ticks after, so the stall is closed by a tick

    meter.start()
    QTimer.singleShot(0, blocking)
    loop.exec()
    return dict(meter.stop(), status="done")


def run(args) -> dict[str, Any]:
    from PySide6.QtGui import QGuiApplication

    from engine import Engine

    _app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 -- keeps the app alive
    engine = Engine.tiny(device="cpu")
    queued, reference = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(args.runs):
            queued.append(run_queued(engine, args, Path(tmp) / f"q{index}"))
            last = queued[-1]
            print(f"queued    run {index + 1}: max {last['max_ms']:7.1f} ms, p99 {last['p99_ms']:6.1f} ms")
            if not args.skip_reference:
                reference.append(run_reference(engine, args, Path(tmp) / f"r{index}"))
                print(f"reference run {index + 1}: max {reference[-1]['max_ms']:7.1f} ms")
    worst = max(r["max_ms"] for r in queued)
    payload = {
        "benchmark": "ui_stall",
        "date": today(),
        "created": now_utc(),
        "dry_run": args.dry_run,
        "goal_ms": GOAL_MS,
        "tick_ms": TICK_MS,
        "settings": {
            "size": f"{args.width}x{args.height}x{args.frames}",
            "steps": args.steps,
            "runs": args.runs,
            "threads": args.threads,
            "preview_every": 2,
        },
        "machine": machine_info(),
        "load_average": load_average(),
        "queued": queued,
        "reference": reference,
        "queued_worst_max_ms": worst,
        "queued_median_p99_ms": float(np.median([r["p99_ms"] for r in queued])),
        "reference_worst_max_ms": max((r["max_ms"] for r in reference), default=None),
        "meets_goal": worst <= GOAL_MS,
    }
    return payload


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--height", type=int, default=128)
    parser.add_argument("--frames", type=int, default=17)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: torch's default)")
    parser.add_argument("--skip-reference", action="store_true", help="only the queued measurement")
    parser.add_argument("--dry-run", action="store_true", help="64x64x9, 2 steps, 1 run: checks the script")
    parser.add_argument("--out", help="folder or .json file (default benchmarks/results/)")
    parser.add_argument("--tag", default="")
    parser.add_argument("--machine", default="vm", help="machine label in the result file name")
    args = parser.parse_args(argv)
    if args.dry_run:
        args.width, args.height, args.frames, args.steps, args.runs = 64, 64, 9, 2, 1
    payload = run_with_threads(run, args)
    path = write_json(payload, args.out, f"ui_stall-{args.machine}", args.tag)
    ref = payload["reference_worst_max_ms"]
    print(
        f"longest event-loop stall while generating: {payload['queued_worst_max_ms']:.1f} ms "
        f"(p99 {payload['queued_median_p99_ms']:.1f} ms; goal <= {GOAL_MS:.0f} ms: "
        f"{'met' if payload['meets_goal'] else 'NOT met'}); on the UI thread: "
        f"{'n/a' if ref is None else f'{ref:.1f} ms'}"
    )
    print(f"wrote {path}")
    return payload


if __name__ == "__main__":
    main()
