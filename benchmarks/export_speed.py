"""Export throughput: `render_timeline` against the ffmpeg command line with the same codec settings.

One source clip (1080p H.264, a moving gradient with noise) on a timeline; for each preset the script
exports it with our renderer (decode, composite, explicit BT.709 RGB->YUV, encode through PyAV) and with
`ffmpeg -i source -c:v <same encoder and options>`, alternating A/B then B/A per run on the same machine,
and prints the median times and the ratio (ffmpeg time / ours: 1.0 = parity, above 1 = we are faster).
Goal: >= 0.9 for ProRes 422 HQ and H.265 Main10 at 1080p. ffmpeg is looked up on PATH; without it the
script reports our times only.

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
}  # fmt: skip
TAGS = ["-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709", "-color_range", "tv"]
DEFAULT_PRESETS = ("prores_422_hq", "h265_main10")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--runs", type=int, default=3, help="A/B pairs per preset (default 3)")
    parser.add_argument("--presets", nargs="+", default=list(DEFAULT_PRESETS), choices=sorted(FFMPEG_ARGS))
    parser.add_argument(
        "--dry-run", action="store_true", help="tiny clip, one run, no ffmpeg: checks the script"
    )
    parser.add_argument(
        "--out", default=None, help="result folder or .json file (default benchmarks/results/)"
    )
    args = parser.parse_args(argv)
    if args.dry_run:
        args.width, args.height, args.frames, args.runs = 64, 48, 6, 1
    return args


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


def time_ours(doc, preset: str, out: Path) -> float:
    from app.export import presets, render_timeline

    target = out.with_suffix(presets.get(preset).extension)
    started = time.perf_counter()
    render_timeline(doc, preset, target)
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


def time_ffmpeg(ffmpeg: str, source: Path, preset: str, out: Path) -> float:
    command = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(source), "-an",
               *FFMPEG_ARGS[preset], *TAGS, str(out)]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True)
    elapsed = time.perf_counter() - started
    out.unlink()
    return elapsed


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

    args = parse_args(argv)
    ffmpeg = None if args.dry_run else shutil.which("ffmpeg")
    if ffmpeg is None and not args.dry_run:
        print("export_speed: no ffmpeg on PATH: reporting our times only", file=sys.stderr)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="aiprod-export-speed-") as tmp:
        folder = Path(tmp)
        source = make_source(folder / "source.mp4", args.width, args.height, args.frames)
        doc = timeline_for(source)
        for preset in args.presets:
            ours, theirs = [], []
            for run in range(args.runs):
                order = ("ours", "ffmpeg") if run % 2 == 0 else ("ffmpeg", "ours")
                for who in order:
                    if who == "ours":
                        ours.append(time_ours(doc, preset, folder / "ours"))
                    elif ffmpeg is not None:
                        ext = ".mov" if FFMPEG_ARGS[preset][-1] == "mov" else ".mp4"
                        theirs.append(time_ffmpeg(ffmpeg, source, preset, folder / f"ffmpeg{ext}"))
            ours_s = _common.median(ours)
            theirs_s = _common.median(theirs) if theirs else None
            ratio = theirs_s / ours_s if theirs_s else None
            results[preset] = {
                "ours_s": [round(v, 3) for v in ours], "ffmpeg_s": [round(v, 3) for v in theirs],
                "ours_median_s": round(ours_s, 3),
                "ffmpeg_median_s": round(theirs_s, 3) if theirs_s else None,
                "ours_fps": round(args.frames / ours_s, 2),
                "ratio_ffmpeg_time_over_ours": round(ratio, 3) if ratio else None,
            }  # fmt: skip
            shown = f"ratio {ratio:.2f}" if ratio else "ratio n/a (no ffmpeg)"
            print(f"{preset:16} ours {ours_s:7.2f} s ({args.frames / ours_s:5.1f} fps)  "
                  f"ffmpeg {theirs_s or float('nan'):7.2f} s  {shown}  (goal >= 0.9)")  # fmt: skip
    payload = {
        "benchmark": "export_speed",
        "date": _common.now_utc(),
        "dry_run": args.dry_run,
        "machine": dict(machine(), ffmpeg_cli=ffmpeg_version(ffmpeg)),
        "load_average": _common.load_average(),
        "settings": {"width": args.width, "height": args.height, "frames": args.frames, "runs": args.runs},
        "goal": "ratio (ffmpeg time / ours) >= 0.9 for prores_422_hq and h265_main10 at 1080p",
        "results": results,
    }
    path = _common.write_json(payload, args.out, "export_speed", "dry-run" if args.dry_run else "")
    print(f"export_speed: wrote {path}")
    return payload


if __name__ == "__main__":
    main()
