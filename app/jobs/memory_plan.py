"""The memory plan line the Generate panel shows before Generate ("fits: yes, peak VRAM 21.3 GiB, ...").

Computed from checkpoint headers only (engine.model_sizes builds meta-device skeletons, about a second for
a full-size model the first time, then cached per file identity), with the free VRAM of the first CUDA device
and the available RAM. Qt-free so the CLI and tests can use it.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

GiB = 1024**3


def detect_vram() -> int | None:
    """Free memory of the first CUDA device in bytes, or None without one."""
    import torch

    if not torch.cuda.is_available():
        return None
    free, _total = torch.cuda.mem_get_info(0)
    return int(free)


@functools.lru_cache(maxsize=4)
def _weights(checkpoint: str, text_encoder: str, stamp: tuple):
    from engine.model_sizes import weights_of

    return weights_of(checkpoint, text_encoder or None)


def _stamp(path: str) -> tuple:
    try:
        stat = os.stat(path)
    except OSError:
        return ()
    return (stat.st_size, stat.st_mtime_ns)


def plan_line(
    checkpoint: str,
    text_encoder: str | None,
    quantization: str,
    recipe: str | None,
    width: int,
    height: int,
    frames: int,
    vram: int | None = None,
    upsampler_scale: float = 2.0,
) -> str:
    """One line for the panel: the plan's summary, or why there is none (no GPU, bad size, bad file)."""
    import torch

    from engine.errors import EngineError
    from engine.planner import plan_generation
    from engine.tiling import available_memory

    vram = detect_vram() if vram is None else vram
    if vram is None:
        return "No CUDA GPU: the model runs on the CPU (slow; no memory plan)."
    if not checkpoint or not Path(checkpoint).expanduser().exists():
        return ""
    path = str(Path(checkpoint).expanduser())
    try:
        weights = _weights(path, text_encoder or "", _stamp(path))
        plan = plan_generation(
            weights,
            quantization=quantization or "none",
            recipe=recipe or "full",
            width=width,
            height=height,
            frames=frames,
            vram=vram,
            ram=available_memory(torch.device("cpu")),
            upsampler_scale=float(upsampler_scale),
        )
    except (EngineError, ValueError, OSError) as exc:
        return f"No memory plan: {exc}"
    return f"{vram / GiB:.0f} GiB free on the GPU. {plan.summary()}"
