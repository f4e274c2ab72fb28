"""Outputs that would destroy the project are refused before anything is written: a clip's media file, a
LUT a grade reads, ``project.otio`` and everything inside a project folder, through symlinks, ``..`` and
hard links, from ``aiprod-cli render`` / ``export-timeline`` / ``generate`` and the app-level writers."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest
from opentimelineio.opentime import RationalTime

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from media_builders import make_video  # noqa: E402

from app import cli  # noqa: E402
from app.document import TimelineDocument, TrackKind  # noqa: E402
from app.errors import AppError  # noqa: E402
from app.interchange import export_timeline  # noqa: E402
from app.media.importer import import_files  # noqa: E402
from app.project import load_project, save_project  # noqa: E402
from app.project.outputs import OutputRefused, Source, check_output_path  # noqa: E402


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): _digest(p) for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def film(tmp_path) -> tuple[Path, Path, Path]:
    """(project folder, outside media file, LUT file): one imported clip outside the project, graded with
    a LUT, and one clip whose media lives in the project's media/ folder."""
    outside = tmp_path / "footage"
    outside.mkdir()
    lut = tmp_path / "luts" / "look.cube"
    lut.parent.mkdir()
    lut.write_text(
        'TITLE "identity"\nLUT_3D_SIZE 2\n' + "0 0 0\n1 0 0\n0 1 0\n1 1 0\n0 0 1\n1 0 1\n0 1 1\n1 1 1\n"
    )
    folder = tmp_path / "Film.aiprod"
    (folder / "media").mkdir(parents=True)
    inside = make_video(folder / "media" / "a.mp4", frames=12)
    doc = TimelineDocument(name="Film", rate=24)
    ids, errors = import_files(doc, [make_video(outside / "b.mp4", frames=12), inside])
    assert not errors
    video = doc.tracks(TrackKind.VIDEO)[0].id
    doc.insert(ids[0], video, RationalTime(0, 24))
    doc.insert(ids[1], video, RationalTime(12, 24))
    clip = doc.clips(video)[0]
    doc.set_clip_grade(clip.id, {"lut_path": str(lut)})
    save_project(doc, folder)
    return folder, outside / "b.mp4", lut


# ------------------------------------------------------------------------------------- the check
def test_every_source_and_project_file_is_refused(film, tmp_path):
    folder, media, lut = film
    doc = load_project(folder).doc
    refused = [
        media,
        lut,
        folder / "project.otio",
        folder / "media" / "a.mp4",
        folder / "media" / "new.mp4",
        folder / "masks" / "m.png",
        folder / "backups" / "x.otio",
        folder / "render.mov",
        folder,
        media.parent / ".." / "Film.aiprod" / "project.otio",  # ".." is resolved
        media.parent / "sub" / ".." / "b.mp4",
    ]
    for out in refused:
        with pytest.raises(OutputRefused, match="Refusing to write"):
            check_output_path(out, doc, folder)
    check_output_path(tmp_path / "film.mov", doc, folder)  # an ordinary destination is fine
    check_output_path(media.parent / "c.mp4", doc, folder)  # beside the media is fine, only not onto it


def test_symlinks_and_hard_links_to_a_source_are_refused(film, tmp_path):
    folder, media, lut = film
    doc = load_project(folder).doc
    (tmp_path / "link-to-media.mp4").symlink_to(media)
    (tmp_path / "link-to-project").symlink_to(folder)
    os.link(lut, tmp_path / "hard.cube")
    for out in (
        tmp_path / "link-to-media.mp4",
        tmp_path / "link-to-project" / "project.otio",
        tmp_path / "link-to-project" / "elsewhere.mov",
        tmp_path / "hard.cube",
    ):
        with pytest.raises(OutputRefused):
            check_output_path(out, doc)


def test_a_project_folder_is_recognised_without_being_named(film):
    folder, _media, _lut = film
    with pytest.raises(OutputRefused, match="inside the project folder"):
        check_output_path(folder / "media" / "new.mov")  # no document, no folder given


def test_extra_sources_and_folders_holding_one(tmp_path):
    checkpoint = tmp_path / "model"
    checkpoint.mkdir()
    source = Source(checkpoint, "the model checkpoint")
    with pytest.raises(OutputRefused, match="inside the model checkpoint"):
        check_output_path(checkpoint / "x.mov", sources=[source])
    with pytest.raises(OutputRefused, match="a folder holding"):
        check_output_path(tmp_path, sources=[source])


def test_the_app_level_writers_refuse(film):
    from app.export import render_timeline

    folder, media, _lut = film
    doc = load_project(folder).doc
    before = _tree(folder), _digest(media)
    with pytest.raises(OutputRefused):
        render_timeline(doc, "h264_high", folder / "media" / "a.mp4")
    with pytest.raises(OutputRefused):
        render_timeline(doc, "h264_high", media)
    with pytest.raises(OutputRefused):
        export_timeline(doc, folder / "project.otio")
    with pytest.raises(OutputRefused):
        export_timeline(doc, folder / "cut.edl")
    assert (_tree(folder), _digest(media)) == before


# ------------------------------------------------------------------------------------------- CLI
def _refused(capsys, argv: list[str]) -> str:
    code = cli.main(argv)
    err = capsys.readouterr().err.strip()
    assert code == cli.EXIT_BAD_INPUT, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "Refusing to write" in err, err
    return err


def test_cli_render_refuses_the_project_media_and_sources(film, tmp_path, capsys):
    folder, media, lut = film
    before = _tree(folder), _digest(media), _digest(lut)
    for out in (folder / "media" / "a.mp4", media, folder / "project.otio", tmp_path / ".." / tmp_path.name /
                "Film.aiprod" / "media" / "a.mp4"):  # fmt: skip
        _refused(capsys, ["render", str(folder), "--preset", "h264_high", "--out", str(out), "--quiet"])
    assert (_tree(folder), _digest(media), _digest(lut)) == before
    assert load_project(folder).doc.name == "Film"


def test_cli_export_timeline_refuses_the_project_file(film, capsys):
    folder, media, _lut = film
    before = _tree(folder)
    err = _refused(capsys, ["export-timeline", str(folder), "--out", str(folder / "project.otio")])
    assert "project.otio" in err
    _refused(capsys, ["export-timeline", str(folder / "project.otio"), "--out", str(folder / "cut.edl")])
    _refused(capsys, ["export-timeline", str(folder), "--out", str(media.with_suffix(".mp4"))])
    assert _tree(folder) == before
    load_project(folder)  # still opens


def test_cli_generate_refuses_a_project_folder_and_its_inputs(film, tmp_path, capsys, monkeypatch):
    from engine.engine import Engine

    loads: list[str] = []
    monkeypatch.setattr(Engine, "tiny", classmethod(lambda cls, *a, **k: loads.append("tiny")))
    folder, media, _lut = film
    base = ["generate", "--prompt", "p", "--model", "tiny", "--width", "64", "--height", "64",
            "--frames", "9", "--steps", "2", "--quiet"]  # fmt: skip
    _refused(capsys, [*base, "--out", str(folder / "media" / "new.mov")])
    _refused(capsys, [*base, "--out", str(media), "--image", str(media)])
    assert loads == []  # refused before any model is loaded


def test_refusal_is_an_app_error():
    assert issubclass(OutputRefused, AppError)


def test_a_stray_project_otio_elsewhere_does_not_block_outputs(tmp_path):
    (tmp_path / "project.otio").write_text("{}")  # another tool's export in an ordinary folder
    check_output_path(tmp_path / "film.mov")
    check_output_path(tmp_path / "renders" / "film.mov")


def test_one_atomic_writer_for_the_whole_app():
    """Every file the app puts in place goes through app/project/atomic.py (no second implementation)."""
    root = Path(__file__).resolve().parents[2] / "app"
    offenders = []
    for source in root.rglob("*.py"):
        if source.name == "atomic.py" and source.parent.name == "project":
            continue
        text = source.read_text(encoding="utf-8")
        for pattern in ("os.replace(", "os.rename(", "mkstemp(", "O_EXCL", "token_hex("):
            if pattern in text:
                offenders.append(f"{source.relative_to(root)}: {pattern}")
    assert offenders == []
