"""Saving and loading projects: round trips, relative paths, damaged files, backups, atomic writes."""

from __future__ import annotations

import json
import os
import shutil
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest
from opentimelineio.opentime import RationalTime

from app.document import MediaItem, TimelineDocument, TrackKind
from app.errors import ProjectError
from app.media.info import MediaInfo
from app.project import atomic, backups, load_project, save_project
from app.project.paths import PROJECT_FILE, project_layout
from app.project.store import FORMAT_VERSION

GENERATION = {"model": "ltx-2", "prompt": "a red fox at dawn", "seed": 1234, "steps": 8, "cfg": 3.5}


def fake_media(path: Path, *, audio: bool = True, frames: int = 48) -> MediaInfo:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not really a video, the document never decodes it" + path.name.encode())
    return MediaInfo(
        path=str(path),
        container="matroska",
        has_video=True,
        has_audio=audio,
        width=64,
        height=48,
        fps=Fraction(24),
        frame_count=frames,
        video_codec="ffv1",
        sample_rate=48000 if audio else 0,
        channels=2 if audio else 0,
        audio_samples=frames * 2000 if audio else 0,
        size_bytes=path.stat().st_size,
    )


def build_doc(media: list[Path]) -> tuple[TimelineDocument, list[str]]:
    """A document with each file in the bin and on V1 one after another; the first one generated."""
    doc = TimelineDocument(name="Fox", rate=24)
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    ids = []
    for index, path in enumerate(media):
        generated = index == 0
        item = MediaItem(
            id=f"m{index}",
            path=str(path),
            name=path.name,
            info=fake_media(path),
            generation=dict(GENERATION) if generated else None,
            kind="generated" if generated else "imported",
        )
        ids.append(doc.add_bin_item(item))
        doc.insert(item.id, v1, RationalTime(index * 48, 24))
    first_clip = doc.clips(v1)[0].id
    doc.set_clip_generation(first_clip, dict(GENERATION))
    doc.add_marker(RationalTime(12, 24), "look here")
    return doc, ids


def snapshot_with_paths(doc: TimelineDocument, root: Path) -> str:
    """The snapshot with every path made relative to ``root``, so documents in different folders compare."""
    return doc.to_otio(lambda p: os.path.relpath(p, root)).to_json_string()


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AIPROD_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


# ------------------------------------------------------------------------------------------ round trip
def test_round_trip_keeps_everything(tmp_path: Path) -> None:
    project = tmp_path / "Fox.aiprod"
    doc, ids = build_doc([project / "media" / "gen.mkv", tmp_path / "footage" / "a.mov"])

    result = save_project(doc, project)
    loaded = load_project(project)

    assert result.layout.project_file.is_file()
    assert loaded.missing == []
    assert loaded.doc.snapshot() == doc.snapshot()  # exact: ids, generation params, markers, absolute paths
    v1 = loaded.doc.tracks(TrackKind.VIDEO)[0].id
    assert [c.id for c in loaded.doc.clips(v1)] == [c.id for c in doc.clips(v1)]
    assert loaded.doc.clips(v1)[0].generation == GENERATION
    assert loaded.doc.bin_item(ids[0]).generation == GENERATION
    for name in ("media", "masks", "backups"):
        assert (project / name).is_dir()


def test_paths_are_stored_relative_with_a_format_version(tmp_path: Path) -> None:
    project = tmp_path / "Fox.aiprod"
    doc, _ = build_doc([project / "media" / "gen.mkv", tmp_path / "footage" / "a.mov"])
    save_project(doc, project)

    raw = json.loads((project / PROJECT_FILE).read_text())
    meta = raw["metadata"]["aiprod"]
    assert meta["format_version"] == FORMAT_VERSION
    assert meta["app_version"]
    stored = sorted(entry["path"] for entry in meta["bin"])
    assert stored == ["../footage/a.mov", "media/gen.mkv"]
    assert str(tmp_path) not in json.dumps(raw["tracks"])  # clip references are relative too
    assert meta["absolute_paths"] == {"../footage/a.mov": str(tmp_path / "footage" / "a.mov")}


def test_moving_the_project_folder_keeps_media_found(tmp_path: Path) -> None:
    project = tmp_path / "one" / "Fox.aiprod"
    outside = tmp_path / "footage" / "a.mov"  # stays where it is
    doc, ids = build_doc([project / "media" / "gen.mkv", outside])
    save_project(doc, project)

    moved = tmp_path / "elsewhere" / "deeper" / "Fox.aiprod"
    moved.parent.mkdir(parents=True)
    shutil.move(project, moved)
    loaded = load_project(moved / PROJECT_FILE)  # the file inside the folder opens too

    assert loaded.missing == []
    assert loaded.doc.bin_item(ids[0]).path == str(moved / "media" / "gen.mkv")
    assert loaded.doc.bin_item(ids[1]).path == str(outside)  # found by the absolute fallback


def test_moving_project_and_footage_together_uses_the_relative_path(tmp_path: Path) -> None:
    root = tmp_path / "job"
    doc, ids = build_doc([root / "Fox.aiprod" / "media" / "gen.mkv", root / "footage" / "a.mov"])
    save_project(doc, root / "Fox.aiprod")
    shutil.move(root, tmp_path / "archive")

    loaded = load_project(tmp_path / "archive" / "Fox.aiprod")

    assert loaded.missing == []
    assert loaded.doc.bin_item(ids[1]).path == str(tmp_path / "archive" / "footage" / "a.mov")
    assert snapshot_with_paths(loaded.doc, tmp_path / "archive") == snapshot_with_paths(doc, root)


def test_missing_media_is_reported_by_id(tmp_path: Path) -> None:
    project = tmp_path / "Fox.aiprod"
    doc, ids = build_doc([project / "media" / "gen.mkv", tmp_path / "footage" / "a.mov"])
    save_project(doc, project)
    (tmp_path / "footage" / "a.mov").unlink()

    assert load_project(project).missing == [ids[1]]


def test_a_name_without_the_suffix_gets_it(tmp_path: Path) -> None:
    doc, _ = build_doc([tmp_path / "a.mov"])
    result = save_project(doc, tmp_path / "Fox")
    assert result.layout.folder == tmp_path / "Fox.aiprod"
    assert project_layout(tmp_path / "Fox").folder == tmp_path / "Fox.aiprod"


def test_managed_media_is_copied_in_with_its_sidecars(tmp_path: Path) -> None:
    scratch = tmp_path / "data" / "scratch" / "s1"
    clip = scratch / "media" / "gen.mkv"
    doc, ids = build_doc([clip, tmp_path / "footage" / "a.mov"])
    (scratch / "media" / "gen.safetensors").write_bytes(b"latents")
    (scratch / "masks").mkdir()
    (scratch / "masks" / "m1.png").write_bytes(b"mask")
    project = tmp_path / "Fox.aiprod"

    result = save_project(doc, project, adopt_from=[scratch])
    shutil.rmtree(scratch)  # the session closes; the project must not need its scratch folder
    loaded = load_project(project)

    assert result.copied == {str(clip): str(project / "media" / "gen.mkv")}
    assert (project / "media" / "gen.safetensors").read_bytes() == b"latents"
    assert (project / "masks" / "m1.png").read_bytes() == b"mask"
    assert loaded.missing == []
    assert loaded.doc.bin_item(ids[0]).path == str(project / "media" / "gen.mkv")
    assert doc.bin_item(ids[0]).path == str(clip)  # the in-memory document (and its undo history) untouched


# ------------------------------------------------------------------------------------ damaged files
def _saved_project(tmp_path: Path) -> Path:
    doc, _ = build_doc([tmp_path / "a.mov"])
    return save_project(doc, tmp_path / "Fox.aiprod").layout.project_file


def _expect_error(path: Path, *fragments: str) -> None:
    before = {p: p.read_bytes() for p in path.parent.rglob("*") if p.is_file()}
    with pytest.raises(ProjectError) as caught:
        load_project(path.parent)
    message = str(caught.value).lower()
    for fragment in fragments:
        assert fragment in message
    after = {p: p.read_bytes() for p in path.parent.rglob("*") if p.is_file()}
    assert after == before  # loading writes nothing, fixes nothing


def test_truncated_file(tmp_path: Path) -> None:
    file = _saved_project(tmp_path)
    file.write_bytes(file.read_bytes()[: len(file.read_bytes()) // 2])
    _expect_error(file, "truncated")


def test_garbage_file(tmp_path: Path) -> None:
    file = _saved_project(tmp_path)
    file.write_bytes(os.urandom(2000))
    _expect_error(file, "not a project file")


def test_empty_file(tmp_path: Path) -> None:
    file = _saved_project(tmp_path)
    file.write_bytes(b"")
    _expect_error(file, "empty")


def test_json_that_is_not_a_timeline(tmp_path: Path) -> None:
    file = _saved_project(tmp_path)
    file.write_text(json.dumps({"OTIO_SCHEMA": "Clip.2", "name": "x"}))
    _expect_error(file, "not an opentimelineio timeline")
    file.write_text("[1, 2, 3]")
    _expect_error(file, "not an opentimelineio timeline")


def test_timeline_without_aiprod_metadata(tmp_path: Path) -> None:
    file = _saved_project(tmp_path)
    file.write_text(otio.adapters.write_to_string(otio.schema.Timeline(name="foreign"), "otio_json"))
    _expect_error(file, "not an aiprod project")


def test_newer_format_version(tmp_path: Path) -> None:
    file = _saved_project(tmp_path)
    raw = json.loads(file.read_text())
    raw["metadata"]["aiprod"]["format_version"] = FORMAT_VERSION + 1
    raw["metadata"]["aiprod"]["app_version"] = "9.0.0"
    file.write_text(json.dumps(raw))
    _expect_error(file, "9.0.0", "update aiprod studio")


def test_newer_otio_schema(tmp_path: Path) -> None:
    file = _saved_project(tmp_path)
    file.write_text(file.read_text().replace('"Timeline.1"', '"Timeline.99"', 1))
    _expect_error(file, "newer")


def test_missing_project(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="no project"):
        load_project(tmp_path / "Nothing.aiprod")
    (tmp_path / "Empty.aiprod").mkdir()
    with pytest.raises(ProjectError, match="not an AIPROD project folder"):
        load_project(tmp_path / "Empty.aiprod")


def test_damage_message_points_at_backups(tmp_path: Path) -> None:
    doc, _ = build_doc([tmp_path / "a.mov"])
    project = tmp_path / "Fox.aiprod"
    save_project(doc, project)
    save_project(doc, project)  # now there is a backup
    (project / PROJECT_FILE).write_bytes(b'{"OTIO_SCHEMA": "Timeline.1", "metad')
    with pytest.raises(ProjectError, match="backups"):
        load_project(project)


# ------------------------------------------------------------------------------------------- backups
def test_each_save_keeps_the_previous_file_and_only_the_last_ten(tmp_path: Path) -> None:
    doc, _ = build_doc([tmp_path / "a.mov"])
    project = tmp_path / "Fox.aiprod"
    layout = project_layout(project)
    saved_versions = []
    for index in range(13):
        doc.add_marker(RationalTime(index, 24), f"edit {index}")
        save_project(doc, project)
        saved_versions.append((project / PROJECT_FILE).read_bytes())

    kept = backups.list_backups(layout)
    assert len(kept) == backups.KEEP_BACKUPS
    # The newest backup is the save before the last one; the ten kept are saves 2..11 in order.
    assert [p.read_bytes() for p in kept] == saved_versions[-11:-1]


def test_backup_can_be_opened(tmp_path: Path) -> None:
    doc, _ = build_doc([tmp_path / "a.mov"])
    project = tmp_path / "Fox.aiprod"
    save_project(doc, project)
    first = doc.snapshot()
    doc.add_marker(RationalTime(30, 24), "later")
    save_project(doc, project)

    backup = backups.list_backups(project_layout(project))[-1]
    restored = tmp_path / "Restored.aiprod"
    restored.mkdir()
    shutil.copy(backup, restored / PROJECT_FILE)
    assert load_project(restored).doc.snapshot() == first


# ------------------------------------------------------------------------------------------ atomicity
def test_a_failing_write_leaves_the_previous_file_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc, _ = build_doc([tmp_path / "a.mov"])
    project = tmp_path / "Fox.aiprod"
    save_project(doc, project)
    before = (project / PROJECT_FILE).read_bytes()
    doc.add_marker(RationalTime(30, 24), "unsaved")

    def disk_full(handle: object, data: bytes) -> None:
        handle.write(data[:100])  # type: ignore[attr-defined]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic, "_write_all", disk_full)
    with pytest.raises(ProjectError, match="disk is full"):
        save_project(doc, project)

    assert (project / PROJECT_FILE).read_bytes() == before
    leftovers = [p.name for p in project.iterdir() if p.name.endswith(".tmp") or ".partial-" in p.name]
    assert leftovers == []
    assert [m.name for m in load_project(project).doc.markers()] == ["look here"]  # the old, complete project


@pytest.mark.skipif(
    os.name == "nt" or os.geteuid() == 0, reason="root ignores permissions; no chmod on Windows"
)
def test_a_read_only_folder_is_a_clear_error(tmp_path: Path) -> None:
    doc, _ = build_doc([tmp_path / "a.mov"])
    project = tmp_path / "Fox.aiprod"
    save_project(doc, project)
    before = (project / PROJECT_FILE).read_bytes()
    doc.add_marker(RationalTime(30, 24), "unsaved")
    modes = {p: p.stat().st_mode for p in (project, project / "backups")}
    for path in modes:
        path.chmod(0o555)
    try:
        with pytest.raises(ProjectError, match="read-only"):
            save_project(doc, project)
    finally:
        for path, mode in modes.items():
            path.chmod(mode)
    assert (project / PROJECT_FILE).read_bytes() == before


@pytest.mark.skipif(
    os.name == "nt" or os.geteuid() == 0, reason="root ignores permissions; no chmod on Windows"
)
def test_an_uncreatable_project_folder_is_a_clear_error(tmp_path: Path) -> None:
    doc, _ = build_doc([tmp_path / "a.mov"])
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    try:
        with pytest.raises(ProjectError, match="Choose a folder you can write to"):
            save_project(doc, locked / "Fox.aiprod")
    finally:
        locked.chmod(0o755)


def test_a_permission_error_names_the_read_only_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read-only case without chmod (which root ignores): creating the temporary file is refused."""
    doc, _ = build_doc([tmp_path / "a.mov"])
    project = tmp_path / "Fox.aiprod"
    save_project(doc, project)
    before = (project / PROJECT_FILE).read_bytes()

    def refused(*_args: object, **_kwargs: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(atomic, "_open_exclusive", refused)
    with pytest.raises(ProjectError, match="read-only. Use Save As"):
        save_project(doc, project)
    assert (project / PROJECT_FILE).read_bytes() == before
