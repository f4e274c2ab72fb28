"""Undo at scale: what one undo step costs (time and memory) with undo by pieces against whole snapshots.

A project of N placed clips (each with its linked sound clip, so 2N clip objects on V1 and A1) and M bin
entries is built once and copied, so both sides edit the same document. "ours" is ``app.commands``
(each step stores the pieces it changed: app.document.pieces); the "reference" is the approach before it,
kept here verbatim as ``SnapshotCommand``: a whole-document OTIO JSON snapshot before and after each edit,
and undo/redo re-parse one and rebuild the document. For each kind of edit (a clip's gain, a trim, a move,
a split, a ripple delete, a marker, an import into the bin) the script makes the edit, undoes it and redoes
it, alternating which side goes first, and reports medians of each and the ratio reference/ours. Then
"undo + view" times an undo with a timeline view attached until the view has redrawn from the change,
and memory: bytes each step keeps, as measured by tracemalloc over a run of steps (the retained
growth per step) and as estimated by the command itself.

Goal (issue 14): an undo takes at most 50 ms at 500 clips and 1,000 bin entries (before: 3.4 MB and
0.9 s per undo step).

    .venv/bin/python benchmarks/undo_cost.py                       # 500 clips, 1,000 bin entries, 7 runs
    .venv/bin/python benchmarks/undo_cost.py --dry-run --out /tmp  # 20 clips, 40 entries, 2 runs
"""

from __future__ import annotations

import argparse
import functools
import gc
import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import _common  # noqa: I001  (sibling module: benchmarks/ is on sys.path when run as a script)

ROOT = Path(__file__).resolve().parents[1]
GOAL_UNDO_S = 0.050
EDITS = ("gain", "trim", "move", "split", "ripple_delete", "marker", "import")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=500, help="clips placed (each with its sound)")
    parser.add_argument("--entries", type=int, default=1000, help="media bin entries")
    parser.add_argument("--runs", type=int, default=7, help="timed edit/undo/redo rounds per kind and side")
    parser.add_argument("--memory-steps", type=int, default=10, help="steps kept for the memory measure")
    parser.add_argument("--no-view", action="store_true", help="skip the undo-with-timeline-view timing")
    parser.add_argument("--dry-run", action="store_true", help="20 clips, 40 entries, 2 runs")
    parser.add_argument("--out", default=None, help="result folder or .json file")
    args = parser.parse_args(argv)
    if args.dry_run:
        args.clips, args.entries, args.runs, args.memory_steps = 20, 40, 2, 3
    if args.runs < 1 or args.clips < 12 or args.entries < args.clips:
        parser.error("--runs must be at least 1, --clips at least 12 and --entries at least --clips")
    return args


# ---------------------------------------------------------------------------------------- reference
def reference_classes() -> tuple[type, Callable]:
    """The undo command as it was before undo by pieces (app/commands.py at 0053121), unchanged."""
    from PySide6.QtGui import QUndoCommand

    class SnapshotCommand(QUndoCommand):
        def __init__(self, doc: Any, text: str, apply: Callable, merge_key: str | None = None) -> None:
            super().__init__(text)
            self.doc, self.merge_key, self._apply = doc, merge_key, apply
            self.before: str | None = None
            self.after: str | None = None
            self.result: Any = None

        def run(self) -> Any:
            before = self.doc.snapshot()
            try:
                self.result = self._apply(self.doc)
            except BaseException:
                if self.doc.snapshot() != before:
                    self.doc.restore(before)
                raise
            self.before, self.after = before, self.doc.snapshot()
            return self.result

        def redo(self) -> None:
            if self.after is None:
                self.run()
            elif self.doc.snapshot() != self.after:
                self.doc.restore(self.after)

        def undo(self) -> None:
            if self.before is not None:
                self.doc.restore(self.before)

        def nbytes(self) -> int:
            # what the step holds beyond the previous one: its "before" is the previous step's "after"
            return sys.getsizeof(self.after)

    def push_snapshot_edit(
        stack: Any, doc: Any, text: str, apply: Callable, merge_key: str | None = None
    ) -> Any:
        command = SnapshotCommand(doc, text, apply, merge_key)
        result = command.run()
        if command.before == command.after:
            return result
        stack.push(command)
        return result

    return SnapshotCommand, push_snapshot_edit


# ---------------------------------------------------------------------------------------- project
def build_document(clips: int, entries: int) -> Any:
    from opentimelineio.opentime import RationalTime

    from app.document import MediaItem, TimelineDocument, TrackKind
    from app.media.info import MediaInfo

    doc = TimelineDocument(name="Undo at scale", rate=24)
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    for index in range(entries):
        path = f"/bench/footage/shot_{index:05d}.mov"
        info = MediaInfo(path, "mov,mp4,m4a,3gp,3g2,mj2", True, True, 1920, 1080, Fraction(24000, 1001),
                         240, "prores", "yuv422p10le", "pcm_s24le", 48000, 2, 480480, 1 << 30, 1)
        generation = {"model": "ltx-2", "prompt": f"shot {index}", "seed": index} if index % 3 == 0 else None
        doc.add_bin_item(MediaItem(f"m{index}", path, Path(path).name, info, generation))
    for index in range(clips):
        doc.overwrite(f"m{index}", v1, RationalTime(index * 48, 24))  # with its sound, on A1
    return doc


def copy_document(doc: Any) -> Any:
    from app.document import TimelineDocument

    return TimelineDocument.from_otio(doc.to_otio())


def shape(doc: Any) -> tuple:
    """What both sides must agree on (new clips and markers get random ids, so not the snapshots)."""
    tracks = tuple(
        (t.name, tuple((c.name, c.start.value, c.duration.value, c.source_start.value, c.gain_db)
                       for c in doc.clips(t.id)))
        for t in doc.tracks()
    )
    return tracks, tuple((m.time.value, m.name) for m in doc.markers()), tuple(i.id for i in doc.bin_items())


def edit_for(kind: str, doc: Any, run: int) -> Callable[[Any], Any]:
    """The ``run``-th edit of ``kind``: same on both sides (their documents are copies)."""
    from opentimelineio.opentime import RationalTime

    from app.document import MediaItem, TrackKind

    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    clips = doc.clips(v1)
    middle = clips[len(clips) // 2].id
    if kind == "gain":
        return lambda d: d.set_clip_gain(middle, -1.0 - run % 50)
    if kind == "trim":
        return lambda d: d.trim_out(middle, RationalTime(-1, 24))
    if kind == "move":  # the last clip, a frame later each time (there is always room after it)
        last = clips[-1]
        return lambda d: d.move_clip(last.id, v1, last.start + RationalTime(1, 24))
    if kind == "split":
        target = clips[len(clips) // 3 + run]
        return lambda d: d.split(target.id, target.start + RationalTime(5, 24))
    if kind == "ripple_delete":
        target = clips[len(clips) // 4 + run].id
        return lambda d: d.ripple_delete([target])
    if kind == "marker":
        return lambda d: d.add_marker(RationalTime(100 + run, 24), f"note {run}")
    if kind == "import":
        item = doc.bin_items()[0]
        new = MediaItem(f"new{run}", f"/bench/new_{run}.mov", f"new {run}", item.info)
        return lambda d: d.add_bin_item(new)
    raise ValueError(kind)


# ---------------------------------------------------------------------------------------- timing
def _timed(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def time_edits(args: argparse.Namespace, docs: dict[str, Any], pushers: dict[str, Callable]) -> dict:
    from PySide6.QtGui import QUndoStack

    stacks = {side: QUndoStack() for side in docs}
    out: dict[str, Any] = {}
    for kind in EDITS:
        times = {side: {"edit": [], "undo": [], "redo": []} for side in docs}
        for run in range(args.runs):
            for side in ("ours", "reference") if run % 2 == 0 else ("reference", "ours"):
                doc, stack, push = docs[side], stacks[side], pushers[side]
                apply = edit_for(kind, doc, run)
                edit = functools.partial(push, stack, doc, kind, apply)
                times[side]["edit"].append(_timed(edit))
                times[side]["undo"].append(_timed(stack.undo))
                times[side]["redo"].append(_timed(stack.redo))
        row: dict[str, Any] = {}
        for side in docs:
            for what, values in times[side].items():
                row[f"{side}_{what}_s"] = values
                row[f"{side}_{what}_median_s"] = _common.median(values)
        for what in ("edit", "undo", "redo"):
            row[f"{what}_ratio"] = row[f"reference_{what}_median_s"] / row[f"ours_{what}_median_s"]
        out[kind] = row
    if shape(docs["ours"]) != shape(docs["reference"]):
        raise AssertionError("the two sides ended in different documents: the benchmark compares nothing")
    return out


def time_undo_with_view(args: argparse.Namespace, docs: dict[str, Any], pushers: dict[str, Callable]) -> dict:
    """Undo of a trim with a TimelineView on the document, until the view has synced to the change."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QUndoStack
    from PySide6.QtWidgets import QApplication  # noqa: TID251

    from ui.timeline.view import TimelineView

    app = QApplication.instance() or QApplication([])
    out: dict[str, list[float]] = {"ours": [], "reference": []}
    views = {side: TimelineView(docs[side], QUndoStack()) for side in docs}
    stacks = {side: QUndoStack() for side in docs}
    app.processEvents()
    for run in range(args.runs):
        for side in ("ours", "reference") if run % 2 == 0 else ("reference", "ours"):
            doc, stack = docs[side], stacks[side]
            pushers[side](stack, doc, "Trim", edit_for("trim", doc, run))
            app.processEvents()

            def undo_and_draw(stack: Any = stack) -> None:
                stack.undo()
                app.processEvents()  # the view syncs on the next turn of the event loop

            out[side].append(_timed(undo_and_draw))
            stack.redo()
            app.processEvents()
    for view in views.values():
        view.deleteLater()
    app.processEvents()
    ours, ref = _common.median(out["ours"]), _common.median(out["reference"])
    return {"ours_s": out["ours"], "reference_s": out["reference"], "ours_median_s": ours,
            "reference_median_s": ref, "ratio": ref / ours}


def measure_memory(args: argparse.Namespace, docs: dict[str, Any], pushers: dict[str, Callable]) -> dict:
    """Bytes kept per undo step over ``memory_steps`` gain changes (each a new step), both measures."""
    from PySide6.QtGui import QUndoStack

    out: dict[str, Any] = {}
    for side in ("ours", "reference"):
        doc, push = docs[side], pushers[side]
        stack = QUndoStack()
        push(stack, doc, "warm", edit_for("gain", doc, 45))  # the first step of a session builds caches
        gc.collect()
        tracemalloc.start()
        start = tracemalloc.get_traced_memory()[0]
        for step in range(args.memory_steps):
            push(stack, doc, "gain", edit_for("gain", doc, 1 + step % 40))
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - start
        tracemalloc.stop()
        estimates = [stack.command(i).nbytes() for i in range(1, stack.count())]
        out[f"{side}_traced_bytes_per_step"] = grown / args.memory_steps
        out[f"{side}_estimated_bytes_per_step"] = _common.median([float(e) for e in estimates])
    out["traced_ratio"] = out["reference_traced_bytes_per_step"] / max(out["ours_traced_bytes_per_step"], 1.0)
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from app.commands import push_edit

    load_before = _common.load_average()
    print(f"undo_cost: {args.clips} clips (+ their sound), {args.entries} bin entries, {args.runs} runs"
          f"{' (dry run)' if args.dry_run else ''}")
    _, push_snapshot_edit = reference_classes()
    base = build_document(args.clips, args.entries)
    snapshot_bytes = len(base.snapshot().encode())
    docs = {"ours": copy_document(base), "reference": copy_document(base)}
    pushers = {"ours": push_edit, "reference": push_snapshot_edit}
    edits = time_edits(args, docs, pushers)
    print(f"{'edit':>14} | {'undo ours':>10} {'undo before':>12} {'ratio':>7} | {'redo ours':>10} "
          f"{'redo before':>12} | {'edit ours':>10} {'edit before':>12}")
    for kind, row in edits.items():
        print(f"{kind:>14} | {row['ours_undo_median_s'] * 1000:8.1f}ms "
              f"{row['reference_undo_median_s'] * 1000:10.1f}ms "
              f"{row['undo_ratio']:6.1f}x | {row['ours_redo_median_s'] * 1000:8.1f}ms "
              f"{row['reference_redo_median_s'] * 1000:10.1f}ms | {row['ours_edit_median_s'] * 1000:8.1f}ms "
              f"{row['reference_edit_median_s'] * 1000:10.1f}ms")
    worst = max(row["ours_undo_median_s"] for row in edits.values())
    print(f"slowest undo (median of its kind): {worst * 1000:.1f} ms | goal {GOAL_UNDO_S * 1000:.0f} ms: "
          f"{'met' if worst <= GOAL_UNDO_S else 'NOT met'}")
    view = None
    if not args.no_view:
        view = time_undo_with_view(args, docs, pushers)
        print(f"undo of a trim until the timeline view has redrawn: {view['ours_median_s'] * 1000:.1f} ms "
              f"(before: {view['reference_median_s'] * 1000:.1f} ms, ratio {view['ratio']:.1f}x)")
    memory = measure_memory(args, docs, pushers)
    print("memory per undo step (gain change): "
          f"{memory['ours_traced_bytes_per_step'] / 1024:.1f} KiB traced, "
          f"{memory['ours_estimated_bytes_per_step'] / 1024:.1f} KiB estimated | before: "
          f"{memory['reference_traced_bytes_per_step'] / 2**20:.2f} MiB traced, "
          f"{memory['reference_estimated_bytes_per_step'] / 2**20:.2f} MiB estimated "
          f"(ratio {memory['traced_ratio']:.0f}x); whole snapshot {snapshot_bytes / 2**20:.2f} MiB")
    payload = {
        "benchmark": "undo_cost",
        "date": _common.now_utc(),
        "dry_run": args.dry_run,
        "settings": {"clips": args.clips, "entries": args.entries, "runs": args.runs,
                     "memory_steps": args.memory_steps, "goal_undo_s": GOAL_UNDO_S},
        "machine": _common.machine_info(),
        "load_before": load_before,
        "load_after": _common.load_average(),
        "snapshot_bytes": snapshot_bytes,
        "edits": edits,
        "slowest_undo_median_s": worst,
        "goal_met": worst <= GOAL_UNDO_S,
        "undo_with_view": view,
        "memory": memory,
    }
    path = _common.write_json(payload, args.out, "undo_cost", "dry-run" if args.dry_run else "")
    print(f"wrote {path}")
    return payload


if __name__ == "__main__":
    main()
