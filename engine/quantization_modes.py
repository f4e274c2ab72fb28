"""The quantization modes the engine offers, with what each means to a user: the one list the engine, the
studio's settings and panels and the CLI read. Import-light on purpose (no torch), so the CLI's argument
parser and the settings dialog can use it before any model code loads."""

from __future__ import annotations

# "none" keeps the checkpoint's precision (bf16 on a GPU, float32 on the CPU).
QUANTIZATION_LABELS: dict[str, str] = {
    "none": "bf16 (full precision)",
    "fp8": "fp8 (about half the memory)",
    # FP8 matmuls with per-token activation scales: faster on GPUs with FP8 tensor cores (compute capability
    # 8.9+); elsewhere the engine falls back to "fp8" and says so (engine/fp8.py)
    "fp8-fast": "fp8 fast (FP8 tensor cores: RTX 40xx, H100 and later)",
    "int8": "int8",
    "int4": "int4 (least memory)",
}
QUANTIZATION_MODES: tuple[str, ...] = tuple(QUANTIZATION_LABELS)
