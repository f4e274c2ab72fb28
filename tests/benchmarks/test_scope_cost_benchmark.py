"""The scope-cost benchmark runs end to end on a tiny clip and writes complete results (no time checks)."""

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


def test_scope_cost_dry_run_writes_every_mode(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    bench = importlib.import_module("scope_cost")
    payload = bench.main(["--dry-run", "--out", str(tmp_path)])

    files = list(tmp_path.glob("scope_cost-*.json"))
    assert len(files) == 1
    data = json.loads(files[0].read_text())
    assert data == json.loads(json.dumps(payload))
    assert data["dry_run"] is True and data["machine"]["cpu_cores"] and data["date"]
    assert (data["settings"]["width"], data["settings"]["height"]) == (64, 48)
    assert data["settings"]["grade"]["look"]  # the reference frame is graded
    reference = data["reference"]["render_median_ms"]
    assert _number(reference) and reference > 0
    assert len(data["reference"]["render_ms"]) == data["settings"]["frames"] * data["settings"]["runs"]
    assert [case["mode"] for case in data["cases"]] == ["waveform", "parade", "vectorscope", "histogram"]
    for case in data["cases"]:
        for key in ("full_median_ms", "reduced_median_ms", "full_ratio", "reduced_ratio"):
            assert _number(case[key]) and case[key] > 0, (key, case)
        assert case["full_ratio"] == pytest.approx(case["full_median_ms"] / reference, rel=1e-2, abs=1e-3)
    for key in ("request_median_ms", "to_qimage_median_ms", "median_ms", "worst_ms"):
        assert _number(data["ui_thread"][key]) and data["ui_thread"][key] >= 0
    printed = capsys.readouterr().out
    assert "decode+grade" in printed and "wrote" in printed
