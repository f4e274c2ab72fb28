"""`aiprod-cli plan`: will a generation fit a card? Reads checkpoint headers only (or a version name's
released configuration), never weights, so it answers in seconds and before a 40 GB download.

    aiprod-cli plan --model ltx-2.3 --quant fp8 --recipe two-stage --width 1280 --height 704 --frames 121 \\
        --vram 24GiB --ram 64GiB

Prints the plan and ends with one line `fits: yes|no, peak VRAM X GiB, peak RAM Y GiB, ...`; exit 0 whether it
fits or not, 2 on bad input.
"""

from __future__ import annotations

import argparse
import sys

from engine.planner import DEFAULT_PCIE_GBPS, DEFAULT_TFLOPS, PLAN_QUANTIZATIONS, RECIPES

EXIT_OK, EXIT_BAD_INPUT = 0, 2


def add_plan_parser(commands) -> argparse.ArgumentParser:
    plan = commands.add_parser(
        "plan",
        help="say whether a generation fits a GPU and how the model would be placed (reads no weights)",
        description="Plan memory for a generation: transformer resident, streamed block by block or layer by "
        "layer, text encoder placement, VAE tiles, estimated peak VRAM, RAM and time.",
    )
    plan.add_argument(
        "--model",
        required=True,
        help="a checkpoint path (any layout the studio loads) or ltx-2.0 / ltx-2.3 / ltx-2.5 "
        "(the released full-size configuration)",
    )
    plan.add_argument("--text-encoder", help="the Gemma root, when not beside the checkpoint")
    plan.add_argument(
        "--quant",
        default="none",
        choices=list(PLAN_QUANTIZATIONS),
        help="transformer quantization (default none = bf16)",
    )
    plan.add_argument("--text-encoder-quant", default="none", choices=["none", "fp8", "int8", "int4"])
    plan.add_argument("--recipe", default="full", choices=list(RECIPES))
    plan.add_argument(
        "--upsampler-scale", type=float, default=2.0, choices=[2.0, 1.5],
        help="the two-stage recipes' upsampler: 2, or 1.5 (LTX-2.3's x1.5: stage 1 at 2/3 size)",
    )
    plan.add_argument("--width", type=int, default=768)
    plan.add_argument("--height", type=int, default=512)
    plan.add_argument("--frames", type=int, default=121)
    plan.add_argument("--image", action="store_true", help="image-to-video (per-token timesteps)")
    plan.add_argument("--vram", required=True, help="the card's memory, e.g. 24GiB, 16GB")
    plan.add_argument("--ram", help="system memory (default: what this machine has available)")
    plan.add_argument(
        "--tflops",
        type=float,
        default=DEFAULT_TFLOPS,
        help=f"sustained bf16 TFLOPS assumed for the time estimate (default {DEFAULT_TFLOPS:g})",
    )
    plan.add_argument(
        "--pcie-gbps",
        type=float,
        default=DEFAULT_PCIE_GBPS,
        help=f"host-to-GPU GB/s for streamed weights (default {DEFAULT_PCIE_GBPS:g})",
    )
    return plan


def run_plan(args: argparse.Namespace) -> int:
    import torch

    from engine.errors import EngineError
    from engine.model_sizes import weights_of
    from engine.planner import parse_bytes, plan_generation
    from engine.tiling import available_memory

    try:
        if args.tflops <= 0 or args.pcie_gbps <= 0:
            raise ValueError("--tflops and --pcie-gbps must be more than zero")
        vram = parse_bytes(args.vram)
        ram = parse_bytes(args.ram) if args.ram else available_memory(torch.device("cpu"))
        weights = weights_of(args.model, args.text_encoder)
        plan = plan_generation(
            weights,
            quantization=args.quant,
            recipe=args.recipe,
            upsampler_scale=args.upsampler_scale,
            width=args.width,
            height=args.height,
            frames=args.frames,
            vram=vram,
            ram=ram,
            text_encoder_quantization=args.text_encoder_quant,
            image=args.image,
            tflops=args.tflops,
            pcie_gbps=args.pcie_gbps,
        )
    except (EngineError, ValueError) as exc:
        print(f"aiprod-cli: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print("\n".join(plan.lines()))
    return EXIT_OK
