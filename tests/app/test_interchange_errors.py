"""Timeline interchange: bad input, missing media, foreign EDLs, unwritable destinations, path <-> URL."""

from __future__ import annotations

import os
import shutil
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from opentimelineio.opentime import RationalTime, TimeRange

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from media_builders import make_video  # noqa: E402

from app.document import TimelineDocument, TrackKind  # noqa: E402
from app.errors import InterchangeError  # noqa: E402
from app.interchange import export_timeline, import_timeline  # noqa: E402
from app.interchange import writer as interchange_writer  # noqa: E402
from app.interchange.paths import to_file_url, to_local_path  # noqa: E402
from app.media.importer import import_files  # noqa: E402

SUFFIXES = (".otio", ".edl", ".xml", ".fcpxml")


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("media")
    return {
        "a": make_video(root / "a.mp4", frames=48),
        "b": make_video(root / "b.mp4", frames=48),
        "p25": make_video(root / "p25.mp4", frames=50, fps=25),
    }


def simple_doc(paths: list[Path], rate: float = 24) -> TimelineDocument:
    """One clip per file, back to back on V1 (12 frames each, from source frame 2), sound on A1."""
    doc = TimelineDocument(name="simple", rate=rate)
    ids, errors = import_files(doc, paths)
    assert not errors
    video = doc.tracks(TrackKind.VIDEO)[0].id
    for n, media_id in enumerate(ids):
        doc.insert(
            media_id,
            video,
            RationalTime(12 * n, rate),
            TimeRange(RationalTime(2, rate), RationalTime(12, rate)),
        )
    return doc


def placed(doc: TimelineDocument) -> list[tuple]:
    return [
        (c.name, c.start.value, c.duration.value, c.source_start.value) for c in doc.clips(doc.tracks()[0].id)
    ]


# ------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_truncated_files_give_a_clear_error(media, tmp_path, suffix):
    (good, *_) = export_timeline(simple_doc([media["a"], media["b"]]), tmp_path / f"cut{suffix}")
    text = good.read_text()
    if suffix == ".edl":  # cut inside the second event line: the reader sees too few fields
        cut = text.index("002") + 20
    else:
        cut = len(text) // 2
    bad = tmp_path / f"bad{suffix}"
    bad.write_text(text[:cut])
    with pytest.raises(InterchangeError) as info:
        import_timeline(bad)
    message = str(info.value)
    assert bad.name in message and "export it again" in message


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_garbage_and_empty_files_give_a_clear_error(tmp_path, suffix):
    garbage = tmp_path / f"garbage{suffix}"
    garbage.write_bytes(b"\x00\xff\xfe not a timeline \x89PNG")
    with pytest.raises(InterchangeError, match="garbage"):
        import_timeline(garbage)
    empty = tmp_path / f"empty{suffix}"
    empty.write_text("")
    with pytest.raises(InterchangeError, match="empty"):
        import_timeline(empty)


def test_an_edl_with_an_unknown_event_names_the_format(tmp_path):
    bad = tmp_path / "cut.edl"
    bad.write_text("TITLE: x\n\n001  AX V C 00:00:00:00 00:00:01:00 00:00:00:00\n")
    with pytest.raises(InterchangeError, match=r"'cut.edl' is not a readable CMX 3600 EDL file"):
        import_timeline(bad)


def test_unknown_suffix_and_missing_file(media, tmp_path):
    doc = simple_doc([media["a"]])
    with pytest.raises(InterchangeError, match=r"\.otio, \.edl, \.xml, \.fcpxml"):
        export_timeline(doc, tmp_path / "cut.mov")
    with pytest.raises(InterchangeError, match="not a timeline interchange format"):
        import_timeline(tmp_path / "cut.aaf")
    with pytest.raises(InterchangeError, match="was not found"):
        import_timeline(tmp_path / "nothing.xml")
    assert list(tmp_path.iterdir()) == []
    # an explicit format wins over the suffix
    (written,) = export_timeline(doc, tmp_path / "cut.txt", fmt="fcp_xml")
    assert written.read_text().lstrip().startswith("<?xml")


# ------------------------------------------------------------------------------------------- destinations
def test_a_missing_folder_is_refused(media, tmp_path):
    with pytest.raises(InterchangeError, match="does not exist"):
        export_timeline(simple_doc([media["a"]]), tmp_path / "nope" / "cut.xml")


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="permissions do not bind here")
def test_an_unwritable_folder_is_refused_and_left_untouched(media, tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(InterchangeError, match="Choose a folder you can write to"):
            export_timeline(simple_doc([media["a"]]), folder / "cut.edl")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o700)


def test_a_refused_write_is_reported(media, tmp_path, monkeypatch):
    """The same refusal as a read-only folder, made to happen even when the tests run as root."""

    def refused(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(interchange_writer, "reserve_temp", refused)
    with pytest.raises(InterchangeError, match="Permission denied. Choose a folder you can write to"):
        export_timeline(simple_doc([media["a"]]), tmp_path / "cut.otio")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_the_old_files_and_no_temporaries(media, tmp_path, monkeypatch):
    doc = simple_doc([media["a"], media["b"]])
    v1 = tmp_path / "cut_V1.edl"
    v1.write_text("the previous export")

    def full_disk(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(interchange_writer.os, "replace", full_disk)
    with pytest.raises(InterchangeError, match="No space left"):
        export_timeline(doc, tmp_path / "cut.edl")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut_V1.edl"]
    assert v1.read_text() == "the previous export"


def test_fcpxml_refuses_rates_its_adapter_gets_wrong(media, tmp_path):
    ntsc = make_video(tmp_path / "ntsc.mp4", frames=24, fps=Fraction(24000, 1001), audio=False)
    doc = simple_doc([ntsc], rate=24000 / 1001)
    with pytest.raises(InterchangeError, match=r"whole frame rates only .* 23\.976 fps"):
        export_timeline(doc, tmp_path / "cut.fcpxml")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ntsc.mp4"]
    for suffix in (".otio", ".edl", ".xml"):  # the others keep 23.976 exactly
        (file,) = export_timeline(doc, tmp_path / f"cut{suffix}")
        back = import_timeline(file)
        assert back.rate == pytest.approx(24000 / 1001) and placed(back) == placed(doc)


# ------------------------------------------------------------------------------------------- media
def test_missing_media_is_flagged_for_relink(media, tmp_path):
    moved = tmp_path / "b moved.mp4"
    shutil.copy(media["b"], moved)
    doc = simple_doc([media["a"], moved])
    (xml,) = export_timeline(doc, tmp_path / "cut.xml")
    moved.unlink()
    back = import_timeline(xml)
    assert placed(back) == placed(doc)
    items = {Path(i.path).name: i for i in back.bin_items()}
    assert items["a.mp4"].info is not None and items["a.mp4"].info.frame_count == 48
    assert "missing" not in items["a.mp4"].extra
    assert items["b moved.mp4"].info is None and items["b moved.mp4"].extra["missing"] is True
    assert items["b moved.mp4"].path == str(moved)  # kept as it was, for relink
    clip = back.clips(back.tracks()[0].id)[0]
    assert clip.available == TimeRange(RationalTime(0, 24), RationalTime(48, 24))  # from the probed file


def test_an_edl_takes_its_rate_from_the_media(media, tmp_path):
    doc = simple_doc([media["p25"]], rate=25)
    (v1,) = export_timeline(doc, tmp_path / "cut.edl")
    back = import_timeline(v1)
    assert back.rate == 25
    assert placed(back) == placed(doc)
    assert back.bin_items()[0].info.fps == Fraction(25)
    assert import_timeline(v1, rate=50).rate == 50  # the caller knows better


def test_a_foreign_edl_starting_at_one_hour_with_black_and_locators(media, tmp_path):
    """Typical of editors' EDLs: record times from 01:00:00:00, a fade up from black, a locator."""
    text = (
        "TITLE: FOREIGN\nFCM: NON-DROP FRAME\n\n"
        "001  BL       V     C        00:00:00:00 00:00:00:00 01:00:00:00 01:00:00:00\n"
        "001  A        V     D 006    00:00:00:02 00:00:00:20 01:00:00:00 01:00:00:18\n"
        "* TO CLIP NAME:  first shot\n"
        f"* TO CLIP: {media['a']}\n"
        "* LOC: 00:00:00:05 BLUE    look here\n"
        "002  B        V     C        00:00:00:04 00:00:01:00 01:00:00:18 01:00:01:14\n"
        "* FROM CLIP NAME:  second shot\n"
        f"* FROM FILE: {media['b']}\n"
    )
    edl = tmp_path / "foreign.edl"
    edl.write_text(text)
    back = import_timeline(edl)
    assert back.name == "FOREIGN" and back.rate == 24
    assert placed(back) == [("first shot", 0, 18, 2), ("second shot", 18, 20, 4)]
    assert [(m.name, m.time.value, m.color) for m in back.markers()] == [("look here", 3, "BLUE")]
    assert [Path(i.path).name for i in back.bin_items()] == ["a.mp4", "b.mp4"]


# ------------------------------------------------------------------------------------------- paths
@pytest.mark.parametrize("path", ["/media/shot a.mov", "/média/北京 #1%.mov", "/x/y.mov"])
def test_paths_and_file_urls_round_trip(path):
    url = to_file_url(path)
    assert url.startswith("file:///") and " " not in url and "#" not in url
    assert to_local_path(url) == path
    assert to_local_path("file://localhost" + url[len("file://") :]) == path
    assert to_local_path(path) == path
    assert to_file_url(url) == url
    assert to_local_path("https://example.com/a.mov") == "https://example.com/a.mov"
