"""Issue 16: `aiprod-studio --check` prints what a support request needs (versions, GPU, CUDA, memory,
disk, the models folder's contents) and each problem with its fix; status 1 when there is a problem."""

from __future__ import annotations

import os
import subprocess
import sys

from shared_fixtures import LTX23_FIXTURE, needs_ltx23_fixture

from app import system_check
from app.model_store import folder as mf


def _check(tmp_path, env_extra=None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update({"AIPROD_DATA_DIR": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
                **(env_extra or {})})  # fmt: skip
    code = "import sys; from ui.main import main; sys.exit(main(['aiprod-studio', '--check']))"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=180)


def test_check_without_models_names_the_problem_and_the_fix_without_a_display(tmp_path):
    result = _check(tmp_path)
    assert result.returncode == 1, result.stderr
    out = result.stdout
    assert f"Python {sys.version_info.major}.{sys.version_info.minor}" in out
    assert "torch 2.13.0" in out and "av " in out and "FFmpeg (PyAV)" in out
    assert "PyTorch build:" in out and "RAM:" in out and "free on its disk" in out
    assert f"Models folder: {tmp_path / 'data' / 'models'}" in out
    assert "No LTX version is complete" in out and "open the model manager" in out
    assert "Settings: No LTX-2 checkpoint is set" in out
    assert "No display" in out  # a warning, and still no crash without one


@needs_ltx23_fixture
def test_check_lists_what_the_models_folder_holds(tmp_path, monkeypatch):
    models = tmp_path / "models"
    version = models / "LTX-2.3"
    version.mkdir(parents=True)
    for entry in LTX23_FIXTURE.iterdir():
        if entry.is_dir():  # the Gemma root, under the release's folder name
            (version / "gemma-3-12b-it-qat-q4_0-unquantized").symlink_to(entry)
        elif entry.suffix == ".safetensors" and not entry.name.startswith("reference"):
            (version / entry.name).symlink_to(entry)
    monkeypatch.setenv("AIPROD_DATA_DIR", str(tmp_path / "data"))
    mf.set_models_folder(models)
    out = _check(tmp_path).stdout
    assert f"Models folder: {models} (the studio's layout)" in out
    assert "LTX-2.3: ready (LTX-2.3" in out
    dev = next(p.name for p in LTX23_FIXTURE.glob("ltx-2.3-*dev.safetensors"))
    assert str(version / dev) in out
    assert "No LTX version is complete" not in out


def test_an_nvidia_gpu_with_a_cpu_pytorch_is_a_problem_with_the_fix(monkeypatch, tmp_path):
    import torch

    monkeypatch.setenv("AIPROD_DATA_DIR", str(tmp_path / "data"))
    smi = "| Driver Version: 570.86   CUDA Version: 12.8 |"
    monkeypatch.setattr(system_check, "_nvidia_smi", lambda: smi)
    monkeypatch.setattr(torch.version, "cuda", None)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    report = system_check.run_check()
    assert "nvidia-smi: driver supports CUDA 12.8" in report.text()
    problem = next(p for p in report.problems if "PyTorch is the CPU build" in p)
    assert "run the installer again" in problem and "whl/cu126 torch==2.13.0" in problem


def test_a_failing_driver_is_a_problem_with_the_fix(monkeypatch, tmp_path):
    import torch

    monkeypatch.setenv("AIPROD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(system_check, "_nvidia_smi", lambda: "failed: NVIDIA-SMI couldn't communicate")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    report = system_check.run_check()
    assert any("the NVIDIA driver is not working" in p for p in report.problems)
