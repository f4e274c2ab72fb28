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


@pytest.mark.parametrize("preset", ["prores_422_hq", "h265_main10"])
def test_the_encoder_check_feeds_ffmpeg_exactly_the_frames_our_export_encodes(tmp_path, monkeypatch, preset):
    """The raw file the encoder-only check hands the ffmpeg CLI holds, sample for sample and in the
    preset's planar format, the planes our fast path gives the encoder; the ungraded file differs."""
    import av
    import numpy as np

    bench = _load("export_speed", monkeypatch)
    source = bench.make_source(tmp_path / "source.mp4", 64, 48, 4)
    grade = bench.benchmark_grade()
    doc = bench.graded_timeline_for(source, grade)
    raw = tmp_path / "frames.yuv"
    pix_fmt, width, height = bench.write_raw_frames(doc, grade, source, preset, raw)
    assert (width, height) == (64, 48)
    data = np.frombuffer(raw.read_bytes(), "<u2")
    sizes = [plane.width * plane.height for plane in av.VideoFrame(width, height, pix_fmt).planes]
    assert data.size == 4 * sum(sizes)  # four frames, every plane's visible samples
    from app.color import Grade, GradePipeline
    from app.export import fast_path
    from app.export import presets as registry

    fast = fast_path.FastPath(registry.get(preset).delivery_format())
    try:
        lut = fast.lut_for(GradePipeline(doc.color_settings()), Grade.coerce(grade))
        with av.open(str(source)) as container:
            offset = 0
            for index, frame in enumerate(container.decode(video=0)):
                converted = fast.convert(fast_path.FastFrame(index, frame, lut))
                for plane, count in zip(converted.planes, sizes, strict=True):
                    want = np.frombuffer(plane, "<u2").reshape(plane.height, -1)[:, : plane.width]
                    got = data[offset : offset + count].reshape(plane.height, plane.width)
                    assert np.array_equal(got, want)
                    offset += count
    finally:
        fast.close()
    ungraded = tmp_path / "plain.yuv"
    bench.write_raw_frames(bench.timeline_for(source), None, source, preset, ungraded)
    assert ungraded.stat().st_size == raw.stat().st_size and ungraded.read_bytes() != raw.read_bytes()


def test_export_speed_dry_run(tmp_path, monkeypatch, capsys):
    bench = _load("export_speed", monkeypatch)
    payload = bench.main(["--dry-run", "--out", str(tmp_path)])
    data = json.loads(next(tmp_path.glob("export_speed-*.json")).read_text())
    assert data == json.loads(json.dumps(payload))
    assert data["dry_run"] is True and data["date"] and data["machine"]["cpu_cores"]
    assert "noisy" in data["notes"]
    assert set(data["results"]) == {"prores_422_hq", "h265_main10"}
    for result in data["results"].values():
        assert set(result["variants"]) == {"pipelined", "pipelined_graded", "sequential", "sequential_graded",
                                           "float", "float_graded"}  # fmt: skip
        assert _number(result["fast_path_speedup_graded"]) and _number(result["fast_path_speedup_ungraded"])
        assert result["ffmpeg_graded_median_s"] is None and result["ffmpeg_grading_overhead"] is None
        for numbers in result["variants"].values():
            assert _number(numbers["median_s"]) and numbers["median_s"] > 0
            assert numbers["ratio_ffmpeg_time_over_ours"] is None  # dry run: no ffmpeg
            assert _number(numbers["cpu_median_s"]) and numbers["cpu_median_s"] > 0  # CPU s, all threads
        assert _number(result["ours_median_s"]) and result["ours_median_s"] > 0
        assert result["ratio_ffmpeg_time_over_ours"] is None
        assert _number(result["grading_overhead_pipelined"]) and _number(
            result["grading_overhead_sequential"]
        )
        assert _number(result["pipeline_speedup_ungraded"]) and _number(result["pipeline_speedup_graded"])
    assert data["settings"]["grade"]["cdl"]["saturation"] == pytest.approx(1.15)
    out = capsys.readouterr().out
    assert "prores_422_hq" in out and "pipelined speed-up" in out and "grading overhead" in out


def test_export_speed_adds_hardware_presets_only_where_they_open(monkeypatch):
    from app.export import hardware

    bench = _load("export_speed", monkeypatch)
    try:
        hardware.set_prober(
            lambda p: hardware.ProbeResult(p.name, "x", p.hardware_family, False, "absent", 0.0)
        )
        assert bench.default_presets(False) == ["prores_422_hq", "h265_main10"]
        hardware.set_prober(
            lambda p: hardware.ProbeResult(
                p.name, "x", p.hardware_family, p.name == "h265_main10_nvenc", "", 0.0
            )
        )
        assert bench.default_presets(False) == ["prores_422_hq", "h265_main10", "h265_main10_nvenc"]
    finally:
        hardware.set_prober(None)


def test_grading_overhead_dry_run(tmp_path, monkeypatch, capsys):
    import app.color  # noqa: F401

    monkeypatch.delenv("DISPLAY", raising=False)  # no GL column here: the script says why
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    bench = _load("grading_overhead", monkeypatch)
    payload = bench.main(["--dry-run", "--out", str(tmp_path)])
    data = json.loads(next(tmp_path.glob("grading_overhead-*.json")).read_text())
    assert data == json.loads(json.dumps(payload))
    results = data["results"]
    assert _number(results["overhead"]) and _number(results["overhead_sequential"])
    assert _number(results["overhead_cpu_time"]) and results["graded_cpu_cpu_median_s"] > 0
    assert results["overhead_gl"] is None and "xvfb-run" in data["gl_missing"]
    assert _number(results["overhead_float_path"])
    for name in (
        "ungraded",
        "graded_cpu",
        "graded_float_cpu",
        "sequential_ungraded",
        "sequential_graded_cpu",
    ):
        assert _number(results[f"{name}_median_s"])
    assert results["graders_used"]["graded_cpu"] == "cpu"
    assert results["grade_one_frame"]["cpu"]["max_diff_vs_cpu"] == 0.0
    assert data["settings"]["grade"]["cdl"]["saturation"] == pytest.approx(1.15)
    assert data["grade_applied_by_compositor"] is True
    assert "overhead" in capsys.readouterr().out


def test_export_scaling_dry_run_pins_each_run_to_its_cores(tmp_path, monkeypatch, capsys):
    """Each core count runs in a child pinned to that many cores: the child reports the cores it saw."""
    import os

    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no CPU affinity on this OS")
    bench = _load("export_scaling", monkeypatch)
    available = len(os.sched_getaffinity(0))
    payload = bench.main(["--dry-run", "--out", str(tmp_path)])
    data = json.loads(next(tmp_path.glob("export_scaling-*.json")).read_text())
    assert data == json.loads(json.dumps(payload))
    assert data["settings"]["cores"] == bench.core_counts(available)
    assert bench.core_counts(1) == [1] and bench.core_counts(6) == [1, 2, 4, 6]
    for entry in data["results"].values():
        assert "ffmpeg" not in entry  # dry run: ours only
        assert _number(entry["ours"]["fps"]) and entry["ours"]["fps"] > 0
        assert _number(entry["ours"]["speedup_over_first"])
    first = data["results"][str(data["settings"]["cores"][0])]
    assert first["ours"]["speedup_over_first"] == 1.0
    assert "core(s): ours" in capsys.readouterr().out


def test_export_scaling_child_sees_only_its_cores(tmp_path, monkeypatch):
    import os
    import subprocess
    import sys

    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no CPU affinity on this OS")
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "from app.export.pipeline import usable_cores; print(usable_cores())"
    )
    out = subprocess.run([sys.executable, "-c", code, str(BENCHMARKS.parent)], capture_output=True, text=True,
                         preexec_fn=lambda: os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]}),
                         check=True)  # fmt: skip
    assert out.stdout.strip() == "1"
