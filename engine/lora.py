"""LoRA files in the ComfyUI / ltx-trainer layout (e.g. `ltx-2.3-22b-distilled-lora-384-1.1.safetensors`).

Keys are `diffusion_model.<ltx-core module>.lora_A.weight` [rank, in] and `.lora_B.weight` [out, rank], with
no alpha: the reference (ltx-core 1.2.0 `fuse_loras`) adds `strength * B @ A` to the module's weight. It forms
`(B * strength) @ A` in bfloat16 and adds the weight into that bfloat16 tensor, so the fused weight is rounded
to bfloat16 even when the model computes in float32; `fuse_lora` does the same by default
(`aggregation_dtype=torch.float32` gives the exact sum instead).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch

from engine import ltx23_layout
from engine.checkpoint import SafetensorsFile, file_identity
from engine.errors import CheckpointError, QuantizationError

log = logging.getLogger(__name__)

LORA_PREFIXES = ("diffusion_model.", "model.diffusion_model.")
_A, _B = ".lora_A.weight", ".lora_B.weight"


@dataclass
class LoraFile:
    """A LoRA's factors per target module (ltx-core names, prefix stripped)."""

    path: Path
    identity: str
    factors: dict[str, tuple[torch.Tensor, torch.Tensor]] = field(repr=False)

    @property
    def rank(self) -> int:
        return max((a.shape[0] for a, _ in self.factors.values()), default=0)


def load_lora(path: str | Path) -> LoraFile:
    """Read a LoRA file; every lora_A must have its lora_B and the shapes must chain."""
    checkpoint = SafetensorsFile.open(path, component="lora")
    modules: dict[str, dict[str, str]] = {}
    ignored = []
    for key in checkpoint.keys():
        prefix = next((p for p in LORA_PREFIXES if key.startswith(p)), None)
        suffix = next((s for s in (_A, _B) if key.endswith(s)), None)
        if prefix is None or suffix is None:
            ignored.append(key)
            continue
        modules.setdefault(key[len(prefix) : -len(suffix)], {})[suffix] = key
    if not modules:
        raise CheckpointError(
            "holds no LoRA factors (expected 'diffusion_model.<module>.lora_A.weight' / '.lora_B.weight' "
            "keys, the ComfyUI / LTX-2 trainer layout)",
            path=checkpoint.path,
            component="lora",
        )
    if ignored:
        log.warning(
            "%s: %d keys are not LoRA factors (e.g. %s); ignored", checkpoint.path, len(ignored), ignored[0]
        )
    unpaired = sorted(name for name, parts in modules.items() if len(parts) != 2)
    if unpaired:
        raise CheckpointError(
            f"has a lora_A without its lora_B (or the reverse) for {unpaired[0]}",
            path=checkpoint.path,
            component="lora",
        )
    tensors = checkpoint.load([key for parts in modules.values() for key in parts.values()])
    factors = {}
    for name, parts in modules.items():
        a, b = tensors[parts[_A]], tensors[parts[_B]]
        if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[1]:
            raise CheckpointError(
                f"has LoRA factors for {name} whose shapes do not chain "
                f"({tuple(b.shape)} @ {tuple(a.shape)})",
                path=checkpoint.path,
                component="lora",
            )
        factors[name] = (a, b)
    return LoraFile(checkpoint.path, file_identity([checkpoint]), factors)


def diffusers_parameter(module_name: str) -> str:
    """The `LTX2VideoTransformer3DModel` weight that an ltx-core transformer module name refers to."""
    official = ltx23_layout.TRANSFORMER_PREFIX + module_name + ".weight"
    return next(iter(ltx23_layout.rename_transformer({official: None})))


def _plan(transformer: torch.nn.Module, lora: LoraFile) -> list[tuple]:
    """(diffusers parameter name, weight, A, B) per target of `lora`, every target checked first."""
    params = dict(transformer.named_parameters())
    plan = []
    for name, (a, b) in lora.factors.items():
        target = diffusers_parameter(name)
        weight = params.get(target)
        if weight is None:
            raise CheckpointError(
                f"targets '{name}', which this transformer does not have; the LoRA belongs to another model",
                path=lora.path,
                component="lora",
            )
        if tuple(weight.shape) != (b.shape[0], a.shape[1]):
            raise CheckpointError(
                f"changes '{name}' by a {b.shape[0]}x{a.shape[1]} update but the weight is "
                f"{tuple(weight.shape)}; the LoRA belongs to another model size",
                path=lora.path,
                component="lora",
            )
        if type(weight.data) is not torch.Tensor or not weight.is_floating_point():
            raise QuantizationError(
                f"cannot fuse a LoRA into '{target}': the weight is quantized "
                f"({type(weight.data).__name__}); fuse LoRAs before quantizing the transformer"
            )
        plan.append((target, weight, a, b))
    return plan


def fuse_loras(
    transformer: torch.nn.Module,
    loras: list[tuple[LoraFile, float]],
    aggregation_dtype: torch.dtype = torch.bfloat16,
    before_change=None,
) -> list[str]:
    """Fuse several LoRAs at once, as ltx-core's `apply_loras`: per target weight the products
    `(B * strength) @ A` are summed in the aggregation dtype (the first formed with `matmul`, the others added
    with `addmm_`), then the weight is added into that sum and the result stored.

    Every file is checked against the transformer before any weight changes. `before_change(name, weight)`
    is called once per weight about to change (to keep the original for unfusing). Returns the diffusers
    parameter names changed.
    """
    per_target: dict[str, list] = {}
    weights: dict[str, torch.nn.Parameter] = {}
    for lora, strength in loras:
        for target, weight, a, b in _plan(transformer, lora):
            per_target.setdefault(target, []).append((a, b, float(strength)))
            weights[target] = weight
    fp8 = sorted(t for t, w in weights.items() if w.dtype in (torch.float8_e4m3fn, torch.float8_e5m2))
    if fp8:
        raise CheckpointError(
            f"a LoRA cannot be fused into a pre-quantized FP8 transformer (e.g. {fp8[0]}); load the bf16 "
            "release and quantize it instead (quantization fp8 or fp8-fast)"
        )
    with torch.no_grad():
        for target, products in per_target.items():
            weight = weights[target]
            if before_change is not None:
                before_change(target, weight)
            delta = None
            for a, b, strength in products:
                a = a.to(device=weight.device, dtype=aggregation_dtype)
                b = b.to(device=weight.device, dtype=aggregation_dtype)
                if delta is None:
                    delta = torch.matmul(b * strength, a).to(aggregation_dtype)
                else:
                    delta.addmm_(b, a, alpha=strength)
            delta.add_(weight)  # accumulates in the aggregation dtype, as the reference does
            weight.copy_(delta.to(weight.dtype))
    return list(per_target)


def fuse_lora(
    transformer: torch.nn.Module,
    lora: LoraFile,
    strength: float = 1.0,
    aggregation_dtype: torch.dtype = torch.bfloat16,
) -> list[str]:
    """Add `strength * B @ A` to each target weight of a diffusers LTX-2 transformer, in place.

    Returns the diffusers parameter names changed. A target the transformer lacks, or whose shape differs, is
    a `CheckpointError` naming the LoRA file (a LoRA for another model version or size).
    """
    return fuse_loras(transformer, [(lora, strength)], aggregation_dtype)


# Up to this many bytes of original weights are kept in RAM for unfusing; past it, the originals are read
# back from the checkpoint instead (a 22B transformer's touched weights would double its memory).
ORIGINALS_BUDGET_BYTES = 2 * 1024**3


class LoraSwitcher:
    """Unfused switching between LoRA sets on an unquantized transformer.

    Before a weight first changes its original is kept (on the CPU); `apply` restores every changed weight
    exactly, then fuses the new set, so going back to no LoRAs gives the checkpoint's weights bit for bit.
    Keeping the originals costs a copy of the touched weights; once that would pass `budget` bytes and a
    `reload` (() -> the checkpoint's transformer) is given, no copies are kept and a restore reads the
    originals back from the checkpoint instead (slower, no standing memory).
    """

    def __init__(self, transformer: torch.nn.Module, reload=None, budget: int = ORIGINALS_BUDGET_BYTES):
        self.transformer = transformer
        self.reload = reload
        self.budget = budget
        self.originals: dict[str, torch.Tensor] = {}
        self.changed: set[str] = set()  # every weight changed since the checkpoint's
        self.kept_bytes = 0
        self.reloads = 0
        self.active: tuple[tuple[str, str, float], ...] = ()  # (path, identity, strength) per LoRA

    def _keep(self, name: str, weight: torch.Tensor) -> None:
        self.changed.add(name)
        if name in self.originals:
            return
        size = weight.numel() * weight.element_size()
        if self.reload is not None and self.kept_bytes + size > self.budget:
            self.originals.clear()  # the checkpoint is the copy now (until the next restore)
            self.kept_bytes = self.budget + 1
            return
        self.originals[name] = weight.detach().to("cpu", copy=True)
        self.kept_bytes += size

    def restore(self) -> None:
        params = dict(self.transformer.named_parameters())
        missing = self.changed - set(self.originals)
        with torch.no_grad():
            if missing:
                fresh = dict(self.reload().named_parameters())
                self.reloads += 1
                for name in self.changed:
                    params[name].copy_(fresh[name].to(params[name].device, params[name].dtype))
            else:
                for name, original in self.originals.items():
                    params[name].copy_(original.to(params[name].device))
        if missing:
            self.kept_bytes = 0
        self.changed = set()
        self.active = ()

    def apply(self, loras: list[tuple[LoraFile, float]]) -> None:
        """Make `loras` (file, strength) the fused set; nothing changes when every file is refused."""
        key = tuple((str(lora.path), lora.identity, float(strength)) for lora, strength in loras)
        if key == self.active:
            return
        for lora, _ in loras:  # check every file before any weight changes
            _plan(self.transformer, lora)
        self.restore()
        if loras:
            fuse_loras(self.transformer, loras, before_change=self._keep)
        self.active = key
