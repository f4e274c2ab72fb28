"""`aiprod-cli new-project` and `aiprod-cli add`: assemble a project without a display (the parsers and
runners; `app.cli` registers them). Exit codes as in `app.cli`: 0 done, 2 bad input."""

from __future__ import annotations

import argparse
import sys


def add_parsers(commands: argparse._SubParsersAction) -> None:
    new = commands.add_parser(
        "new-project",
        help="create an empty project with sequence settings",
        description="Create Name.aiprod with an empty timeline at the given frame size, rate and audio rate.",
    )
    new.add_argument("folder", help="the project folder to create (Name.aiprod)")
    new.add_argument(
        "--size", default="1920x1080", help="WIDTHxHEIGHT or a preset: UHD, 1080p, 720p, 9:16 vertical"
    )
    new.add_argument("--fps", default="24", help="frame rate: 23.976, 24, 25, 29.97, 30, 50, 60 (or N/D)")
    new.add_argument("--audio-rate", type=int, default=48000, help="audio sample rate: 44100, 48000 or 96000")
    new.add_argument("--name", help="the sequence name (default: the folder's)")

    add = commands.add_parser(
        "add",
        help="append media, stills and sound to a project's timeline",
        description="Append files after the last clip of a track, as the studio's bin drop places them: "
        "pictures on V1 with their sound on A1, sound-only files on A1, stills five seconds long.",
    )
    add.add_argument("folder", help="a Name.aiprod project folder")
    add.add_argument("files", nargs="+", help="video, audio or still image files")
    add.add_argument("--track", help="the track to append to, e.g. V2 or A2 (default V1 / A1)")


def run_new_project(args: argparse.Namespace) -> int:
    from app.document.sequence import SequenceSettings, parse_rate, parse_size
    from app.project.building import new_project

    width, height = parse_size(args.size)
    settings = SequenceSettings(width, height, parse_rate(str(args.fps)), args.audio_rate)
    folder = new_project(args.folder, settings, args.name)
    print(f"{folder}: {settings.describe()}")
    return 0


def run_add(args: argparse.Namespace) -> int:
    from app.project.building import add_files

    report = add_files(args.folder, args.files, args.track)
    for problem in report.problems:
        print(f"aiprod-cli: skipped: {' '.join(problem.split())}", file=sys.stderr)
    print(f"added {len(report.clips)} clip(s); the timeline now ends at frame {report.end_frame}")
    return 0
