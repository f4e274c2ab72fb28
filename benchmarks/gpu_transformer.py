"""Full-size LTX-2 (19B) on CUDA with random weights: seconds per denoising step, peak VRAM, VAE decode.

The transformer is diffusers' `LTX2VideoTransformer3DModel` with its default constructor arguments, which are
the LTX-2.0 19B configuration (48 layers, 32 heads x 128, audio 32 x 64, caption 3840, cross-attention
4096/2048). It is built on the meta device, materialised with `to_empty` on the GPU in bf16 and filled in
place with small normal values: nothing is downloaded and no checkpoint is needed. Timing numbers do not
depend on the weight values.

Cases (each: 1 warm-up + 3 timed forwards; peak reset between cases; an OOM is recorded and the run goes on):
  * transformer forward = one denoising step, with the CFG batch (2) and without (1), at 768x512x121 and
    1280x704x121, for bf16, fp8 (quanto qfloat8 weights) and int4 (quanto qint4 weights);
  * the real video VAE (`AutoencoderKLLTX2Video` defaults, compression ratios 32/8 as in the official
    config) decoding 1280x704x121 untiled and tiled by `engine.tiling.plan_tiles`/`apply_plan` for a memory
    budget (default 8 GiB).

Shapes follow `LTX2Pipeline.__call__`: the transformer takes the text connectors' outputs, i.e.
`encoder_hidden_states` of width `caption_channels` (3840; `caption_projection` inside the transformer maps
them to 4096/2048) and `max_sequence_length` (1024) tokens; video tokens are latent frames x (H/32) x (W/32);
audio tokens are round(frames / fps * 16000 / 160 / 4) with 128 channels.

    .venv/bin/python benchmarks/gpu_transformer.py                       # everything (needs ~45 GB VRAM)
    .venv/bin/python benchmarks/gpu_transformer.py --modes int4 --skip-vae --tag int4   # one part of it
    .venv/bin/python benchmarks/gpu_transformer.py --dry-run --out /tmp  # same code on CPU, tiny config

`--dry-run` runs the same code path on the CPU with a shrunk transformer (2 layers, 2 heads x 16) and the
tiny engine's VAE, at tiny sizes, in seconds; it exists so the test suite can exercise this script.
The JSON is rewritten after every case, so a run cut short keeps what it measured.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path
from typing import Any

import _common  # noqa: I001  (sibling module: benchmarks/ is on sys.path when run as a script)

FPS = 24.0
AUDIO_SAMPLE_RATE, AUDIO_HOP, AUDIO_COMPRESSION = 16000, 160, 4
FULL_SIZES = ((768, 512, 121), (1280, 704, 121))
FULL_TEXT_TOKENS = 1024
FULL_VAE_SIZE = (1280, 704, 121)
# diffusers' AutoencoderKLLTX2Video defaults describe the LTX-2 video VAE, except that with the ratios left at
# None it derives 64x spatial / 16x temporal compression from `spatio_temporal_scaling`, while the decoder
# really upsamples 32x / 8x (its down/up blocks are partly spatial- or temporal-only). The ratios drive the
# tiled decode, so they are set as the engine sets them from the official config.
FULL_VAE_CONFIG = {"spatial_compression_ratio": 32, "temporal_compression_ratio": 8}
# The shrunk configuration of --dry-run (same classes, same code path, CPU).
DRY_TRANSFORMER = {"num_layers": 2, "num_attention_heads": 2, "attention_head_dim": 16,
                   "cross_attention_dim": 32, "audio_num_attention_heads": 2, "audio_attention_head_dim": 8,
                   "audio_cross_attention_dim": 16, "caption_channels": 32}
DRY_SIZES = ((64, 64, 9), (96, 64, 9))
DRY_TEXT_TOKENS = 16
DRY_VAE_SIZE = (192, 128, 25)  # 3 spatial x 3 temporal tiles under DRY_VAE_BUDGET
DRY_VAE_BUDGET = 1 << 20  # small enough to force both spatial and temporal tiles on the tiny VAE
MODES = ("bf16", "fp8", "int4")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dry-run", action="store_true",
                        help="CPU, shrunk config, tiny sizes: the same code path in seconds (for tests)")
    parser.add_argument("--modes", default=",".join(MODES), help="comma list of bf16,fp8,int4")
    parser.add_argument("--batches", default="2,1", help="comma list of batch sizes (2 = CFG)")
    parser.add_argument("--sizes", default=None,
                        help="comma list of WxHxF (default 768x512x121,1280x704x121; dry: 64x64x9,96x64x9)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--iters", type=int, default=3, help="timed forwards per case (default 3)")
    parser.add_argument("--text-tokens", type=int, default=None, help="default 1024 (dry: 16)")
    parser.add_argument("--skip-transformer", action="store_true")
    parser.add_argument("--skip-vae", action="store_true")
    parser.add_argument("--vae-size", default=None, help="WxHxF of the VAE decode (default 1280x704x121)")
    parser.add_argument("--vae-budget-gb", type=float, default=8.0, help="tiling budget in GiB (default 8)")
    parser.add_argument("--vae-iters", type=int, default=None,
                        help="timed decodes per VAE case (default 2; dry run 1)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's; 1 in --dry-run)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None,
                        help="result folder or .json file (default benchmarks/results/)")
    parser.add_argument("--tag", default="",
                        help="suffix for the result file name, to keep partial runs apart (e.g. int4)")
    args = parser.parse_args(argv)
    if args.iters < 1 or args.warmup < 0:
        parser.error("--iters must be at least 1 and --warmup at least 0")
    return args


def parse_size(text: str) -> tuple[int, int, int]:
    width, height, frames = (int(part) for part in text.lower().split("x"))
    return width, height, frames


def audio_tokens(frames: int, fps: float = FPS) -> int:
    return round(frames / fps * AUDIO_SAMPLE_RATE / AUDIO_HOP / AUDIO_COMPRESSION)


# --- building random-weight models without allocating twice ------------------------------------------------

def materialize(module, device, dtype, seed: int):
    """Meta-device module -> real tensors on `device` in `dtype`, filled in place with small random values."""
    import torch

    buffers = {name: buffer.detach().clone() for name, buffer in module.named_buffers()}
    module.to(dtype)                       # meta parameters: free; real buffers are restored below
    module.to_empty(device=device)
    generator = torch.Generator(device=device).manual_seed(seed)
    with torch.no_grad():
        for name, param in module.named_parameters():
            if param.ndim >= 2:
                param.normal_(0.0, 0.02, generator=generator)
            elif name.endswith("bias"):
                param.zero_()
            else:
                param.fill_(1.0)           # norm scales and the like
        for name, buffer in module.named_buffers():
            if name in buffers:
                buffer.copy_(buffers[name])
    return module.eval().requires_grad_(False)


def build_transformer(config: dict, device, dtype, seed: int):
    from accelerate import init_empty_weights
    from diffusers import LTX2VideoTransformer3DModel

    with init_empty_weights():
        model = LTX2VideoTransformer3DModel(**config)
    return materialize(model, device, dtype, seed)


def build_vae(config: dict | None, device, dtype, seed: int):
    from accelerate import init_empty_weights
    from diffusers import AutoencoderKLLTX2Video

    with init_empty_weights():
        vae = AutoencoderKLLTX2Video(**(config or {}))
    return materialize(vae, device, dtype, seed)


def keep_precise() -> list[str] | None:
    """The layers the engine leaves unquantized in the transformer (None when the engine names none)."""
    try:
        from engine.engine import TRANSFORMER_KEEP_PRECISE
    except ImportError:
        return None
    return list(TRANSFORMER_KEEP_PRECISE)


def quantize(model, mode: str) -> tuple[Any, str, dict | None]:
    """Quantize weights as the engine does: its own function and exclusions, else optimum-quanto directly.

    Returns the model, how it was quantized and the engine's report (without its per-layer list).
    """
    if mode == "bf16":
        return model, "none", None
    import torch

    exclude = keep_precise()
    try:
        from engine import quantization as engine_quant
    except ImportError:
        engine_quant = None
    if engine_quant is not None and hasattr(engine_quant, "quantize_module"):
        parsed = engine_quant.parse_mode(mode) if hasattr(engine_quant, "parse_mode") else mode
        out = engine_quant.quantize_module(model, parsed, exclude=exclude)  # in place; returns a report
        report = None
        if isinstance(out, torch.nn.Module):
            model = out
        elif isinstance(out, dict):
            report = {key: ({"count": len(value), "first": value[:5]}
                            if isinstance(value, list) and len(value) > 40 else value)
                      for key, value in out.items() if key != "quantized_layers"}
        kept = len(exclude or [])
        return model, f"engine.quantization.quantize_module({parsed!r}, exclude=<{kept} patterns>)", report
    from optimum.quanto import freeze, qfloat8, qint4
    from optimum.quanto import quantize as quanto_quantize

    quanto_quantize(model, weights={"fp8": qfloat8, "int4": qint4}[mode], exclude=exclude)
    freeze(model)
    how = f"optimum.quanto {mode}, exclude=<{len(exclude or [])} patterns> (no engine.quantization)"
    return model, how, None


# --- measuring --------------------------------------------------------------------------------------------

class Meter:
    """Wall time with device synchronisation, and peak allocated memory on CUDA (None on the CPU)."""

    def __init__(self, device):
        import torch

        self.torch = torch
        self.cuda = device.type == "cuda"

    def sync(self) -> None:
        if self.cuda:
            self.torch.cuda.synchronize()

    def reset(self) -> None:
        if self.cuda:  # the CPU has no peak to reset, and gc.collect() there costs seconds per case
            gc.collect()
            self.torch.cuda.empty_cache()
            self.torch.cuda.reset_peak_memory_stats()

    def allocated(self) -> int | None:
        return int(self.torch.cuda.memory_allocated()) if self.cuda else None

    def peak(self) -> int | None:
        return int(self.torch.cuda.max_memory_allocated()) if self.cuda else None

    def peak_reserved(self) -> int | None:
        return int(self.torch.cuda.max_memory_reserved()) if self.cuda else None

    def time(self, fn, warmup: int, iters: int) -> list[float]:
        for _ in range(warmup):
            fn()
        self.sync()
        times = []
        for _ in range(iters):
            start = time.perf_counter()
            fn()
            self.sync()
            times.append(time.perf_counter() - start)
        return times


def is_oom(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower()


def transformer_inputs(model, batch: int, size: tuple[int, int, int], text_tokens: int, device, dtype,
                       seed: int) -> dict[str, Any]:
    """The keyword arguments `LTX2Pipeline.__call__` passes to the transformer for one CFG step."""
    import torch

    width, height, frames = size
    cfg = model.config
    temporal, spatial = int(cfg.vae_scale_factors[0]), int(cfg.vae_scale_factors[1])
    latent_f, latent_h, latent_w = (frames - 1) // temporal + 1, height // spatial, width // spatial
    audio_f = audio_tokens(frames)
    gen = torch.Generator(device=device).manual_seed(seed)

    def randn(*shape):
        return torch.randn(*shape, generator=gen, device=device, dtype=torch.float32).to(dtype)

    timestep = torch.full((batch,), 500.0, device=device)
    mask = torch.ones(batch, text_tokens, device=device, dtype=dtype)
    return {
        "hidden_states": randn(batch, latent_f * latent_h * latent_w, cfg.in_channels),
        "audio_hidden_states": randn(batch, audio_f, cfg.audio_in_channels),
        "encoder_hidden_states": randn(batch, text_tokens, cfg.caption_channels),
        "audio_encoder_hidden_states": randn(batch, text_tokens, cfg.caption_channels),
        "timestep": timestep, "sigma": timestep,
        "encoder_attention_mask": mask, "audio_encoder_attention_mask": mask,
        "num_frames": latent_f, "height": latent_h, "width": latent_w, "fps": FPS,
        "audio_num_frames": audio_f,
        "video_coords": model.rope.prepare_video_coords(batch, latent_f, latent_h, latent_w, device, fps=FPS),
        "audio_coords": model.audio_rope.prepare_audio_coords(batch, audio_f, device),
        "isolate_modalities": False, "spatio_temporal_guidance_blocks": None, "perturbation_mask": None,
        "use_cross_timestep": False, "return_dict": False,  # LTX-2.0, as the engine
    }


def run_transformer_case(model, meter: Meter, mode: str, batch: int, size, text_tokens: int, args, device,
                         dtype) -> dict[str, Any]:
    import torch

    width, height, frames = size
    case: dict[str, Any] = {"kind": "transformer", "mode": mode, "batch": batch,
                            "size": f"{width}x{height}x{frames}", "text_tokens": text_tokens,
                            "audio_tokens": audio_tokens(frames), "status": "ok", "median_s": None,
                            "times_s": [], "peak_bytes": None, "peak_reserved_bytes": None, "grad_mode": None}
    inputs = None
    try:
        meter.reset()
        inputs = transformer_inputs(model, batch, size, text_tokens, device, dtype, args.seed)
        case["video_tokens"] = int(inputs["hidden_states"].shape[1])
        case["latent"] = [inputs["num_frames"], inputs["height"], inputs["width"]]
        # The engine denoises under no_grad (quanto's int4 weights fail under inference_mode with "Cannot set
        # version_counter for inference tensor"); inference_mode is tried first and any failure recorded.
        for grad_mode in (torch.inference_mode, torch.no_grad):
            try:
                outputs: list = []

                def step(grad_mode=grad_mode, outputs=outputs):
                    with grad_mode():
                        outputs[:] = model(**inputs)

                times = meter.time(step, args.warmup, args.iters)
                case["grad_mode"] = grad_mode.__name__
                break
            except RuntimeError as exc:
                if is_oom(exc) or grad_mode is torch.no_grad or "inference tensor" not in str(exc):
                    raise
                case["inference_mode_error"] = str(exc).splitlines()[0][:300]
        case["times_s"] = times
        case["median_s"] = _common.median(times)
        case["peak_bytes"], case["peak_reserved_bytes"] = meter.peak(), meter.peak_reserved()
        case["output_finite"] = bool(torch.isfinite(outputs[0].float()).all().item())
    except Exception as exc:  # noqa: BLE001 - every failure is recorded per case and the run goes on
        case["status"] = "oom" if is_oom(exc) else "error"
        case["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
        case["peak_bytes"], case["peak_reserved_bytes"] = meter.peak(), meter.peak_reserved()
    finally:
        inputs = None
        meter.reset()
    return case


def run_vae_case(vae, meter: Meter, tiling: str, size, budget: int, args, device, dtype) -> dict[str, Any]:
    import torch

    from engine.tiling import apply_plan, plan_tiles

    width, height, frames = size
    spatial, temporal = vae.spatial_compression_ratio, vae.temporal_compression_ratio
    case: dict[str, Any] = {"kind": "vae_decode", "mode": str(dtype).replace("torch.", ""), "tiling": tiling,
                            "size": f"{width}x{height}x{frames}", "status": "ok", "median_s": None,
                            "times_s": [], "peak_bytes": None, "peak_reserved_bytes": None}
    latents = None
    try:
        meter.reset()
        if tiling == "tiled":
            plan = plan_tiles(vae.config, height, width, frames, budget, torch.finfo(dtype).bits // 8,
                              spatial, temporal)
            apply_plan(vae, plan, height, width, frames)
            case["budget_bytes"] = budget
            case["plan"] = {"tile_height": plan.tile_height, "tile_width": plan.tile_width,
                            "tile_frames": plan.tile_frames, "overlap": plan.overlap,
                            "frame_overlap": plan.frame_overlap, "tiled": plan.tiled(height, width, frames)}
            case["estimated_peak_bytes"] = plan.estimated_peak_bytes
        else:
            full = plan_tiles(vae.config, height, width, frames, 1 << 62, torch.finfo(dtype).bits // 8,
                              spatial, temporal)
            apply_plan(vae, full, height, width, frames)      # switches every kind of tiling off
            case["estimated_peak_bytes"] = full.estimated_peak_bytes
        case["weights_bytes"] = meter.allocated()
        gen = torch.Generator(device=device).manual_seed(args.seed)
        shape = (1, vae.config.latent_channels, (frames - 1) // temporal + 1, height // spatial,
                 width // spatial)
        latents = torch.randn(*shape, generator=gen, device=device, dtype=torch.float32).to(dtype)
        case["latent_shape"] = list(shape)
        out: list = []

        def decode():
            with torch.inference_mode():
                out[:] = [vae.decode(latents, None, return_dict=False)[0]]

        case["times_s"] = meter.time(decode, args.warmup, args.vae_iters)
        case["median_s"] = _common.median(case["times_s"])
        case["output_shape"] = list(out[0].shape)
        case["peak_bytes"], case["peak_reserved_bytes"] = meter.peak(), meter.peak_reserved()
    except Exception as exc:  # noqa: BLE001 - recorded per case
        case["status"] = "oom" if is_oom(exc) else "error"
        case["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
        case["peak_bytes"], case["peak_reserved_bytes"] = meter.peak(), meter.peak_reserved()
    finally:
        latents = None
        meter.reset()
    return case


def gib(value: int | None) -> str:
    return "n/a" if value is None else f"{value / 2**30:6.2f} GiB"


def describe(case: dict[str, Any]) -> str:
    what = (f"{case['mode']:>4} batch {case['batch']}" if case["kind"] == "transformer"
            else f"vae {case['tiling']:>7}")
    timing = (_common.fmt_s(case["median_s"]) if case["status"] == "ok"
              else f"{case['status'].upper()} ({case.get('error', '')[:80]})")
    unit = "/step" if case["kind"] == "transformer" else "/decode"
    unit = unit if case["status"] == "ok" else ""
    return f"  {case['kind']:>11} {case['size']:>13} {what}: {timing}{unit}   peak {gib(case['peak_bytes'])}"


# --- main -------------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    import torch

    dry = args.dry_run
    if not dry and not torch.cuda.is_available():
        raise SystemExit("gpu_transformer: no CUDA device; --dry-run exercises the same code on the CPU")
    device = torch.device("cpu" if dry else "cuda")
    # bf16 is what the engine uses on CUDA; the CPU has no fast bf16 conv3d, so the dry run uses float32.
    dtype = torch.float32 if dry else torch.bfloat16
    if args.vae_iters is None:
        args.vae_iters = 1 if dry else 2
    threads_before = torch.get_num_threads()
    threads = args.threads or (1 if dry else None)
    if threads:
        torch.set_num_threads(threads)
    try:
        return _run(args, device, dtype)
    finally:
        torch.set_num_threads(threads_before)


def _run(args: argparse.Namespace, device, dtype) -> dict[str, Any]:
    import torch

    dry = args.dry_run
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = sorted(set(modes) - set(MODES))
    if unknown:
        raise SystemExit(f"gpu_transformer: unknown modes {unknown}; choose from {list(MODES)}")
    batches = [int(b) for b in args.batches.split(",") if b.strip()]
    sizes = ([parse_size(s) for s in args.sizes.split(",")] if args.sizes
             else list(DRY_SIZES if dry else FULL_SIZES))
    text_tokens = args.text_tokens or (DRY_TEXT_TOKENS if dry else FULL_TEXT_TOKENS)
    transformer_config = dict(DRY_TRANSFORMER) if dry else {}
    vae_size = parse_size(args.vae_size) if args.vae_size else (DRY_VAE_SIZE if dry else FULL_VAE_SIZE)
    vae_budget = DRY_VAE_BUDGET if dry else int(args.vae_budget_gb * 2**30)
    vae_config = dict(FULL_VAE_CONFIG)
    if dry:
        from engine import official_layout
        from engine.tiny import tiny_official_config

        vae_config = official_layout.video_vae_config(tiny_official_config())

    machine = _common.machine_info()
    stem = "gpu_transformer-" + _common.slug("dry-run-" + machine["hostname"] if dry
                                             else machine.get("gpu_name", "unknown-gpu"))
    payload: dict[str, Any] = {
        "benchmark": "gpu_transformer", "dry_run": dry, "date": _common.today(), "created": _common.now_utc(),
        "machine": machine, "device": str(device), "dtype": str(dtype).replace("torch.", ""),
        "transformer_config": "diffusers LTX2VideoTransformer3DModel defaults (LTX-2.0 19B)" if not dry
        else transformer_config,
        "vae_config": f"diffusers AutoencoderKLLTX2Video defaults (LTX-2 video VAE) + {FULL_VAE_CONFIG}"
        if not dry else "engine.tiny video VAE",
        "settings": {"modes": modes, "batches": batches, "sizes": [f"{w}x{h}x{f}" for w, h, f in sizes],
                     "text_tokens": text_tokens, "fps": FPS, "warmup": args.warmup, "iters": args.iters,
                     "vae_size": "x".join(map(str, vae_size)), "vae_budget_bytes": vae_budget,
                     "vae_iters": args.vae_iters, "seed": args.seed, "threads": torch.get_num_threads()},
        "cases": [],
    }

    def save() -> Path:
        return _common.write_json(payload, args.out, stem, args.tag)

    meter = Meter(device)
    print(f"gpu_transformer{' (dry run)' if dry else ''}: {machine.get('gpu_name', machine['cpu_model'])}, "
          f"torch {machine['torch']}, cuda {machine.get('cuda_runtime')}, driver {machine.get('gpu_driver')}")

    if not args.skip_transformer:
        for mode in modes:
            model, failure = None, None
            try:
                meter.reset()
                start = time.perf_counter()
                model = build_transformer(transformer_config, device, dtype, args.seed)
                build_s = time.perf_counter() - start
                params = sum(p.numel() for p in model.parameters())
                start = time.perf_counter()
                model, how, report = quantize(model, mode)
                quant_s = time.perf_counter() - start
                meter.reset()
                info = {"mode": mode, "parameters": params, "build_s": build_s, "quantize_s": quant_s,
                        "quantized_with": how, "kept_precise": keep_precise() if mode != "bf16" else None,
                        "quantize_report": report, "weights_bytes": meter.allocated()}
                payload.setdefault("models", []).append(info)
                print(f"  built {params / 1e6:,.1f}M-parameter transformer ({mode} via {how}) in "
                      f"{build_s + quant_s:.1f} s; weights {gib(info['weights_bytes'])}")
            except Exception as exc:  # noqa: BLE001 - a mode that cannot even be built is recorded per case
                failure = ("oom" if is_oom(exc) else "error",
                           f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}")
            if failure is not None:
                status, error = failure
                model = None
                meter.reset()      # outside the except block, so the traceback no longer pins the memory
                for size in sizes:
                    for batch in batches:
                        payload["cases"].append({
                            "kind": "transformer", "mode": mode, "batch": batch,
                            "size": "x".join(map(str, size)), "text_tokens": text_tokens,
                            "audio_tokens": audio_tokens(size[2]), "status": status,
                            "error": "building/quantizing: " + error, "median_s": None, "times_s": [],
                            "peak_bytes": None, "peak_reserved_bytes": None, "grad_mode": None})
                        print(describe(payload["cases"][-1]))
                save()
                continue
            for size in sizes:
                for batch in batches:
                    case = run_transformer_case(model, meter, mode, batch, size, text_tokens, args, device,
                                                dtype)
                    case["weights_bytes"] = info["weights_bytes"]
                    payload["cases"].append(case)
                    print(describe(case))
                    save()
            model = None
            meter.reset()

    if not args.skip_vae:
        vae = None
        try:
            meter.reset()
            vae = build_vae(vae_config, device, dtype, args.seed)
        except Exception as exc:  # noqa: BLE001
            for tiling in ("untiled", "tiled"):
                payload["cases"].append({
                    "kind": "vae_decode", "mode": str(dtype).replace("torch.", ""), "tiling": tiling,
                    "size": "x".join(map(str, vae_size)), "status": "oom" if is_oom(exc) else "error",
                    "error": f"building: {type(exc).__name__}: {exc}"[:300], "median_s": None, "times_s": [],
                    "peak_bytes": None, "peak_reserved_bytes": None})
                print(describe(payload["cases"][-1]))
        if vae is not None:
            for tiling in ("tiled", "untiled"):   # tiled first: an untiled OOM must not spoil the tiled case
                case = run_vae_case(vae, meter, tiling, vae_size, vae_budget, args, device, dtype)
                payload["cases"].append(case)
                print(describe(case))
                save()
        vae = None
        meter.reset()

    path = save()
    print(f"wrote {path}")
    return payload


if __name__ == "__main__":
    main(sys.argv[1:])
