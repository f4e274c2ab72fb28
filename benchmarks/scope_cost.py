"""Scope cost: computing each scope of one frame, at full and at the playing resolution (every 4th row and
column), against the frame's own decode + grade (the export's renderer on a graded 1080p clip), as a ratio.

The reference is what the Scopes panel's worker does before a scope when the playhead rests:
``ExportFrameRenderer.render`` (16-bit decode, a look + CDL + exposure grade on the CPU OpenColorIO
processor). A ratio of 0.5 means the scope adds half a frame's decode + grade. Playing, the panel skips
that render (it takes the player's graded 8-bit frame), so the reduced row also times taking every 4th
pixel of the player's QImage. The UI thread's share (reading the request from the document, turning the
scope picture into a QImage) is timed too: it must stay within a few milliseconds.

Goals: reduced-resolution scope <= 0.1 of decode + grade (it must keep up with playback); full-resolution
scope <= 1.0 (a paused frame's scope arrives within twice the render); UI thread <= 4 ms per frame.

    .venv/bin/python benchmarks/scope_cost.py                   # 1920x1080, 8 frames, 3 runs
    .venv/bin/python benchmarks/scope_cost.py --dry-run --out /tmp   # 64x48, 3 frames, 1 run
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common  # noqa: I001  (sibling module: benchmarks/ is on sys.path when run as a script)
import export_speed
import grading_overhead

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
REDUCED_STEP = 4
GOALS = {"reduced_ratio": 0.1, "full_ratio": 1.0, "ui_thread_ms": 4.0}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--frames", type=int, default=8, help="frames timed per run (default 8)")
    parser.add_argument("--runs", type=int, default=3, help="passes over the frames (default 3)")
    parser.add_argument("--dry-run", action="store_true", help="tiny clip, one run: checks the script")
    parser.add_argument(
        "--out", default=None, help="result folder or .json file (default benchmarks/results/)"
    )
    args = parser.parse_args(argv)
    if args.dry_run:
        args.width, args.height, args.frames, args.runs = 64, 48, 3, 1
    return args


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def main(argv: list[str] | None = None) -> dict[str, Any]:
    import numpy as np
    from PySide6.QtGui import QImage

    import app  # noqa: F401  (the PySide6 guard, before anything else loads Qt)
    from app.color import scopes
    from app.color.scopes import ExportFrameRenderer, FrameRequest
    from app.document import TrackKind
    from ui.scopes import qimage_rgb, rgb_qimage

    args = parse_args(argv)
    grade = grading_overhead.benchmark_grade()
    render_ms: list[float] = []
    request_ms: list[float] = []
    to_qimage_ms: list[float] = []
    full_ms: dict[str, list[float]] = {mode: [] for mode in scopes.MODES}
    reduced_ms: dict[str, list[float]] = {mode: [] for mode in scopes.MODES}
    renderer = ExportFrameRenderer()
    with tempfile.TemporaryDirectory(prefix="aiprod-scopes-") as tmp:
        source = export_speed.make_source(Path(tmp) / "source.mp4", args.width, args.height, args.frames + 1)
        doc = export_speed.timeline_for(source)
        clip = doc.clips(doc.tracks(TrackKind.VIDEO)[0].id)[0]
        doc.set_clip_grade(clip.id, grade)
        renderer.render(FrameRequest.read(doc, args.frames))  # open the decoder, build the processors
        try:
            for _run in range(args.runs):
                for index in range(args.frames):
                    started = time.perf_counter()
                    request = FrameRequest.read(doc, index)
                    request_ms.append(_ms(started))
                    started = time.perf_counter()
                    frame = renderer.render(request)
                    render_ms.append(_ms(started))
                    player = np.clip(frame * 255 + 0.5, 0, 255).astype(np.uint8)  # what the player hands over
                    height, width = player.shape[:2]
                    image = QImage(player.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
                    for mode in scopes.MODES:
                        started = time.perf_counter()
                        scope = scopes.compute(frame, mode, 1)
                        full_ms[mode].append(_ms(started))
                        started = time.perf_counter()
                        scopes.compute(qimage_rgb(image, REDUCED_STEP), mode, 1)
                        reduced_ms[mode].append(_ms(started))
                        started = time.perf_counter()
                        rgb_qimage(scope.image)
                        to_qimage_ms.append(_ms(started))
        finally:
            renderer.close()

    reference = _common.median(render_ms)
    cases = []
    for mode in scopes.MODES:
        full, reduced = _common.median(full_ms[mode]), _common.median(reduced_ms[mode])
        cases.append({
            "mode": mode,
            "full_ms": [round(v, 3) for v in full_ms[mode]],
            "reduced_ms": [round(v, 3) for v in reduced_ms[mode]],
            "full_median_ms": round(full, 3),
            "reduced_median_ms": round(reduced, 3),
            "full_ratio": round(full / reference, 4),
            "reduced_ratio": round(reduced / reference, 4),
        })  # fmt: skip
        print(f"{mode:12s} full {full:7.1f} ms ({full / reference:5.2f}x decode+grade)   "
              f"1/{REDUCED_STEP} {reduced:6.1f} ms ({reduced / reference:5.3f}x)")  # fmt: skip
    ui_ms = _common.median(request_ms) + _common.median(to_qimage_ms)
    worst_ui = max(request_ms) + max(to_qimage_ms)
    goal = GOALS["ui_thread_ms"]
    print(f"reference: decode + grade {reference:.1f} ms per {args.width}x{args.height} frame; UI thread "
          f"per scope {ui_ms:.2f} ms median, {worst_ui:.2f} ms worst (goal <= {goal} ms)")  # fmt: skip
    payload = {
        **_common.header("scope_cost", args.dry_run, export_speed.machine()),
        "settings": {
            "width": args.width,
            "height": args.height,
            "frames": args.frames,
            "runs": args.runs,
            "reduced_step": REDUCED_STEP,
            "grade": grade,
        },
        "goals": GOALS,
        "reference": {
            "what": "ExportFrameRenderer.render: 16-bit decode + CPU OCIO grade of one frame",
            "render_ms": [round(v, 3) for v in render_ms],
            "render_median_ms": round(reference, 3),
        },
        "ui_thread": {
            "request_ms": [round(v, 4) for v in request_ms],
            "to_qimage_ms": [round(v, 4) for v in to_qimage_ms],
            "request_median_ms": round(_common.median(request_ms), 4),
            "to_qimage_median_ms": round(_common.median(to_qimage_ms), 4),
            "median_ms": round(ui_ms, 4),
            "worst_ms": round(worst_ui, 4),
        },
        "cases": cases,
    }
    return _common.save(payload, args.out, args.dry_run)


if __name__ == "__main__":
    main()
