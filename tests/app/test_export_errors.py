"""render_timeline failures: each gives a clear ExportError (or ExportCancelled), leaves nothing behind."""

from __future__ import annotations

import os
import shutil
import sys
import threading
from collections import namedtuple
from pathlib import Path

import pytest
from opentimelineio.opentime import RationalTime

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from media_builders import make_video  # noqa: E402

import app.export.presets as preset_module  # noqa: E402
from app.document import TimelineDocument, TrackKind  # noqa: E402
from app.errors import ExportCancelled, ExportError  # noqa: E402
from app.export import presets, render_timeline  # noqa: E402
from app.media.importer import import_files  # noqa: E402

RATE = 24


@pytest.fixture
def doc(tmp_path) -> TimelineDocument:
    (tmp_path / "media").mkdir()
    clip = make_video(tmp_path / "media" / "a.mp4", frames=24)
    document = TimelineDocument(name="Cut", rate=RATE)
    ids, errors = import_files(document, [clip])
    assert not errors
    document.insert(ids[0], document.tracks(TrackKind.VIDEO)[0].id, RationalTime(0, RATE))
    return document


@pytest.fixture
def out_dir(tmp_path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize(("preset", "name"), [("prores_422_hq", "c.mov"), ("h265_main10", "c.mp4"),
                                              ("png_sequence", "c")])  # fmt: skip
def test_cancel_mid_render_leaves_nothing(doc, out_dir, preset, name):
    cancel = threading.Event()
    done: list[int] = []

    def progress(count: int, total: int, eta: float) -> None:
        done.append(count)
        if count == 5:
            cancel.set()

    with pytest.raises(ExportCancelled, match="cancelled"):
        render_timeline(doc, preset, out_dir / name, on_progress=progress, cancel=cancel)
    assert listing(out_dir) == []
    assert max(done) < 24


@pytest.mark.parametrize(("preset", "name"), [("prores_422_hq", "c.mov"), ("exr_sequence", "c")])
def test_cancel_before_the_first_frame(doc, out_dir, preset, name):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ExportCancelled):
        render_timeline(doc, preset, out_dir / name, cancel=cancel)
    assert listing(out_dir) == []


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize(("preset", "dest"), [("prores_422_hq", "/proc/x.mov"), ("dpx_sequence", "/proc/x")])
def test_unwritable_folder(doc, preset, dest):
    with pytest.raises(ExportError, match="Cannot write to the folder '/proc'"):
        render_timeline(doc, preset, dest)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_read_only_folder(doc, out_dir):
    out_dir.chmod(0o500)
    try:
        with pytest.raises(ExportError, match="Cannot write to the folder"):
            render_timeline(doc, "prores_422_hq", out_dir / "c.mov")
    finally:
        out_dir.chmod(0o700)


def test_missing_folder(doc, tmp_path):
    with pytest.raises(ExportError, match="does not exist"):
        render_timeline(doc, "prores_422_hq", tmp_path / "nope" / "c.mov")
    with pytest.raises(ExportError, match="does not exist"):
        render_timeline(doc, "exr_sequence", tmp_path / "nope" / "c")


@pytest.mark.parametrize(("preset", "name", "codec"), [("h265_main10", "c.mp4", "libx265"),
                                                       ("exr_sequence", "c", "exr")])  # fmt: skip
def test_missing_encoder(doc, out_dir, monkeypatch, preset, name, codec):
    monkeypatch.setattr(preset_module, "encoder_available", lambda n: n != codec)
    with pytest.raises(ExportError, match=rf"no '{codec}' encoder.*choose another preset"):
        render_timeline(doc, preset, out_dir / name)
    assert listing(out_dir) == []


@pytest.mark.parametrize(("preset", "name"), [("prores_422_hq", "c.mov"), ("png_sequence", "c")])
def test_full_disk_is_refused_before_rendering(doc, out_dir, monkeypatch, preset, name):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**9, 10**9 - 1000, 1000))
    with pytest.raises(ExportError, match=r"Not enough free disk space.*needs about"):
        render_timeline(doc, preset, out_dir / name)
    assert listing(out_dir) == []


def test_disk_filling_up_during_a_sequence_is_reported_and_cleaned_up(doc, out_dir, monkeypatch):
    import errno

    import app.export.sequences as sequences

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sequences, "_write_wav", full)
    with pytest.raises(ExportError, match="ran out of space"):
        render_timeline(doc, "png_sequence", out_dir / "c")
    assert listing(out_dir) == []


def test_wrong_extension_and_sequence_names(doc, out_dir):
    with pytest.raises(ExportError, match=r"writes \.mov files; name the destination 'c\.mov'"):
        render_timeline(doc, "prores_422_hq", out_dir / "c.mp4")
    with pytest.raises(ExportError, match="written into a folder"):
        render_timeline(doc, "png_sequence", out_dir / "c.png")
    (out_dir / "full").mkdir()
    (out_dir / "full" / "keep.txt").write_text("mine")
    with pytest.raises(ExportError, match="already exists and is not empty"):
        render_timeline(doc, "png_sequence", out_dir / "full")
    assert listing(out_dir / "full") == ["keep.txt"]


def test_an_existing_file_is_replaced_only_on_success(doc, out_dir):
    dest = out_dir / "c.mov"
    dest.write_bytes(b"original")
    cancel = threading.Event()
    with pytest.raises(ExportCancelled):
        render_timeline(doc, "prores_422_hq", dest, cancel=cancel, on_progress=lambda *a: cancel.set())
    assert dest.read_bytes() == b"original" and listing(out_dir) == ["c.mov"]
    render_timeline(doc, "prores_422_hq", dest)
    assert dest.read_bytes() != b"original" and listing(out_dir) == ["c.mov"]


def test_missing_media_is_named(doc, out_dir):
    os.remove(doc.bin_items()[0].path)
    with pytest.raises(ExportError, match=r"1 clip\(s\) .* missing: 'a\.mp4'.*Relink"):
        render_timeline(doc, "prores_422_hq", out_dir / "c.mov")
    assert listing(out_dir) == []


@pytest.mark.parametrize(
    ("in_frame", "out_frame", "message"),
    [(10, 10, "must come after the in point"), (-1, 5, "before the start"), (20, 4, "must come after")],
)
def test_bad_ranges(doc, out_dir, in_frame, out_frame, message):
    with pytest.raises(ExportError, match=message):
        render_timeline(doc, "prores_422_hq", out_dir / "c.mov", in_frame=in_frame, out_frame=out_frame)


def test_empty_timeline_and_tiny_sizes(out_dir, doc):
    with pytest.raises(ExportError, match="timeline is empty"):
        render_timeline(TimelineDocument(), "prores_422_hq", out_dir / "c.mov")
    with pytest.raises(ExportError, match=r"at least 256x120 pixels.*64x48"):
        render_timeline(doc, "dnxhr_hqx", out_dir / "c.mov")
    with pytest.raises(ExportError, match="even width and height"):
        render_timeline(doc, "h265_main10", out_dir / "c.mp4", size=(63, 48))
    assert listing(out_dir) == []


def test_unknown_preset_lists_the_choices(doc, out_dir):
    with pytest.raises(ExportError, match="no export preset called 'prores_9000'.*prores_422_hq"):
        render_timeline(doc, "prores_9000", out_dir / "c.mov")


def test_a_broken_preset_file_is_reported(tmp_path):
    (tmp_path / "bad.json").write_text(
        '{"name": "bad", "label": "Bad", "kind": "video", "extension": ".mov"}'
    )
    with pytest.raises(ExportError, match="'bad.json' is invalid"):
        presets.available(tmp_path)


def _grade_error(doc: TimelineDocument, grade: dict, out_dir: Path) -> str:
    clip = doc.clips(doc.tracks(TrackKind.VIDEO)[0].id)[0]
    doc.set_clip_grade(clip.id, grade)
    with pytest.raises(ExportError) as caught:
        render_timeline(doc, "prores_422_hq", out_dir / "g.mov")
    assert listing(out_dir) == []
    return str(caught.value)


def test_missing_and_malformed_luts_and_unknown_spaces_fail_before_rendering(doc, out_dir, tmp_path):
    import app.color as color
    missing = color.Grade(look=None, lut_path=str(tmp_path / "nope.cube")).to_dict()
    assert "grade of clip 'a.mp4'" in _grade_error(doc, missing, out_dir)
    bad = tmp_path / "bad.cube"
    bad.write_text("LUT_3D_SIZE 2\n0 0 0\nnot numbers\n")
    malformed = color.Grade(look=None, lut_path=str(bad)).to_dict()
    assert "bad.cube" in _grade_error(doc, malformed, out_dir)
    space = color.Grade(look=None, lut_path=None, input_space="No Such Space").to_dict()
    assert "No Such Space" in _grade_error(doc, space, out_dir)
