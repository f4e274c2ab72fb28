"""A render checks every media file it will use before the first frame: a file that cannot be decoded (cut
short, not media at all) is a clear error naming the clip and the file (CLI exit 2), never black frames.
Paths that are not regular files (pipes, devices, /proc) are flagged missing when a project loads and are
never opened (a pipe would block a render forever)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from media_builders import make_audio, make_video
from opentimelineio.opentime import RationalTime, TimeRange

from app import cli
from app.document import TimelineDocument, TrackKind
from app.errors import ExportError, MediaError
from app.export import render_timeline
from app.media.importer import import_files
from app.media.probe import probe_media
from app.project import load_project, missing_media, save_project
from app.project.paths import PROJECT_FILE
from app.project.relink import prepare_relinks

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIPROD_DATA_DIR", str(tmp_path / "data"))


def _project(
    tmp_path: Path, suffix: str = ".mkv", codec: str = "mpeg4"
) -> tuple[Path, Path, TimelineDocument]:
    """A saved project: 'intro' (12 frames) then 'shot' (under test, 48 frames) on V1, sound on A1."""
    media = tmp_path / "footage"
    media.mkdir(exist_ok=True)
    shot = make_video(media / f"shot{suffix}", frames=48, codec=codec)
    doc = TimelineDocument(name="Film", rate=24)
    ids, errors = import_files(doc, [make_video(media / "intro.mp4", frames=12), shot])
    assert not errors
    video = doc.tracks(TrackKind.VIDEO)[0].id
    doc.insert(ids[0], video, RationalTime(0, 24))
    doc.insert(ids[1], video, RationalTime(12, 24))
    folder = tmp_path / "Film.aiprod"
    save_project(doc, folder)
    return folder, shot, doc


def _cut_short(path: Path, keep: float = 0.45) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _render(folder: Path, out: Path, capsys) -> tuple[int, str]:
    code = cli.main(["render", str(folder), "--preset", "h264_high", "--out", str(out), "--quiet"])
    return code, capsys.readouterr().err


def _repoint(folder: Path, media_name: str, new_path: str) -> None:
    """Edit project.otio so the bin entry and clips of ``media_name`` point at ``new_path`` (absolute)."""
    project = folder / PROJECT_FILE
    data = json.loads(project.read_text())
    for entry in data["metadata"]["aiprod"]["bin"]:
        if entry["name"] == media_name:
            old = entry["path"]
            entry["path"] = new_path
    text = json.dumps(data).replace(json.dumps(old), json.dumps(new_path))
    project.write_text(text)


@pytest.mark.parametrize(("suffix", "codec"), [(".mkv", "mpeg4"), (".mp4", "libx264"), (".mov", "prores_ks")])
def test_a_truncated_clip_stops_the_render_before_the_first_frame(tmp_path, capsys, suffix, codec):
    folder, shot, _doc = _project(tmp_path, suffix, codec)
    _cut_short(shot)
    out = tmp_path / "film.mp4"
    code, err = _render(folder, out, capsys)
    assert code == cli.EXIT_BAD_INPUT, err
    assert "'shot" in err and str(shot) in err, err  # the clip and the file
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists() and not list(tmp_path.glob(".film*"))


def test_render_timeline_names_the_clip_and_file_of_undecodable_media(tmp_path):
    _folder, shot, doc = _project(tmp_path)
    _cut_short(shot, 0.3)
    with pytest.raises(ExportError) as info:
        render_timeline(doc, "h264_high", tmp_path / "film.mp4")
    message = str(info.value)
    assert "shot.mkv" in message and str(shot) in message and "cannot be decoded" in message, message


def test_a_clip_whose_file_lost_frames_it_uses_is_refused(tmp_path):
    """A file replaced by a shorter one (same name): the frames the clip uses are no longer there."""
    _folder, shot, doc = _project(tmp_path)
    make_video(shot, frames=20, codec="mpeg4")  # the clip uses frames 0..47
    with pytest.raises(ExportError, match="shot.mkv"):
        render_timeline(doc, "h264_high", tmp_path / "film.mp4")


def test_a_range_that_avoids_the_damaged_clip_still_renders(tmp_path, capsys):
    folder, shot, _doc = _project(tmp_path)
    _cut_short(shot)
    out = tmp_path / "intro.mp4"
    code = cli.main(["render", str(folder), "--preset", "h264_high", "--out", str(out), "--out-point", "12",
                     "--quiet"])
    assert code == cli.EXIT_OK, capsys.readouterr().err
    assert out.is_file()


@pytest.mark.parametrize("damage", ["garbage", "cut short"])
def test_damaged_sound_stops_the_render_too(tmp_path, capsys, damage):
    folder, _shot, doc = _project(tmp_path)
    music = make_audio(tmp_path / "footage" / "music.wav", seconds=2.0)
    ids, errors = import_files(doc, [music])
    assert not errors
    doc.insert(ids[0], doc.add_track(TrackKind.AUDIO), RationalTime(0, 24),
               TimeRange(RationalTime(0, 24), RationalTime(40, 24)))
    save_project(doc, folder)
    if damage == "garbage":
        music.write_bytes(b"RIFF" + os.urandom(200))
    else:  # the header still says 2 s; the clip uses 40 frames = 1.67 s of the 1 s left
        _cut_short(music, 0.5)
    code, err = _render(folder, tmp_path / "film.mp4", capsys)
    assert code == cli.EXIT_BAD_INPUT and "music.wav" in err, err


def test_a_text_file_is_not_media(tmp_path, capsys):
    folder, _shot, _doc = _project(tmp_path)
    _repoint(folder, "shot.mkv", "/etc/passwd")
    code, err = _render(folder, tmp_path / "film.mp4", capsys)
    assert code == cli.EXIT_BAD_INPUT and "/etc/passwd" in err, err
    with pytest.raises(MediaError, match="video or audio file"):
        probe_media("/etc/passwd")
    notes = tmp_path / "notes.txt"  # FFmpeg's tty demuxer would draw this as "video"
    notes.write_text("a text file, not footage\n" * 50)
    with pytest.raises(MediaError, match="not a video or audio file"):
        probe_media(notes)
    _ids, errors = import_files(TimelineDocument(), ["/etc/passwd", notes])
    assert len(errors) == 2


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_pipe_is_flagged_missing_and_never_opened(tmp_path):
    folder, _shot, _doc = _project(tmp_path)
    pipe = tmp_path / "pipe.mkv"
    os.mkfifo(pipe)
    _repoint(folder, "shot.mkv", str(pipe))
    loaded = load_project(folder)
    assert [loaded.doc.bin_item(m).name for m in loaded.missing] == ["shot.mkv"]
    assert missing_media(loaded.doc) == loaded.missing
    # in a subprocess: opening a pipe with no writer would block the render forever
    run = subprocess.run([sys.executable, "-m", "app.cli", "render", str(folder), "--preset", "h264_high",
                          "--out", str(tmp_path / "film.mp4"), "--quiet"],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == cli.EXIT_BAD_INPUT, run.stderr
    assert "missing" in run.stderr and "pipe.mkv" in run.stderr
    with pytest.raises(MediaError, match="not a regular file"):
        probe_media(pipe)


@pytest.mark.parametrize("system_path", ["/proc/self/mem", "/dev/zero", "/dev/null"])
def test_system_files_are_flagged_missing_and_refused(tmp_path, capsys, system_path):
    if not os.path.exists(system_path):
        pytest.skip(f"{system_path} does not exist here")
    folder, _shot, _doc = _project(tmp_path)
    _repoint(folder, "shot.mkv", system_path)
    loaded = load_project(folder)
    assert [loaded.doc.bin_item(m).name for m in loaded.missing] == ["shot.mkv"]
    code, err = _render(folder, tmp_path / "film.mp4", capsys)
    assert code == cli.EXIT_BAD_INPUT and "missing" in err, err
    with pytest.raises(MediaError):
        probe_media(system_path)


def test_relinking_to_something_that_is_not_media_is_refused(tmp_path):
    _folder, _shot, doc = _project(tmp_path)
    media_id = next(item.id for item in doc.bin_items() if item.name == "shot.mkv")
    targets = ["/etc/passwd", "/proc/self/mem"]
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.mkv")
        targets.append(str(tmp_path / "pipe.mkv"))
    for target in targets:
        prepared = prepare_relinks(doc, {media_id: target})
        assert media_id in prepared.failed and not prepared.ready, target


def test_the_studio_export_reports_the_damaged_clip_and_writes_nothing(tmp_path, qtbot):
    from app.export.runner import ExportRunner

    _folder, shot, doc = _project(tmp_path)
    _cut_short(shot)
    runner = ExportRunner()
    try:
        with qtbot.waitSignal(runner.failed, timeout=60_000) as failed:
            runner.start(doc, "h264_high", tmp_path / "film.mp4")
        assert "shot.mkv" in failed.args[0] and str(shot) in failed.args[0], failed.args[0]
        assert not (tmp_path / "film.mp4").exists()
    finally:
        assert runner.shutdown(10_000)
