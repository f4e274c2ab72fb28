"""FP8 compute ("fp8-fast") and Lightricks' pre-quantized FP8 releases.

**fp8-fast**: FP8 (e4m3) weights with one scale per output channel, and activations quantized to FP8 on the
fly with one scale per token (dynamic, per-row), multiplied by the GPU's FP8 tensor cores. That needs compute
capability 8.9 or newer (Ada: RTX 40xx, L4, L40; Hopper: H100/H200; Blackwell). optimum-quanto's `qfloat8`
("fp8") is weight-only: it dequantizes to bf16 and runs a bf16 matmul, so it saves memory but not time.

Backends, chosen per device by `select_backend`:
  * "torchao": torchao's `Float8DynamicActivationFloat8WeightConfig(granularity=PerRow())` (pinned torchao,
    CUDA only: torchao refuses float8 dynamic quantization below 8.9 and on the CPU);
  * "scaled_mm": our `Fp8Linear`, the same arithmetic on `torch._scaled_mm` with row-wise scales, which torch
    also implements on the CPU (that is how the tests check the numerics);
  * None: no FP8 tensor cores. `effective_mode("fp8-fast", device)` then falls back to quanto's weight-only
    "fp8" with a message saying why.
Layers the engine keeps precise (`TRANSFORMER_KEEP_PRECISE`) stay in bf16, and so does any layer whose width
is not a multiple of 16 (the FP8 GEMM's alignment rule).

**Pre-quantized releases** (`ltx-2*-fp8.safetensors`): as ltx-core's loaders read them
(`ltx_core/quantization/fp8_cast.py`, `fp8_scaled_mm.py`), a quantized linear stores its weight as F8_E4M3 and
a float32 scalar sibling `<layer>.weight_scale` (the dequantized weight is `weight.float() * weight_scale`);
everything else is bf16. `load_fp8_transformer` reads those tensors as stored into `Fp8Linear` layers, never
making the bf16 copy of the transformer; each layer then computes in FP8 (`scaled_mm`) where the device can,
else dequantizes its weight just for its matmul (weight-only, as ltx-core's `Fp8CastLinear`).
"""

from __future__ import annotations

import fnmatch
import logging

import torch

log = logging.getLogger(__name__)

FP8_MIN_CAPABILITY = (8, 9)
FP8_DTYPE = torch.float8_e4m3fn
FP8_MAX = float(torch.finfo(FP8_DTYPE).max)
BACKENDS = ("torchao", "scaled_mm")
ALIGNMENT = 16


# --- choosing -----------------------------------------------------------------------------------------------


def fp8_support(device: torch.device | str) -> tuple[bool, str]:
    """(True, "") when `device` has FP8 tensor cores, else (False, why not) in words a user can act on."""
    device = torch.device(device)
    if device.type != "cuda":
        where = device.type.upper()
        return False, f"fp8-fast needs an NVIDIA GPU with FP8 tensor cores; this runs on the {where}"
    major, minor = torch.cuda.get_device_capability(device)
    if (major, minor) < FP8_MIN_CAPABILITY:
        name = torch.cuda.get_device_name(device)
        return False, (
            f"fp8-fast needs compute capability 8.9 or newer (RTX 40xx, L4/L40, H100 and later); {name} is "
            f"{major}.{minor}"
        )
    return True, ""


def torchao_available() -> bool:
    try:
        from torchao.quantization import Float8DynamicActivationFloat8WeightConfig  # noqa: F401
    except Exception:  # noqa: BLE001 - a broken or missing torchao just means "use the other backend"
        return False
    return True


def select_backend(device: torch.device | str, prefer: str | None = None) -> str | None:
    """The FP8 compute backend for `device`: `prefer` if given and usable, torchao on a capable GPU when
    installed, else `Fp8Linear` on `torch._scaled_mm`; None without FP8 tensor cores."""
    if prefer is not None and prefer not in BACKENDS:
        raise ValueError(f"unknown fp8 backend {prefer!r}; use one of {', '.join(BACKENDS)}")
    supported, _ = fp8_support(device)
    if prefer == "scaled_mm":
        return "scaled_mm"  # torch implements it on the CPU too (tests); on old GPUs it raises at the matmul
    if not supported:
        return None
    if prefer in (None, "torchao") and torchao_available():
        return "torchao"
    return "scaled_mm"


def preferred_backend() -> str:
    """The backend `quantize_module(..., "fp8-fast")` uses: `$AIPROD_FP8_BACKEND` ("torchao" or "scaled_mm"),
    default "scaled_mm" (device-independent `Fp8Linear`; torchao only where the GPU suite measured it faster).
    """
    import os

    choice = os.environ.get("AIPROD_FP8_BACKEND", "scaled_mm").strip().lower()
    if choice not in BACKENDS:
        raise ValueError(f"AIPROD_FP8_BACKEND={choice!r}; use one of {', '.join(BACKENDS)}")
    return choice


def effective_mode(mode: str, device: torch.device | str) -> tuple[str, str]:
    """("fp8-fast" or the fallback "fp8", message). The message is empty unless the mode changed."""
    if mode != "fp8-fast":
        return mode, ""
    supported, why = fp8_support(device)
    if supported:
        return mode, ""
    return "fp8", f"{why}; using weight-only fp8 (optimum-quanto) instead: the same memory, not faster"


# --- the layer ----------------------------------------------------------------------------------------------


class Fp8Linear(torch.nn.Module):
    """A linear layer with FP8 weights: `weight` e4m3 [out, in], `weight_scale` float32 [out, 1] (or a
    scalar for a pre-quantized release), bias in the compute dtype. With `compute="scaled_mm"` the input is
    quantized per token and multiplied in FP8; with "dequantize" the weight is dequantized for the matmul
    (weight-only)."""

    def __init__(self, in_features: int, out_features: int, bias: bool, compute: str = "scaled_mm"):
        super().__init__()
        self.in_features, self.out_features, self.compute = in_features, out_features, compute
        self.weight = torch.nn.Parameter(
            torch.empty(out_features, in_features, dtype=FP8_DTYPE), requires_grad=False
        )
        self.weight_scale = torch.nn.Parameter(torch.ones(out_features, 1), requires_grad=False)
        self.bias = torch.nn.Parameter(torch.empty(out_features), requires_grad=False) if bias else None

    @classmethod
    def from_linear(cls, linear: torch.nn.Linear, compute: str = "scaled_mm") -> Fp8Linear:
        """Quantize a float linear: one scale per output channel (amax / 448)."""
        weight = linear.weight.detach().float()
        scale = (weight.abs().amax(dim=1, keepdim=True) / FP8_MAX).clamp(min=1e-12)
        layer = cls(linear.in_features, linear.out_features, linear.bias is not None, compute)
        layer.weight = torch.nn.Parameter((weight / scale).clamp(-FP8_MAX, FP8_MAX).to(FP8_DTYPE), False)
        layer.weight_scale = torch.nn.Parameter(scale, requires_grad=False)
        if linear.bias is not None:
            layer.bias = torch.nn.Parameter(linear.bias.detach().clone(), requires_grad=False)
        return layer.to(linear.weight.device)

    def _apply(self, fn, recurse=True):
        # `module.to(torch.bfloat16)` would cast the FP8 weight (and its float32 scales) too: keep their
        # storage dtypes, follow only the device.
        # detached: torch swaps `param.data` in place, so the Parameter objects themselves change dtype
        weight, scale = self.weight.detach(), self.weight_scale.detach()
        super()._apply(fn, recurse)
        if self.weight.dtype != weight.dtype:
            self.weight = torch.nn.Parameter(weight.to(self.weight.device), requires_grad=False)
        if self.weight_scale.dtype != scale.dtype:
            self.weight_scale = torch.nn.Parameter(scale.to(self.weight_scale.device), requires_grad=False)
        return self

    def dequantized_weight(self, dtype: torch.dtype) -> torch.Tensor:
        return (self.weight.float() * self.weight_scale.float()).to(dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.compute != "scaled_mm":
            bias = self.bias.to(x.dtype) if self.bias is not None else None
            return torch.nn.functional.linear(x, self.dequantized_weight(x.dtype), bias)
        shape = x.shape
        rows = x.reshape(-1, shape[-1])
        x_scale = (rows.float().abs().amax(dim=1, keepdim=True) / FP8_MAX).clamp(min=1e-12)
        qx = (rows.float() / x_scale).clamp(-FP8_MAX, FP8_MAX).to(FP8_DTYPE)
        w_scale = self.weight_scale.float().reshape(-1, 1).expand(self.out_features, 1)
        try:
            out = torch._scaled_mm(
                qx,
                self.weight.t(),
                scale_a=x_scale,
                scale_b=w_scale.t().contiguous(),
                out_dtype=x.dtype if x.dtype != torch.float32 else torch.bfloat16,
                use_fast_accum=x.device.type == "cuda",
            ).to(x.dtype)
        except RuntimeError as exc:
            # a torch/GPU without row-wise scaled FP8 GEMMs: this layer goes weight-only, once, and says so
            log.warning("FP8 matmul unavailable here (%s); %s dequantizes its weights instead", exc, self)
            self.compute = "dequantize"
            return self.forward(x)
        if self.bias is not None:
            out = out + self.bias.to(out.dtype)
        return out.reshape(*shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, compute={self.compute}"


def _excluded(name: str, patterns) -> bool:
    parts = name.split(".")
    prefixes = [".".join(parts[: i + 1]) for i in range(len(parts))]
    return any(fnmatch.fnmatchcase(prefix, p) for p in patterns for prefix in prefixes)


def _aligned(linear: torch.nn.Linear) -> bool:
    return linear.in_features % ALIGNMENT == 0 and linear.out_features % ALIGNMENT == 0


def quantize_fp8_fast(
    module: torch.nn.Module, exclude: list[str] | None = None, backend: str = "scaled_mm"
) -> dict:
    """Make the linear layers of `module` FP8 compute layers in place (see the module docstring).

    Returns {"backend", "quantized" (count), "kept" ([names])}. `backend` "torchao" needs a CUDA module on a
    GPU of capability >= 8.9; "scaled_mm" runs anywhere torch implements `_scaled_mm` for FP8.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown fp8 backend {backend!r}; use one of {', '.join(BACKENDS)}")
    patterns = list(exclude or [])
    chosen, kept = [], []
    for name, layer in module.named_modules():
        if not isinstance(layer, torch.nn.Linear):
            continue
        if _excluded(name, patterns) or not _aligned(layer):
            kept.append(name)
        else:
            chosen.append(name)
    if backend == "torchao":
        from torchao.quantization import Float8DynamicActivationFloat8WeightConfig, PerRow, quantize_

        wanted = set(chosen)
        quantize_(
            module,
            Float8DynamicActivationFloat8WeightConfig(granularity=PerRow()),
            filter_fn=lambda m, fqn: isinstance(m, torch.nn.Linear) and fqn in wanted,
        )
    else:
        for name in chosen:
            parent_name, _, child = name.rpartition(".")
            parent = module.get_submodule(parent_name) if parent_name else module
            setattr(parent, child, Fp8Linear.from_linear(module.get_submodule(name)))
    log.info("fp8-fast (%s): %d linear layers in FP8, %d kept precise", backend, len(chosen), len(kept))
    return {"backend": backend, "quantized": len(chosen), "kept": kept}


# --- pre-quantized releases ---------------------------------------------------------------------------------

SCALE_SUFFIX = ".weight_scale"


def fp8_weight_keys(tensors: dict[str, dict]) -> list[str]:
    """The F8_E4M3 `.weight` keys of a safetensors header that have a `.weight_scale` sibling (ltx-core's
    rule for a pre-quantized layer)."""
    return sorted(
        key[: -len("_scale")]
        for key, info in tensors.items()
        if key.endswith(SCALE_SUFFIX) and tensors.get(key[: -len("_scale")], {}).get("dtype") == "F8_E4M3"
    )


def install_fp8_layers(module: torch.nn.Module, weight_names: list[str], compute: str) -> None:
    """Swap the nn.Linear named by each `<layer>.weight` for an (empty) Fp8Linear of the same shape."""
    from accelerate import init_empty_weights

    for weight_name in weight_names:
        name = weight_name[: -len(".weight")]
        linear = module.get_submodule(name)
        if not isinstance(linear, torch.nn.Linear):
            from engine.errors import CheckpointError

            raise CheckpointError(f"'{weight_name}' is stored in FP8 but '{name}' is not a linear layer")
        with init_empty_weights():
            layer = Fp8Linear(linear.in_features, linear.out_features, linear.bias is not None, compute)
            layer.weight_scale = torch.nn.Parameter(torch.empty(()), requires_grad=False)  # one per tensor
        parent_name, _, child = name.rpartition(".")
        setattr(module.get_submodule(parent_name) if parent_name else module, child, layer)


def set_compute(module: torch.nn.Module, compute: str) -> None:
    """Switch every Fp8Linear of `module` to "scaled_mm" (FP8 tensor cores) or "dequantize" (weight-only)."""
    for layer in module.modules():
        if isinstance(layer, Fp8Linear):
            layer.compute = compute


def load_prequantized(
    checkpoint,
    keys: list[str],
    rename,
    skeleton: torch.nn.Module,
    dtype: torch.dtype,
    component: str = "transformer",
    compute: str = "dequantize",
) -> torch.nn.Module:
    """Fill `skeleton` from a pre-quantized file: FP8 weights and their scales read as stored (no bf16 copy),
    everything else in `dtype`; `rename` maps the file's keys to the skeleton's (the layout's renamer)."""
    from engine.components import assign_state

    header = {key: checkpoint.tensors[key] for key in keys}
    fp8_keys = fp8_weight_keys(header)
    scale_keys = {key + "_scale" for key in fp8_keys}
    plain = [key for key in keys if key not in scale_keys and key not in set(fp8_keys)]
    state = rename({**checkpoint.load(plain, dtype=dtype), **checkpoint.load(fp8_keys)})
    scales = checkpoint.load(sorted(scale_keys))
    # the renamer maps keys by name: run the scales through it under their weights' names
    renamed = rename({key[: -len("_scale")]: value.float() for key, value in scales.items()})
    fp8_names = sorted(key for key, value in state.items() if value.dtype == FP8_DTYPE)
    install_fp8_layers(skeleton, fp8_names, compute)
    state.update({key + "_scale": value.reshape(()) for key, value in renamed.items()})
    return assign_state(skeleton, state, component, checkpoint.path)


def prepare_compute(module: torch.nn.Module, device: torch.device | str) -> str:
    """Set the Fp8Linear layers of `module` to FP8 matmuls where `device` has FP8 tensor cores, else to
    weight-only dequantization; returns the choice ("scaled_mm", "dequantize" or "" when there are none)."""
    if not any(isinstance(layer, Fp8Linear) for layer in module.modules()):
        return ""
    compute = "scaled_mm" if fp8_support(device)[0] else "dequantize"
    set_compute(module, compute)
    return compute
