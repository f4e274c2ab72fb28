"""The GPU suite: full-size LTX-2.3 on one CUDA GPU under 24 GiB and 16 GiB caps, four quantizations.

For each of bf16, fp8 (optimum-quanto, weight-only), fp8-fast (FP8 matmuls, engine/fp8.py) and int4 (quanto),
and each memory cap (`torch.cuda.set_per_process_memory_fraction`, 24 GiB then 16 GiB):

  * the memory planner's placement of the transformer for a 5 s 720p two-stage distilled clip under that cap
    (resident, or streamed block by block with diffusers' group offloading, or layer by layer);
  * seconds per denoising step (one transformer call) at 768x512x121 and 1280x704x121, CFG batch 2 and 1,
    with that placement, and peak VRAM;
  * the whole clip: text encoding (Gemma 3 12B where the plan puts it), stage 1 (8 steps at 640x352), the x2
    latent upsampler, stage 2 (3 steps at 1280x704), tiled VAE decode and audio decode;
  * each transformer time also as a multiple of its FLOP bound: FLOPs of the passes (engine.planner's count)
    over the GPU's dense peak (bf16, or fp8 for fp8-fast; `PEAK_TFLOPS`, by device name).

Weights are random (meta device, then `to_empty` and filled in place): nothing is downloaded. The transformer
is the released LTX-2.3 configuration (`engine.model_sizes.FULL_SIZE["2.3"]`); VAE, audio VAE, vocoder and
upsampler are diffusers' default (LTX-2.0) shapes. An OOM or error is recorded per case and the run goes on;
`--budget-s` (default 450) skips what would run past the time budget, so the suite ends within 8 minutes on an
H100/H200. JSON goes to benchmarks/results/gpu_suite-<gpu>-<date>.json, rewritten after every case.

    .venv/bin/python benchmarks/gpu_suite.py                      # the suite (CUDA)
    .venv/bin/python benchmarks/gpu_suite.py --dry-run --out /tmp # CPU, tiny models, seconds (the tests)
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path
from typing import Any

import _common  # noqa: I001  (sibling module: benchmarks/ is on sys.path when run as a script)
from gpu_transformer import DRY_TRANSFORMER, Meter, is_oom, materialize

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GiB = 1024**3
# the headline comparison (bf16 vs fp8-fast) first: quanto may spend minutes building its CUDA kernels
MODES = ("bf16", "fp8-fast", "fp8", "int4")
CAPS_GIB = (24, 16)
SIZES = ((768, 512, 121), (1280, 704, 121))
BATCHES = (2, 1)
CLIP = (1280, 704, 121)
TEXT_TOKENS = 1024
DRY_SIZES = ((64, 64, 9), (128, 64, 9))
DRY_CLIP = (128, 64, 9)
DRY_TEXT_TOKENS = 16
# Dense tensor-core peaks (TFLOPS, no sparsity) from the vendors' data sheets: (bf16, fp8).
PEAK_TFLOPS = {
    "H200": (989.0, 1979.0),
    "H100 SXM": (989.0, 1979.0),
    "H100 80GB HBM3": (989.0, 1979.0),
    "H100 PCIe": (756.0, 1513.0),
    "H100": (756.0, 1513.0),
    "L40S": (362.0, 733.0),
    "RTX 4090": (165.0, 330.0),
    "A100": (312.0, None),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="CPU, tiny models and sizes (for the tests)")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--caps", default=",".join(str(c) for c in CAPS_GIB), help="GiB caps, in order")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--iters", type=int, default=2)
    parser.add_argument("--budget-s", type=float, default=450.0, help="skip cases past this many seconds")
    parser.add_argument("--skip-clip", action="store_true", help="per-step cases only")
    parser.add_argument("--skip-text-encoder", action="store_true", help="leave Gemma out of the clip")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="result folder or .json file")
    parser.add_argument("--tag", default="")
    args = parser.parse_args(argv)
    args.mode_list = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = set(args.mode_list) - set(MODES)
    if unknown or args.iters < 1:
        parser.error(f"unknown modes {sorted(unknown)}; use {','.join(MODES)}" if unknown else "--iters >= 1")
    args.cap_list = [float(c) for c in args.caps.split(",") if c.strip()]
    return args


def peak_tflops(gpu_name: str | None) -> tuple[float | None, float | None]:
    for key, value in PEAK_TFLOPS.items():
        if gpu_name and key.lower() in gpu_name.lower():
            return value
    return None, None


# --- building -----------------------------------------------------------------------------------------------


def transformer_config(dry: bool) -> dict:
    from engine.model_sizes import FULL_SIZE

    config = dict(FULL_SIZE["2.3"]["transformer"])
    if dry:
        config.update(DRY_TRANSFORMER)
        config["caption_channels"] = DRY_TRANSFORMER["caption_channels"]
    return config


def build_transformer(config: dict, device, dtype, seed: int):
    from accelerate import init_empty_weights
    from diffusers import LTX2VideoTransformer3DModel

    with init_empty_weights():
        model = LTX2VideoTransformer3DModel(**config)
    return materialize(model, device, dtype, seed)


def quantize(model, mode: str) -> dict | None:
    from engine.engine import TRANSFORMER_KEEP_PRECISE
    from engine.quantization import quantize_module

    if mode == "bf16":
        return None
    report = quantize_module(model, mode, exclude=list(TRANSFORMER_KEEP_PRECISE))
    return {k: v for k, v in report.items() if k not in ("quantized_layers", "skipped", "int4_per_channel")}


def build_others(dry: bool, device, dtype, seed: int) -> dict[str, Any]:
    """VAE, audio VAE, vocoder and upsampler (random), and the text encoder unless skipped later."""
    if dry:
        from diffusers.pipelines.ltx2.latent_upsampler import LTX2LatentUpsamplerModel

        from engine.tiny import tiny_components, tiny_text_encoder

        parts = tiny_components(seed)
        upsampler = LTX2LatentUpsamplerModel(in_channels=128, mid_channels=32, num_blocks_per_stage=1)
        return {
            "vae": parts.vae.to(device, dtype),
            "audio_vae": parts.audio_vae.to(device, dtype),
            "vocoder": parts.vocoder.to(device, dtype),
            "upsampler": upsampler.to(device, dtype).eval(),
            "text_encoder": tiny_text_encoder(seed).model.to(dtype),
        }
    from accelerate import init_empty_weights
    from diffusers import AutoencoderKLLTX2Audio, AutoencoderKLLTX2Video
    from diffusers.pipelines.ltx2.latent_upsampler import LTX2LatentUpsamplerModel
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder

    out = {}
    for name, build in (
        ("vae", lambda: AutoencoderKLLTX2Video(spatial_compression_ratio=32, temporal_compression_ratio=8)),
        ("audio_vae", AutoencoderKLLTX2Audio),
        ("vocoder", LTX2Vocoder),
        ("upsampler", LTX2LatentUpsamplerModel),
    ):
        with init_empty_weights():
            module = build()
        out[name] = materialize(module, device, dtype, seed)
    return out


def build_text_encoder(seed: int, dtype):
    """Gemma 3 12B (random) on the CPU; the plan decides where it runs."""
    import torch
    from accelerate import init_empty_weights
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration

    from engine.model_sizes import GEMMA3_12B_TEXT, GEMMA3_12B_VISION

    config = Gemma3Config(text_config=dict(GEMMA3_12B_TEXT), vision_config=dict(GEMMA3_12B_VISION))
    with init_empty_weights():
        model = Gemma3ForConditionalGeneration(config)
    return materialize(model, torch.device("cpu"), dtype, seed)


# --- measuring ----------------------------------------------------------------------------------------------


class Budget:
    def __init__(self, seconds: float):
        self.start, self.seconds = time.perf_counter(), seconds

    def left(self) -> float:
        return self.seconds - (time.perf_counter() - self.start)


def forward_case(model, meter: Meter, batch: int, size, text: int, device, dtype, args) -> dict[str, Any]:
    import torch

    from engine.memory_probe import transformer_inputs

    case: dict[str, Any] = {"batch": batch, "size": "x".join(str(v) for v in size), "status": "ok"}
    try:
        meter.reset()
        inputs = transformer_inputs(model, batch, size, text, device, dtype, args.seed)
        case["video_tokens"] = int(inputs["hidden_states"].shape[1])
        case["audio_tokens"] = int(inputs["audio_hidden_states"].shape[1])

        def step():
            with torch.no_grad():
                model(**inputs)

        times = meter.time(step, args.warmup, args.iters)
        case.update(times_s=times, median_s=_common.median(times), peak_bytes=meter.peak())
    except Exception as exc:  # noqa: BLE001 - recorded per case; the run goes on
        case.update(
            status="oom" if is_oom(exc) else "error",
            error=f"{type(exc).__name__}: {exc}"[:300],
            peak_bytes=meter.peak(),
        )
    return case


def flop_bound(weights, case: dict[str, Any], text: int, peak: float | None) -> float | None:
    from engine.planner import transformer_flops

    if peak is None or case.get("status") != "ok":
        return None
    flops = transformer_flops(weights, case["video_tokens"], case["audio_tokens"], text) * case["batch"]
    return flops / (peak * 1e12)


def clip_case(
    model,
    others,
    weights,
    plan,
    meter: Meter,
    device,
    dtype,
    text: int,
    clip,
    args,
    text_seconds: float | None,
) -> dict[str, Any]:
    """Both stages' transformer passes as placed by the plan, the upsampler, tiled VAE and audio decode."""
    import torch

    from engine.memory_probe import transformer_inputs
    from engine.planner import transformer_flops
    from engine.tiling import apply_plan, plan_tiles

    width, height, frames = clip
    case: dict[str, Any] = {
        "kind": "clip",
        "size": f"{width}x{height}x{frames}",
        "recipe": "two-stage",
        "status": "ok",
        "parts_s": {},
        "text_encoder_s": text_seconds,
    }
    flops = 0.0
    try:
        meter.reset()
        start = time.perf_counter()
        with torch.no_grad():
            for stage in plan.stages:
                size = (stage.width, stage.height, stage.frames)
                inputs = transformer_inputs(model, 1, size, text, device, dtype, args.seed)
                t0 = time.perf_counter()
                for _ in range(stage.steps):
                    model(**inputs)
                meter.sync()
                case["parts_s"][f"stage {stage.name}"] = time.perf_counter() - t0
                flops += stage.steps * transformer_flops(
                    weights, stage.video_tokens, stage.audio_tokens, text
                )
            spatial, temporal = 32, 8
            lf, lh, lw = (frames - 1) // temporal + 1, height // spatial, width // spatial
            half = torch.randn(1, 128, lf, lh // 2, lw // 2, device=device, dtype=dtype)
            t0 = time.perf_counter()
            latents = others["upsampler"](half)
            meter.sync()
            case["parts_s"]["upsampler"] = time.perf_counter() - t0
            vae = others["vae"]
            tiles = plan.vae_tiles
            if not args.dry_run:
                tiles = plan_tiles(
                    vae.config,
                    height,
                    width,
                    frames,
                    max(plan.vram - plan.phases["denoising"], GiB),
                    torch.finfo(dtype).bits // 8,
                    spatial,
                    temporal,
                )
            apply_plan(vae, tiles, height, width, frames)
            case["vae_tiles"] = [tiles.tile_width, tiles.tile_height, tiles.tile_frames]
            t0 = time.perf_counter()
            vae.decode(latents[:, :, :lf, :lh, :lw].to(dtype), return_dict=False)
            meter.sync()
            case["parts_s"]["vae_decode"] = time.perf_counter() - t0
            audio = torch.randn(1, 8, round(frames / 24 * 25), 16, device=device, dtype=dtype)
            t0 = time.perf_counter()
            mel = others["audio_vae"].decode(audio, return_dict=False)[0]
            others["vocoder"](mel)
            meter.sync()
            case["parts_s"]["audio_decode"] = time.perf_counter() - t0
        case["total_s"] = time.perf_counter() - start + (text_seconds or 0.0)
        case["transformer_flops"] = flops
        case["peak_bytes"] = meter.peak()
    except Exception as exc:  # noqa: BLE001
        case.update(
            status="oom" if is_oom(exc) else "error",
            error=f"{type(exc).__name__}: {exc}"[:300],
            peak_bytes=meter.peak(),
        )
    return case


def text_encoding_case(encoder, plan, device, meter: Meter, text: int, args) -> dict[str, Any]:
    """One prompt through Gemma where the plan puts it (GPU while encoding, else the CPU)."""
    import torch

    from engine.placement import on_device_while

    case: dict[str, Any] = {"kind": "text_encoder", "placement": plan.text_encoder, "status": "ok"}
    on_gpu = plan.text_encoder != "cpu" and device.type == "cuda"
    try:
        meter.reset()
        ids = torch.randint(0, 100, (1, text))
        with on_device_while(encoder, device, on_gpu), torch.no_grad():
            t0 = time.perf_counter()
            where = next(encoder.parameters()).device
            encoder(
                input_ids=ids.to(where),
                attention_mask=torch.ones_like(ids).to(where),
                output_hidden_states=True,
            )
            meter.sync()
            case["seconds"] = time.perf_counter() - t0
        case["peak_bytes"] = meter.peak()
    except Exception as exc:  # noqa: BLE001
        case.update(status="oom" if is_oom(exc) else "error", error=f"{type(exc).__name__}: {exc}"[:300])
    return case


# --- the run ------------------------------------------------------------------------------------------------


def set_cap(device, cap_bytes: int | None) -> None:
    import torch

    if device.type != "cuda":
        return
    total = torch.cuda.get_device_properties(device).total_memory
    fraction = 1.0 if cap_bytes is None else min(1.0, cap_bytes / total)
    torch.cuda.set_per_process_memory_fraction(fraction, device)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    import torch

    args = parse_args(argv)
    if not args.dry_run and not torch.cuda.is_available():
        raise SystemExit("gpu_suite needs a CUDA GPU (or --dry-run on the CPU)")
    device = torch.device("cpu" if args.dry_run else "cuda")
    dtype = torch.float32 if args.dry_run else torch.bfloat16
    if args.dry_run:
        torch.set_num_threads(1)
    sizes, clip = (DRY_SIZES, DRY_CLIP) if args.dry_run else (SIZES, CLIP)
    text = DRY_TEXT_TOKENS if args.dry_run else TEXT_TOKENS
    machine = _common.machine_info()
    gpu = machine.get("gpu_name") or machine.get("gpu") or ("cpu-dry-run" if args.dry_run else "gpu")
    peak_bf16, peak_fp8 = peak_tflops(str(gpu))
    payload: dict[str, Any] = {
        "benchmark": "gpu_suite",
        "dry_run": args.dry_run,
        "date": _common.today(),
        "created": _common.now_utc(),
        "machine": machine,
        "gpu": gpu,
        "peak_tflops": {"bf16": peak_bf16, "fp8": peak_fp8},
        "model": "LTX-2.3 transformer, released configuration, random weights"
        + (" (dry: shrunk)" * args.dry_run),
        "caps_gib": args.cap_list,
        "modes": args.mode_list,
        "cases": [],
    }
    stem = "gpu_suite-" + _common.slug(("dry-run-" if args.dry_run else "") + str(gpu))
    out = _common.write_json(payload, args.out, stem, args.tag)
    budget = Budget(args.budget_s)
    config = transformer_config(args.dry_run)
    others = build_others(args.dry_run, device, dtype, args.seed)
    encoder = None
    if not args.skip_text_encoder and not args.skip_clip:
        encoder = others.pop("text_encoder", None) or build_text_encoder(args.seed, dtype)
    others.pop("text_encoder", None)
    from engine.model_sizes import module_weights
    from engine.planner import plan_generation

    host_ram = machine.get("memory_bytes") or 64 * GiB
    text_times: dict[str, dict] = {}

    def record(case: dict[str, Any]) -> None:
        payload["cases"].append(case)
        _common.write_json(payload, out, stem)
        print(describe(case), flush=True)

    for mode in args.mode_list:
        qmode = {"bf16": "none"}.get(mode, mode)
        model = None
        current = None
        for cap in args.cap_list:
            if budget.left() <= 0:
                record(
                    {
                        "kind": "skipped",
                        "mode": mode,
                        "cap_gib": cap,
                        "status": "skipped",
                        "reason": "time budget",
                    }
                )
                continue
            try:
                if model is None:
                    # built and quantized on the device (an H100/H200 holds even bf16 before the caps apply)
                    set_cap(device, None)
                    model = build_transformer(config, device, dtype, args.seed)
                    # counted before quantizing: FLOPs and planned bytes need the float layers
                    weights = module_weights(
                        model,
                        "2.3",
                        others={k: sum(p.numel() for p in m.parameters()) for k, m in others.items()},
                    )
                    report = quantize(model, qmode)
                vram = int(cap * GiB) if not args.dry_run else (int(cap * GiB) if cap >= 20 else 1)
                plan = plan_generation(
                    weights,
                    quantization=qmode,
                    recipe="two-stage",
                    width=clip[0],
                    height=clip[1],
                    frames=clip[2],
                    vram=max(vram, 2 * GiB),
                    ram=host_ram,
                )
                placement = plan.transformer
                if args.dry_run:  # exercise both code paths on the tiny model
                    placement = "resident" if cap >= 20 else "streamed"
                if current is not None and placement != current:
                    model = None
                    gc.collect()
                    set_cap(device, None)
                    model = build_transformer(config, device, dtype, args.seed)
                    report = quantize(model, qmode)
                if current != placement:
                    from engine.placement import place_transformer

                    place_transformer(model, placement, device)
                    current = placement
                set_cap(device, int(cap * GiB))
            except Exception as exc:  # noqa: BLE001
                record(
                    {
                        "kind": "setup",
                        "mode": mode,
                        "cap_gib": cap,
                        "status": "oom" if is_oom(exc) else "error",
                        "error": f"{type(exc).__name__}: {exc}"[:300],
                    }
                )
                model, current = None, None
                continue
            meter = Meter(device)
            common = {
                "mode": mode,
                "cap_gib": cap,
                "placement": placement,
                "quantization": report,
                "planned_peak_vram": plan.peak_vram,
                "planned_fits": plan.fits,
            }
            peak = peak_fp8 if mode == "fp8-fast" else peak_bf16
            for size in sizes:
                for batch in BATCHES:
                    if budget.left() <= 0:
                        record(
                            {
                                "kind": "step",
                                **common,
                                "size": "x".join(map(str, size)),
                                "batch": batch,
                                "status": "skipped",
                                "reason": "time budget",
                            }
                        )
                        continue
                    case = {
                        "kind": "step",
                        **common,
                        **forward_case(model, meter, batch, size, text, device, dtype, args),
                    }
                    bound = flop_bound(weights, case, text, peak)
                    case["flop_bound_s"] = bound
                    case["x_flop_bound"] = case["median_s"] / bound if bound else None
                    record(case)
            if args.skip_clip or budget.left() <= 0:
                continue
            if (
                encoder is not None and plan.text_encoder not in text_times
            ):  # once per placement: minutes on a CPU
                text_times[plan.text_encoder] = text_encoding_case(encoder, plan, device, meter, text, args)
                record({**text_times[plan.text_encoder], "cap_gib": cap})
            seconds = text_times.get(plan.text_encoder, {}).get("seconds")
            case = {
                **common,
                **clip_case(model, others, weights, plan, meter, device, dtype, text, clip, args, seconds),
            }
            if case["status"] == "ok" and peak:
                case["flop_bound_s"] = case["transformer_flops"] / (peak * 1e12)
                transformer_s = sum(v for k, v in case["parts_s"].items() if k.startswith("stage"))
                case["x_flop_bound"] = transformer_s / case["flop_bound_s"]
            record(case)
        model = None
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
    set_cap(device, None)
    payload["elapsed_s"] = time.perf_counter() - budget.start
    _common.write_json(payload, out, stem)
    print(f"{'dry run: ' if args.dry_run else ''}wrote {out}")
    return payload


def describe(case: dict[str, Any]) -> str:
    what = f"{case.get('kind')} {case.get('mode', '')} cap {case.get('cap_gib', '')} GiB"
    if case.get("status") != "ok":
        return f"{what}: {case.get('status')} {case.get('error', case.get('reason', ''))}"
    peak = (case.get("peak_bytes") or 0) / GiB
    if case.get("kind") == "step":
        ratio = case["x_flop_bound"] or float("nan")
        return (
            f"{what} {case['size']} b{case['batch']} [{case['placement']}]: {case['median_s']:.3f} s/step, "
            f"peak {peak:.1f} GiB, x{ratio:.2f} the FLOP bound"
        )
    if case.get("kind") == "clip":
        return f"{what} clip {case['size']}: {case['total_s']:.1f} s, peak {peak:.1f} GiB"
    return f"{what}: {case.get('seconds', 0.0):.2f} s ({case.get('placement')})"


if __name__ == "__main__":
    main()
