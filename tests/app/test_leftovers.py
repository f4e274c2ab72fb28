"""Leftovers: SIGTERM unwinds the CLI like Ctrl-C (partial output removed, exit 143), and temporaries of
our own naming that a killed process left behind are removed at the next save, render or start, only
when they are old enough that no live writer can own them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from opentimelineio.opentime import RationalTime

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from media_builders import make_video  # noqa: E402

from app.document import TimelineDocument, TrackKind  # noqa: E402
from app.export import render_timeline  # noqa: E402
from app.media.importer import import_files  # noqa: E402
from app.project import atomic, find_recoverable, save_project  # noqa: E402
from app.project.paths import recovery_dir  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
HOUR = 3600


def _doc(media: Path, frames: int = 12) -> TimelineDocument:
    doc = TimelineDocument(name="Film", rate=24)
    ids, errors = import_files(doc, [make_video(media, frames=frames)])
    assert not errors
    doc.insert(ids[0], doc.tracks(TrackKind.VIDEO)[0].id, RationalTime(0, 24))
    return doc


def _age(path: Path, seconds: float) -> Path:
    past = time.time() - seconds
    os.utime(path, (past, past))
    return path


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if atomic.is_temporary(p.name))


# ------------------------------------------------------------------------------------------ SIGTERM
@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM semantics are POSIX")
def test_sigterm_during_a_render_removes_the_partial_file_and_exits_143(tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    project = tmp_path / "Film.aiprod"
    save_project(_doc(media / "a.mp4", frames=96), project)
    out = tmp_path / "out"
    out.mkdir()
    code = "import app, sys; from app.cli import main; sys.exit(main(sys.argv[1:]))"
    argv = ["render", str(project), "--preset", "prores_422_hq", "--size", "1920x1080", "--quiet",
            "--out", str(out / "film.mov")]  # fmt: skip
    render = subprocess.Popen(
        [sys.executable, "-c", code, *argv], cwd=REPO, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while not any(".partial-" in p.name for p in out.iterdir()):  # the render has begun writing
            assert render.poll() is None, render.stderr.read()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(0.3)
        render.send_signal(signal.SIGTERM)
        err = render.communicate(timeout=60)[1]
    finally:
        if render.poll() is None:
            render.kill()
            render.wait()
    assert render.returncode == 143, err
    assert "terminated" in err and "Traceback" not in err, err
    assert list(out.iterdir()) == []


def test_sigterm_handler_is_restored_after_main(tmp_path):
    from app import cli

    before = signal.getsignal(signal.SIGTERM)
    cli.main(["presets"])
    assert signal.getsignal(signal.SIGTERM) is before


# ---------------------------------------------------------------------------------- stale leftovers
def test_a_save_removes_stale_temporaries_of_our_naming_only(tmp_path):
    folder = tmp_path / "Film.aiprod"
    doc = _doc(tmp_path / "a.mp4")
    save_project(doc, folder)
    stale = [
        folder / ".project.otio.k2j4h5_x.tmp",  # an earlier version's mkstemp name
        folder / ".project.partial-0123abcd.otio",
        folder / "media" / ".shot.partial-89abcdef.mkv",
        folder / "backups" / ".project-1.partial-00000000.otio",
    ]
    fresh = folder / ".project.partial-fedcba98.otio"  # a live writer's (another process saving now)
    kept = [folder / "notes.tmp", folder / ".hidden", folder / "media" / "shot.partial-12345678.mkv"]
    for path in stale + [fresh] + kept:
        path.write_bytes(b"x")
    for path in stale:
        _age(path, 2 * HOUR)
    for path in kept:
        _age(path, 2 * HOUR)
    save_project(doc, folder)
    assert not any(p.exists() for p in stale)
    assert fresh.exists() and all(p.exists() for p in kept)


def test_a_render_removes_stale_partial_files_in_its_folder(tmp_path):
    doc = _doc(tmp_path / "a.mp4")
    out = tmp_path / "out"
    out.mkdir()
    stale_file = out / ".film.partial-0badc0de.mov"
    stale_file.write_bytes(b"half a film")
    stale_folder = out / ".frames.partial-0badf00d"
    stale_folder.mkdir()
    (stale_folder / "f.0000000.png").write_bytes(b"x")
    _age(stale_file, 2 * HOUR)
    _age(stale_folder, 2 * HOUR)
    render_timeline(doc, "h264_high", out / "cut.mp4")
    assert sorted(p.name for p in out.iterdir()) == ["cut.mp4"]


def test_the_next_start_removes_a_killed_autosaves_temporary(tmp_path, monkeypatch):
    monkeypatch.setenv("AIPROD_DATA_DIR", str(tmp_path / "data"))
    folder = recovery_dir()
    folder.mkdir(parents=True)
    stale = folder / ".0123.otio.abcd_123.tmp"
    stale.write_bytes(b"{")
    _age(stale, 2 * HOUR)
    fresh = folder / ".4567.partial-00112233.otio"
    fresh.write_bytes(b"{")
    assert find_recoverable() == []  # what the studio calls at launch
    assert not stale.exists() and fresh.exists()


@pytest.mark.parametrize(
    "name",
    [".a.partial-0123abcd.mov", ".a b.partial-0123abcd", ".x.latents.partial-0123abcd.safetensors",
     ".project.otio.ab_12xyz.tmp", ".clip.mov.copying"],
)  # fmt: skip
def test_our_temporary_names_are_recognised(name):
    assert atomic.is_temporary(name)


@pytest.mark.parametrize(
    "name", ["a.partial-0123abcd.mov", ".a.partial-xyz.mov", "film.tmp", ".bashrc", ".x.tmp"]
)
def test_other_names_are_never_touched(name):
    assert not atomic.is_temporary(name)
