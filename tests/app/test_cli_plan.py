"""`aiprod-cli plan`: prints a plan ending in one `fits:` line, exit 0; bad input exits 2 with one line."""

from __future__ import annotations

import re

import pytest
from shared_fixtures import LTX23_FIXTURE, LTX25_FIXTURE, ltx23_monolith

from app.cli import main

SUMMARY = re.compile(
    r"^fits: (yes|no), peak VRAM (\d+\.\d) GiB, peak RAM (\d+\.\d) GiB, "
    r"transformer (resident|streamed|sequential)"
)


def _run(capsys, *args):
    code = main(["plan", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("vram", "quant"), [("24GiB", "fp8"), ("16GiB", "int4"), ("32GiB", "fp8")])
def test_plan_for_a_version_name(capsys, vram, quant):
    size = ["--width", "1280", "--height", "704", "--frames", "121"]
    code, out, err = _run(capsys, "--model", "ltx-2.3", "--quant", quant, "--recipe", "two-stage", *size,
                          "--vram", vram, "--ram", "64GiB")
    assert code == 0, err
    last = out.strip().splitlines()[-1]
    match = SUMMARY.match(last)
    assert match, last
    if match.group(1) == "yes":
        assert float(match.group(2)) <= float(vram.removesuffix("GiB"))
    assert "stage 1 (half size): 640x352x121" in out


def test_a_plan_that_does_not_fit_still_exits_0(capsys):
    code, out, _ = _run(capsys, "--model", "ltx-2.0", "--vram", "2GiB", "--ram", "8GiB")
    assert code == 0
    assert out.strip().splitlines()[-1].startswith("fits: no")


def _checkpoints():
    found = []
    if LTX23_FIXTURE is not None and ltx23_monolith(LTX23_FIXTURE) is not None:
        found.append(ltx23_monolith(LTX23_FIXTURE))
    if LTX25_FIXTURE is not None:
        found.append(LTX25_FIXTURE)  # a release folder: transformer, Gemma 4 file, VAEs in sub-folders
    return found


@pytest.mark.parametrize("path", _checkpoints(), ids=lambda p: p.name)
def test_plan_for_a_checkpoint(capsys, path):
    code, out, err = _run(capsys, "--model", str(path), "--width", "256", "--height", "128", "--frames", "25",
                          "--vram", "8GiB", "--ram", "16GiB")
    assert code == 0, err
    assert f"({path})" in out and SUMMARY.match(out.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "args",
    [
        ["--model", "ltx-2.3", "--vram", "lots"],
        ["--model", "ltx-2.3", "--vram", "24GiB", "--width", "1000"],
        ["--model", "ltx-2.3", "--vram", "24GiB", "--frames", "100"],
        ["--model", "ltx-2.3", "--vram", "24GiB", "--ram=-1GiB"],
        ["--model", "/no/such/checkpoint.safetensors", "--vram", "24GiB"],
        ["--model", "ltx-2.3", "--vram", "24GiB", "--tflops", "0"],
    ],
)
def test_bad_input_exits_2(capsys, args):
    code, out, err = _run(capsys, *args)
    assert code == 2
    assert err.startswith("aiprod-cli: ") and len(err.strip().splitlines()) == 1 and out == ""


@pytest.mark.parametrize(
    "args", [["--model", "ltx-2.3"], ["--model", "ltx-2.3", "--vram", "8G", "--quant", "fp4"]]
)
def test_argument_errors_exit_2(capsys, args):
    with pytest.raises(SystemExit) as exc:
        main(["plan", *args])
    assert exc.value.code == 2
