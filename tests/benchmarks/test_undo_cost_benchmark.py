"""The undo-cost benchmark runs end to end on a small project and writes complete results (no time checks)."""

from __future__ import annotations

import importlib
import json
import math
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

pytestmark = pytest.mark.slow


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def test_undo_cost_dry_run_writes_both_sides_of_every_edit(tmp_path, monkeypatch, capsys, qapp):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    bench = importlib.import_module("undo_cost")
    payload = bench.main(["--dry-run", "--out", str(tmp_path)])

    files = list(tmp_path.glob("undo_cost-*.json"))
    assert len(files) == 1
    data = json.loads(files[0].read_text())
    assert data == json.loads(json.dumps(payload))
    assert data["dry_run"] is True and data["machine"]["cpu_cores"] and data["settings"]["clips"] == 20
    assert set(data["edits"]) == set(bench.EDITS)
    for kind, row in data["edits"].items():
        for side in ("ours", "reference"):
            for what in ("edit", "undo", "redo"):
                assert len(row[f"{side}_{what}_s"]) == 2, (kind, side, what)
                assert _number(row[f"{side}_{what}_median_s"]) and row[f"{side}_{what}_median_s"] > 0
        assert _number(row["undo_ratio"]) and row["undo_ratio"] > 0
    view = data["undo_with_view"]
    assert len(view["ours_s"]) == len(view["reference_s"]) == 2 and _number(view["ratio"])
    memory = data["memory"]
    for key in ("ours_traced_bytes_per_step", "reference_traced_bytes_per_step",
                "ours_estimated_bytes_per_step", "reference_estimated_bytes_per_step"):
        assert _number(memory[key]) and memory[key] > 0, key
    # the reference keeps a whole snapshot per step: its estimate is the snapshot's size
    assert memory["reference_estimated_bytes_per_step"] >= data["snapshot_bytes"]
    printed = capsys.readouterr().out
    assert "ratio" in printed and "goal 50 ms" in printed and "wrote" in printed


def test_undo_cost_refuses_a_project_too_small_to_edit(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    bench = importlib.import_module("undo_cost")
    with pytest.raises(SystemExit):
        bench.parse_args(["--clips", "3"])
