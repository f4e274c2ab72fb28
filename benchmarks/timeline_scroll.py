"""Timeline scroll/zoom: the worst frame time of TimelineView on a 100-clip document, offscreen.

A "frame" is one programmatic scroll or zoom step followed by a synchronous repaint of the viewport (and
the ruler), timed end to end. The pass scrolls across the whole timeline, zooms in and out around the
playhead, and scrolls again while zoomed in. Two variants alternate after a warm-up of each:

* ours: the view as shipped (items kept between changes, only re-positioned; lazy, cached art);
* reference: the same pass, but every step first throws the scene's clip items away and rebuilds them from
  the document (what a view without item caching does on each change).

Clip art comes from a stand-in ThumbnailProvider answering every request from memory on the next event
loop turn (synthetic 16:9 images and peaks), so painting thumbnails and waveforms is part of the cost while
decoding is not (the real provider decodes on its thread pool, off the UI thread). `--no-art` leaves it out.

    .venv/bin/python benchmarks/timeline_scroll.py              # 5 alternating runs
    .venv/bin/python benchmarks/timeline_scroll.py --dry-run    # one short run of each, for the tests
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from fractions import Fraction
from typing import Any

import _common  # noqa: I001  (sibling module: benchmarks/ is on sys.path when run as a script)

GOAL_MS = 50.0
CLIPS = 100


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed passes of each variant (default 5)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--clips", type=int, default=CLIPS)
    parser.add_argument("--steps", type=int, default=60, help="scroll steps per sweep (default 60)")
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--height", type=int, default=420)
    parser.add_argument("--no-art", action="store_true", help="no thumbnails or waveforms")
    parser.add_argument("--dry-run", action="store_true", help="1 run, few steps, small clip count")
    parser.add_argument(
        "--out", default=None, help="result folder or .json file (default benchmarks/results/)"
    )
    args = parser.parse_args(argv)
    if args.dry_run:
        args.runs, args.warmup, args.steps, args.clips = 1, 0, 6, min(args.clips, 24)
    if args.runs < 1 or args.warmup < 0 or args.steps < 2 or args.clips < 4:
        parser.error("--runs >= 1, --warmup >= 0, --steps >= 2, --clips >= 4")
    return args


def qt_app():
    import app  # noqa: F401 - applies the PySide6 refcount guard (app/pyside_refcount.py)

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # A benchmark of a widget needs the widget application (pyproject exempts only ui/ and tests/ui/).
    from PySide6.QtWidgets import QApplication  # noqa: TID251

    return QApplication.instance() or QApplication([])


def make_provider():
    """A ThumbnailProvider stand-in: answers every request from memory on the next event-loop turn
    (the real one answers at once when cached, else later from its thread pool)."""
    import numpy as np
    from PySide6.QtCore import QObject, QTimer, Signal
    from PySide6.QtGui import QColor, QImage

    class InstantProvider(QObject):
        ready = Signal(object, QImage)
        waveform_ready = Signal(object, object)

        def __init__(self) -> None:
            super().__init__()
            self.requests = 0

        def request_thumbnail(self, path: str, index: int = 0, height: int = 72) -> None:
            self.requests += 1
            key = (path, index, height)
            image = QImage(height * 16 // 9, height, QImage.Format.Format_RGB32)
            image.fill(QColor.fromHsv((index * 7) % 360, 120, 170))
            QTimer.singleShot(0, lambda: self.ready.emit(key, image))

        def request_waveform(self, path: str, buckets: int) -> None:
            self.requests += 1
            key = (path, buckets)
            t = np.linspace(0, 60, buckets, dtype=np.float32)
            hi = (0.2 + 0.7 * np.abs(np.sin(t))).astype(np.float32)
            peaks = np.stack([-hi, hi], axis=1)
            QTimer.singleShot(0, lambda: self.waveform_ready.emit(key, peaks))

    return InstantProvider()


def build_document(clips: int) -> Any:
    """`clips` clips over V1, V2, A1, A2 (linked A/V pairs plus music), no media files needed."""
    import opentimelineio as otio

    from app.document import MediaItem, TimelineDocument, TrackKind
    from app.media.info import MediaInfo

    rate = 24
    doc = TimelineDocument(name="bench", rate=rate)
    doc.add_track(TrackKind.VIDEO)
    doc.add_track(TrackKind.AUDIO)
    tracks = {t.name: t.id for t in doc.tracks()}

    def media(name: str, video: bool, audio: bool, frames: int = 2400) -> str:
        info = MediaInfo(
            path=f"/bench/{name}.mov",
            container="mov",
            has_video=video,
            has_audio=audio,
            width=1280 if video else 0,
            height=720 if video else 0,
            fps=Fraction(rate) if video else None,
            frame_count=frames if video else 0,
            sample_rate=48000 if audio else 0,
            channels=2 if audio else 0,
            audio_samples=frames * 2000 if audio else 0,
        )
        return doc.add_bin_item(MediaItem(id=name, path=info.path, name=name, info=info))

    def rt(frames: int):
        return otio.opentime.RationalTime(frames, rate)

    made = 0
    at = 0
    index = 0
    while made < clips:
        length = 30 + (index * 37) % 90
        shot = media(f"shot{index:03d}", True, index % 3 != 0)
        span = otio.opentime.TimeRange(rt(24), rt(length))
        made += len(doc.overwrite(shot, tracks["V1"], rt(at), source_range=span))
        if index % 4 == 1 and made < clips:
            title = media(f"title{index:03d}", True, False)
            made += len(
                doc.overwrite(
                    title,
                    tracks["V2"],
                    rt(at + 6),
                    source_range=otio.opentime.TimeRange(rt(0), rt(max(12, length - 12))),
                    with_audio=False,
                )
            )
        if index % 5 == 2 and made < clips:
            music = media(f"music{index:03d}", False, True)
            made += len(
                doc.overwrite(
                    music, tracks["A2"], rt(at), source_range=otio.opentime.TimeRange(rt(0), rt(length * 2))
                )
            )
        at += length
        index += 1
    return doc


def rebuild_all(view) -> None:
    """The reference: drop every clip item and build it again from the document (reaches into the view's
    private item table on purpose: the shipped view never does this)."""
    for item in list(view._items.values()):
        view.scene().removeItem(item)
    view._items.clear()
    view._sync()


def sweep(view, app, steps: int, rebuild: bool) -> list[float]:
    """Scroll across, zoom in/out around the playhead, scroll again zoomed in; each step's ms."""
    bar = view.horizontalScrollBar()
    times: list[float] = []

    def frame(action) -> None:
        begin = time.perf_counter()
        if rebuild:
            rebuild_all(view)
        action()
        view.viewport().repaint()
        times.append((time.perf_counter() - begin) * 1000)
        app.processEvents()  # deliver art that arrived (its repaint is timed by the next step)

    base = 0.5
    view.set_pixels_per_frame(base)
    bar.setValue(0)
    for i in range(steps + 1):
        frame(lambda i=i: bar.setValue(bar.maximum() * i // steps))
    view.set_playhead(int(view.document().duration().value) // 2)
    for _ in range(8):
        frame(view.zoom_in)
    for i in range(steps + 1):
        frame(lambda i=i: bar.setValue(bar.maximum() * i // steps))
    for _ in range(8):
        frame(view.zoom_out)
    return times


def summary(times: list[float]) -> dict[str, float]:
    return {
        "max_ms": max(times),
        "median_ms": statistics.median(times),
        "p95_ms": sorted(times)[int(0.95 * (len(times) - 1))],
        "frames": len(times),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    app = qt_app()
    from PySide6.QtGui import QUndoStack

    from ui.timeline_view import TimelineView

    doc = build_document(args.clips)
    provider = None if args.no_art else make_provider()
    view = TimelineView(doc, QUndoStack(), thumbnails=provider)
    view.resize(args.width, args.height)
    view.show()
    app.processEvents()
    load_before = _common.load_average()
    results: dict[str, list[list[float]]] = {"ours": [], "reference": []}
    order = [("ours", False), ("reference", True)]
    for _ in range(args.warmup):
        for _name, rebuild in order:
            sweep(view, app, args.steps, rebuild)
    for run_index in range(args.runs):
        for name, rebuild in order if run_index % 2 == 0 else order[::-1]:
            results[name].append(sweep(view, app, args.steps, rebuild))
    clip_count = sum(len(doc.clips(t.id)) for t in doc.tracks())
    view.close()
    view.deleteLater()
    app.processEvents()

    ours = [summary(times) for times in results["ours"]]
    reference = [summary(times) for times in results["reference"]]
    worst_ours = max(s["max_ms"] for s in ours)
    worst_ref = max(s["max_ms"] for s in reference)
    payload = {
        "benchmark": "timeline_scroll",
        "date": _common.now_utc(),
        "dry_run": bool(args.dry_run),
        "machine": _common.machine_info(),
        "load_before": load_before,
        "load_after": _common.load_average(),
        "settings": {
            "clips": clip_count,
            "steps": args.steps,
            "runs": args.runs,
            "warmup": args.warmup,
            "size": [args.width, args.height],
            "art": not args.no_art,
            "platform_plugin": os.environ.get("QT_QPA_PLATFORM"),
        },
        "goal_ms": GOAL_MS,
        "ours": ours,
        "reference": reference,
        "ours_times_ms": results["ours"],
        "reference_times_ms": results["reference"],
        "worst_ms": {"ours": worst_ours, "reference": worst_ref},
        "median_of_max_ms": {
            "ours": statistics.median(s["max_ms"] for s in ours),
            "reference": statistics.median(s["max_ms"] for s in reference),
        },
        "art_requests": getattr(provider, "requests", 0),
    }
    print(
        f"timeline_scroll{' (dry run)' if args.dry_run else ''}: {clip_count} clips, "
        f"{ours[0]['frames']} frames per pass, {args.runs} run(s) of each"
    )
    print(
        f"worst frame ours:      {worst_ours:8.1f} ms  (median of runs' max "
        f"{payload['median_of_max_ms']['ours']:.1f} ms; goal {GOAL_MS:.0f} ms: "
        f"{'met' if worst_ours <= GOAL_MS else 'MISSED'})"
    )
    print(f"worst frame reference: {worst_ref:8.1f} ms  (rebuilding every clip item each frame)")
    print(f"ratio reference/ours (worst): {worst_ref / worst_ours:.2f}")
    path = _common.write_json(payload, args.out, "timeline_scroll", "dry-run" if args.dry_run else "")
    print(f"wrote {path}")
    return payload


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return run(parse_args(argv))


if __name__ == "__main__":
    main(sys.argv[1:])
