"""benchmarks/timeline_scroll.py runs end to end (--dry-run) and writes complete results; no time asserted."""

from __future__ import annotations

import importlib
import json
import math
import re
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

pytestmark = pytest.mark.slow


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def test_timeline_scroll_dry_run_writes_both_variants(qapp, tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the script imports its sibling `_common`
    bench = importlib.import_module("timeline_scroll")
    payload = bench.main(["--dry-run", "--out", str(tmp_path)])

    files = list(tmp_path.glob("timeline_scroll-*.json"))
    assert len(files) == 1
    data = json.loads(files[0].read_text())
    assert data == json.loads(json.dumps(payload))
    assert data["dry_run"] is True and data["goal_ms"] == bench.GOAL_MS
    assert data["machine"]["cpu_cores"] and data["date"]
    assert data["settings"]["clips"] >= 24  # the document really has the clips it claims
    for variant in ("ours", "reference"):
        (times,) = data[f"{variant}_times_ms"]
        (summary,) = data[variant]
        assert len(times) == summary["frames"] > 20
        assert all(_number(t) and t > 0 for t in times)
        assert summary["max_ms"] == max(times) == data["worst_ms"][variant]
    assert data["art_requests"] > 0  # thumbnails and waveforms were asked for while scrolling

    printed = capsys.readouterr().out
    assert re.search(r"^worst frame ours: +\d+\.\d ms", printed, re.MULTILINE), printed
    assert re.search(r"^ratio reference/ours \(worst\): \d+\.\d\d", printed, re.MULTILINE), printed
    assert "wrote" in printed
