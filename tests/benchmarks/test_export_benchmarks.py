"""The export benchmarks run end to end in --dry-run mode (tiny clip, one run, no ffmpeg needed); the tests
check the shape of the results, never a time."""

from __future__ import annotations

import importlib
import json
import math
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the scripts import their sibling `_common`
    return importlib.import_module(name)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def test_export_speed_dry_run(tmp_path, monkeypatch, capsys):
    bench = _load("export_speed", monkeypatch)
    payload = bench.main(["--dry-run", "--out", str(tmp_path)])
    data = json.loads(next(tmp_path.glob("export_speed-*.json")).read_text())
    assert data == json.loads(json.dumps(payload))
    assert data["dry_run"] is True and data["date"] and data["machine"]["cpu_cores"]
    assert set(data["results"]) == {"prores_422_hq", "h265_main10"}
    for result in data["results"].values():
        assert _number(result["ours_median_s"]) and result["ours_median_s"] > 0
        assert result["ratio_ffmpeg_time_over_ours"] is None  # dry run: no ffmpeg
    assert "prores_422_hq" in capsys.readouterr().out


def test_grading_overhead_dry_run(tmp_path, monkeypatch, capsys):
    import app.color  # noqa: F401
    bench = _load("grading_overhead", monkeypatch)
    payload = bench.main(["--dry-run", "--out", str(tmp_path)])
    data = json.loads(next(tmp_path.glob("grading_overhead-*.json")).read_text())
    assert data == json.loads(json.dumps(payload))
    assert _number(data["results"]["overhead"])
    assert _number(data["results"]["graded_median_s"]) and _number(data["results"]["ungraded_median_s"])
    assert data["settings"]["grade"]["cdl"]["saturation"] == pytest.approx(1.15)
    assert "overhead" in capsys.readouterr().out
