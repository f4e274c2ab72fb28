"""Where the model lives and how to load it; persisted with QSettings, checked without loading anything.

`detect()` only looks at files (layout, headers, folder contents): it must answer in milliseconds when the
settings dialog opens, long before minutes of weight loading on the worker.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QSettings

# "none" keeps the checkpoint's precision (bf16 on a GPU); the label says so in the UI.
QUANTIZATION_MODES = ("none", "fp8", "int8", "int4")
QUANTIZATION_LABELS = {
    "none": "bf16 (full precision)",
    "fp8": "fp8 (about half the memory)",
    "int8": "int8",
    "int4": "int4 (least memory)",
}
TINY_IDENTITY = "tiny-random"
_GROUP = "engine"


@dataclass(frozen=True)
class EngineSettings:
    """What the worker needs to build an engine. Equal settings reuse the loaded model."""

    checkpoint: str = ""
    gemma_root: str = ""
    quantization: str = "none"
    developer_tiny: bool = False  # developer/test mode: offer the tiny random model (its output is noise)

    def with_changes(self, **changes: object) -> EngineSettings:
        return replace(self, **changes)

    def detect(self) -> list[str]:
        """Problems that stop the real model from loading, each saying what to do. Empty: ready."""
        from engine.checkpoint import detect_layout
        from engine.errors import CheckpointError, TextEncoderError
        from engine.text_encoder import check_root

        problems: list[str] = []
        if not self.checkpoint.strip():
            problems.append(
                "No LTX-2 checkpoint is set: open Settings and choose the .safetensors file "
                "(or diffusers folder) you downloaded (see README, 'Model weights')."
            )
        else:
            try:
                detect_layout(Path(self.checkpoint).expanduser())
            except CheckpointError as exc:
                problems.append(f"LTX-2 checkpoint: {exc}. Choose another file in Settings.")
        if not self.gemma_root.strip():
            problems.append(
                "No Gemma text encoder folder is set: open Settings and choose the local Gemma-3 folder "
                "(config.json, tokenizer and *.safetensors)."
            )
        else:
            try:
                check_root(Path(self.gemma_root).expanduser())
            except (TextEncoderError, CheckpointError) as exc:
                problems.append(f"Gemma text encoder: {exc}. Choose the right folder in Settings.")
        if self.quantization not in QUANTIZATION_MODES:
            problems.append(
                f"Unknown quantization {self.quantization!r}; choose one of {', '.join(QUANTIZATION_MODES)}."
            )
        return problems

    # --- persistence ----------------------------------------------------------------------------------------

    @classmethod
    def load(cls, store: QSettings) -> EngineSettings:
        """Read from `store` (the app's QSettings, or a temporary one in tests); defaults where unset."""
        store.beginGroup(_GROUP)
        try:
            quant = str(store.value("quantization", "none"))
            return cls(
                checkpoint=str(store.value("checkpoint", "") or ""),
                gemma_root=str(store.value("gemma_root", "") or ""),
                quantization=quant if quant in QUANTIZATION_MODES else "none",
                developer_tiny=_as_bool(store.value("developer_tiny", False)),
            )
        finally:
            store.endGroup()

    def save(self, store: QSettings) -> None:
        store.beginGroup(_GROUP)
        store.setValue("checkpoint", self.checkpoint)
        store.setValue("gemma_root", self.gemma_root)
        store.setValue("quantization", self.quantization)
        store.setValue("developer_tiny", self.developer_tiny)
        store.endGroup()
        store.sync()


def _as_bool(value: object) -> bool:
    # INI-backed QSettings hand booleans back as the strings "true"/"false".
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)
