"""Export throughput: `render_timeline` against the ffmpeg command line with the same codec settings, side by
side in one run: per preset, ffmpeg vs ours pipelined and sequential, each ungraded and graded.

One source clip (1080p H.264, a moving gradient with noise) on a timeline; for each preset the script
exports it with our renderer (decode, composite, explicit BT.709 RGB->YUV, encode through PyAV) in four
variants -- ``pipelined`` (decode thread, grade workers, RGB->YUV thread, encode thread; the default) and
``sequential`` (one frame at a time on one thread), each without and with a look + CDL + exposure grade on
the clip -- and with `ffmpeg -i source -c:v <same encoder and options>` (no grade: ffmpeg only transcodes),
rotating the order every run on the same machine. It prints the median times and the ratios (ffmpeg time /
ours: 1.0 = parity, above 1 = we are faster), the grade's overhead and the pipeline's speed-up.
Goals (issue 15): graded export >= 0.95x ffmpeg's speed; grading overhead < 10 %. ffmpeg is looked up on
PATH; without it the script reports our times only. Hardware presets (NVENC/AMF/QSV) are added when their
encoder opens here (app.export.hardware); this machine's result says which did.

    .venv/bin/python benchmarks/export_speed.py                  # 1920x1080, 48 frames, 3 runs each
    .venv/bin/python benchmarks/export_speed.py --dry-run --out /tmp   # 64x48, 6 frames, 1 run, no ffmpeg
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common  # noqa: I001  (sibling module: benchmarks/ is on sys.path when run as a script)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# ffmpeg arguments equal to each preset's encoder settings (resources/export_presets/*.json).
FFMPEG_ARGS = {
    "prores_422_hq": ["-c:v", "prores_ks", "-profile:v", "hq", "-vendor", "apl0", "-pix_fmt", "yuv422p10le",
                      "-f", "mov"],
    "h265_main10": ["-c:v", "libx265", "-crf", "18", "-preset", "medium", "-x265-params",
                    "log-level=error:chromaloc=0", "-pix_fmt", "yuv420p10le", "-tag:v", "hvc1", "-f", "mp4"],
    "h264_high": ["-c:v", "libx264", "-profile:v", "high", "-crf", "18", "-preset", "medium",
                  "-pix_fmt", "yuv420p", "-f", "mp4"],
    "prores_4444": ["-c:v", "prores_ks", "-profile:v", "4444", "-vendor", "apl0", "-pix_fmt", "yuva444p10le",
                    "-f", "mov"],
    "dnxhr_hqx": ["-c:v", "dnxhd", "-profile:v", "dnxhr_hqx", "-pix_fmt", "yuv422p10le", "-f", "mov"],
    "h265_main10_nvenc": ["-c:v", "hevc_nvenc", "-profile:v", "main10", "-preset", "p5", "-tune", "hq",
                          "-rc", "vbr", "-cq", "19", "-b:v", "0", "-maxrate", "0", "-spatial-aq", "1",
                          "-pix_fmt", "p010le", "-tag:v", "hvc1", "-f", "mp4"],
    "h264_nvenc": ["-c:v", "h264_nvenc", "-profile:v", "high", "-preset", "p5", "-tune", "hq", "-rc", "vbr",
                   "-cq", "18", "-b:v", "0", "-maxrate", "0", "-spatial-aq", "1", "-pix_fmt", "yuv420p",
                   "-f", "mp4"],
    "av1_nvenc": ["-c:v", "av1_nvenc", "-preset", "p5", "-tune", "hq", "-rc", "vbr", "-cq", "24", "-b:v", "0",
                  "-maxrate", "0", "-pix_fmt", "p010le", "-f", "mp4"],
}  # fmt: skip
VARIANTS = ("pipelined", "pipelined_graded", "sequential", "sequential_graded", "float", "float_graded")
# ours: <mode>[_graded]; "float" = pipelined with the fast path off (every frame through the float pipeline)
TAGS = ["-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709", "-color_range", "tv"]
DEFAULT_PRESETS = ("prores_422_hq", "h265_main10")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--runs", type=int, default=3, help="A/B pairs per preset (default 3)")
    parser.add_argument(
        "--presets",
        nargs="+",
        default=None,
        choices=sorted(FFMPEG_ARGS),
        help="default: prores_422_hq, h265_main10 and every hardware preset that opens here",
    )
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument(
        "--dry-run", action="store_true", help="tiny clip, one run, no ffmpeg: checks the script"
    )
    parser.add_argument(
        "--no-encoder-check", dest="encoder_check", action="store_false",
        help="skip timing the ffmpeg CLI's encoder alone on our graded vs ungraded frames",
    )  # fmt: skip
    parser.add_argument(
        "--out", default=None, help="result folder or .json file (default benchmarks/results/)"
    )
    args = parser.parse_args(argv)
    if args.dry_run:
        args.width, args.height, args.frames, args.runs = 64, 48, 6, 1
    return args


def default_presets(dry_run: bool) -> list[str]:
    """The two software presets of the goal, plus each hardware preset whose encoder opens here."""
    names = list(DEFAULT_PRESETS)
    if not dry_run:
        from app.export import hardware

        names += [p.name for p in hardware.available_presets() if p.name in FFMPEG_ARGS]
    return names


def benchmark_grade() -> dict:
    """A shipped look at 80 % mix plus a CDL (slope, offset, power, saturation) and +0.3 stops of exposure."""
    from app.color import CDL, Grade, looks

    names = [look.name for look in looks.available()]
    look = "teal_orange" if "teal_orange" in names else (names[0] if names else None)
    cdl = CDL(slope=(1.08, 1.0, 0.94), offset=(0.01, 0.0, -0.01), power=(0.95, 1.0, 1.05), saturation=1.15)
    return Grade(look=look, lut_mix=0.8, cdl=cdl, exposure=0.3).to_dict()


def graded_timeline_for(source: Path, grade: dict):
    from app.document import TrackKind

    doc = timeline_for(source)
    clip = doc.clips(doc.tracks(TrackKind.VIDEO)[0].id)[0]
    doc.set_clip_grade(clip.id, grade)
    return doc


def make_source(path: Path, width: int, height: int, frames: int) -> Path:
    """A clip with motion and grain (flat synthetic frames would flatter every encoder)."""
    import av
    import numpy as np

    rng = np.random.default_rng(0)
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "12", "preset": "veryfast"}
        for i in range(frames):
            phase = i / max(frames, 1)
            rgb = np.stack([(x + phase) % 1.0 + 0 * y, (y + 0.5 * phase) % 1.0 + 0 * x, 0.5 * (x + y)], -1)
            rgb = rgb + rng.normal(0, 0.02, rgb.shape).astype(np.float32)
            frame = av.VideoFrame.from_ndarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8), format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def timeline_for(source: Path):
    from opentimelineio.opentime import RationalTime

    from app.document import TimelineDocument, TrackKind
    from app.media.importer import import_files

    doc = TimelineDocument(name="Benchmark", rate=24)
    ids, errors = import_files(doc, [source])
    if errors:
        raise SystemExit(f"cannot import the source: {errors[0]}")
    doc.insert(ids[0], doc.tracks(TrackKind.VIDEO)[0].id, RationalTime(0, 24))
    return doc


def time_ours(doc, preset: str, out: Path, mode: str = "pipelined", grader=None) -> tuple[float, float]:
    """(wall-clock seconds, CPU seconds of this process) for one export; ``mode`` "float" is the pipelined
    renderer with the fast path off."""
    from app.export import presets, render_timeline

    target = out.with_suffix(presets.get(preset).extension)
    fast = mode != "float"
    mode = "pipelined" if mode == "float" else mode
    started, cpu = time.perf_counter(), time.process_time()
    report = render_timeline(doc, preset, target, mode=mode, grader=grader, fast=fast)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu  # CPU: every thread of ours
    target.unlink()
    if report.mode != mode:
        raise SystemExit(f"asked for a {mode} render, got {report.mode}")
    return elapsed, cpu


def time_ffmpeg(
    ffmpeg: str, source: Path, preset: str, out: Path, lut: Path | None = None
) -> tuple[float, float]:
    """(wall-clock seconds, CPU seconds of the ffmpeg process) for one transcode; with ``lut`` (a .cube)
    ffmpeg also applies it (``-vf lut3d``): the same grade, so the encoder gets the same pictures as ours."""
    graded = ["-vf", f"lut3d=file={lut}:interp=tetrahedral"] if lut is not None else []
    command = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(source), "-an",
               *graded, *FFMPEG_ARGS[preset], *TAGS, str(out)]  # fmt: skip
    return _timed_run(command, out)


def _timed_run(command: list[str], out: Path) -> tuple[float, float]:
    """(wall-clock seconds, CPU seconds of the child process) for ``command``; ``out`` is removed after."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    out.unlink()
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def grade_cube(doc, grade: dict, path: Path) -> Path:
    """The benchmark grade as an R'G'B' .cube (65^3, sampled from its OCIO processor, clipped to 0..1) for
    the ffmpeg command line's lut3d filter."""
    import numpy as np

    from app.color import Grade, GradePipeline
    from app.color import bake as baking
    from app.export.fast_path import _cube_rows

    pipeline = GradePipeline(doc.color_settings())
    lattice = baking.lattice(65)
    pipeline.processor(Grade.coerce(grade)).getDefaultCPUProcessor().applyRGB(lattice)
    rows = np.clip(lattice, 0, 1).reshape(65, 65, 65, 3).transpose(2, 1, 0, 3).reshape(-1)  # red fastest
    path.write_bytes(b"LUT_3D_SIZE 65\n" + _cube_rows(rows))
    return path


def write_raw_frames(doc, grade: dict | None, source: Path, preset: str, path: Path) -> tuple[str, int, int]:
    """Our fast path's frames for ``source`` (ungraded, or with ``grade``) in the preset's planar format, as
    one raw file: the pictures our export hands its encoder. Returns (pix_fmt, width, height)."""
    import av

    from app.color import Grade, GradePipeline
    from app.export import fast_path
    from app.export import presets as registry

    fmt = registry.get(preset).delivery_format()
    fast = fast_path.FastPath(fmt)
    try:
        pipeline = GradePipeline(doc.color_settings())
        lut = fast.lut_for(pipeline, Grade.coerce(grade)) if grade else fast.lut_for(None, None)
        if lut is None:
            raise SystemExit("the benchmark grade does not take the fast path")
        sample_bytes = 2 if fmt.planar_pix_fmt.endswith("le") else 1  # 10-bit formats: 16-bit samples
        with av.open(str(source)) as container, open(path, "wb") as out:
            for index, frame in enumerate(container.decode(video=0)):
                converted = fast.convert(fast_path.FastFrame(index, frame, lut))
                for plane in converted.planes:
                    rows, stride, visible = bytes(plane), plane.line_size, plane.width * sample_bytes
                    for row in range(plane.height):
                        out.write(rows[row * stride : row * stride + visible])
                width, height = frame.width, frame.height
    finally:
        fast.close()
    return fmt.planar_pix_fmt, width, height


def time_ffmpeg_raw(ffmpeg: str, raw: Path, pix_fmt: str, size: tuple[int, int], preset: str, out: Path):
    """(wall, CPU) seconds for the ffmpeg CLI encoding raw frames with the preset's settings: no decode, no
    grade, only the encoder on those pictures."""
    command = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo",
               "-pix_fmt", pix_fmt, "-s", f"{size[0]}x{size[1]}", "-r", "24", "-i", str(raw),
               *FFMPEG_ARGS[preset], *TAGS, str(out)]  # fmt: skip
    return _timed_run(command, out)


def encoder_on_graded_pictures(
    ffmpeg: str, docs, grade: dict, source: Path, preset: str, folder: Path, runs: int
) -> dict[str, Any]:
    """How much more the encoder alone costs for the graded pictures than for the ungraded ones: the ffmpeg
    CLI encodes our own fast-path frames of each, from raw files, in turns. A grade that adds contrast and
    saturation gives the encoder more to do, whoever applies it."""
    ext = ".mov" if FFMPEG_ARGS[preset][-1] == "mov" else ".mp4"
    raws = {}
    for graded in (False, True):
        raw = folder / f"frames-{'graded' if graded else 'plain'}.yuv"
        picked = grade if graded else None
        pix_fmt, width, height = write_raw_frames(docs[graded], picked, source, preset, raw)
        raws[graded] = raw
    walls: dict[bool, list[float]] = {False: [], True: []}
    cpus: dict[bool, list[float]] = {False: [], True: []}
    for run in range(runs):
        for graded in (False, True) if run % 2 == 0 else (True, False):
            wall, used = time_ffmpeg_raw(
                ffmpeg, raws[graded], pix_fmt, (width, height), preset, folder / f"raw{ext}"
            )
            walls[graded].append(wall)
            cpus[graded].append(used)
    for raw in raws.values():
        raw.unlink()
    plain_s, graded_s = _common.median(walls[False]), _common.median(walls[True])
    plain_cpu, graded_cpu = _common.median(cpus[False]), _common.median(cpus[True])
    return {
        "ungraded_s": plain_s, "graded_s": graded_s, "ungraded_cpu_s": plain_cpu, "graded_cpu_s": graded_cpu,
        "factor": round(graded_s / plain_s, 3), "cpu_factor": round(graded_cpu / plain_cpu, 3),
    }  # fmt: skip


def ffmpeg_version(ffmpeg: str | None) -> str | None:
    """The CLI's version line: it may link other FFmpeg libraries (and encoder versions) than PyAV does."""
    if ffmpeg is None:
        return None
    result = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True, check=False)
    return result.stdout.splitlines()[0] if result.stdout else None


def machine() -> dict[str, Any]:
    import platform

    import av

    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_model": _common.cpu_model(),
        "cpu_cores": __import__("os").cpu_count(),
        "pyav": av.__version__,
        "ffmpeg_libraries": {k: ".".join(map(str, v)) for k, v in av.library_versions.items()},
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    import app  # noqa: F401  (the PySide6 guard, before anything else loads Qt)
    from app.export.grading import CpuGrader

    args = parse_args(argv)
    presets = args.presets or default_presets(args.dry_run)
    ffmpeg = None if args.dry_run else shutil.which("ffmpeg")
    if ffmpeg is None and not args.dry_run:
        print("export_speed: no ffmpeg on PATH: reporting our times only", file=sys.stderr)
    grade = benchmark_grade()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="aiprod-export-speed-") as tmp:
        folder = Path(tmp)
        source = make_source(folder / "source.mp4", args.width, args.height, args.frames)
        docs = {False: timeline_for(source), True: graded_timeline_for(source, grade)}
        cube = grade_cube(docs[False], grade, folder / "grade.cube")
        names = ("ffmpeg", "ffmpeg_graded", *args.variants)
        for preset in presets:
            times: dict[str, list[float]] = {name: [] for name in names}
            cpu: dict[str, list[float]] = {name: [] for name in names}
            contenders = list(names) if ffmpeg is not None else list(args.variants)
            for run in range(args.runs):
                shift = run % len(contenders)  # rotate who goes first: no contender always runs warm
                for who in contenders[shift:] + contenders[:shift]:
                    if who.startswith("ffmpeg"):
                        ext = ".mov" if FFMPEG_ARGS[preset][-1] == "mov" else ".mp4"
                        lut = cube if who == "ffmpeg_graded" else None
                        wall, used = time_ffmpeg(ffmpeg, source, preset, folder / f"ffmpeg{ext}", lut)
                        times[who].append(wall)
                        cpu[who].append(used)
                    else:
                        mode, _, graded = who.partition("_")
                        doc = docs[bool(graded)]
                        wall, used = time_ours(doc, preset, folder / "ours", mode, CpuGrader())
                        times[who].append(wall)
                        cpu[who].append(used)
            results[preset] = summarise(times, args.frames, cpu)
            if ffmpeg is not None and args.encoder_check and "pipelined_graded" in args.variants:
                check = encoder_on_graded_pictures(ffmpeg, docs, grade, source, preset, folder, args.runs)
                results[preset]["encoder_on_graded_pictures"] = check
                ours = results[preset]["variants"]["pipelined_graded"]["median_s"]
                # ffmpeg's plain transcode with its encoder doing the graded pictures' extra work
                results[preset]["ratio_graded_vs_ffmpeg_same_encoder_work"] = round(
                    results[preset]["ffmpeg_median_s"] * check["factor"] / ours, 3
                )
            print_preset(preset, results[preset])
    payload = {
        **_common.header("export_speed", args.dry_run, dict(machine(), ffmpeg_cli=ffmpeg_version(ffmpeg))),
        "settings": {
            "width": args.width,
            "height": args.height,
            "frames": args.frames,
            "runs": args.runs,
            "variants": list(args.variants),
            "grade": grade,
            "grader": "cpu",
        },  # fmt: skip
        "hardware_encoders": hardware_summary(args.dry_run),
        "goal": "graded export (pipelined) >= 0.95x the ffmpeg CLI's speed (ratio ffmpeg time / ours) for "
        "prores_422_hq and h265_main10 at 1080p; grading overhead < 10 %",
        "notes": "2-core machine: numbers are noisy; 'ffmpeg' only transcodes (no grade), 'ffmpeg_graded' "
        "applies the same grade as a 65^3 lut3d (the encoder then gets the same pictures as ours); 'float' "
        "variants are ours with the fast path off; the ffmpeg CLI may link other FFmpeg/encoder versions "
        "than PyAV (see machine)",
        "results": results,
    }
    return _common.save(payload, args.out, args.dry_run)


def summarise(
    times: dict[str, list[float]], frames: int, cpu: dict[str, list[float]] | None = None
) -> dict[str, Any]:
    """Wall-clock medians and ratios, plus CPU-time medians (what each export cost in CPU seconds: much less
    sensitive than wall time to other work on a shared machine, but blind to parallelism)."""
    cpu = cpu or {}
    ffmpeg_s = _common.median(times["ffmpeg"]) if times.get("ffmpeg") else None
    ffmpeg_cpu = _common.median(cpu["ffmpeg"]) if cpu.get("ffmpeg") else None
    graded_s = _common.median(times["ffmpeg_graded"]) if times.get("ffmpeg_graded") else None
    graded_cpu = _common.median(cpu["ffmpeg_graded"]) if cpu.get("ffmpeg_graded") else None
    variants: dict[str, Any] = {}
    for name, values in times.items():
        if name.startswith("ffmpeg") or not values:
            continue
        median = _common.median(values)
        cpu_median = _common.median(cpu[name]) if cpu.get(name) else None
        variants[name] = {
            "s": [round(v, 3) for v in values],
            "median_s": round(median, 3),
            "fps": round(frames / median, 2),
            "ratio_ffmpeg_time_over_ours": round(ffmpeg_s / median, 3) if ffmpeg_s else None,
            "cpu_s": [round(v, 3) for v in cpu.get(name, [])],
            "cpu_median_s": round(cpu_median, 3) if cpu_median else None,
            "cpu_ratio_ffmpeg_over_ours": round(ffmpeg_cpu / cpu_median, 3)
            if ffmpeg_cpu and cpu_median
            else None,
        }
        if name.endswith("graded") and graded_s:  # against ffmpeg applying the same grade (same pictures)
            variants[name]["ratio_ffmpeg_graded_time_over_ours"] = round(graded_s / median, 3)
            if graded_cpu and cpu_median:
                variants[name]["cpu_ratio_ffmpeg_graded_over_ours"] = round(graded_cpu / cpu_median, 3)

    def ratio(a: str, b: str, key: str = "median_s") -> float | None:
        if a in variants and b in variants and variants[a][key] and variants[b][key]:
            return round(variants[a][key] / variants[b][key], 3)
        return None

    cpu_overhead = ratio("pipelined_graded", "pipelined", "cpu_median_s")
    main = variants.get("pipelined") or next(iter(variants.values()))
    overhead = ratio("pipelined_graded", "pipelined")
    overhead_seq = ratio("sequential_graded", "sequential")
    return {
        "ffmpeg_s": [round(v, 3) for v in times.get("ffmpeg", [])],
        "ffmpeg_median_s": round(ffmpeg_s, 3) if ffmpeg_s else None,
        "ffmpeg_cpu_s": [round(v, 3) for v in cpu.get("ffmpeg", [])],
        "ffmpeg_cpu_median_s": round(ffmpeg_cpu, 3) if ffmpeg_cpu else None,
        "ffmpeg_graded_s": [round(v, 3) for v in times.get("ffmpeg_graded", [])],
        "ffmpeg_graded_median_s": round(graded_s, 3) if graded_s else None,
        "ffmpeg_graded_cpu_median_s": round(graded_cpu, 3) if graded_cpu else None,
        # what the grade costs ffmpeg itself (lut3d, and the encoder's work on the graded pictures)
        "ffmpeg_grading_overhead": round(graded_s / ffmpeg_s - 1.0, 4) if graded_s and ffmpeg_s else None,
        "variants": variants,
        # the headline numbers (the README quotes them)
        "ours_median_s": main["median_s"],
        "ratio_ffmpeg_time_over_ours": main["ratio_ffmpeg_time_over_ours"],
        "ratio_graded_ffmpeg_time_over_ours": variants.get("pipelined_graded", {}).get(
            "ratio_ffmpeg_time_over_ours"
        ),
        "ratio_graded_ffmpeg_graded_time_over_ours": variants.get("pipelined_graded", {}).get(
            "ratio_ffmpeg_graded_time_over_ours"
        ),
        "fast_path_speedup_graded": ratio("float_graded", "pipelined_graded"),
        "fast_path_speedup_ungraded": ratio("float", "pipelined"),
        "grading_overhead_pipelined": round(overhead - 1.0, 4) if overhead else None,
        "grading_overhead_sequential": round(overhead_seq - 1.0, 4) if overhead_seq else None,
        "grading_overhead_cpu_time": round(cpu_overhead - 1.0, 4) if cpu_overhead else None,
        "pipeline_speedup_ungraded": ratio("sequential", "pipelined"),
        "pipeline_speedup_graded": ratio("sequential_graded", "pipelined_graded"),
    }


def print_preset(preset: str, result: dict[str, Any]) -> None:
    ffmpeg_s, ffmpeg_cpu = result["ffmpeg_median_s"], result["ffmpeg_cpu_median_s"]
    print(f"{preset}: ffmpeg CLI {ffmpeg_s if ffmpeg_s else float('nan'):7.2f} s wall, "
          f"{ffmpeg_cpu if ffmpeg_cpu else float('nan'):7.2f} s CPU")  # fmt: skip
    if result.get("ffmpeg_graded_median_s"):
        print(f"{preset}: ffmpeg CLI + the grade as lut3d {result['ffmpeg_graded_median_s']:7.2f} s wall, "
              f"{result['ffmpeg_graded_cpu_median_s'] or float('nan'):7.2f} s CPU")  # fmt: skip
    for name, numbers in result["variants"].items():
        ratio, cpu_ratio = numbers["ratio_ffmpeg_time_over_ours"], numbers["cpu_ratio_ffmpeg_over_ours"]
        shown = f"ratio vs ffmpeg {ratio:.2f} wall" if ratio else "ratio n/a (no ffmpeg)"
        shown += f", {cpu_ratio:.2f} CPU" if cpu_ratio else ""
        if numbers.get("ratio_ffmpeg_graded_time_over_ours"):
            shown += f"; vs ffmpeg+lut3d {numbers['ratio_ffmpeg_graded_time_over_ours']:.2f} wall"
        print(f"  ours {name:18} {numbers['median_s']:7.2f} s ({numbers['fps']:5.1f} fps), "
              f"{numbers['cpu_median_s'] or float('nan'):7.2f} s CPU  {shown}")  # fmt: skip
    extras = [
        ("grading overhead (pipelined)", result["grading_overhead_pipelined"], "%"),
        ("grading overhead (sequential)", result["grading_overhead_sequential"], "%"),
        ("grading overhead (CPU time)", result["grading_overhead_cpu_time"], "%"),
        ("pipelined speed-up, ungraded", result["pipeline_speedup_ungraded"], "x"),
        ("fast path speed-up, ungraded", result["fast_path_speedup_ungraded"], "x"),
        ("fast path speed-up, graded", result["fast_path_speedup_graded"], "x"),
        ("ffmpeg's own grading overhead", result["ffmpeg_grading_overhead"], "%"),
        ("pipelined speed-up, graded", result["pipeline_speedup_graded"], "x"),
    ]
    for label, value, unit in extras:
        if value is not None:
            print(f"  {label:30} " + (f"{value * 100:+.1f} %" if unit == "%" else f"{value:.2f}x"))
    check = result.get("encoder_on_graded_pictures")
    if check:
        print(
            f"  the encoder alone on our graded vs ungraded frames: x{check['factor']:.3f} wall, "
            f"x{check['cpu_factor']:.3f} CPU (ffmpeg CLI, raw input)"
        )
        print(
            f"  ours graded vs ffmpeg's transcode with that encoder work: "
            f"{result['ratio_graded_vs_ffmpeg_same_encoder_work']:.2f}"
        )
    print("  goals: graded ratio >= 0.95, overhead < 10 %")


def hardware_summary(dry_run: bool) -> dict[str, Any] | None:
    if dry_run:
        return None
    from app.export import hardware

    return {
        "summary": hardware.summary(),
        "probed": {
            name: {"available": r.available, "reason": r.reason} for name, r in hardware.probe_all().items()
        },
    }


if __name__ == "__main__":
    main()
