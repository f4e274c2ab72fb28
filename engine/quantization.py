"""Weight-only optimum-quanto quantization of the LTX-2 transformer or Gemma text encoder, with a disk cache.

    report = quantize_module(transformer, "int8", exclude=["proj_in", "proj_out", "*time_embed*"])
    cache = QuantizedCache(default_cache_root())
    cache.save(transformer, identity, "int8", "transformer")
    ...next launch...
    skeleton = build_skeleton(...)              # accelerate.init_empty_weights(): meta weights, real buffers
    if not cache.load_into(skeleton, identity, "int8", "transformer", "cpu"):
        ...load the checkpoint and quantize again...

Only `nn.Linear` layers are quantized, weights only (activations stay in the module's float dtype).
Modes map to quanto qtypes: fp8 -> qfloat8 (e4m3fn), int8 -> qint8, int4 -> qint4 (groups of 128 along
in_features where they divide it, else quanto's 96/64/32, else one scale per output channel).

Pitfalls guarded here, each measured with torch 2.13 / optimum-quanto 0.2.7 on CPU:

* int4 needs quanto's C++ extension (`quanto_cpp`, the packed-uint4 unpack kernel), JIT-built by
  torch.utils.cpp_extension on first use. quanto passes an explicit build directory *inside site-packages*
  (optimum/quanto/library/extensions/cpp/build), so TORCH_EXTENSIONS_DIR is ignored by quanto itself, and
  even an already-built extension needs that directory writable (torch creates a `lock` file there on every
  load). The build took 94-138 s on a 2-core machine. `ensure_kernels` checks the directory up front,
  honours TORCH_EXTENSIONS_DIR by redirecting quanto's build there when site-packages is read-only, clears
  a stale lock left by a killed build (torch would otherwise wait on it forever), and announces the
  one-time compile. On CUDA, fp8 (Marlin, sm >= 8) and int4 need the `quanto_cuda` extension (nvcc).
* bf16 weights + qint8 on CPU: quanto routes bf16 activations through `torch._weight_int8pack_mm` when
  in_features % 4 == 0; that kernel segfaults or returns garbage when in_features % 8 == 4 (AVX2 build;
  fine with ATEN_CPU_CAPABILITY=default, so it is the vectorised path: AVX512 builds may need 16). Such
  layers are left in full precision and reported; the guard skips in_features % 16 != 0 to cover both.
* bf16 weights + qint4 with a group size of 128 take quanto's TinyGemm path, whose CPU packing
  (`_convert_weight_to_int4pack_for_cpu`) raises "expect N to be dividable by 16" when
  out_features % 16 != 0, halfway through `freeze`. Such layers are skipped and reported.
  fp8 has no shape constraint on CPU.
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib.metadata
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch

from engine.errors import QuantizationError
from engine.quantization_modes import QUANTIZATION_MODES

log = logging.getLogger(__name__)

# Bump whenever what `save` writes (or how `load_into` reads it) changes: old cache files are then ignored.
CACHE_FORMAT_VERSION = 1

_QTYPE_NAMES = {"fp8": "qfloat8", "int8": "qint8", "int4": "qint4"}
# A lock file older than this is left over from a killed build (a CPU build takes about two minutes).
_STALE_LOCK_SECONDS = 30 * 60

ProgressCallback = Callable[[str], None]


# ---------------------------------------------------------------------------------------------- modes
def parse_mode(mode: str) -> str:
    """Normalise a quantization mode ("FP8 " -> "fp8"); raise QuantizationError naming the valid ones."""
    value = mode.strip().lower() if isinstance(mode, str) else mode
    if value not in QUANTIZATION_MODES:
        raise QuantizationError(
            f"unknown quantization mode {mode!r}; valid modes are: {', '.join(QUANTIZATION_MODES)}"
        )
    return value


def _quanto():
    # Imported lazily: optimum.quanto takes seconds to import and mode "none" never needs it.
    import optimum.quanto

    return optimum.quanto


def _qtype(mode: str):
    return getattr(_quanto(), _QTYPE_NAMES[mode])


def default_cache_root() -> Path:
    """`$AIPROD_CACHE_DIR` if set, else ~/.cache/aiprod/quantized."""
    env = os.environ.get("AIPROD_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "aiprod" / "quantized"


def _emit(progress: ProgressCallback | None, message: str) -> None:
    log.info("%s", message)
    if progress is not None:
        progress(message)


# -------------------------------------------------------------------------------------------- sizes
def _tensor_nbytes(t: torch.Tensor) -> int:
    # quanto's QTensors (and their packed data) are wrapper subclasses: count their inner tensors, not the
    # nominal float size the wrapper reports.
    if type(t) not in (torch.Tensor, torch.nn.Parameter) and hasattr(t, "__tensor_flatten__"):
        inner, _ = t.__tensor_flatten__()
        return sum(_tensor_nbytes(getattr(t, name)) for name in inner)
    return t.numel() * t.element_size()


def module_weight_bytes(module: torch.nn.Module) -> int:
    """Bytes held by the module's parameters and buffers, counting quantized storage (data, scales, shifts).

    Meta tensors count at their nominal size. Shared tensors count once.
    """
    seen: set[int] = set()
    total = 0
    for t in list(module.parameters()) + list(module.buffers()):
        if id(t) in seen:
            continue
        seen.add(id(t))
        total += _tensor_nbytes(t)
    return total


# ------------------------------------------------------------------------------------------ kernels
def _required_extensions(mode: str, device: torch.device) -> list[str]:
    from optimum.quanto.library.extensions import is_extension_available

    names = []
    if mode == "int4":
        # Unpacking uint4 data on the CPU (TinyGemm packing, dequantization, and every cache load, which
        # materialises on the CPU first) uses the C++ extension whatever the final device.
        names.append("quanto_cpp")
    if device.type == "cuda" and mode in ("fp8", "int4") and is_extension_available("quanto_cuda"):
        names.append("quanto_cuda")  # Marlin fp8 (sm >= 8), AWQ/TinyGemm int4, CUDA unpack
    if device.type == "mps" and mode == "int4" and is_extension_available("quanto_mps"):
        names.append("quanto_mps")
    return names


def _dir_writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".aiprod-write-probe-")
        os.close(fd)
        os.unlink(probe)
        return True
    except OSError:
        return False


def _extension_built(ext: Any) -> bool:
    build = Path(ext.build_directory)
    try:
        built_for = (build / "pytorch_version.txt").read_text().strip()
    except OSError:
        return False
    if built_for != torch.__version__:
        return False  # quanto deletes the folder and rebuilds
    return any(build.glob(f"{ext.name}*.so")) or any(build.glob(f"{ext.name}*.pyd"))


def _toolchain_problem(ext_name: str) -> str | None:
    from torch.utils import cpp_extension

    if not cpp_extension.is_ninja_available():
        return "the `ninja` build tool is missing (pip install ninja)"
    compiler = os.environ.get("CXX", "c++")
    if shutil.which(compiler) is None:
        return f"no C++ compiler found ({compiler}; install build-essential / the platform compiler)"
    if ext_name == "quanto_cuda" and cpp_extension.CUDA_HOME is None:
        return "the CUDA toolkit (nvcc) matching torch's CUDA version is not installed or CUDA_HOME is unset"
    return None


def _clear_stale_lock(build: Path) -> None:
    lock = build / "lock"
    try:
        age = time.time() - lock.stat().st_mtime
    except OSError:
        return
    if age > _STALE_LOCK_SECONDS:
        log.warning(
            "removing stale quanto build lock %s (%.0f min old, left by an interrupted build)", lock, age / 60
        )
        try:
            lock.unlink()
        except OSError:
            pass


def ensure_kernels(
    mode: str, device: torch.device | str = "cpu", progress: ProgressCallback | None = None
) -> None:
    """Make sure quanto's JIT-built kernels for `mode` on `device` are built and loaded (no-op if unneeded).

    Call before quantizing or loading int4 (and before moving fp8/int4 weights to CUDA). The first call builds
    the extension (int4 on CPU: about 1.5-2 minutes) and says so through `progress` and logging. Raises
    QuantizationError, before any work, when the build folder is not writable or the toolchain is missing.
    """
    mode = parse_mode(mode)
    device = torch.device(device)
    if mode == "none":
        return
    from optimum.quanto.library.extensions import get_extension

    for name in _required_extensions(mode, device):
        ext = get_extension(name)
        if getattr(ext, "_lib", None) is not None:
            continue  # already loaded in this process
        build = Path(ext.build_directory)
        if not _dir_writable(build):
            alt = os.environ.get("TORCH_EXTENSIONS_DIR")
            redirected = (
                Path(alt).expanduser() / f"optimum-quanto-{_quanto_version()}" / name if alt else None
            )
            if redirected is None or not _dir_writable(redirected):
                where = f"; TORCH_EXTENSIONS_DIR={alt} is not writable either" if alt else ""
                raise QuantizationError(
                    f"{mode} quantization needs quanto's '{name}' kernels, compiled (once) into {build}, "
                    f"but that folder is not writable{where}. Make the Python environment writable for this "
                    "user, or set TORCH_EXTENSIONS_DIR to a writable folder (AIPROD Studio then builds the "
                    "kernels there), or choose fp8/int8 quantization."
                )
            log.info(
                "quanto build folder %s is read-only; building %s in %s instead", build, name, redirected
            )
            ext.build_directory = str(redirected)
            build = redirected
        _clear_stale_lock(build)
        built = _extension_built(ext)
        if not built:
            problem = _toolchain_problem(name)
            if problem is not None:
                raise QuantizationError(
                    f"{mode} quantization needs quanto's '{name}' kernels compiled once, but {problem}. "
                    "Install it and retry, or choose "
                    + ("int8 quantization." if name == "quanto_cuda" else "fp8/int8 quantization.")
                )
            what = "int4" if name == "quanto_cpp" else f"{mode} {name.removeprefix('quanto_').upper()}"
            _emit(
                progress,
                f"compiling {what} kernels, first use only (this takes a minute or more; "
                f"later launches reuse {build})",
            )
        start = time.perf_counter()
        try:
            ext.lib  # noqa: B018 - the property builds (if needed) and loads the extension
        except Exception as exc:  # compiler errors surface as RuntimeError/CalledProcessError/ImportError
            raise QuantizationError(
                f"could not build or load quanto's '{name}' kernels in {build}: {exc}. "
                "Choose fp8/int8 quantization, or fix the build environment and retry."
            ) from exc
        if not built:
            _emit(progress, f"{name} kernels compiled in {time.perf_counter() - start:.0f} s")


# --------------------------------------------------------------------------------------- quantizing
def _match(name: str, patterns: Iterable[str]) -> str | None:
    """The first pattern matching the module name or an ancestor's ("time_embed" covers its subtree)."""
    parts = name.split(".")
    prefixes = [".".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        if any(fnmatch.fnmatchcase(prefix, pattern) for prefix in prefixes):
            return pattern
    return None


def _int4_group_size(in_features: int) -> int | None:
    # Mirrors optimum.quanto.nn.qmodule.QModuleMixin.__init__ (0.2.7).
    group_size = 128
    if in_features > group_size:
        while in_features % group_size != 0 and group_size > 32:
            group_size -= 32
        if in_features % group_size == 0:
            return group_size
    return None


def _shape_guard(mode: str, layer: torch.nn.Linear) -> str | None:
    """Why this layer must stay in full precision for `mode`, or None."""
    dtype = layer.weight.dtype
    if not dtype.is_floating_point:
        return f"weight dtype {dtype} is not floating point"
    if mode == "int8" and dtype == torch.bfloat16 and layer.in_features % 16 != 0:
        return (
            f"bf16 qint8 with in_features={layer.in_features} (not a multiple of 16): torch's CPU "
            "_weight_int8pack_mm kernel crashes or returns garbage for such shapes"
        )
    if (
        mode == "int4"
        and dtype == torch.bfloat16
        and _int4_group_size(layer.in_features) == 128
        and layer.out_features % 16 != 0
    ):
        return (
            f"bf16 qint4 (group size 128) with out_features={layer.out_features} (not a multiple of 16): "
            "torch's tinygemm int4 packing rejects it"
        )
    return None


def _set_submodule(root: torch.nn.Module, name: str, module: torch.nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(root.get_submodule(parent_name) if parent_name else root, child, module)


def quantize_module(
    module: torch.nn.Module,
    mode: str,
    *,
    exclude: list[str] | None = None,
    progress: ProgressCallback | None = None,
) -> dict:
    """Quantize the weights of every `nn.Linear` of `module` in place (quanto quantize + freeze).

    `exclude` holds fnmatch patterns over module names; a pattern matching a parent ("time_embed") keeps the
    whole subtree in full precision. Layers whose shape would crash a kernel are skipped, never fatal.
    Returns {"mode", "qtype", "quantized" (count), "quantized_layers", "skipped" ([{"name", "reason"}]),
    "int4_per_channel" (int4 layers with one scale per output row), "bytes_before", "bytes_after", "seconds"}.
    """
    mode = parse_mode(mode)
    start = time.perf_counter()
    report: dict[str, Any] = {
        "mode": mode,
        "qtype": None,
        "quantized": 0,
        "quantized_layers": [],
        "skipped": [],
        "int4_per_channel": [],
        "bytes_before": module_weight_bytes(module),
        "bytes_after": 0,
        "seconds": 0.0,
    }
    if mode == "none":
        report["bytes_after"] = report["bytes_before"]
        return report
    if mode == "fp8-fast":  # FP8 compute layers, not quanto (engine/fp8.py); the caller chose the device
        from engine import fp8

        result = fp8.quantize_fp8_fast(module, exclude, backend=fp8.preferred_backend())
        report.update(qtype=f"float8_e4m3fn ({result['backend']})", quantized=result["quantized"],
                      skipped=[{"name": n, "reason": "kept precise"} for n in result["kept"]],
                      bytes_after=module_weight_bytes(module), seconds=time.perf_counter() - start)
        return report

    quanto = _quanto()
    qtype = _qtype(mode)
    report["qtype"] = qtype.name
    if any(isinstance(m, quanto.QModuleMixin) for m in module.modules()):
        raise QuantizationError("the module is already quantized; load it again in full precision first")

    patterns = list(exclude or [])
    chosen: list[str] = []
    for name, layer in module.named_modules():
        if not isinstance(layer, torch.nn.Linear):
            continue
        pattern = _match(name, patterns)
        if pattern is not None:
            report["skipped"].append({"name": name, "reason": f"excluded by pattern {pattern!r}"})
            continue
        if layer.weight.is_meta:
            raise QuantizationError(
                f"layer '{name}' has no weights (meta device): load the real weights before quantizing, "
                "or restore a quantized copy with QuantizedCache.load_into"
            )
        reason = _shape_guard(mode, layer)
        if reason is not None:
            log.info("not quantizing %s: %s", name, reason)
            report["skipped"].append({"name": name, "reason": reason})
            continue
        chosen.append(name)

    if chosen:
        devices = {module.get_submodule(n).weight.device for n in chosen}
        for device in devices:
            ensure_kernels(mode, device, progress)

    for name in chosen:
        original = module.get_submodule(name)
        weight, bias = original.weight, original.bias
        parent_name, _, child = name.rpartition(".")
        parent = module.get_submodule(parent_name) if parent_name else module
        try:
            # One small subtree per call: quanto fnmatches every pattern against every module of its root.
            quanto.quantize(parent, weights=qtype, include=[child])
            qlayer = parent.get_submodule(child)
            quanto.freeze(qlayer)
        except Exception as exc:
            # A kernel rejecting a shape the guards did not foresee: keep the float layer.
            original.weight, original.bias = weight, bias
            _set_submodule(module, name, original)
            log.warning("quanto could not quantize %s (%s); keeping it in full precision", name, exc)
            report["skipped"].append({"name": name, "reason": f"quanto failed: {exc}"})
            continue
        report["quantized_layers"].append(name)
        if mode == "int4" and qlayer.weight_group_size is None:
            report["int4_per_channel"].append(name)
    report["quantized"] = len(report["quantized_layers"])
    report["bytes_after"] = module_weight_bytes(module)
    report["seconds"] = time.perf_counter() - start
    log.info(
        "quantized %d Linear layers to %s (%d skipped): %.1f MiB -> %.1f MiB in %.1f s",
        report["quantized"],
        qtype.name,
        len(report["skipped"]),
        report["bytes_before"] / 2**20,
        report["bytes_after"] / 2**20,
        report["seconds"],
    )
    return report


# --------------------------------------------------------------------------------------------- cache
def _quanto_version() -> str:
    try:
        return importlib.metadata.version("optimum-quanto")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - the package is a dependency
        return "unknown"


class _BadCache(Exception):
    """The cache file cannot be used; it is deleted and the caller quantizes again."""


class QuantizedCache:
    """Quantized state dicts on disk, one safetensors file per (checkpoint identity, mode, component).

    The file holds the frozen module's state dict (quanto flattens each quantized weight into
    `weight._data` / `weight._scale` (+ `weight._shift`, and `weight._data._data` for packed int4)) and, in
    the safetensors metadata, quanto's quantization map plus the key fields, so a file can be checked
    before it touches a module. Writes are atomic (temp file + os.replace).
    """

    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root is not None else default_cache_root()

    # --- keys -------------------------------------------------------------------------------------------
    @staticmethod
    def key_for(identity: str, mode: str, component: str) -> str:
        mode = parse_mode(mode)
        version = f"aiprod-quantized/v{CACHE_FORMAT_VERSION}|quanto={_quanto_version()}"
        text = f"{version}|{component}|{mode}|{identity}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def path_for(self, identity: str, mode: str, component: str) -> Path:
        mode = parse_mode(mode)
        safe_component = re.sub(r"[^A-Za-z0-9_.-]", "_", component) or "module"
        digest = self.key_for(identity, mode, component)[:24]
        return self.root / f"{safe_component}-{mode}-{digest}.v{CACHE_FORMAT_VERSION}.safetensors"

    def _metadata(self, identity: str, mode: str, component: str, qmap: dict) -> dict[str, str]:
        return {
            "format": "aiprod-quantized",
            "format_version": str(CACHE_FORMAT_VERSION),
            "identity": identity,
            "mode": mode,
            "component": component,
            "quanto_version": _quanto_version(),
            "torch_version": torch.__version__,
            "quantization_map": json.dumps(qmap, sort_keys=True),
        }

    # --- save -------------------------------------------------------------------------------------------
    def save(self, module: torch.nn.Module, identity: str, mode: str, component: str) -> Path:
        """Write the quantized module's state dict and return the file; OSError if it cannot be written."""
        from safetensors.torch import save_file

        mode = parse_mode(mode)
        if mode in ("none", "fp8-fast"):  # fp8-fast is a cast of the bf16 weights: seconds, never cached
            raise QuantizationError(f"nothing to cache for quantization mode '{mode}'")
        quanto = _quanto()
        qmap = quanto.quantization_map(module)
        expected = _qtype(mode).name
        for name, entry in qmap.items():
            if entry.get("weights") != expected or entry.get("activations") != "none":
                raise QuantizationError(f"layer '{name}' is quantized as {entry}, not {mode} weights only")
            if not isinstance(module.get_submodule(name).weight, quanto.QTensor):
                raise QuantizationError(f"layer '{name}' is not frozen: call quantize_module first")

        tensors: dict[str, torch.Tensor] = {}
        storages: set[tuple[int, str]] = set()
        for key, value in module.state_dict().items():
            if value.is_meta:
                raise QuantizationError(f"'{key}' has no data (meta device); cannot cache the module")
            t = value.detach().to("cpu").contiguous()
            if type(t) is not torch.Tensor:
                raise QuantizationError(f"'{key}' is a {type(t).__name__}, which cannot be stored")
            storage = (t.untyped_storage().data_ptr(), str(t.device))
            if storage in storages:  # tied weights: safetensors refuses shared memory
                t = t.clone()
            else:
                storages.add(storage)
            tensors[key] = t

        path = self.path_for(identity, mode, component)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        try:
            save_file(tensors, tmp, metadata=self._metadata(identity, mode, component, qmap))
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        log.info("saved %s %s weights to the quantization cache: %s", component, mode, path)
        return path

    # --- load -------------------------------------------------------------------------------------------
    def load_into(
        self,
        skeleton: torch.nn.Module,
        identity: str,
        mode: str,
        component: str,
        device: torch.device | str = "cpu",
        progress: ProgressCallback | None = None,
    ) -> bool:
        """Restore cached quantized weights into an unquantized skeleton with quanto's `requantize`.

        The skeleton is the module built without weights (accelerate's `init_empty_weights()`: parameters on
        meta, buffers real); its meta parameters take the cached dtypes. Nothing is quantized here. Returns
        False when no cache file exists, and also when the file is unreadable, truncated or does not fit the
        skeleton: that file is deleted so the caller quantizes again. If False comes after the skeleton was
        modified (only when quanto itself fails midway), the skeleton is unusable: build a fresh module.
        The module is assembled on the CPU, then moved to `device`.
        """
        mode = parse_mode(mode)
        if mode in ("none", "fp8-fast"):
            return False
        device = torch.device(device)
        path = self.path_for(identity, mode, component)
        if not path.is_file():
            return False
        quanto = _quanto()
        if any(isinstance(m, quanto.QModuleMixin) for m in skeleton.modules()):
            raise QuantizationError(
                "load_into needs an unquantized skeleton; this module is already quantized"
            )
        _check_non_persistent_buffers(skeleton)
        ensure_kernels(mode, "cpu", progress)
        if device.type != "cpu":
            ensure_kernels(mode, device, progress)

        try:
            tensors, qmap = self._read(path, identity, mode, component)
            plan = _check_fits(skeleton, tensors, qmap, mode)
        except _BadCache as exc:
            self._discard(path, str(exc))
            return False

        _align_meta_dtypes(skeleton, plan)
        try:
            quanto.requantize(skeleton, tensors, qmap, device=torch.device("cpu"))
        except (MemoryError, torch.OutOfMemoryError):
            raise
        except Exception as exc:  # any failure here means the file cannot be used
            if "allocate" in str(exc) or "out of memory" in str(exc):
                raise
            self._discard(path, f"quanto could not restore it ({exc})")
            return False
        problem = _restored_problem(skeleton, qmap)
        if problem is not None:
            self._discard(path, problem)
            return False
        if device.type != "cpu":
            skeleton.to(device)
        log.info("loaded %s %s weights from the quantization cache (%s)", component, mode, path.name)
        return True

    def _read(self, path: Path, identity: str, mode: str, component: str) -> tuple[dict, dict]:
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt", device="cpu") as f:
                meta = f.metadata() or {}
                expected = self._metadata(identity, mode, component, {})
                for field in ("format", "format_version", "identity", "mode", "component", "quanto_version"):
                    if meta.get(field) != expected[field]:
                        raise _BadCache(f"{field} is {meta.get(field)!r}, expected {expected[field]!r}")
                qmap = json.loads(meta["quantization_map"])
                if not isinstance(qmap, dict):
                    raise _BadCache("the quantization map is not a mapping")
                tensors = {key: f.get_tensor(key) for key in f.keys()}
        except _BadCache:
            raise
        except Exception as exc:  # SafetensorError, OSError, JSON, truncated data...
            raise _BadCache(f"unreadable ({type(exc).__name__}: {exc})") from exc
        return tensors, qmap

    def _discard(self, path: Path, reason: str) -> None:
        log.warning("discarding quantization cache %s: %s; the module will be quantized again", path, reason)
        try:
            path.unlink()
        except OSError as exc:
            log.warning("could not delete %s: %s", path, exc)

    def remove(self, identity: str, mode: str, component: str) -> bool:
        """Delete one cache entry; True if a file was removed."""
        try:
            self.path_for(identity, mode, component).unlink()
            return True
        except FileNotFoundError:
            return False


def _weight_keys(name: str, mode: str) -> set[str]:
    data = f"{name}.weight._data._data" if mode == "int4" else f"{name}.weight._data"
    keys = {data, f"{name}.weight._scale", f"{name}.input_scale", f"{name}.output_scale"}
    if mode == "int4":
        keys.add(f"{name}.weight._shift")
    return keys


def _check_non_persistent_buffers(skeleton: torch.nn.Module) -> None:
    for mod_name, mod in skeleton.named_modules():
        for buf_name in mod._non_persistent_buffers_set:
            buf = mod._buffers.get(buf_name)
            if buf is not None and buf.is_meta:
                raise QuantizationError(
                    f"the skeleton's buffer '{mod_name}.{buf_name}' is on the meta device and is not in "
                    "state dicts: build the skeleton with accelerate.init_empty_weights() (real buffers)"
                )


def _check_fits(
    skeleton: torch.nn.Module, tensors: dict[str, torch.Tensor], qmap: dict, mode: str
) -> dict[str, torch.dtype]:
    """Raise _BadCache unless the file holds exactly the skeleton's state; return key -> dtype to align."""
    qtype_name = _qtype(mode).name
    state = skeleton.state_dict(keep_vars=True)
    expected = set(state)
    dtypes: dict[str, torch.dtype] = {}
    for name, entry in qmap.items():
        if (
            not isinstance(entry, dict)
            or entry.get("weights") != qtype_name
            or entry.get("activations") != "none"
        ):
            raise _BadCache(f"layer '{name}' is recorded as {entry}, not {mode} weights only")
        try:
            layer = skeleton.get_submodule(name)
        except AttributeError as exc:
            raise _BadCache(f"layer '{name}' does not exist in this model") from exc
        if not isinstance(layer, torch.nn.Linear):
            raise _BadCache(f"layer '{name}' is a {type(layer).__name__}, not a Linear")
        expected.discard(f"{name}.weight")
        expected |= _weight_keys(name, mode)
        scale = tensors.get(f"{name}.weight._scale")
        if scale is not None:
            dtypes[f"{name}.weight"] = scale.dtype
        if mode != "int4":
            data = tensors.get(f"{name}.weight._data")
            if data is not None and tuple(data.shape) != tuple(layer.weight.shape):
                model_shape = tuple(layer.weight.shape)
                raise _BadCache(f"'{name}.weight' has shape {tuple(data.shape)}, the model has {model_shape}")
    found = set(tensors)
    if found != expected:
        missing, extra = sorted(expected - found), sorted(found - expected)
        raise _BadCache(f"tensors do not match the model (missing {missing[:3]}, unexpected {extra[:3]})")
    for key, target in state.items():
        if key in tensors:
            if tuple(tensors[key].shape) != tuple(target.shape):
                raise _BadCache(
                    f"'{key}' has shape {tuple(tensors[key].shape)}, the model has {tuple(target.shape)}"
                )
            dtypes[key] = tensors[key].dtype
    return dtypes


def _align_meta_dtypes(skeleton: torch.nn.Module, dtypes: dict[str, torch.dtype]) -> None:
    """Give meta parameters/buffers the cached dtype, so loading does not upcast (e.g. float32 skeleton)."""
    for mod_name, mod in skeleton.named_modules():
        prefix = f"{mod_name}." if mod_name else ""
        for store in (mod._parameters, mod._buffers):
            for attr, t in store.items():
                dtype = dtypes.get(prefix + attr)
                if t is None or not t.is_meta or dtype is None or t.dtype == dtype:
                    continue
                new = torch.empty(t.shape, dtype=dtype, device="meta")
                store[attr] = (
                    torch.nn.Parameter(new, requires_grad=False) if store is mod._parameters else new
                )


def _restored_problem(skeleton: torch.nn.Module, qmap: dict) -> str | None:
    quanto = _quanto()
    for name in qmap:
        layer = skeleton.get_submodule(name)
        if not isinstance(layer, quanto.QModuleMixin) or not isinstance(layer.weight, quanto.QTensor):
            return f"layer '{name}' was not restored as quantized weights"
    for key, t in list(skeleton.named_parameters()) + list(skeleton.named_buffers()):
        if t.is_meta:
            return f"'{key}' was left without data"
    return None
