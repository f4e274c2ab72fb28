"""project_load.py --gc-ab runs its child processes end to end and writes complete results (no time checks:
only that each side did what it says and no replaced document is left alive)."""

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


def test_gc_ab_dry_run_compares_the_sides_in_child_processes(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    bench = importlib.import_module("project_load")
    payload = bench.main(["--gc-ab", "--dry-run", "--gc-sides", "off", "on", "freeze-only", "--out",
                          str(tmp_path)])  # fmt: skip

    [file] = tmp_path.glob("project_load-*-gc-dry-run.json")
    data = json.loads(file.read_text())
    assert data == json.loads(json.dumps(payload))
    assert data["dry_run"] is True and data["machine"]["cpu_cores"] and data["settings"]["gc_opens"] == 3
    assert set(data["children"]) == set(data["summary"]) == {"off", "on", "freeze-only"}
    for side, children in data["children"].items():
        [child] = children  # one round in a dry run
        assert child["side"] == side and len(child["opens"]) == 3
        assert child["tracked_at_start"] > 0
        assert child["replaced_documents_alive"] == 0  # every replaced document freed: no leak on any side
        for run in child["opens"]:
            assert _number(run["open_s"]) and run["open_s"] > 0 and _number(run["rss_mib"])
            assert all(_number(ms) for ms in run["full_ms"])
    # each side did what it says: nothing frozen when off, start-up frozen otherwise...
    assert data["children"]["off"][0]["frozen"] == 0 == data["children"]["off"][0]["frozen_then_dropped"]
    assert data["children"]["on"][0]["frozen"] > 0 and data["children"]["freeze-only"][0]["frozen"] > 0
    # ...and only "on" (the studio's setting) adds a full collection to every load
    assert all(run["full_ms"] for run in data["children"]["on"][0]["opens"])
    summary = data["summary"]["on"]
    assert summary["opens"] == 3 and summary["full_collections"] >= 3
    assert _number(summary["full_worst_ms"]) and _number(summary["open_median_s"])
    assert _number(data["ratios"]["open_median_on_over_off"])
    printed = capsys.readouterr().out
    assert "full collections" in printed and "wrote" in printed
