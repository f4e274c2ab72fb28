"""Preview cost: the tiny engine with `on_preview` every 2 steps against the same generation without previews.

Runs alternate in one process after a warm-up of each variant. The engine throttles previews to a share of the
elapsed denoising time (`engine.engine.PREVIEW_BUDGET`), so the script also reports how many previews were
actually delivered and their share of the denoising time (`engine.last_preview_stats`). A third variant
lifts that throttle (benchmark-only patch of the throttle's default budget) to show what a preview at every
2nd step really costs; `--skip-unthrottled` leaves it out.

    .venv/bin/python benchmarks/preview_cost.py                  # 256x160x25, 20 steps, 7 runs each
    .venv/bin/python benchmarks/preview_cost.py --runs 3 --skip-unthrottled
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from typing import Any

import _common  # noqa: I001  (sibling module: benchmarks/ is on sys.path when run as a script)

PROMPT = "a slow pan across a mountain lake"
GOAL_FRACTION = 0.10


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each variant (default 7)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--height", type=int, default=160)
    parser.add_argument("--frames", type=int, default=25)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--every", type=int, default=2, help="preview every N steps (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (default 1: steady on small shared hosts; 0: torch's)")
    parser.add_argument("--skip-unthrottled", action="store_true",
                        help="do not time previews with the engine's preview-time throttle lifted")
    parser.add_argument("--out", default=None,
                        help="result folder or .json file (default benchmarks/results/)")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be at least 1 and --warmup at least 0")
    return args


@contextlib.contextmanager
def throttle_lifted():
    """Let every due preview through (benchmark-only: patches the throttle's default budget)."""
    from engine import engine as engine_module

    saved = engine_module.PREVIEW_BUDGET
    engine_module.PREVIEW_BUDGET = 1.0e9
    try:
        yield
    finally:
        engine_module.PREVIEW_BUDGET = saved


def run(engine, request, variant: str) -> dict[str, Any]:
    frames: list[int] = []

    def on_preview(preview) -> None:
        frames.append(preview.step)

    lifted = throttle_lifted() if variant == "unthrottled" else contextlib.nullcontext()
    with lifted:
        start, cpu = time.perf_counter(), time.process_time()
        result = engine.generate(request, on_preview=None if variant == "none" else on_preview)
        wall, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    stats = dict(engine.last_preview_stats)
    return {"wall_s": wall, "cpu_s": cpu_s, "denoise_s": result.timings["denoise_s"],
            "previews": len(frames), "preview_steps": frames,
            "preview_s": stats.get("seconds", 0.0), "preview_fraction": stats.get("fraction", 0.0)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return _common.run_with_threads(_run, parse_args(argv))


def _run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from engine.engine import PREVIEW_BUDGET, Engine
    from engine.request import GenerationRequest

    load_before = _common.load_average()
    engine = Engine.tiny(seed=args.seed)
    request = GenerationRequest(prompt=PROMPT, width=args.width, height=args.height, num_frames=args.frames,
                                steps=args.steps, seed=args.seed, preview_every=args.every)
    variants = ["none", "throttled"] + ([] if args.skip_unthrottled else ["unthrottled"])
    due = len([s for s in range(1, args.steps) if s % args.every == 0])
    print(f"preview_cost: tiny LTX-2 on {engine.device}, {args.width}x{args.height}x{args.frames}, "
          f"{args.steps} steps, preview every {args.every} steps ({due} due), engine preview budget "
          f"{PREVIEW_BUDGET:.0%}; "
          f"{args.warmup} warm-up + {args.runs} timed runs of {', '.join(variants)}, alternating; "
          f"torch threads {torch.get_num_threads()}; load average {load_before}")

    for _ in range(args.warmup):
        for variant in variants:
            run(engine, request, variant)
    runs: dict[str, list[dict[str, Any]]] = {variant: [] for variant in variants}
    for index in range(args.runs):
        order = variants if index % 2 == 0 else list(reversed(variants))
        for variant in order:
            runs[variant].append(run(engine, request, variant))
        line = "   ".join(f"{v} {_common.fmt_s(runs[v][-1]['wall_s'])} ({runs[v][-1]['previews']} previews, "
                           f"{runs[v][-1]['preview_fraction']:.1%})" for v in variants)
        print(f"  run {index + 1:2d}: {line}")

    summary: dict[str, Any] = {}
    base = _common.median([r["wall_s"] for r in runs["none"]])
    base_cpu = _common.median([r["cpu_s"] for r in runs["none"]])
    for variant in variants:
        rows = runs[variant]
        wall = _common.median([r["wall_s"] for r in rows])
        summary[variant] = {
            "median_wall_s": wall,
            "median_cpu_s": _common.median([r["cpu_s"] for r in rows]),
            "median_previews": _common.median([r["previews"] for r in rows]),
            "median_preview_s": _common.median([r["preview_s"] for r in rows]),
            "median_preview_fraction": _common.median([r["preview_fraction"] for r in rows]),
            "ratio_to_none": wall / base,
        }
        summary[variant]["cpu_ratio_to_none"] = summary[variant]["median_cpu_s"] / base_cpu
        s = summary[variant]
        print(f"{variant:>11}: median {_common.fmt_s(wall)}  ratio to no-preview {s['ratio_to_none']:.3f} "
              f"(cpu time {s['cpu_ratio_to_none']:.3f})  previews {s['median_previews']:g}  preview time "
              f"{s['median_preview_s']:.3f} s ({s['median_preview_fraction']:.1%} of denoising)")
    throttled = summary["throttled"]
    cost = throttled["ratio_to_none"] - 1.0
    met = cost < GOAL_FRACTION and throttled["median_preview_fraction"] < GOAL_FRACTION
    verdict = "met" if met else "NOT met"
    print(f"previews cost {cost:+.1%} of total time (ratio {throttled['ratio_to_none']:.3f}); preview "
          f"fraction {throttled['median_preview_fraction']:.1%}; goal < {GOAL_FRACTION:.0%}: {verdict}")
    if throttled["median_previews"] < due:
        print(f"note: the engine's throttle delivered {throttled['median_previews']:g} of {due} due previews")
    load_after = _common.load_average()

    payload = {
        "benchmark": "preview_cost",
        "date": _common.today(),
        "created": _common.now_utc(),
        "machine": _common.machine_info(),
        "load_average_before": load_before,
        "load_average_after": load_after,
        "settings": {"width": args.width, "height": args.height, "frames": args.frames, "steps": args.steps,
                     "preview_every": args.every, "previews_due": due, "seed": args.seed, "runs": args.runs,
                     "warmup": args.warmup, "threads": torch.get_num_threads(), "prompt": PROMPT,
                     "engine_preview_budget": PREVIEW_BUDGET, "device": str(engine.device)},
        "runs": runs,
        "summary": summary,
        "ratio": throttled["ratio_to_none"],
        "cpu_ratio": throttled["cpu_ratio_to_none"],
        "preview_fraction": throttled["median_preview_fraction"],
        "goal_fraction": GOAL_FRACTION,
        "goal_met": verdict == "met",
    }
    path = _common.write_json(payload, args.out,
                              f"preview_cost-{_common.slug(payload['machine']['hostname'])}")
    print(f"wrote {path}")
    return payload


if __name__ == "__main__":
    main(sys.argv[1:])
