"""Odd names: undecodable (non-UTF-8) file names are refused one by one and never poison the document;
name parts over 255 bytes are clear errors; valid names of 237-255 bytes work everywhere (temporary names
are never longer than the final one); saving through a symlinked project.otio updates its target."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from opentimelineio.opentime import RationalTime

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from media_builders import make_video  # noqa: E402

from app.document import MediaItem, TimelineDocument, TrackKind  # noqa: E402
from app.errors import EditError, ExportError, InterchangeError, ProjectError  # noqa: E402
from app.export import render_timeline, write_clip  # noqa: E402
from app.interchange import export_timeline  # noqa: E402
from app.media.importer import import_files  # noqa: E402
from app.project import atomic, load_project, save_project  # noqa: E402

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="byte file names and NAME_MAX as on Linux")


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("odd") / "a.mp4", frames=6)


def _doc(clip: Path) -> TimelineDocument:
    doc = TimelineDocument(name="Film", rate=24)
    ids, errors = import_files(doc, [clip])
    assert not errors
    doc.insert(ids[0], doc.tracks(TrackKind.VIDEO)[0].id, RationalTime(0, 24))
    return doc


# ---------------------------------------------------------------------------------- non-UTF-8 names
def test_an_undecodable_name_is_refused_and_later_imports_keep_working(clip, tmp_path):
    raw = os.fsencode(tmp_path) + b"/take\xff\xfe.mp4"
    shutil.copyfile(clip, raw)
    doc = TimelineDocument(name="Film", rate=24)
    for given in (os.fsdecode(raw), raw):  # surrogate-escaped text, and bytes
        ids, errors = import_files(doc, [given])
        assert ids == [] and len(errors) == 1
        assert "not valid UTF-8" in str(errors[0]) and "Rename" in str(errors[0])
    assert doc.bin_items() == []
    ids, errors = import_files(doc, [clip])  # the document is not poisoned
    assert errors == [] and len(ids) == 1
    save_project(doc, tmp_path / "Film.aiprod")
    assert [i.name for i in load_project(tmp_path / "Film.aiprod").doc.bin_items()] == ["a.mp4"]


def test_the_document_refuses_an_unstorable_bin_entry_without_changing(clip):
    doc = _doc(clip)
    before = [i.id for i in doc.bin_items()]
    bad = MediaItem(id="x", path=os.fsdecode(b"/m/\xff.mp4"), name=os.fsdecode(b"\xff.mp4"), info=None)
    with pytest.raises(EditError, match="not valid UTF-8"):
        doc.add_bin_item(bad)
    assert [i.id for i in doc.bin_items()] == before
    import_files(doc, [clip])  # still works


def test_non_ascii_utf8_names_are_fine(clip, tmp_path):
    named = tmp_path / "prise été 日本.mp4"
    shutil.copyfile(clip, named)
    doc = TimelineDocument(name="Film", rate=24)
    ids, errors = import_files(doc, [named])
    assert errors == [] and doc.bin_item(ids[0]).name == named.name


# ------------------------------------------------------------------------------------ long names
def test_name_parts_over_255_bytes_are_clear_errors(clip, tmp_path):
    doc = _doc(clip)
    long = "é" * 130  # 260 bytes
    with pytest.raises(ProjectError, match="at most 255"):
        save_project(doc, tmp_path / long)
    with pytest.raises(ProjectError, match="at most 255"):
        save_project(doc, tmp_path / long / "Film.aiprod")
    with pytest.raises(ProjectError, match="at most 255"):
        load_project(tmp_path / f"{long}.aiprod")
    with pytest.raises(ProjectError, match="at most 255"):
        save_project(doc, tmp_path / ("b" * 250))  # 250 + ".aiprod" is too long
    with pytest.raises(ExportError, match="255"):
        render_timeline(doc, "h264_high", tmp_path / f"{long}.mp4")
    with pytest.raises(ExportError, match="255"):
        render_timeline(doc, "png_sequence", tmp_path / long)
    with pytest.raises(InterchangeError, match="255"):
        export_timeline(doc, tmp_path / f"{long}.otio")
    assert list(p for p in tmp_path.iterdir() if p.name != "a.mp4") == []


@pytest.mark.parametrize("length", [237, 246, 255])
def test_valid_long_names_work_everywhere(clip, tmp_path, length):
    doc = _doc(clip)
    stem = lambda ext: "n" * (length - len(ext))  # noqa: E731
    folder = tmp_path / (stem(".aiprod") + ".aiprod")
    save_project(doc, folder)
    save_project(doc, folder)  # a second save: a backup, a replace
    assert load_project(folder).doc.name == "Film"
    out = tmp_path / (stem(".mp4") + ".mp4")
    render_timeline(doc, "h264_high", out)
    assert out.is_file()
    written = export_timeline(doc, tmp_path / (stem(".otio") + ".otio"))
    assert written[0].is_file()
    # A sequence's files are named after its folder ('<name>.provenance.json'): its name has 16 bytes less.
    frames = tmp_path / stem("")
    if length > 255 - len(".provenance.json"):
        with pytest.raises(ExportError, match="255"):
            render_timeline(doc, "png_sequence", frames, out_frame=2)
        frames = tmp_path / ("s" * (255 - len(".provenance.json")))
    render_timeline(doc, "png_sequence", frames, out_frame=2)
    assert frames.is_dir()
    assert [p.name for p in tmp_path.iterdir() if ".partial-" in p.name] == []


@pytest.mark.parametrize(
    "name", ["a.mov", "x" * 60 + ".mov", "é" * 100 + ".mp4", "n" * 251 + ".mkv", "z" * 255]
)
def test_temporary_names_are_never_longer_than_the_final_one(name):
    tmp = atomic.temp_name(Path("/f") / name)
    assert atomic.is_temporary(tmp)
    assert len(os.fsencode(tmp)) <= max(len(os.fsencode(name)), atomic.SHORT_NAME_ROOM)
    if len(os.fsencode(name)) >= atomic.SHORT_NAME_ROOM:
        assert len(os.fsencode(tmp)) <= len(os.fsencode(name))
    tmp.encode("utf-8")  # cut at a character, never inside one


# ------------------------------------------------------------------------------------------ symlinks
def test_saving_through_a_symlinked_project_file_updates_its_target(clip, tmp_path):
    doc = _doc(clip)
    folder = tmp_path / "Film.aiprod"
    save_project(doc, folder)
    shared = tmp_path / "shared"
    shared.mkdir()
    real = shared / "film.otio"
    (folder / "project.otio").rename(real)
    (folder / "project.otio").symlink_to(real)
    doc.add_marker(RationalTime(3, 24), "through the link")
    save_project(doc, folder)
    assert (folder / "project.otio").is_symlink()
    assert [m.name for m in load_project(folder).doc.markers()] == ["through the link"]
    assert "through the link" in real.read_text()
    assert [p.name for p in shared.iterdir()] == ["film.otio"]


def test_writing_a_render_through_a_symlink_replaces_the_target(clip, tmp_path):
    doc = _doc(clip)
    real = tmp_path / "real.mp4"
    real.write_bytes(b"old")
    link = tmp_path / "link.mp4"
    link.symlink_to(real)
    render_timeline(doc, "h264_high", link)
    assert link.is_symlink() and real.stat().st_size > 100


def test_write_clip_to_a_long_name(tmp_path):
    import numpy as np

    out = tmp_path / ("w" * 251 + ".mov")
    write_clip(out, np.zeros((2, 32, 32, 3), np.float32), 24)
    assert out.is_file()
