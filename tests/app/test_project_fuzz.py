"""Damaged and hostile project files: a seeded corpus of mutations of a real saved project goes through
load, render planning and every interchange format, and a quarter of them through import as a foreign
.otio. The only way out of load is a ProjectError; once a project loaded, planning a render and exporting
it either work or fail with the app's own errors (a clear message), never with a Python exception."""

from __future__ import annotations

import copy
import json
import math
import random
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import pytest
from media_builders import make_audio, make_video
from opentimelineio.opentime import RationalTime

from app.document import MediaItem, TimelineDocument, TrackKind
from app.errors import AppError, ExportCancelled, ProjectError
from app.export import render_timeline
from app.interchange import export_timeline, import_timeline
from app.media.probe import probe_media
from app.project import load_project, save_project
from app.project.paths import PROJECT_FILE

SEED = 20261207
CASES = 2500
BUDGET_S = 50.0  # the corpus stops early on a slow machine rather than blow the suite's time
FORMATS = (".otio", ".edl", ".xml", ".fcpxml")
IMPORT_EVERY = 4

_NUMBERS = [0, -1, 1, 2, 0.001, -0.5, 1e12, 1e308, -1e308, math.nan, math.inf, -math.inf, 2**63, -(2**63) - 1,
            2**64, 10**30, 23.976, 1e-300, 4.9e-324]
_OTHERS = ["", "x", "24", "-1", "NaN", "../../../../etc/passwd", "/dev/zero", "\u0000", None, True, False, [],
           {}, [[[]]], {"a": {"b": {}}}, {"OTIO_SCHEMA": "RationalTime.1", "rate": 0.0, "value": 5.0},
           {"OTIO_SCHEMA": "Clip.2"}, {"OTIO_SCHEMA": "Nonsense.1"}, "ocio://nope", "x" * 5000]


@pytest.fixture(scope="module")
def saved_project(tmp_path_factory) -> tuple[Path, dict]:
    """A real project: two video tracks, linked sound, a dissolve, a grade, a marker, a generated clip,
    music on A2, colour settings; media made with PyAV."""
    root = tmp_path_factory.mktemp("fuzz-source")
    shot_a = make_video(root / "a.mov", frames=24, codec="mpeg4")
    shot_b = make_video(root / "b.mov", frames=24, codec="mpeg4")
    music = make_audio(root / "music.wav", seconds=1.0)
    doc = TimelineDocument(name="Fuzz", rate=24)
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    for index, path in enumerate((shot_a, shot_b)):
        generation = {"model": "ltx-2", "prompt": "fox", "seed": 7} if index == 0 else None
        kind = "generated" if generation else "imported"
        item = MediaItem(f"m{index}", str(path), path.name, probe_media(path), generation, kind=kind)
        doc.add_bin_item(item)
    doc.add_bin_item(MediaItem("music", str(music), music.name, probe_media(music)))
    first = doc.insert("m0", v1, RationalTime(0, 24), otio_range(4, 12))[0]
    doc.insert("m1", v1, RationalTime(12, 24), otio_range(4, 12))
    doc.add_dissolve(first, RationalTime(4, 24))
    v2 = doc.add_track(TrackKind.VIDEO)
    # V2 starts at 0: the FCPXML adapter cannot write a track that starts with a gap (a clean
    # InterchangeError today, reported separately), and the corpus should reach its writer.
    doc.insert("m1", v2, RationalTime(0, 24), otio_range(0, 6), with_audio=False)
    a2 = doc.add_track(TrackKind.AUDIO)
    music_clip = doc.insert("music", a2, RationalTime(0, 24))[0]
    doc.set_clip_gain(music_clip, -6.0)
    doc.set_clip_grade(first, {"exposure": 0.5, "cdl": {"slope": [1.1, 1.0, 0.9]}})
    doc.set_clip_generation(first, {"model": "ltx-2", "prompt": "fox", "seed": 7})
    doc.add_marker(RationalTime(5, 24), "look", "GREEN")
    folder = root / "Fuzz.aiprod"
    save_project(doc, folder)
    return folder, json.loads((folder / PROJECT_FILE).read_text())


def otio_range(start: int, frames: int):
    from opentimelineio.opentime import TimeRange

    return TimeRange(RationalTime(start, 24), RationalTime(frames, 24))


def _containers(node: Any, path: tuple = ()) -> list[tuple]:
    out = []
    if isinstance(node, dict):
        out.append(path)
        for key, value in node.items():
            out.extend(_containers(value, (*path, key)))
    elif isinstance(node, list):
        out.append(path)
        for index, value in enumerate(node):
            out.extend(_containers(value, (*path, index)))
    return out


def _get(node: Any, path: tuple) -> Any:
    """The container at ``path``; None when an earlier mutation of the same case replaced it."""
    for key in path:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return None
    return node if isinstance(node, (dict, list)) else None


def _mutate(rng: random.Random, original: dict, containers: list[tuple]) -> bytes:
    """One damaged variant of the project file: a structural edit of the JSON, or damage to its bytes."""
    choice = rng.random()
    if choice < 0.08:  # damage the bytes themselves
        data = json.dumps(original).encode()
        kind = rng.randrange(4)
        if kind == 0:
            return data[: rng.randrange(len(data))]
        if kind == 1:
            at = rng.randrange(len(data))
            return data[:at] + bytes([rng.randrange(256)]) + data[at + 1 :]
        if kind == 2:
            return b"\xef\xbb\xbf" + data  # a BOM: must load
        at = rng.randrange(len(data))
        return data[:at] + b"[" * 5000 + data[at:]
    tree = copy.deepcopy(original)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        parent = _get(tree, rng.choice(containers))
        if not parent:
            continue
        key = rng.choice(list(parent)) if isinstance(parent, dict) else rng.randrange(len(parent))
        value = parent[key]
        roll = rng.random()
        if roll < 0.1:
            del parent[key]
        elif roll < 0.15:
            parent[key] = f"__DEEP_{rng.choice((40, 400, 3000))}__"
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and roll < 0.75:
            parent[key] = rng.choice(_NUMBERS + [value * rng.choice((-1, 0.5, 2, 1000, 1e-6))])
        elif roll < 0.85:
            parent[key] = rng.choice(_NUMBERS)
        else:
            parent[key] = copy.deepcopy(rng.choice(_OTHERS))
    text = json.dumps(tree)
    for depth in (40, 400, 3000):  # nesting spliced in as text: json.dumps itself would recurse too deep
        text = text.replace(f'"__DEEP_{depth}__"', "[" * depth + "{}" + "]" * depth)
    return text.encode()


def _through_everything(folder: Path, out: Path, formats: tuple[str, ...] = FORMATS) -> list[str]:
    """Load, plan a render (everything a render does before its first frame) and export; the outcomes."""
    try:
        loaded = load_project(folder)
    except ProjectError:
        return ["refused"]
    doc = loaded.doc
    outcomes = ["loaded"]
    cancel = threading.Event()
    cancel.set()  # stop right after the preflight: the plan, the checks and the tags, not the frames
    try:
        render_timeline(doc, "h264_high", out / "render.mp4", cancel=cancel)
    except ExportCancelled:
        outcomes.append("render planned")
    except AppError as exc:
        outcomes.append(f"render refused: {type(exc).__name__}")
    for suffix in formats:
        try:
            export_timeline(doc, out / f"cut{suffix}")
            outcomes.append(f"{suffix} written")
        except AppError as exc:
            outcomes.append(f"{suffix} refused: {type(exc).__name__}")
    return outcomes


@pytest.mark.slow
def test_a_seeded_corpus_of_damaged_projects_never_raises_anything_but_app_errors(saved_project, tmp_path):
    folder, original = saved_project
    control = _through_everything(folder, tmp_path)  # the undamaged project plans and exports everywhere
    assert control == ["loaded", "render planned", *(f"{suffix} written" for suffix in FORMATS)], control
    target = tmp_path / "Case.aiprod"
    target.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    rng = random.Random(SEED)
    containers = _containers(original)
    outcomes: dict[str, int] = {}
    failures: list[str] = []
    seen: set[str] = set()
    started = time.monotonic()
    for case in range(CASES):
        if time.monotonic() - started > BUDGET_S:
            break
        data = _mutate(rng, original, containers)
        (target / PROJECT_FILE).write_bytes(data)
        try:  # every format is exported from a quarter of the loaded cases, to fit the time
            results = _through_everything(target, out, (FORMATS[case % len(FORMATS)],))
            if case % IMPORT_EVERY == 0:  # the same bytes as a foreign .otio through File > Import Timeline
                (out / "foreign.otio").write_bytes(data)
                try:
                    import_timeline(out / "foreign.otio")
                    results.append("imported")
                except AppError as exc:
                    results.append(f"import refused: {type(exc).__name__}")
        except Exception as exc:  # noqa: BLE001 - the point of the test
            results = ["crash"]
            where = [f"{Path(f.filename).name}:{f.lineno}" for f in traceback.extract_tb(exc.__traceback__)
                     if "/app/" in f.filename][-2:]
            key = f"{type(exc).__name__} at {where}"
            if key not in seen:
                seen.add(key)
                failures.append(f"case {case}: {key}: {str(exc)[:160]}")
        for outcome in results:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    done = outcomes.get("refused", 0) + outcomes.get("loaded", 0) + outcomes.get("crash", 0)
    print(f"{done} cases in {time.monotonic() - started:.1f} s: {outcomes}")
    assert not failures, "\n".join(failures)
    assert done >= 1000, f"only {done} cases ran within {BUDGET_S} s"
    assert outcomes.get("loaded", 0) > done // 10 and outcomes.get("refused", 0) > done // 10, outcomes
