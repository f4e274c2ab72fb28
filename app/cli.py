"""`aiprod-cli`: headless generation (no Qt), for scripts and render machines.

Exit codes: 0 success; 2 bad input (one line on stderr, no traceback); 1 the run failed (e.g. out of
memory); 130 interrupted with Ctrl-C. Output is written to a temporary name and renamed at the end, so an
interrupted or failed run leaves no partial file.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130

# Sizes used when the tiny (noise) model is asked for without explicit settings: the full-model defaults
# would spend minutes producing noise on a CPU.
TINY_DEFAULTS = {"width": 256, "height": 160, "frames": 25, "steps": 8}
MODEL_DEFAULTS = {"width": 768, "height": 512, "frames": 121, "steps": 30}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aiprod-cli", description="AIPROD Studio headless tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser(
        "generate",
        help="generate a clip with sound from a prompt",
        description="Generate a video clip with sound. .mov -> ProRes 422 HQ + PCM 24-bit; "
        ".mp4 -> H.265 Main10 + AAC. Sizes must be multiples of 32 and frame counts 8k+1.",
    )
    gen.add_argument("--prompt", required=True, help="what the shot shows and sounds like")
    gen.add_argument("--negative-prompt", default="", help="what to avoid")
    gen.add_argument(
        "--model",
        required=True,
        help="LTX-2 .safetensors file, diffusers folder, or 'tiny' (random weights: noise)",
    )
    gen.add_argument("--text-encoder", help="local Gemma-3 folder (required unless --model tiny)")
    gen.add_argument("--image", help="start image for image-to-video")
    gen.add_argument(
        "--quant",
        default="none",
        choices=["none", "fp8", "int8", "int4"],
        help="transformer weight quantization (cached on disk after the first run)",
    )
    gen.add_argument("--width", type=int)
    gen.add_argument("--height", type=int)
    gen.add_argument("--frames", type=int, help="frame count, 8k+1 (e.g. 121 = 5 s at 24 fps)")
    gen.add_argument("--fps", type=float, default=24.0)
    gen.add_argument("--steps", type=int)
    gen.add_argument("--guidance", type=float, default=4.0, help="video guidance scale (1 = off)")
    gen.add_argument("--seed", type=int, default=None, help="random seed (default: random, printed)")
    gen.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: cuda if available)")
    gen.add_argument("--out", required=True, help="output .mov or .mp4")
    gen.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


class _Progress:
    """tqdm bars on stderr for denoising steps and encoded frames."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar = None

    def stage(self, total: int, label: str):
        if not self.enabled:
            return lambda done, _total: None
        from tqdm import tqdm

        def update(done: int, _total: int) -> None:
            if self.bar is None or self.bar.desc != label:
                self.close()
                self.bar = tqdm(
                    total=total,
                    desc=label,
                    unit="step" if label == "denoise" else "frame",
                    file=sys.stderr,
                    leave=True,
                    dynamic_ncols=True,
                )
            self.bar.n = done
            self.bar.refresh()

        return update

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    message = " ".join(str(message).split())  # one line, even for wrapped multi-line library errors
    print(f"aiprod-cli: error: {message}", file=sys.stderr)
    return code


def run_generate(args: argparse.Namespace) -> int:
    from app.errors import AppError, ExportCancelled
    from app.export import preflight_destination, write_clip
    from engine.errors import EngineError, GenerationCancelled, OutOfMemoryError
    from engine.request import GenerationRequest  # light: torch and diffusers load after the input checks

    out = Path(args.out)
    preflight_destination(out)  # before minutes of generation, not after
    tiny = args.model == "tiny"
    defaults = TINY_DEFAULTS if tiny else MODEL_DEFAULTS
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    # `is None`, not `or`: an explicit 0 must be refused by validation, not silently replaced by a default.
    chosen = {
        name: defaults[name] if getattr(args, name) is None else getattr(args, name) for name in defaults
    }
    request = GenerationRequest(
        prompt=args.prompt,
        negative_prompt=args.negative_prompt,
        width=chosen["width"],
        height=chosen["height"],
        num_frames=chosen["frames"],
        fps=args.fps,
        steps=chosen["steps"],
        guidance_scale=args.guidance,
        seed=seed,
        image=args.image,
        preview_every=0,
    )
    try:
        request.validate()  # LTX-2's 32-pixel / 8k+1 grid: refuse before minutes of model loading, not after
    except EngineError as exc:
        return _fail(str(exc))
    if args.image is not None and not Path(args.image).is_file():
        return _fail(f"start image {args.image} does not exist")
    progress = _Progress(not args.quiet)
    try:
        from engine import Engine

        if tiny:
            print(
                "aiprod-cli: using the tiny random model: the output is noise (it tests the pipeline)",
                file=sys.stderr,
            )
            engine = Engine.tiny(device=args.device or "cpu", quantization=args.quant)
        else:
            engine = Engine.from_checkpoint(
                args.model, text_encoder=args.text_encoder, quantization=args.quant, device=args.device
            )
        print(
            f"aiprod-cli: seed {seed}, {request.width}x{request.height}, {request.num_frames} frames "
            f"at {request.fps:g} fps, {request.steps} steps",
            file=sys.stderr,
        )
        result = engine.generate(request, on_progress=progress.stage(request.steps, "denoise"))
        progress.close()
        metadata = dict(result.metadata)
        metadata["prompt"] = request.prompt
        written = write_clip(
            out,
            result.frames,
            request.fps,
            audio=result.audio,
            sample_rate=result.sample_rate,
            metadata=metadata,
            on_progress=progress.stage(len(result.frames), "encode"),
        )
        progress.close()
    except (GenerationCancelled, ExportCancelled):
        progress.close()
        return _fail("cancelled; no file written", EXIT_INTERRUPTED)
    except OutOfMemoryError as exc:
        progress.close()
        return _fail(str(exc), EXIT_FAILED)
    except (EngineError, AppError) as exc:
        progress.close()
        return _fail(str(exc))
    print(f"aiprod-cli: wrote {written}", file=sys.stderr)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="aiprod-cli: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        if args.command == "generate":
            return run_generate(args)
    except KeyboardInterrupt:
        # write_clip removes its temporary file on any exception, so nothing partial remains.
        print("\naiprod-cli: interrupted; no file written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # AppError from preflight, before the engine is touched
        from app.errors import AppError

        if isinstance(exc, AppError):
            return _fail(str(exc))
        raise
    return EXIT_BAD_INPUT


if __name__ == "__main__":  # pragma: no cover
    threading.current_thread().name = "aiprod-cli"
    sys.exit(main())
