"""Grading overhead: a 1080p ProRes 422 HQ export with a LUT + CDL grade on the clip against the same export
ungraded, alternating graded/ungraded then ungraded/graded per run. Goal: the grade costs under 15 % more.

The grade is a shipped look (``luts/teal_orange.cube`` or the first there is) at 80 % mix plus a CDL
(slope, offset, power, saturation) and +0.3 stops of exposure: the CPU OCIO processors run inside
``TimelineCompositor.frame_at_float`` on the renderer's thread while the encoder thread encodes.

    .venv/bin/python benchmarks/grading_overhead.py                 # 1920x1080, 48 frames, 3 runs each
    .venv/bin/python benchmarks/grading_overhead.py --dry-run --out /tmp   # 64x48, 6 frames, 1 run
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PRESET = "prores_422_hq"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--runs", type=int, default=3, help="graded/ungraded pairs (default 3)")
    parser.add_argument("--dry-run", action="store_true", help="tiny clip, one run: checks the script")
    parser.add_argument(
        "--out", default=None, help="result folder or .json file (default benchmarks/results/)"
    )
    args = parser.parse_args(argv)
    if args.dry_run:
        args.width, args.height, args.frames, args.runs = 64, 48, 6, 1
    return args


def benchmark_grade() -> dict:
    from app.color import CDL, Grade, looks

    names = [look.name for look in looks.available()]
    look = "teal_orange" if "teal_orange" in names else (names[0] if names else None)
    cdl = CDL(slope=(1.08, 1.0, 0.94), offset=(0.01, 0.0, -0.01), power=(0.95, 1.0, 1.05), saturation=1.15)
    return Grade(look=look, lut_mix=0.8, cdl=cdl, exposure=0.3).to_dict()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    import app  # noqa: F401  (the PySide6 guard, before anything else loads Qt)
    from app.document import TrackKind
    from app.export import render_timeline

    args = parse_args(argv)
    grade = benchmark_grade()
    times: dict[str, list[float]] = {"ungraded": [], "graded": []}
    applied = None
    with tempfile.TemporaryDirectory(prefix="aiprod-grading-") as tmp:
        folder = Path(tmp)
        source = export_speed.make_source(folder / "source.mp4", args.width, args.height, args.frames)
        plain = export_speed.timeline_for(source)
        graded = export_speed.timeline_for(source)
        clip = graded.clips(graded.tracks(TrackKind.VIDEO)[0].id)[0]
        graded.set_clip_grade(clip.id, grade)
        for run in range(args.runs):
            order = ("graded", "ungraded") if run % 2 == 0 else ("ungraded", "graded")
            for which in order:
                out = folder / f"{which}.mov"
                started = time.perf_counter()
                report = render_timeline(graded if which == "graded" else plain, PRESET, out)
                times[which].append(time.perf_counter() - started)
                applied = report.graded if which == "graded" else applied
                out.unlink()
    ungraded_s, graded_s = _common.median(times["ungraded"]), _common.median(times["graded"])
    overhead = graded_s / ungraded_s - 1.0
    print(f"{PRESET} {args.width}x{args.height}x{args.frames}: ungraded {ungraded_s:.2f} s, "
          f"graded {graded_s:.2f} s, overhead {overhead * 100:+.1f} % (goal < 15 %)"
          f"{'' if applied else '  [the compositor applied no grade]'}")  # fmt: skip
    payload = {
        "benchmark": "grading_overhead",
        "date": _common.now_utc(),
        "dry_run": args.dry_run,
        "machine": export_speed.machine(),
        "load_average": _common.load_average(),
        "settings": {
            "preset": PRESET,
            "width": args.width,
            "height": args.height,
            "frames": args.frames,
            "runs": args.runs,
            "grade": grade,
        },  # fmt: skip
        "grade_applied_by_compositor": applied,
        "goal": "graded export costs < 15 % more than ungraded (1080p ProRes 422 HQ)",
        "results": {
            "ungraded_s": [round(v, 3) for v in times["ungraded"]],
            "graded_s": [round(v, 3) for v in times["graded"]],
            "ungraded_median_s": round(ungraded_s, 3),
            "graded_median_s": round(graded_s, 3),
            "overhead": round(overhead, 4),
        },
    }
    path = _common.write_json(payload, args.out, "grading_overhead", "dry-run" if args.dry_run else "")
    print(f"grading_overhead: wrote {path}")
    return payload


if __name__ == "__main__":
    main()
