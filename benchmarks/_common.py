"""Shared helpers for the benchmark scripts: machine description, medians, result files.

Every benchmark records where and when it ran, because a time without its machine means nothing.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import re
import socket
import statistics
import subprocess
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def run_with_threads(run, args) -> Any:
    """Call `run(args)` with torch set to `args.threads` threads (0: torch's default), restored afterwards."""
    import torch

    threads_before = torch.get_num_threads()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        return run(args)
    finally:
        torch.set_num_threads(threads_before)


def today() -> str:
    return _dt.date.today().isoformat()


def now_utc() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict[str, Any]:
    """Platform, CPU, cores, memory and library versions (plus the GPU when torch sees one)."""
    import torch

    info: dict[str, Any] = {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_model": cpu_model(),
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "memory_bytes": _total_memory(),
    }
    try:
        import diffusers

        info["diffusers"] = diffusers.__version__
    except ImportError:
        pass
    if torch.cuda.is_available():
        info.update(gpu_info())
    return info


def gpu_info() -> dict[str, Any]:
    import torch

    props = torch.cuda.get_device_properties(0)
    info: dict[str, Any] = {
        "gpu_name": torch.cuda.get_device_name(0),
        "gpu_memory_bytes": int(props.total_memory),
        "cuda_runtime": torch.version.cuda,
        "gpu_driver": None,
    }
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20, check=False)
        if out.returncode == 0 and out.stdout.strip():
            info["gpu_driver"] = out.stdout.strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def _total_memory() -> int | None:
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def slug(text: str) -> str:
    """A file-name-safe form of a machine or GPU name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "unknown"


def write_json(payload: dict[str, Any], out: str | Path | None, stem: str, tag: str = "") -> Path:
    """Write `payload` to `out` (a .json file) or into the folder `out` as `<stem>-<date>.json`.

    A tag goes after the date (`gpu_transformer-<gpu>-<date>-int4.json`), so files sort by machine and date.
    """
    target = Path(out) if out is not None else RESULTS_DIR
    if target.suffix != ".json":
        target = target / f"{stem}-{today()}{'-' + slug(tag) if tag else ''}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")
    return target


def header(name: str, dry_run: bool, machine: dict[str, Any] | None = None) -> dict[str, Any]:
    """The fields every result file starts with: which benchmark, when, whether a dry run, the machine
    (default: `machine_info()`) and its load average."""
    return {
        "benchmark": name,
        "date": now_utc(),
        "dry_run": bool(dry_run),
        "machine": machine if machine is not None else machine_info(),
        "load_average": load_average(),
    }


def save(payload: dict[str, Any], out: str | Path | None, dry_run: bool) -> dict[str, Any]:
    """Write `payload` (named by its "benchmark" field; tagged "dry-run" for a dry run), say where, and
    return it."""
    name = payload["benchmark"]
    path = write_json(payload, out, name, "dry-run" if dry_run else "")
    print(f"{name}: wrote {path}")
    return payload


def fmt_s(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds:8.3f} s"


def load_average() -> list[float] | None:
    """1/5/15-minute load averages: other work on the machine makes timings noisy, so record it."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None
