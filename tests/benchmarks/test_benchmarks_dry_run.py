"""The benchmark scripts run end to end in seconds: the GPU benchmark's --dry-run, a one-run overhead check.

These tests check shapes of results (every case present, numbers where numbers belong), never a time.
"""

from __future__ import annotations

import importlib
import json
import math
import re
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

pytestmark = pytest.mark.slow


def _load(name: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))   # the scripts import their sibling `_common`
    return importlib.import_module(name)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def test_gpu_transformer_dry_run_writes_every_case(tmp_path, monkeypatch, capsys):
    bench = _load("gpu_transformer", monkeypatch)
    payload = bench.main(["--dry-run", "--warmup", "0", "--iters", "1", "--out", str(tmp_path)])

    files = list(tmp_path.glob("gpu_transformer-*.json"))
    assert len(files) == 1
    data = json.loads(files[0].read_text())
    assert data == json.loads(json.dumps(payload))
    assert data["dry_run"] is True
    assert data["date"] and data["machine"]["torch"]

    sizes = ("64x64x9", "96x64x9")
    expected = {(mode, size, batch) for mode in bench.MODES for size in sizes for batch in (2, 1)}
    transformer = [c for c in data["cases"] if c["kind"] == "transformer"]
    assert {(c["mode"], c["size"], c["batch"]) for c in transformer} == expected
    assert len(transformer) == len(expected)
    vae = [c for c in data["cases"] if c["kind"] == "vae_decode"]
    assert sorted(c["tiling"] for c in vae) == ["tiled", "untiled"]
    assert next(c for c in vae if c["tiling"] == "tiled")["plan"]["tiled"] is True

    for case in data["cases"]:
        assert case["status"] == "ok", case
        assert _number(case["median_s"]) and case["median_s"] > 0, case
        assert case["times_s"] and all(_number(t) for t in case["times_s"]), case
        for field in ("peak_bytes", "peak_reserved_bytes"):
            assert field in case and (case[field] is None or _number(case[field])), case
    for case in transformer:
        assert case["audio_tokens"] == bench.audio_tokens(9) and case["text_tokens"] == bench.DRY_TEXT_TOKENS
        assert case["output_finite"] is True

    printed = capsys.readouterr().out
    assert "dry run" in printed and "wrote" in printed


def test_gpu_transformer_full_shapes_match_the_brief(monkeypatch):
    bench = _load("gpu_transformer", monkeypatch)
    assert bench.audio_tokens(121) == 126
    assert bench.FULL_SIZES == ((768, 512, 121), (1280, 704, 121))
    assert bench.FULL_TEXT_TOKENS == 1024


def test_engine_overhead_prints_a_ratio_and_writes_json(tmp_path, monkeypatch, capsys):
    bench = _load("engine_overhead", monkeypatch)
    payload = bench.main(["--runs", "1", "--warmup", "0", "--steps", "2", "--size", "64", "--frames", "9",
                          "--out", str(tmp_path)])

    printed = capsys.readouterr().out
    assert re.search(r"^ratio ours/bare: \d+\.\d{3}", printed, re.MULTILINE), printed
    files = list(tmp_path.glob("engine_overhead-*.json"))
    assert len(files) == 1
    data = json.loads(files[0].read_text())
    assert _number(data["ratio"]) and data["ratio"] > 0
    assert len(data["ours_s"]) == len(data["bare_s"]) == 1
    assert data["machine"]["cpu_cores"] and data["machine"]["torch"] and data["date"]
    # Same modules, same seed, same settings: the two paths must make the same clip.
    diff = payload["output_diff"]
    assert diff["frames_shape_ours"] == diff["frames_shape_bare"]
    assert diff["frames_max_abs_diff"] is not None and diff["frames_max_abs_diff"] < 1e-3
    assert diff["audio_max_abs_diff"] is not None and diff["audio_max_abs_diff"] < 1e-3


def test_gpu_suite_dry_run_records_every_case(tmp_path, monkeypatch, capsys):
    """benchmarks/gpu_suite.py --dry-run: every mode x cap x size x batch step case, the clip per cap (text
    encoding, both stages, upsampler, VAE, audio), both placements, the plan beside each; JSON as returned."""
    suite = _load("gpu_suite", monkeypatch)
    modes = ("bf16", "fp8-fast")
    payload = suite.main(["--dry-run", "--modes", ",".join(modes), "--warmup", "0", "--iters", "1",
                          "--out", str(tmp_path)])
    files = list(tmp_path.glob("gpu_suite-*.json"))
    assert len(files) == 1
    data = json.loads(files[0].read_text())
    assert data == json.loads(json.dumps(payload))
    assert data["dry_run"] is True and data["date"] and data["gpu"]
    steps = [c for c in data["cases"] if c["kind"] == "step"]
    expected = {(m, cap, "x".join(map(str, size)), b)
                for m in modes for cap in (24.0, 16.0) for size in suite.DRY_SIZES for b in suite.BATCHES}
    assert {(c["mode"], c["cap_gib"], c["size"], c["batch"]) for c in steps} == expected
    for case in steps:
        assert case["status"] == "ok", case
        assert _number(case["median_s"]) and case["median_s"] > 0
        assert case["placement"] in ("resident", "streamed") and _number(case["planned_peak_vram"])
    assert {c["placement"] for c in steps} == {"resident", "streamed"}
    clips = [c for c in data["cases"] if c["kind"] == "clip"]
    assert len(clips) == len(modes) * 2
    for clip in clips:
        assert clip["status"] == "ok", clip
        assert set(clip["parts_s"]) == {"stage 1 (half size)", "stage 2 (refine)", "upsampler", "vae_decode",
                                        "audio_decode"}
        assert _number(clip["text_encoder_s"]) and clip["total_s"] >= sum(clip["parts_s"].values())
        assert _number(clip["transformer_flops"]) and clip["transformer_flops"] > 0
    # FLOPs do not depend on the quantization (counted on the float model before quantizing)
    for cap in (24.0, 16.0):
        assert len({c["transformer_flops"] for c in clips if c["cap_gib"] == cap}) == 1
    assert [c for c in data["cases"] if c["kind"] == "text_encoder"]
    assert "dry run" in capsys.readouterr().out


def test_gpu_suite_full_shapes_match_the_brief(monkeypatch):
    suite = _load("gpu_suite", monkeypatch)
    from engine.model_sizes import FULL_SIZE

    assert suite.SIZES == ((768, 512, 121), (1280, 704, 121)) and suite.BATCHES == (2, 1)
    assert suite.CLIP == (1280, 704, 121) and suite.CAPS_GIB == (24, 16)
    assert set(suite.MODES) == {"bf16", "fp8", "fp8-fast", "int4"}
    assert suite.transformer_config(dry=False) == dict(FULL_SIZE["2.3"]["transformer"])
    assert suite.peak_tflops("NVIDIA H100 80GB HBM3")[0] == 989.0
