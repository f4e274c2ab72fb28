"""Relinking media whose files moved: by folder search (same names) and by picking a file."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from opentimelineio.opentime import RationalTime

from app.document import MediaItem, TimelineDocument, TrackKind
from app.errors import MediaError
from app.media.info import MediaInfo
from app.project import apply_relinks, load_project, missing_media, plan_folder_search, save_project


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIPROD_DATA_DIR", str(tmp_path / "data"))


def info_for(path: Path, *, audio: bool = False) -> MediaInfo:
    return MediaInfo(
        str(path), "mov", True, audio, 64, 48, Fraction(24), 48, "prores", size_bytes=path.stat().st_size
    )


def fake_probe(path: str) -> MediaInfo:
    """Stands in for PyAV: a file whose bytes start with "bad" is unreadable, "aud" has sound."""
    data = Path(path).read_bytes()
    if data.startswith(b"bad"):
        raise MediaError(f"{Path(path).name} cannot be read.")
    return info_for(Path(path), audio=data.startswith(b"aud"))


def project_with_moved_footage(tmp_path: Path) -> tuple[Path, list[str]]:
    footage = tmp_path / "footage"
    footage.mkdir()
    doc = TimelineDocument(name="Fox")
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    ids = []
    for index, name in enumerate(["a.mov", "b.mov", "c.mov"]):
        path = footage / name
        path.write_bytes(b"video " + name.encode())
        ids.append(doc.add_bin_item(MediaItem(f"m{index}", str(path), name, info_for(path))))
        doc.insert(ids[-1], v1, RationalTime(index * 48, 24))
    save_project(doc, tmp_path / "Fox.aiprod")
    # The footage moves (one file is lost on the way): neither the relative path nor the fallback finds it.
    new_home = tmp_path / "drive" / "shoot" / "day1"
    new_home.mkdir(parents=True)
    (footage / "a.mov").rename(new_home / "a.mov")
    (tmp_path / "drive" / "other").mkdir()
    (footage / "b.mov").rename(tmp_path / "drive" / "other" / "B.MOV")  # case changed on the way
    (footage / "c.mov").unlink()
    footage.rmdir()
    return tmp_path / "Fox.aiprod", ids


def test_folder_search_relinks_all_it_can(tmp_path: Path) -> None:
    project, ids = project_with_moved_footage(tmp_path)
    loaded = load_project(project)
    assert loaded.missing == ids

    plan = plan_folder_search(loaded.doc, loaded.missing, tmp_path / "drive")
    report = apply_relinks(loaded.doc, plan, fake_probe)

    assert report.relinked == {
        ids[0]: str(tmp_path / "drive" / "shoot" / "day1" / "a.mov"),
        ids[1]: str(tmp_path / "drive" / "other" / "B.MOV"),
    }
    assert report.still_missing == [ids[2]] == missing_media(loaded.doc)
    v1 = loaded.doc.tracks(TrackKind.VIDEO)[0].id
    clip_paths = [loaded.doc.to_otio().find_clips()[i].media_reference.target_url for i in range(2)]
    assert clip_paths == [report.relinked[ids[0]], report.relinked[ids[1]]]  # clips follow their media
    assert len(loaded.doc.clips(v1)) == 3


def test_exact_name_and_size_win_among_candidates(tmp_path: Path) -> None:
    original = tmp_path / "gone" / "a.mov"
    original.parent.mkdir()
    original.write_bytes(b"0123456789")
    doc = TimelineDocument()
    doc.add_bin_item(MediaItem("m", str(original), "a", info_for(original)))
    original.unlink()
    search = tmp_path / "search"
    (search / "x").mkdir(parents=True)
    (search / "y" / "z").mkdir(parents=True)
    (search / "x" / "a.mov").write_bytes(b"short")  # shallower, wrong size
    (search / "y" / "z" / "a.mov").write_bytes(b"0123456789")  # right size
    (search / "A.mov").write_bytes(b"0123456789")  # right size, wrong case

    assert plan_folder_search(doc, ["m"], search) == {"m": str(search / "y" / "z" / "a.mov")}


def test_unreadable_or_different_media_is_refused(tmp_path: Path) -> None:
    original = tmp_path / "a.mov"
    original.write_bytes(b"video")
    doc = TimelineDocument()
    doc.add_bin_item(MediaItem("m", str(original), "a", info_for(original)))
    bad = tmp_path / "bad.mov"
    bad.write_bytes(b"bad data")
    with_sound = tmp_path / "sound.mov"
    with_sound.write_bytes(b"audio and video")

    report = apply_relinks(doc, {"m": str(bad)}, fake_probe)
    assert report.relinked == {} and "cannot be read" in report.failed["m"]
    report = apply_relinks(doc, {"m": str(with_sound)}, fake_probe)
    assert report.relinked == {} and "same video and audio streams" in report.failed["m"]
    assert doc.bin_item("m").path == str(original)

    fine = tmp_path / "moved.mov"
    fine.write_bytes(b"video")
    report = apply_relinks(doc, {"m": str(fine)}, fake_probe)
    assert report.relinked == {"m": str(fine)}
    assert doc.bin_item("m").info == info_for(fine)
