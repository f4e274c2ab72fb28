"""The seek-latency benchmark runs end to end on tiny clips and writes complete results (no time checks)."""

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


def test_seek_latency_dry_run_writes_every_case(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    bench = importlib.import_module("seek_latency")
    payload = bench.main(["--dry-run", "--out", str(tmp_path)])

    files = list(tmp_path.glob("seek_latency-*.json"))
    assert len(files) == 1
    data = json.loads(files[0].read_text())
    assert data == json.loads(json.dumps(payload))
    assert data["dry_run"] is True and data["machine"]["cpu_cores"]
    assert [case["case"] for case in data["cases"]] == ["prores", "h264_gop12"]
    for case in data["cases"]:
        assert case["wrong_frames"] == 0, case  # every seek showed the frame it asked for
        assert len(case["ours_ms"]) == len(case["reference_ms"]) == 6
        for key in ("ours_median_ms", "ours_p95_ms", "reference_median_ms", "reference_p95_ms", "ratio"):
            assert _number(case[key]) and case[key] > 0, (key, case)
    printed = capsys.readouterr().out
    assert "ratio" in printed and "wrote" in printed
