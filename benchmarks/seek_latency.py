"""Seek latency: random frame access with `app.media.VideoReader` against decoding from the start each time.

For a ProRes clip (every frame a keyframe) and an H.264 clip with a keyframe every 12 frames, the script asks
for the same random frame indices twice, alternating per seek: once from one long-lived reader (what the
viewer does while scrubbing: seek to the keyframe before, decode forward) and once by the naive reference
(open the file and decode from frame 0 up to the target). Every decoded frame is checked to show the right
frame number. Reports median and p95 milliseconds per seek and the ratio reference/ours.

    .venv/bin/python benchmarks/seek_latency.py                       # 1280x720, 240 frames, 40 seeks
    .venv/bin/python benchmarks/seek_latency.py --dry-run --out /tmp  # 64x48, 48 frames, 6 seeks (~1 s)
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common  # noqa: I001  (sibling module: benchmarks/ is on sys.path when run as a script)

ROOT = Path(__file__).resolve().parents[1]
CASES = (("prores", "prores_ks", ".mov"), ("h264_gop12", "libx264", ".mp4"))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--frames", type=int, default=240, help="clip length in frames (default 240, 10 s)")
    parser.add_argument("--seeks", type=int, default=40, help="random seeks per variant (default 40)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dry-run", action="store_true", help="tiny clips and few seeks: checks the script")
    parser.add_argument(
        "--out", default=None, help="result folder or .json file (default benchmarks/results/)"
    )
    args = parser.parse_args(argv)
    if args.dry_run:
        args.width, args.height, args.frames, args.seeks = 64, 48, 48, 6
    if args.seeks < 1 or args.frames < 2:
        parser.error("--seeks must be at least 1 and --frames at least 2")
    return args


def reference_frame(path: Path, index: int):
    """The naive way: open, decode from the first frame, stop at ``index``."""
    import av

    with av.open(str(path)) as container:
        for number, frame in enumerate(container.decode(video=0)):
            if number == index:
                return frame.to_ndarray(format="rgb24")
    raise IndexError(index)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _case(name: str, path: Path, args: argparse.Namespace, decoded_index) -> dict[str, Any]:
    from app.media.reader import VideoReader

    rng = random.Random(args.seed)
    targets = [rng.randrange(args.frames) for _ in range(args.seeks)]
    ours: list[float] = []
    ref: list[float] = []
    wrong = 0
    with VideoReader(path) as reader:
        reader.frame(0)  # warm-up of each side
        reference_frame(path, 0)
        for n, index in enumerate(targets):
            order = ("ours", "ref") if n % 2 == 0 else ("ref", "ours")  # A/B then B/A
            for side in order:
                start = time.perf_counter()
                rgb = reader.frame(index) if side == "ours" else reference_frame(path, index)
                elapsed = (time.perf_counter() - start) * 1000.0
                (ours if side == "ours" else ref).append(elapsed)
                wrong += decoded_index(rgb) != index
        seeks = reader.seeks
    result = {
        "case": name,
        "file": path.name,
        "targets": targets,
        "ours_ms": ours,
        "reference_ms": ref,
        "ours_median_ms": statistics.median(ours),
        "ours_p95_ms": percentile(ours, 0.95),
        "reference_median_ms": statistics.median(ref),
        "reference_p95_ms": percentile(ref, 0.95),
        "reader_seeks": seeks,
        "wrong_frames": wrong,
    }
    result["ratio"] = result["reference_median_ms"] / result["ours_median_ms"]
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests"))
    from media_builders import decoded_index, make_video

    load_before = _common.load_average()
    cases = []
    print(
        f"seek_latency: {args.width}x{args.height}, {args.frames} frames at 24 fps, {args.seeks} random "
        f"seeks{' (dry run)' if args.dry_run else ''}"
    )
    with tempfile.TemporaryDirectory(prefix="seek_latency-") as tmp:
        for name, codec, suffix in CASES:
            path = make_video(
                Path(tmp) / f"{name}{suffix}",
                frames=args.frames,
                size=(args.width, args.height),
                codec=codec,
                gop=12,
                audio=False,
            )
            case = _case(name, path, args, decoded_index)
            cases.append(case)
            ours = f"median {case['ours_median_ms']:7.2f} ms p95 {case['ours_p95_ms']:7.2f} ms"
            ref = f"median {case['reference_median_ms']:7.2f} ms p95 {case['reference_p95_ms']:7.2f} ms"
            print(
                f"{name:>11}: ours {ours} | from start {ref} | ratio {case['ratio']:.2f} | "
                f"wrong frames {case['wrong_frames']}"
            )
    payload = {
        "benchmark": "seek_latency",
        "date": _common.now_utc(),
        "dry_run": args.dry_run,
        "settings": {
            "width": args.width,
            "height": args.height,
            "frames": args.frames,
            "seeks": args.seeks,
            "seed": args.seed,
            "gop": 12,
            "fps": 24,
        },
        "machine": _common.machine_info(),
        "load_before": load_before,
        "load_after": _common.load_average(),
        "cases": cases,
    }
    path = _common.write_json(payload, args.out, "seek_latency", "dry-run" if args.dry_run else "")
    print(f"wrote {path}")
    return payload


if __name__ == "__main__":
    main()
