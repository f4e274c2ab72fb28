"""Where the model lives and how to load it; persisted with QSettings, checked without loading anything.

`detect()` only looks at files (layout, headers, folder contents): it must answer in milliseconds when the
settings dialog opens, long before minutes of weight loading on the worker.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QSettings

from engine.quantization_modes import QUANTIZATION_MODES

TINY_IDENTITY = "tiny-random"
_GROUP = "engine"


@dataclass(frozen=True)
class EngineSettings:
    """What the worker needs to build an engine. Equal settings reuse the loaded model."""

    checkpoint: str = ""
    gemma_root: str = ""
    quantization: str = "none"
    developer_tiny: bool = False  # developer/test mode: offer the tiny random model (its output is noise)
    lora_folder: str = ""  # the user's LoRA library (app.jobs.lora_library); LoRAs beside the model come too
    # Render nodes: "" runs jobs on this machine; a Ray address (HOST:PORT) runs the engine's jobs on that
    # cluster (app.cluster); AIPROD_RAY_ADDRESS names one when this is empty
    render_nodes: str = ""

    def with_changes(self, **changes: object) -> EngineSettings:
        return replace(self, **changes)

    def report(self):
        """What the checkpoint path holds (engine.checkpoint_report.CheckpointReport), from file headers and
        folder listings only; raises engine.errors.CheckpointError when the path itself is unusable."""
        from engine.checkpoint_report import describe_checkpoint

        gemma = self.gemma_root.strip()
        return describe_checkpoint(
            Path(self.checkpoint).expanduser(), text_encoder=Path(gemma).expanduser() if gemma else None
        )

    def text_encoder_path(self, report=None) -> Path | None:
        """The Gemma root to load: the one set in Settings, else the one found beside the checkpoint or
        inside an LTX-2.5 release folder (None when the folder carries its own packed encoder)."""
        if self.gemma_root.strip():
            return Path(self.gemma_root).expanduser()
        report = report if report is not None else self.report()
        if report.layout.name == "RELEASE_FOLDER":
            return None
        return report.text_encoder

    def model_spec(self):
        """The engine.models.ModelSpec of the configured checkpoint (LTX-2.0's when it cannot be read):
        the studio's defaults (steps, guidance, negative prompt, length limit) come from it."""
        from engine.errors import CheckpointError
        from engine.models import LTX_2_0, SPECS

        if self.checkpoint.strip():
            try:
                version = self.report().version
            except (CheckpointError, OSError):
                version = None
            if version in SPECS:
                return SPECS[version]
        return LTX_2_0

    def summary(self) -> str:
        """One line on what the checkpoint is ("LTX-2.3 dev, Gemma 3 root OK, ..."); empty when unset or
        unreadable (detect() says why)."""
        from engine.errors import CheckpointError

        if not self.checkpoint.strip():
            return ""
        try:
            return self.report().summary()
        except (CheckpointError, OSError):
            return ""

    def detect(self) -> list[str]:
        """Problems that stop the real model from loading, each saying what to do. Empty: ready."""
        from engine.errors import CheckpointError, TextEncoderError
        from engine.text_encoder import check_root

        problems: list[str] = []
        report = None
        if not self.checkpoint.strip():
            problems.append(
                "No LTX-2 checkpoint is set: download one with the model manager (Settings > Model "
                "manager...), or choose in Settings the .safetensors file (LTX-2.0 or 2.3), the LTX-2.5 "
                "release folder or a diffusers folder you downloaded (see README, 'Model weights')."
            )
        else:
            try:
                report = self.report()
            except (CheckpointError, OSError) as exc:
                problems.append(f"LTX-2 checkpoint: {exc}. Choose another file in Settings.")
        if report is not None:
            for item in report.missing:
                if not item.required:
                    continue
                if item.role == "text encoder" and self.gemma_root.strip():
                    continue  # said below, with what is wrong in the folder that was set
                problems.append(
                    f"{report.model_name}: missing {item}. Put it in place or set it in Settings."
                )
            if report.text_encoder_problem and not self.gemma_root.strip():
                problems.append(f"Text encoder: {report.text_encoder_problem}.")
        gemma = self.gemma_root.strip()
        if gemma:
            try:
                check_root(Path(gemma).expanduser())
            except (TextEncoderError, CheckpointError) as exc:
                problems.append(f"Gemma text encoder: {exc}. Choose the right folder in Settings.")
            else:
                if report is not None and report.text_encoder_problem:
                    problems.append(f"Gemma text encoder: {report.text_encoder_problem}.")
        elif report is None and self.checkpoint.strip() == "":
            problems.append(
                "No Gemma text encoder folder is set: the model manager downloads it with the model, or "
                "choose in Settings the local Gemma-3 folder (config.json, tokenizer and *.safetensors); an "
                "LTX-2.5 release folder carries its own."
            )
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
                lora_folder=str(store.value("lora_folder", "") or ""),
                render_nodes=str(store.value("render_nodes", "") or "").strip(),
            )
        finally:
            store.endGroup()

    def save(self, store: QSettings) -> None:
        store.beginGroup(_GROUP)
        store.setValue("checkpoint", self.checkpoint)
        store.setValue("gemma_root", self.gemma_root)
        store.setValue("quantization", self.quantization)
        store.setValue("developer_tiny", self.developer_tiny)
        store.setValue("lora_folder", self.lora_folder)
        store.setValue("render_nodes", self.render_nodes)
        store.endGroup()
        store.sync()


def _as_bool(value: object) -> bool:
    # INI-backed QSettings hand booleans back as the strings "true"/"false".
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def model_spec_for(model: str, settings: EngineSettings):
    """The engine.models.ModelSpec a job for `model` ("ltx2" or "tiny") runs with: its length limit and
    every default a job leaves to the model. The tiny test model is built as LTX-2.0."""
    from engine.models import LTX_2_0

    return LTX_2_0 if model == "tiny" else settings.model_spec()
