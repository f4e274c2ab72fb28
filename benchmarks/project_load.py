"""Project loading with a large media bin: `load_project` against OpenTimelineIO reading the same file.

A project with N bin entries (made-up media info, stand-in files on disk so none is "missing") and one clip
per 100 entries is saved once; then, alternating (A/B then B/A) after a warm-up of each, the script times
``load_project`` (our whole load: header and value checks, OTIO parse, path mapping, the document and its
bin, the missing-media scan) and the reference, ``otio.adapters.read_from_string`` of the same
``project.otio`` (the part no loader can skip). Reports medians, ms per bin entry and the ratio
ours/reference. Goal: 1,000 entries load in 0.5 s or less (before the fix: 1-2.5 ms an entry, linear: three
round trips of the bin through OTIO's AnyVector).

    .venv/bin/python benchmarks/project_load.py                       # 1,000 and 10,000 entries, 7 runs
    .venv/bin/python benchmarks/project_load.py --dry-run --out /tmp  # 50 entries, 2 runs
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import _common  # noqa: I001  (sibling module: benchmarks/ is on sys.path when run as a script)

ROOT = Path(__file__).resolve().parents[1]
GOAL_S = 0.5  # for 1,000 entries


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, nargs="+", default=[1000, 10000], help="bin sizes to load")
    parser.add_argument("--runs", type=int, default=7, help="timed loads of each side per size (default 7)")
    parser.add_argument("--dry-run", action="store_true", help="50 entries, 2 runs: checks the script")
    parser.add_argument("--out", default=None, help="result folder or .json file")
    args = parser.parse_args(argv)
    if args.dry_run:
        args.entries, args.runs = [50], 2
    if args.runs < 1 or min(args.entries) < 1:
        parser.error("--runs and --entries must be at least 1")
    return args


def build_project(folder: Path, entries: int) -> Path:
    from opentimelineio.opentime import RationalTime

    from app.document import MediaItem, TimelineDocument, TrackKind
    from app.media.info import MediaInfo
    from app.project import save_project

    media = folder / "footage"
    media.mkdir()
    doc = TimelineDocument(name="Big bin", rate=24)
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    for index in range(entries):
        path = media / f"shot_{index:05d}.mov"
        path.write_bytes(b"")
        info = MediaInfo(str(path), "mov,mp4,m4a,3gp,3g2,mj2", True, True, 1920, 1080, Fraction(24000, 1001),
                         240, "prores", "yuv422p10le", "pcm_s24le", 48000, 2, 480480, 1 << 30, 1)
        generation = {"model": "ltx-2", "prompt": f"shot {index}", "seed": index} if index % 3 == 0 else None
        doc.add_bin_item(MediaItem(f"m{index}", str(path), path.name, info, generation))
    for index in range(0, entries, 100):
        doc.overwrite(f"m{index}", v1, RationalTime(index // 100 * 48, 24), with_audio=False)
    target = folder / "Big.aiprod"
    save_project(doc, target)
    return target


def _case(entries: int, runs: int) -> dict[str, Any]:
    import opentimelineio as otio

    from app.project import load_project

    with tempfile.TemporaryDirectory(prefix="project_load-") as tmp:
        project = build_project(Path(tmp), entries)
        text = (project / "project.otio").read_text()
        sides = {
            "ours": lambda: load_project(project),
            "reference": lambda: otio.adapters.read_from_string(text, "otio_json"),
        }
        loaded = sides["ours"]()  # warm-up of each side, and the check that the load is complete
        sides["reference"]()
        assert len(loaded.doc.bin_items()) == entries and not loaded.missing
        times: dict[str, list[float]] = {"ours": [], "reference": []}
        for run in range(runs):
            for side in ("ours", "reference") if run % 2 == 0 else ("reference", "ours"):
                start = time.perf_counter()
                sides[side]()
                times[side].append(time.perf_counter() - start)
    ours, ref = _common.median(times["ours"]), _common.median(times["reference"])
    return {
        "entries": entries,
        "file_bytes": len(text.encode()),
        "ours_s": times["ours"],
        "reference_s": times["reference"],
        "ours_median_s": ours,
        "reference_median_s": ref,
        "ours_ms_per_entry": ours * 1000 / entries,
        "ratio": ours / ref,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT))
    load_before = _common.load_average()
    print(f"project_load: bins of {', '.join(map(str, args.entries))} entries, {args.runs} runs"
          f"{' (dry run)' if args.dry_run else ''}")
    cases = []
    for entries in args.entries:
        case = _case(entries, args.runs)
        cases.append(case)
        goal = ""
        if entries == 1000:
            goal = f" | goal {GOAL_S} s: {'met' if case['ours_median_s'] <= GOAL_S else 'NOT met'}"
        print(
            f"{entries:>7} entries: load_project median {case['ours_median_s']:.3f} s "
            f"({case['ours_ms_per_entry']:.3f} ms/entry) | OTIO read alone "
            f"{case['reference_median_s']:.3f} s | ratio {case['ratio']:.2f}{goal}"
        )
    payload = {
        "benchmark": "project_load",
        "date": _common.now_utc(),
        "dry_run": args.dry_run,
        "settings": {"entries": args.entries, "runs": args.runs, "goal_s_for_1000": GOAL_S},
        "machine": _common.machine_info(),
        "load_before": load_before,
        "load_after": _common.load_average(),
        "cases": cases,
    }
    path = _common.write_json(payload, args.out, "project_load", "dry-run" if args.dry_run else "")
    print(f"wrote {path}")
    return payload


if __name__ == "__main__":
    main()
