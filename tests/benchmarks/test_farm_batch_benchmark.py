"""benchmarks/farm_batch.py runs end to end in --dry-run mode (a local Ray cluster, 2 tiny shots): the
result has the reference, 1-worker and 2-worker times and their ratios, and says where it ran. No time
is asserted."""

from __future__ import annotations

import importlib
import json
import math
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _number(value) -> bool:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return number and math.isfinite(value) and value > 0


def test_farm_batch_dry_run(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    bench = importlib.import_module("farm_batch")
    payload = bench.main(["--dry-run", "--out", str(tmp_path)])
    (written,) = tmp_path.glob("farm_batch-*-dry-run.json")
    data = json.loads(written.read_text())
    assert data == json.loads(json.dumps(payload))
    assert data["dry_run"] is True and data["date"] and data["machine"]["cpu_cores"]
    assert data["batch"]["jobs"] == 2
    for key in ("reference_local_s", "ratio_reference_over_one_worker", "ratio_reference_over_two_workers",
                "speedup_two_over_one"):  # fmt: skip
        assert _number(data[key]), key
    assert data["one_worker"]["actors"] == 1 and sum(data["one_worker"]["jobs_per_node"].values()) == 2
    assert len(data["one_worker"]["jobs_per_node"]) == 1
    assert data["two_workers"]["actors"] == 2 and sum(data["two_workers"]["jobs_per_node"].values()) == 2
    printed = capsys.readouterr().out
    assert "reference" in printed and "2 vs 1 worker" in printed
