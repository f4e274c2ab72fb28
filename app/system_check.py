"""``aiprod-studio --check``: what a support request needs, in plain text. Versions, the GPU and CUDA, free
VRAM, RAM and disk, what the models folder holds, and each problem found with its fix. Reads files and asks
the drivers; loads no weights and touches no network. Qt-free (the caller adds the settings' problems).
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from app.model_store.folder import human_size, models_folder, scan
from app.project.paths import data_root

GB = 1000**3
PACKAGES = ("torch", "diffusers", "transformers", "PySide6-Essentials", "av", "opencolorio", "opentimelineio",
            "optimum-quanto", "huggingface_hub", "safetensors", "numpy")  # fmt: skip
# Below these the studio still runs, slowly or with quantization; said as warnings.
MIN_VRAM = 12 * GB
MIN_RAM = 16 * GB
# Roughly one LTX-2.3 dev model with its Gemma root and companions.
VERSION_DOWNLOAD = 75 * GB


@dataclass
class CheckReport:
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # stop generation; each with its fix
    warnings: list[str] = field(default_factory=list)  # it runs, but slowly or with limits

    def text(self) -> str:
        out = list(self.lines)
        out.append("")
        if self.problems:
            out.append(f"Problems ({len(self.problems)}):")
            out += [f"  - {p}" for p in self.problems]
        else:
            out.append("Problems: none found.")
        if self.warnings:
            out.append(f"Warnings ({len(self.warnings)}):")
            out += [f"  - {w}" for w in self.warnings]
        return "\n".join(out)


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _nvidia_smi() -> str | None:
    """nvidia-smi's output; None without the tool, the error text when it fails."""
    tool = shutil.which("nvidia-smi")
    if tool is None:
        return None
    try:
        done = subprocess.run([tool], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"failed: {exc}"
    return done.stdout if done.returncode == 0 else f"failed: {(done.stdout + done.stderr).strip()[:200]}"


def _memory() -> tuple[int | None, int | None]:
    """(available, total) RAM in bytes where the system says."""
    try:
        info = dict(
            line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line
        )
        return int(info["MemAvailable"].split()[0]) * 1024, int(info["MemTotal"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        pass
    try:
        page = os.sysconf("SC_PAGE_SIZE")
        return os.sysconf("SC_AVPHYS_PAGES") * page, os.sysconf("SC_PHYS_PAGES") * page
    except (AttributeError, ValueError, OSError):
        return None, None


def _gpu(report: CheckReport) -> None:
    smi = _nvidia_smi()
    try:
        import torch
    except ImportError as exc:
        report.problems.append(f"PyTorch cannot be imported ({exc}). Fix: reinstall the studio (installer or "
                               "`make venv`).")  # fmt: skip
        return
    build = torch.version.cuda
    report.lines.append(f"PyTorch build: {'CUDA ' + build if build else 'CPU'}")
    if smi is not None:
        driver = next((part.split("CUDA Version:")[1].split()[0] for part in smi.splitlines()
                       if "CUDA Version:" in part), "?")  # fmt: skip
        report.lines.append(
            f"nvidia-smi: {'driver supports CUDA ' + driver if not smi.startswith('failed') else smi}"
        )
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            free, total = torch.cuda.mem_get_info(index)
            report.lines.append(
                f"GPU {index}: {props.name}, compute capability {props.major}.{props.minor}, "
                f"VRAM {human_size(free)} free of {human_size(total)}"
            )
            if free < MIN_VRAM:
                report.warnings.append(
                    f"GPU {index} has {human_size(free)} of VRAM free: the full LTX models need streaming "
                    "or FP8. Fix: choose fp8 or streaming in Settings > Quantization, or close other GPU "
                    "programs."
                )
        return
    report.lines.append("GPU: none that PyTorch can use")
    if smi is not None and not smi.startswith("failed") and not build:
        report.problems.append(
            "An NVIDIA GPU is present but PyTorch is the CPU build. Fix: run the installer again (it picks "
            "the CUDA build from nvidia-smi), or: pip install --force-reinstall --index-url "
            "https://download.pytorch.org/whl/cu126 torch==2.13.0 (cu130 with a CUDA 13 driver)"
        )
    elif smi is not None and smi.startswith("failed"):
        report.problems.append(
            f"nvidia-smi fails ({smi[8:80]}): the NVIDIA driver is not working. Fix: reinstall or update the "
            "NVIDIA driver and reboot; until then generation runs on the CPU."
        )
    elif build:
        report.problems.append(
            f"PyTorch is the CUDA {build} build but sees no GPU. Fix: check that `nvidia-smi` works and "
            "that the driver supports this CUDA version (update the driver)."
        )
    else:
        report.warnings.append(
            "No CUDA GPU: generation runs on the CPU, far too slowly for the real models (only the tiny test "
            "model is practical). Fix: a machine with an NVIDIA GPU and the CUDA build of PyTorch."
        )


def _models(report: CheckReport) -> None:
    folder = models_folder()
    status = scan(folder)
    kind = "a ComfyUI models tree" if status.comfy else "the studio's layout"
    report.lines.append("")
    if not status.exists:
        report.lines.append(f"Models folder: {folder} (does not exist yet)")
    else:
        report.lines.append(f"Models folder: {folder} ({kind}), {human_size(status.free)} free on its disk")
    for version in status.versions:
        state = (
            "ready" if version.ready else "incomplete" if any(f.present for f in version.files) else "absent"
        )
        report.lines.append(
            f"  {version.entry.title}: {state}" + (f" ({version.summary})" if version.summary else "")
        )
        for item in version.files:
            if item.present:
                report.lines.append(f"    {item.item.role}: {item.path} ({human_size(item.size)})")
            elif item.partial:
                report.lines.append(f"    {item.item.role}: partly downloaded ({human_size(item.partial)})")
        report.problems += [f"{version.entry.title}: {p}" for p in version.problems]
    if not any(v.ready for v in status.versions):
        fix = (
            "Fix: open the model manager (it opens on first run, or Settings > Model manager...) and "
            "download one."
        )
        if status.free < VERSION_DOWNLOAD:
            fix += (
                f" The disk has {human_size(status.free)} free and a version needs about "
                f"{human_size(VERSION_DOWNLOAD)}: choose a models folder on a bigger disk there."
            )
        report.problems.append(f"No LTX version is complete in {folder}. {fix}")


def run_check(settings_problems: list[str] | None = None, gpu: bool = True) -> CheckReport:
    from app import __version__

    report = CheckReport()
    report.lines.append(f"AIPROD Studio {__version__}")
    report.lines.append(f"Python {platform.python_version()} ({sys.executable}) on {platform.platform()}")
    report.lines.append("Packages: " + ", ".join(f"{name} {_version(name)}" for name in PACKAGES))
    try:
        import av

        report.lines.append(f"FFmpeg (PyAV): {av.ffmpeg_version_info}")
    except (ImportError, AttributeError):
        report.problems.append("PyAV (FFmpeg) cannot be imported. Fix: reinstall the studio.")
    if gpu:
        _gpu(report)
    available, total = _memory()
    if total:
        report.lines.append(f"RAM: {human_size(available)} available of {human_size(total)}")
        if total < MIN_RAM:
            report.warnings.append(
                f"{human_size(total)} of RAM: loading the LTX models needs about 32 GB. "
                "Fix: choose fp8 quantization in Settings, close other programs."
            )
    data = data_root()
    probe = data
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    report.lines.append(f"Data folder: {data}, {human_size(shutil.disk_usage(probe).free)} free on its disk")
    _models(report)
    for problem in settings_problems or ():
        report.problems.append(f"Settings: {problem}")
    if sys.platform.startswith("linux") and not any(
        os.environ.get(n) for n in ("DISPLAY", "WAYLAND_DISPLAY")
    ):
        report.warnings.append(
            "No display (DISPLAY/WAYLAND_DISPLAY unset): the studio cannot open a window here. "
            "Fix: run it on the desktop, under `xvfb-run`, or use aiprod-cli."
        )
    return report
