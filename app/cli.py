"""`aiprod-cli`: headless generation, timeline rendering and interchange export (no Qt), for scripts and
render machines.

    aiprod-cli generate --model tiny --prompt "..." --out clip.mov
    aiprod-cli render Film.aiprod --preset prores_422_hq --out film.mov [--in 00:00:01:00 --out-point 96]
    aiprod-cli export-timeline Film.aiprod --out film.edl
    aiprod-cli new-project Film.aiprod --size 1920x1080 --fps 29.97
    aiprod-cli add Film.aiprod shot.mov still.png music.wav [--track V1]

Exit codes: 0 success; 2 bad input (one line on stderr, no traceback); 1 the run failed (e.g. out of
memory); 130 interrupted with Ctrl-C; 143 terminated (SIGTERM). Output is written to a temporary name and
renamed at the end, so an interrupted, terminated or failed run leaves no partial file.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from engine.quantization_modes import QUANTIZATION_MODES

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_TERMINATED = 143  # SIGTERM: 128 + 15, as a shell reports a process killed by it

# Sizes used when the tiny (noise) model is asked for without explicit settings: the full-model defaults
# would spend minutes producing noise on a CPU.
TINY_DEFAULTS = {"width": 256, "height": 160, "frames": 25, "steps": 8}
# Steps left out here take the loaded model's reference value (engine.models.ModelSpec).
MODEL_DEFAULTS = {"width": 768, "height": 512, "frames": 121, "steps": None}


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
    gen.add_argument(
        "--negative-prompt",
        default=None,
        help="what to avoid (default: the model's reference negative prompt; '' for none)",
    )
    gen.add_argument(
        "--model",
        required=True,
        help="LTX-2.0 or 2.3 .safetensors file, LTX-2.5 release folder, diffusers folder, or 'tiny' "
        "(random weights: noise)",
    )
    gen.add_argument(
        "--text-encoder",
        help="local Gemma-3 folder (default: the gemma-3-* folder beside the checkpoint; an LTX-2.5 "
        "release folder carries its own)",
    )
    gen.add_argument("--image", help="start image for image-to-video")
    gen.add_argument(
        "--quant",
        default="none",
        choices=list(QUANTIZATION_MODES),
        help="transformer weight quantization (cached on disk after the first run)",
    )
    gen.add_argument("--width", type=int)
    gen.add_argument("--height", type=int)
    gen.add_argument("--frames", type=int, help="frame count, 8k+1 (e.g. 121 = 5 s at 24 fps)")
    gen.add_argument("--fps", type=float, default=24.0)
    gen.add_argument("--steps", type=int, help="denoising steps (default: the model's reference value)")
    gen.add_argument(
        "--guidance", type=float, default=None, help="video CFG scale, 1 = off (default: the model's)"
    )
    gen.add_argument(
        "--audio-guidance", type=float, default=None, help="audio CFG scale, 1 = off (default: the model's)"
    )
    gen.add_argument(
        "--stg", type=float, default=None, help="spatio-temporal guidance, 0 = off (default: the model's)"
    )
    gen.add_argument("--seed", type=int, default=None, help="random seed (default: random, printed)")
    gen.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: cuda if available)")
    gen.add_argument("--out", required=True, help="output .mov or .mp4")
    gen.add_argument("--quiet", action="store_true", help="no progress bars")
    _recipe_arguments(gen)
    gen.add_argument(
        "--keyframe",
        action="append",
        default=[],
        metavar="FILE@FRAME[:STRENGTH]",
        help="condition on an image at a frame index (0 = first, -1 = last), strength 0..1 (default 1); "
        "repeat for several",
    )
    gen.add_argument(
        "--duration",
        help="length in seconds, or 'auto': LTX-2.5's duration head suggests it from the prompt "
        "(overrides --frames)",
    )

    ext = commands.add_parser(
        "extend",
        help="continue a clip forward (or backward) by N seconds as a new file",
        description="Extend a clip: the new clip is conditioned on the source's last frames (first frame "
        "with --backward) and written as a file of its own (the extension only), with sound.",
    )
    ext.add_argument("clip", help="the clip to extend (a video file)")
    ext.add_argument("--seconds", type=float, required=True, help="how much to add")
    ext.add_argument("--backward", action="store_true", help="extend before the clip's first frame")
    ext.add_argument("--out", required=True, help="output .mov or .mp4")
    ext.add_argument(
        "--model", required=True, help="the model (as for generate; 'tiny' = random weights, noise)"
    )
    ext.add_argument("--text-encoder", help="local Gemma-3 folder (as for generate)")
    ext.add_argument("--prompt", help="what happens next (default: the clip's own prompt, if it has one)")
    ext.add_argument("--seed", type=int, default=None, help="random seed (default: random, printed)")
    ext.add_argument("--steps", type=int, help="denoising steps (full recipe)")
    ext.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: cuda if available)")
    ext.add_argument("--quant", default="none", choices=list(QUANTIZATION_MODES))
    ext.add_argument("--quiet", action="store_true", help="no progress bars")
    _recipe_arguments(ext)

    render = commands.add_parser(
        "render",
        help="render a project's timeline to a delivery file or image sequence",
        description="Render a project's timeline with an export preset (grades, dissolves and the audio mix "
        "included). The output is written under a temporary name and renamed at the end.",
    )
    render.add_argument("project", help="a Name.aiprod project folder or its project.otio")
    render.add_argument("--preset", required=True, help="export preset name (`aiprod-cli presets`)")
    render.add_argument("--out", required=True, help="output file (an image sequence: a new folder)")
    render.add_argument("--in", dest="in_point", help="first frame: HH:MM:SS:FF or a frame number")
    render.add_argument(
        "--out-point", dest="out_point", help="end of the range (exclusive): HH:MM:SS:FF or a frame number"
    )
    render.add_argument("--size", help="output size WIDTHxHEIGHT (default: the project's)")
    render.add_argument(
        "--exact",
        action="store_true",
        help="every frame through the float pipeline and OpenColorIO's own processors (the reference; "
        "slower) instead of the fast path's baked LUTs, which differ by about a code value",
    )
    render.add_argument("--quiet", action="store_true", help="no progress bar")

    presets = commands.add_parser("presets", help="list the export presets")
    presets.add_argument("--json", action="store_true", help="machine-readable output")

    interchange = commands.add_parser(
        "export-timeline",
        help="write the timeline as OTIO, CMX 3600 EDL, FCP 7 XML or FCPXML",
        description="Export a project's timeline for another editor; the format follows the extension: "
        ".otio, .edl (one file per video track), .xml (FCP 7), .fcpxml.",
    )
    interchange.add_argument("project", help="a Name.aiprod project folder or its project.otio")
    interchange.add_argument("--out", required=True, help="FILE.otio, FILE.edl, FILE.xml or FILE.fcpxml")
    from app.plan_command import add_plan_parser

    add_plan_parser(commands)
    from app.cli_project import add_parsers  # new-project, add (headless project building)

    add_parsers(commands)
    from app.cli_farm import add_parsers as add_farm_parsers  # farm submit / status (render nodes)

    add_farm_parsers(commands)
    return parser


def _recipe_arguments(parser: argparse.ArgumentParser) -> None:
    from engine.request import RECIPES, UPSAMPLER_SCALES  # light: no torch

    parser.add_argument(
        "--recipe",
        choices=list(RECIPES),
        help="full: the dev model's guided steps; distilled: 8 fixed steps, no guidance; two-stage: half "
        "size, x2 latent upsampler, 3-step refine (sizes multiples of 64); two-stage-full: the dev model's "
        "guided steps at half size, then the 3-step refine with the distilled LoRA (sizes multiples of 64). "
        "Default: the model's",
    )
    parser.add_argument(
        "--lora",
        action="append",
        default=[],
        metavar="FILE[:STRENGTH]",
        help="fuse a LoRA (.safetensors) at a strength (default 1); repeat for several",
    )
    parser.add_argument(
        "--upsampler",
        action="append",
        default=None,
        help="a latent spatial upsampler file, x2 or x1.5 (default: those beside the checkpoint); repeat for "
        "both",
    )
    parser.add_argument(
        "--upsampler-scale",
        type=float,
        choices=list(UPSAMPLER_SCALES),
        default=2.0,
        help="the two-stage recipes' upsampler: 2 (stage 1 at half size, sizes multiples of 64) or 1.5 "
        "(LTX-2.3's x1.5 upsampler: stage 1 at 2/3 size, sizes multiples of 96); default 2",
    )
    parser.add_argument(
        "--distilled-lora",
        metavar="FILE[:STRENGTH]",
        help="the distilled LoRA two-stage-full refines with (default: the one beside the checkpoint, "
        "strength 1)",
    )
    parser.add_argument(
        "--video-decoder",
        choices=["conv", "diffusion"],
        default="conv",
        help="diffusion: LTX-2.5's diffusion video decoder (the slower quality option); default conv",
    )


def parse_lora(text: str):
    """'FILE[:STRENGTH]' -> LoraChoice; a Windows drive colon is part of the file name."""
    from engine.request import LoraChoice

    path, strength = _split_number(text, ":", 1.0, "LoRA", "FILE[:STRENGTH]")
    if not Path(path).is_file():
        raise ValueError(f"LoRA file {path} does not exist")
    return LoraChoice(path, strength)


def parse_keyframe(text: str, frames: int):
    """'FILE@FRAME[:STRENGTH]' -> Keyframe; FRAME may count from the end (-1 = the last frame)."""
    from engine.request import Keyframe

    rest, strength = _split_number(text, ":", 1.0, "keyframe", "FILE@FRAME[:STRENGTH]")
    if "@" not in rest:
        raise ValueError(f"keyframe '{text}' has no frame index; write FILE@FRAME[:STRENGTH]")
    path, _, index_text = rest.rpartition("@")
    try:
        index = int(index_text)
    except ValueError:
        raise ValueError(f"keyframe '{text}': frame '{index_text}' is not a whole number") from None
    if index < 0:
        index += frames
    if not 0 <= index < frames:
        raise ValueError(
            f"keyframe '{text}': frame {index_text} is outside the clip (frames 0..{frames - 1})"
        )
    if not Path(path).is_file():
        raise ValueError(f"keyframe image {path} does not exist")
    return Keyframe(path, index, strength)


def _split_number(text: str, sep: str, default: float, what: str, form: str) -> tuple[str, float]:
    head, found, tail = text.rpartition(sep)
    if not found or not head or "/" in tail or "\\" in tail:
        return text, default
    try:
        value = float(tail)
    except ValueError:
        if len(head) == 1:  # 'C:\\...' on Windows
            return text, default
        raise ValueError(f"{what} '{text}': strength '{tail}' is not a number; write {form}") from None
    return head, value


def parse_timecode(text: str, rate: float) -> int:
    """A frame number from ``HH:MM:SS:FF`` (non-drop, at the timeline rate rounded) or a plain number."""
    value = text.strip()
    if value.isdigit():
        return int(value)
    parts = value.replace(";", ":").split(":")
    if len(parts) != 4 or not all(p.isdigit() for p in parts):
        raise ValueError(f"'{text}' is not a timecode; use HH:MM:SS:FF or a frame number")
    fps = max(1, round(rate))
    hh, mm, ss, ff = (int(p) for p in parts)
    if mm >= 60 or ss >= 60 or ff >= fps:
        raise ValueError(f"'{text}' is not a valid timecode at {fps} fps")
    return ((hh * 60 + mm) * 60 + ss) * fps + ff


def _load(project: str):
    """The project's document, or a one-line message for exit code 2."""
    from app.project import load_project

    loaded = load_project(project)
    if loaded.missing:
        names = [loaded.doc.bin_item(media_id).path for media_id in loaded.missing]
        listed = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        raise _InputError(
            f"{len(names)} media file(s) of the project are missing ({listed}); relink them in the studio "
            f"(File > Relink) or put the files back, then render again"
        )
    return loaded.doc


def _project_folder(project: str) -> Path:
    from app.project import project_layout

    return project_layout(project).folder


class _InputError(Exception):
    """Bad input found by the CLI itself (exit code 2)."""


def run_render(args: argparse.Namespace) -> int:
    from app.errors import AppError, ExportCancelled
    from app.export import render_timeline

    try:
        doc = _load(args.project)
        in_frame = parse_timecode(args.in_point, doc.rate) if args.in_point else None
        out_frame = parse_timecode(args.out_point, doc.rate) if args.out_point else None
        size = _parse_size(args.size) if args.size else None
    except (_InputError, ValueError) as exc:
        return _fail(str(exc))
    except AppError as exc:
        return _fail(str(exc))
    bars: list = []  # the tqdm bar, made when the first frame reports the total

    def progress(done: int, total: int, _eta: float) -> None:
        if args.quiet:
            return
        if not bars:
            from tqdm import tqdm

            bars.append(tqdm(total=total, desc="render", unit="frame", file=sys.stderr, dynamic_ncols=True))
        bars[0].n = done
        bars[0].refresh()

    try:
        report = render_timeline(
            doc, args.preset, Path(args.out), in_frame=in_frame, out_frame=out_frame, size=size,
            on_progress=progress, project_folder=_project_folder(args.project), fast=not args.exact,
        )  # fmt: skip
    except ExportCancelled:
        return _fail("cancelled; no file written", EXIT_INTERRUPTED)
    except AppError as exc:
        return _fail(str(exc))
    finally:
        for bar in bars:
            bar.close()
    print(
        f"aiprod-cli: wrote {report.path} ({report.frames} frames {report.width}x{report.height} at "
        f"{float(report.fps):g} fps, {report.preset}, {report.seconds:.1f} s; "
        f"{report.fast_frames} on the fast path)",
        file=sys.stderr,
    )
    return EXIT_OK


def _parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"--size must look like 1920x1080, got '{text}'") from None
    if width < 2 or height < 2:
        raise ValueError(f"--size must be at least 2x2, got '{text}'")
    return width, height


def run_presets(args: argparse.Namespace) -> int:
    import json

    from app.export import presets

    available = presets.available()
    if args.json:
        print(json.dumps([dict(p.data) for p in available], indent=2))
    else:
        for preset in available:
            print(f"{preset.name:18} {preset.label}")
    return EXIT_OK


def run_export_timeline(args: argparse.Namespace) -> int:
    from app.errors import AppError

    try:
        doc = _load(args.project)
        from app.interchange import export_timeline  # lazily: the OTIO adapters load on first use

        written = export_timeline(doc, Path(args.out), project_folder=_project_folder(args.project))
    except _InputError as exc:
        return _fail(str(exc))
    except AppError as exc:
        return _fail(str(exc))
    for path in written:
        print(f"aiprod-cli: wrote {path}", file=sys.stderr)
    return EXIT_OK


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
    from app import provenance
    from app.export import preflight_destination
    from engine.errors import EngineError
    from engine.request import GenerationRequest  # light: torch and diffusers load after the input checks

    out = Path(args.out)
    preflight_destination(out)  # before minutes of generation, not after
    _refuse_generate_output(out, args)
    tiny = args.model == "tiny"
    defaults = TINY_DEFAULTS if tiny else MODEL_DEFAULTS
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    # `is None`, not `or`: an explicit 0 must be refused by validation, not silently replaced by a default.
    chosen = {
        name: defaults[name] if getattr(args, name) is None else getattr(args, name) for name in defaults
    }
    auto_duration = str(args.duration or "").strip().lower() == "auto"
    if args.duration is not None and not auto_duration:
        try:
            chosen["frames"] = _frames_for(float(args.duration), args.fps)
        except ValueError:
            return _fail(f"--duration {args.duration!r} is neither a number of seconds nor 'auto'")
    if args.recipe in ("distilled", "two-stage") and args.steps is None:  # two-stage-full: stage 1's steps
        chosen["steps"] = None  # the distilled recipes have fixed sigmas
    try:
        loras = tuple(parse_lora(text) for text in args.lora) if args.lora else None
        keyframes = tuple(parse_keyframe(text, chosen["frames"]) for text in args.keyframe)
        if args.distilled_lora:
            parse_lora(args.distilled_lora)  # a missing file is named before the model loads
    except ValueError as exc:
        return _fail(str(exc))
    request = GenerationRequest(
        prompt=args.prompt,
        negative_prompt=args.negative_prompt,
        width=chosen["width"],
        height=chosen["height"],
        num_frames=chosen["frames"],
        fps=args.fps,
        recipe=args.recipe,
        upsampler_scale=args.upsampler_scale,
        loras=loras,
        keyframes=keyframes,
        video_decoder=args.video_decoder,
        steps=chosen["steps"],
        guidance_scale=args.guidance,
        audio_guidance_scale=args.audio_guidance,
        stg_scale=args.stg,
        audio_stg_scale=args.stg,
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
    text_encoder = args.text_encoder
    if not tiny:
        try:
            text_encoder = _describe_model(args.model, args.text_encoder)
        except EngineError as exc:
            return _fail(str(exc))
    progress = _Progress(not args.quiet)

    def job() -> str:
        nonlocal request
        engine = _load_engine(args, text_encoder)
        if auto_duration:
            seconds, frames = engine.suggest_duration(request.prompt, request.fps)
            print(
                f"aiprod-cli: the duration head suggests {seconds:.2f} s ({frames} frames)", file=sys.stderr
            )
            request = request.with_changes(num_frames=frames)
        resolved = engine.resolve(request)
        steps = _total_steps(engine, resolved)
        print(
            f"aiprod-cli: seed {seed}, {request.width}x{request.height}, {request.num_frames} frames "
            f"at {request.fps:g} fps, {resolved.recipe} recipe, {steps} steps",
            file=sys.stderr,
        )
        result = engine.generate(request, on_progress=progress.stage(steps, "denoise"))
        progress.close()
        # The one provenance record, the same keys as a clip generated in the studio.
        written = _write_result(out, result, request.fps, provenance.from_engine(result.metadata), progress)
        return f"wrote {written}"

    return _run_engine_job(progress, job)


def _frames_for(seconds: float, fps: float) -> int:
    """Frames for about `seconds` at `fps` on LTX-2's 8k+1 grid."""
    if not seconds > 0:
        raise ValueError(seconds)
    return max(1, round(seconds * fps / 8)) * 8 + 1


def _total_steps(engine, resolved) -> int:
    from engine.recipes import plan_stages, total_steps

    sigmas = engine.spec.sigmas(resolved.steps)
    return total_steps(plan_stages(engine.spec, resolved.recipe, resolved.width, resolved.height, sigmas))


def run_extend(args: argparse.Namespace) -> int:
    from app import provenance
    from app.errors import AppError, JobError
    from app.export import preflight_destination
    from app.media.clip_reader import read_clip
    from engine.request import GenerationRequest

    out = Path(args.out)
    preflight_destination(out)
    from app.project.outputs import Source, check_output_path

    check_output_path(out, sources=[Source(Path(args.clip), "the clip to extend")])
    if not args.seconds > 0:
        return _fail(f"--seconds {args.seconds:g}: give a positive number of seconds")
    try:
        clip = read_clip(args.clip)
    except (JobError, AppError) as exc:
        return _fail(str(exc))
    prompt = args.prompt or (clip.generation or {}).get("prompt")
    if not prompt:
        return _fail(f"{args.clip} records no prompt; say what happens next with --prompt")
    try:
        loras = tuple(parse_lora(text) for text in args.lora) if args.lora else None
        if args.distilled_lora:
            parse_lora(args.distilled_lora)  # a missing file is named before the model loads
    except ValueError as exc:
        return _fail(str(exc))
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    tiny = args.model == "tiny"
    progress = _Progress(not args.quiet)

    def job() -> str:
        from app.media.clip_reader import source_sound
        from engine.extend import extend_clip

        text = None if tiny else _describe_model(args.model, args.text_encoder)
        engine = _load_engine(args, text)
        height, width = clip.frames.shape[1:3]
        request = GenerationRequest(
            prompt=prompt,
            width=width,
            height=height,
            fps=clip.fps,
            seed=seed,
            steps=args.steps,
            recipe=args.recipe,
            upsampler_scale=args.upsampler_scale,
            loras=loras,
            preview_every=0,
            video_decoder=args.video_decoder,
        )
        direction = "backward" if args.backward else "forward"
        sound, rate = source_sound(clip)
        print(
            f"aiprod-cli: extending {Path(args.clip).name} {direction} by {args.seconds:g} s, seed {seed}",
            file=sys.stderr,
        )
        result = extend_clip(
            engine,
            clip.frames,
            args.seconds,
            request,
            direction,
            on_progress=progress.stage(0, "denoise"),
            source_audio_latents=clip.audio_latents,
            source_audio=sound,  # an imported clip's sound, encoded by the engine
            source_sample_rate=rate,
        )
        progress.close()
        record = provenance.from_engine(
            result.metadata,
            extended_from=str(Path(args.clip).resolve()),
            source_checkpoint_identity=provenance.checkpoint(clip.generation),
        )
        written = _write_result(out, result, result.fps, record, progress)
        return f"wrote {written} ({len(result.frames)} new frames)"

    return _run_engine_job(progress, job)


def _load_engine(args: argparse.Namespace, text_encoder: str | None):
    """The engine `--model` names (the tiny random model for 'tiny'), for generate and extend."""
    from engine import Engine

    if args.model == "tiny":
        print(
            "aiprod-cli: using the tiny random model: the output is noise (it tests the pipeline)",
            file=sys.stderr,
        )
        return Engine.tiny(device=args.device or "cpu", quantization=args.quant)
    distilled = getattr(args, "distilled_lora", None)
    return Engine.from_checkpoint(
        args.model,
        text_encoder=text_encoder,
        quantization=args.quant,
        device=args.device,
        upsampler=args.upsampler,
        distilled_lora=parse_lora(distilled) if distilled else None,
    )


def _write_result(out: Path, result, fps: float, record: dict, progress: _Progress) -> Path:
    """Encode a generated clip with its provenance tags, at the studio's delivery sample rate (48 kHz,
    whichever rate the model makes: LTX-2.0's is 24 kHz)."""
    from app import provenance
    from app.export import write_clip
    from app.export.encoder import DELIVERY_SAMPLE_RATE, resample_audio

    written = write_clip(
        out,
        result.frames,
        fps,
        audio=None if result.audio is None else resample_audio(result.audio, result.sample_rate),
        sample_rate=DELIVERY_SAMPLE_RATE,
        metadata=provenance.file_tags(record),
        on_progress=progress.stage(len(result.frames), "encode"),
    )
    progress.close()
    return written


def _run_engine_job(progress: _Progress, job) -> int:
    """Run `job` (load, generate, write; returns what it wrote) and map the engine's and the writer's
    failures onto exit codes, with the progress bar closed: cancelled 130, out of memory 1, bad input 2."""
    from app.errors import AppError, ExportCancelled
    from engine.errors import EngineError, GenerationCancelled, OutOfMemoryError

    try:
        message = job()
    except (GenerationCancelled, ExportCancelled):
        progress.close()
        return _fail("cancelled; no file written", EXIT_INTERRUPTED)
    except OutOfMemoryError as exc:
        progress.close()
        return _fail(str(exc), EXIT_FAILED)
    except (EngineError, AppError) as exc:
        progress.close()
        return _fail(str(exc))
    print(f"aiprod-cli: {message}", file=sys.stderr)
    return EXIT_OK


def _describe_model(model: str, text_encoder: str | None) -> str | None:
    """Say what --model holds ("LTX-2.3 dev, Gemma 3 root OK, ...") and name each missing companion; raise
    CheckpointError when something needed is missing. Returns the Gemma root to load (None: the model
    carries its own text encoder)."""
    from engine.checkpoint import CheckpointLayout
    from engine.checkpoint_report import describe_checkpoint
    from engine.errors import CheckpointError

    report = describe_checkpoint(model, text_encoder=text_encoder)
    needed = [str(item) for item in report.missing if item.required]
    release = report.layout is CheckpointLayout.RELEASE_FOLDER
    if report.text_encoder_problem and not release:
        needed.append(f"text encoder: {report.text_encoder_problem}")
    if needed:
        raise CheckpointError(
            f"{report.summary()}; {report.model_name} cannot load: missing {'; '.join(needed)} "
            "(see README, 'Model weights')",
            path=model,
        )
    for line in report.lines():  # what was found, and the optional companions that are absent
        print(f"aiprod-cli: {line}", file=sys.stderr)
    if text_encoder is not None or release:
        return text_encoder
    return str(report.text_encoder) if report.text_encoder is not None else None


def _refuse_generate_output(out: Path, args: argparse.Namespace) -> None:
    """OutputRefused when ``--out`` is the checkpoint, the text encoder, the start image (or inside one of
    them) or inside a project folder."""
    from app.project.outputs import Source, check_output_path

    inputs = [
        (args.model if args.model != "tiny" else None, "the model checkpoint"),
        (args.text_encoder, "the text encoder"),
        (args.image, "the start image"),
        *[(text.rpartition("@")[0] or text, "a keyframe image") for text in args.keyframe],
        *[(text, "a LoRA") for text in args.lora if Path(text).exists()],
    ]
    check_output_path(out, sources=[Source(Path(path), what) for path, what in inputs if path])


class _Terminated(KeyboardInterrupt):
    """SIGTERM (a job scheduler, ``kill``, a closing terminal session): unwound exactly like Ctrl-C, so
    every writer's cleanup of its partial file runs, then exit 143 (128 + SIGTERM)."""


def _raise_terminated(_signum: int, _frame: object) -> None:
    raise _Terminated


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="aiprod-cli: %(message)s")
    args = build_parser().parse_args(argv)
    previous = None
    if threading.current_thread() is threading.main_thread():  # signal handlers live on the main thread
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        return _run(args)
    except _Terminated:
        print("\naiprod-cli: terminated; no file written", file=sys.stderr)
        return EXIT_TERMINATED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace) -> int:
    try:
        if args.command == "generate":
            return run_generate(args)
        if args.command == "extend":
            return run_extend(args)
        if args.command == "render":
            return run_render(args)
        if args.command == "presets":
            return run_presets(args)
        if args.command == "export-timeline":
            return run_export_timeline(args)
        if args.command in ("new-project", "add"):
            from app import cli_project

            run = cli_project.run_new_project if args.command == "new-project" else cli_project.run_add
            return run(args)
        if args.command == "plan":
            from app.plan_command import run_plan

            return run_plan(args)
        if args.command == "farm":
            from app.cli_farm import run_farm

            return run_farm(args)
    except KeyboardInterrupt as exc:
        if isinstance(exc, _Terminated):
            raise
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
