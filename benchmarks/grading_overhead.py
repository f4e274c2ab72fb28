"""Grading overhead: a 1080p ProRes 422 HQ export with a look + CDL + exposure grade on the clip against the
same export ungraded, side by side in one run: pipelined and sequential renders, the grade on the CPU
(OpenColorIO's CPU processor) and, where an OpenGL context exists, on the GPU (the viewer's OCIO shader,
app.gl_grading), plus the per-frame cost of grading alone on each. Goal (issue 15): the grade costs under
10 % more. The default renders use the fast path (app.export.fast_path: the grade as FFmpeg's lut3d);
``graded_float_cpu`` and ``graded_gl`` turn it off, so every frame is graded by OpenColorIO's CPU processor
or the GL shader (what a dissolve, title or scaled clip still costs).

The grade is a shipped look (``luts/teal_orange.cube`` or the first there is) at 80 % mix plus a CDL
(slope, offset, power, saturation) and +0.3 stops of exposure. Contenders rotate their order every run.
The GPU column needs a display with OpenGL 3.3 (run under ``xvfb-run -a`` on a headless machine: that is
Mesa's llvmpipe, a *CPU* rasterizer, so its numbers say nothing about a real GPU; the result records the
GL renderer).

    .venv/bin/python benchmarks/grading_overhead.py                 # 1920x1080, 48 frames, 3 runs each
    xvfb-run -a .venv/bin/python benchmarks/grading_overhead.py     # ... with the GL column
    .venv/bin/python benchmarks/grading_overhead.py --dry-run --out /tmp   # 64x48, 6 frames, 1 run
"""

from __future__ import annotations

import argparse
import os
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
CONTENDERS = ("ungraded", "graded_cpu", "graded_float_cpu", "graded_gl", "sequential_ungraded",
              "sequential_graded_cpu")  # fmt: skip
FLOAT_PATH = ("graded_float_cpu", "graded_gl")  # the fast path off: every frame graded by the grader


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--runs", type=int, default=3, help="runs of every contender (default 3)")
    parser.add_argument("--no-gl", action="store_true", help="skip the GPU (OpenGL) grading column")
    parser.add_argument("--dry-run", action="store_true", help="tiny clip, one run: checks the script")
    parser.add_argument(
        "--out", default=None, help="result folder or .json file (default benchmarks/results/)"
    )
    args = parser.parse_args(argv)
    if args.dry_run:
        args.width, args.height, args.frames, args.runs = 64, 48, 6, 1
    return args


def benchmark_grade() -> dict:
    return export_speed.benchmark_grade()


def gl_grader(disabled: bool) -> tuple[Any, str | None]:
    """(GLGrader or None, why not). Needs a display with OpenGL; Qt's offscreen platform has none."""
    if disabled:
        return None, "disabled (--no-gl)"
    if not any(os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY")):
        return None, "no display (run under xvfb-run -a for the GL column)"
    from PySide6.QtGui import QGuiApplication

    global _app
    _app = QGuiApplication.instance() or QGuiApplication([])
    from app.gl_grading import make_gl_grader

    grader = make_gl_grader()
    return (grader, None) if grader is not None else (None, "no OpenGL 3.3 context / float framebuffer")


_app = None


def frame_cost(grader, pipeline, grade, width: int, height: int, runs: int) -> dict[str, Any]:
    """Seconds to grade one frame of random pixels (median of ``runs``) and the difference to the CPU."""
    import numpy as np

    rgb = np.random.default_rng(0).random((height, width, 3), dtype=np.float32)
    reference = pipeline.render(rgb, grade)
    times = []
    out = None
    for _ in range(max(runs, 1) + 1):  # the first builds the processor / shader
        started = time.perf_counter()
        out = grader.grade(pipeline, rgb, grade)
        times.append(time.perf_counter() - started)
    median = _common.median(times[1:])
    return {"median_s": round(median, 4), "ns_per_pixel": round(median / (width * height) * 1e9, 1),
            "max_diff_vs_cpu": float(np.abs(out - reference).max())}  # fmt: skip


def main(argv: list[str] | None = None) -> dict[str, Any]:
    import app  # noqa: F401  (the PySide6 guard, before anything else loads Qt)
    from app.color import Grade, GradePipeline
    from app.export import render_timeline
    from app.export.grading import CpuGrader, FallbackGrader

    args = parse_args(argv)
    grade = benchmark_grade()
    gl, gl_missing = gl_grader(args.no_gl)
    contenders = [c for c in CONTENDERS if c != "graded_gl" or gl is not None]
    times: dict[str, list[float]] = {name: [] for name in contenders}
    cpu: dict[str, list[float]] = {name: [] for name in contenders}  # CPU seconds of every thread of ours
    applied, graders = None, {}
    with tempfile.TemporaryDirectory(prefix="aiprod-grading-") as tmp:
        folder = Path(tmp)
        source = export_speed.make_source(folder / "source.mp4", args.width, args.height, args.frames)
        plain = export_speed.timeline_for(source)
        graded = export_speed.graded_timeline_for(source, grade)
        for run in range(args.runs):
            shift = run % len(contenders)
            for which in contenders[shift:] + contenders[:shift]:
                doc = plain if "ungraded" in which else graded
                mode = "sequential" if which.startswith("sequential") else "pipelined"
                grader = FallbackGrader(gl) if which == "graded_gl" else CpuGrader()
                out = folder / f"{which}.mov"
                started, used = time.perf_counter(), time.process_time()
                report = render_timeline(
                    doc, PRESET, out, mode=mode, grader=grader, fast=which not in FLOAT_PATH
                )
                times[which].append(time.perf_counter() - started)
                cpu[which].append(time.process_time() - used)
                graders[which] = report.grader
                applied = report.graded if which == "graded_cpu" else applied
                out.unlink()
        pipeline = GradePipeline()
        costs = {
            "cpu": frame_cost(CpuGrader(), pipeline, Grade.coerce(grade), args.width, args.height, args.runs)
        }
        if gl is not None:
            costs["gl"] = frame_cost(gl, pipeline, Grade.coerce(grade), args.width, args.height, args.runs)
    medians = {name: _common.median(values) for name, values in times.items()}
    cpu_medians = {name: _common.median(values) for name, values in cpu.items()}

    def overhead(graded_name: str, plain_name: str) -> float | None:
        if graded_name in medians and plain_name in medians:
            return round(medians[graded_name] / medians[plain_name] - 1.0, 4)
        return None

    results = {
        **{f"{name}_s": [round(v, 3) for v in values] for name, values in times.items()},
        **{f"{name}_median_s": round(value, 3) for name, value in medians.items()},
        "overhead": overhead("graded_cpu", "ungraded"),  # the headline: pipelined, CPU grading
        "overhead_gl": overhead("graded_gl", "ungraded"),
        "overhead_float_path": overhead("graded_float_cpu", "ungraded"),
        "overhead_sequential": overhead("sequential_graded_cpu", "sequential_ungraded"),
        **{f"{name}_cpu_s": [round(v, 3) for v in values] for name, values in cpu.items()},
        **{f"{name}_cpu_median_s": round(value, 3) for name, value in cpu_medians.items()},
        "overhead_cpu_time": round(cpu_medians["graded_cpu"] / cpu_medians["ungraded"] - 1.0, 4),
        "pipeline_speedup_graded": round(medians["sequential_graded_cpu"] / medians["graded_cpu"], 3),
        "graders_used": graders,
        "grade_one_frame": costs,
    }
    print(f"{PRESET} {args.width}x{args.height}x{args.frames}, median of {args.runs}:")
    for name in contenders:
        print(f"  {name:24} {medians[name]:7.2f} s  ({args.frames / medians[name]:5.1f} fps), "
              f"{cpu_medians[name]:7.2f} s CPU")  # fmt: skip
    for label, key in (("pipelined, CPU grading", "overhead"), ("pipelined, GPU grading", "overhead_gl"),
                       ("float path, CPU grading", "overhead_float_path"),
                       ("sequential, CPU grading", "overhead_sequential")):  # fmt: skip
        value = results[key]
        shown = f"{value * 100:+.1f} %" if value is not None else f"n/a ({gl_missing})"
        print(f"  grading overhead, {label:24} {shown}   (goal < 10 %)")
    print(f"  grading overhead in CPU time (pipelined, CPU)    {results['overhead_cpu_time'] * 100:+.1f} %")
    print(f"  pipelined vs sequential (graded)   {results['pipeline_speedup_graded']:.2f}x")
    for who, cost in costs.items():
        print(f"  grade one frame on the {who.upper():3} {cost['median_s'] * 1000:8.1f} ms "
              f"({cost['ns_per_pixel']} ns/pixel, max diff vs CPU "
              f"{cost['max_diff_vs_cpu']:.2e})")  # fmt: skip
    if not applied:
        print("  [the compositor applied no grade]")
    host = dict(export_speed.machine(), gl_renderer=getattr(gl, "renderer", None))
    payload = {
        **_common.header("grading_overhead", args.dry_run, host),
        "settings": {
            "preset": PRESET,
            "width": args.width,
            "height": args.height,
            "frames": args.frames,
            "runs": args.runs,
            "grade": grade,
        },  # fmt: skip
        "gl_missing": gl_missing,
        "grade_applied_by_compositor": applied,
        "goal": "graded export costs < 10 % more than ungraded (1080p ProRes 422 HQ)",
        "notes": "shared 2-core machine with other work running: numbers are noisy; under Xvfb the GL column "
        "is Mesa llvmpipe (a CPU rasterizer), not a GPU",
        "results": results,
    }
    if gl is not None:
        gl.close()
    return _common.save(payload, args.out, args.dry_run)


if __name__ == "__main__":
    main()
