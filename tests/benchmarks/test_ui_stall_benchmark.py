"""The UI stall benchmark runs end to end (--dry-run) and records both measurements. No time is asserted."""

from __future__ import annotations

import importlib
import json
import math
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

pytestmark = pytest.mark.slow


def test_ui_stall_dry_run_records_queued_and_reference_stalls(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    bench = importlib.import_module("ui_stall")
    payload = bench.main(["--dry-run", "--out", str(tmp_path)])

    files = list(tmp_path.glob("ui_stall-*.json"))
    assert len(files) == 1
    data = json.loads(files[0].read_text())
    assert data == json.loads(json.dumps(payload))
    assert data["dry_run"] is True and data["goal_ms"] == 50.0 and data["machine"]["torch"]
    for case in data["queued"] + data["reference"]:
        assert case["status"] == "done"
        assert case["ticks"] > 0
        for key in ("max_ms", "p99_ms", "median_ms", "wall_s"):
            assert isinstance(case[key], float) and math.isfinite(case[key]) and case[key] > 0
    assert len(data["queued"]) == 1 and len(data["reference"]) == 1
    assert data["queued"][0]["preview_updates"] >= 0
    assert isinstance(data["meets_goal"], bool)
    assert "longest event-loop stall" in capsys.readouterr().out
