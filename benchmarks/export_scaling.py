"""Does the export's speed grow with the cores it gets? The same graded 1080p export run with 1, 2, 4, ...
of this machine's cores (the process's CPU affinity, as ``taskset`` sets it), side by side with the ffmpeg
command line given the same cores and the same grade (``-vf lut3d``), per core count.

Each run is a child process pinned to its cores before it imports anything, so FFmpeg's thread pools and
the renderer's workers (``app.export.pipeline.usable_cores``) see only those. It prints frames per second
per core count, the speed-up over one core and the ratio to ffmpeg at each count. Issue 15's goal: the
pipelined renderer's speed grows with the cores (on the 2-core development machine only 1 -> 2 can be seen;
record many-core machines' results when one is available).

    .venv/bin/python benchmarks/export_scaling.py                 # 1080p, 48 frames, ProRes 422 HQ, 2 runs
    .venv/bin/python benchmarks/export_scaling.py --dry-run --out /tmp   # 64x48, 6 frames, no ffmpeg
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common  # noqa: I001  (sibling module: benchmarks/ is on sys.path when run as a script)

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--preset", default="prores_422_hq")
    parser.add_argument("--cores", type=int, nargs="+", default=None, help="default: 1, 2, 4, ... and all")
    parser.add_argument("--dry-run", action="store_true", help="tiny clip, one run, no ffmpeg")
    parser.add_argument(
        "--out", default=None, help="result folder or .json file (default benchmarks/results/)"
    )
    # a child run (internal)
    parser.add_argument("--child", choices=["ours", "ffmpeg"], default=None, help=argparse.SUPPRESS)
    parser.add_argument("--source", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--cube", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--target", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.dry_run:
        args.width, args.height, args.frames, args.runs = 64, 48, 6, 1
    return args


def core_counts(available: int) -> list[int]:
    counts, n = [], 1
    while n < available:
        counts.append(n)
        n *= 2
    return counts + [available]


def child(args: argparse.Namespace) -> None:
    """One pinned export; prints one JSON line: wall seconds and CPU seconds."""
    cores = sorted(os.sched_getaffinity(0))
    if args.child == "ffmpeg":
        import export_speed

        wall, cpu = export_speed.time_ffmpeg(
            shutil.which("ffmpeg"), Path(args.source), args.preset, Path(args.target), Path(args.cube)
        )
    else:
        sys.path.insert(0, str(ROOT))
        import export_speed

        import app  # noqa: F401  (the PySide6 guard)
        from app.export.grading import CpuGrader

        doc = export_speed.graded_timeline_for(Path(args.source), export_speed.benchmark_grade())
        wall, cpu = export_speed.time_ours(doc, args.preset, Path(args.target), "pipelined", CpuGrader())
    print(json.dumps({"cores": len(cores), "wall_s": wall, "cpu_s": cpu}))


def run_child(
    kind: str, cores: int, args: argparse.Namespace, source: Path, cube: Path, target: Path
) -> dict:
    command = [sys.executable, str(HERE), "--child", kind, "--preset", args.preset, "--source", str(source),
               "--cube", str(cube), "--target", str(target)]  # fmt: skip

    def pin() -> None:
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:cores]))

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE.parent), str(ROOT)]))
    result = subprocess.run(command, capture_output=True, text=True, preexec_fn=pin, env=env, check=False)  # noqa: PLW1509
    if result.returncode != 0:
        raise SystemExit(
            f"export_scaling: the {kind} run on {cores} core(s) failed:\n{result.stderr[-2000:]}"
        )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.child:
        child(args)
        return {}
    sys.path.insert(0, str(ROOT))
    import export_speed

    available = len(os.sched_getaffinity(0))
    counts = args.cores or core_counts(available)
    ffmpeg = None if args.dry_run else shutil.which("ffmpeg")
    from app.export import presets

    ext = presets.get(args.preset).extension
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="aiprod-export-scaling-") as tmp:
        folder = Path(tmp)
        source = export_speed.make_source(folder / "source.mp4", args.width, args.height, args.frames)
        grade = export_speed.benchmark_grade()
        cube = export_speed.grade_cube(export_speed.timeline_for(source), grade, folder / "grade.cube")
        kinds = ["ours", "ffmpeg"] if ffmpeg else ["ours"]
        for cores in counts:
            walls: dict[str, list[float]] = {kind: [] for kind in kinds}
            cpus: dict[str, list[float]] = {kind: [] for kind in kinds}
            for run in range(args.runs):
                for kind in kinds if run % 2 == 0 else kinds[::-1]:
                    measured = run_child(kind, cores, args, source, cube, folder / f"out-{kind}{ext}")
                    walls[kind].append(measured["wall_s"])
                    cpus[kind].append(measured["cpu_s"])
            entry = {}
            for kind in kinds:
                wall = _common.median(walls[kind])
                entry[kind] = {
                    "wall_s": [round(v, 3) for v in walls[kind]],
                    "median_s": round(wall, 3),
                    "fps": round(args.frames / wall, 2),
                    "cpu_median_s": round(_common.median(cpus[kind]), 3),
                }
            if "ffmpeg" in entry:
                entry["ratio_ffmpeg_time_over_ours"] = round(
                    entry["ffmpeg"]["median_s"] / entry["ours"]["median_s"], 3
                )
            results[str(cores)] = entry
            line = f"{cores:3d} core(s): ours {entry['ours']['fps']:6.2f} fps"
            if "ffmpeg" in entry:
                ratio = entry["ratio_ffmpeg_time_over_ours"]
                line += f", ffmpeg {entry['ffmpeg']['fps']:6.2f} fps, ratio ffmpeg/ours {ratio:.2f}"
            print(line, flush=True)
    one = results[str(counts[0])]
    for entry in results.values():
        for kind in kinds:
            entry[kind]["speedup_over_first"] = round(one[kind]["median_s"] / entry[kind]["median_s"], 3)
    payload = {
        **_common.header("export_scaling", args.dry_run),
        "settings": {
            "width": args.width,
            "height": args.height,
            "frames": args.frames,
            "runs": args.runs,
            "preset": args.preset,
            "cores": counts,
            "grade": export_speed.benchmark_grade(),
        },  # fmt: skip
        "goal": "the pipelined renderer's speed grows with the cores it gets (issue 15)",
        "notes": "each run is a child process pinned to its first N cores (CPU affinity); 'ours' is the "
        "graded pipelined export (fast path on), 'ffmpeg' the CLI with the same grade as lut3d; "
        "speedup_over_first is against the smallest core count",
        "results": results,
    }
    return _common.save(payload, args.out, args.dry_run)


if __name__ == "__main__":
    started = time.perf_counter()
    main()
