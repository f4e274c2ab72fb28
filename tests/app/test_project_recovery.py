"""Autosave, crash recovery and the session's unsaved state."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from opentimelineio.opentime import RationalTime

from app.commands import push_edit
from app.document import MediaItem, TimelineDocument
from app.errors import ProjectError
from app.media.info import MediaInfo
from app.project import atomic, find_recoverable, load_project, recovery
from app.project.paths import recovery_dir, scratch_dir
from app.project.session import ProjectSession

DELAY_MS = 60


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AIPROD_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture
def sessions(qtbot):  # noqa: ANN001, ANN201 - pytest-qt's fixture
    """Sessions made by a test; closed afterwards unless the test 'crashed' them."""
    made: list[ProjectSession] = []

    def make(*args: object, **kwargs: object) -> ProjectSession:
        kwargs.setdefault("autosave_ms", DELAY_MS)
        session = ProjectSession(*args, **kwargs)  # type: ignore[arg-type]
        made.append(session)
        return session

    yield make
    for session in made:
        session.close()


def add_marker(session: ProjectSession, name: str) -> None:
    push_edit(session.stack, session.doc, f"marker {name}", lambda d: d.add_marker(RationalTime(5, 24), name))


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def crash(session: ProjectSession) -> None:
    """What kill -9 leaves behind: the lock and the autosave stay, and the owner process is gone."""
    lock = recovery_dir() / f"{session.session_id}.lock"
    lock.write_text(json.dumps({"pid": dead_pid(), "start": None}))
    session._autosave.cancel()  # noqa: SLF001 - a dead process runs no timers
    session._closed = True  # noqa: SLF001 - and never cleans up


# ---------------------------------------------------------------------------------------- autosave
def test_autosave_fires_once_after_a_burst_of_edits(sessions, qtbot, monkeypatch) -> None:  # noqa: ANN001
    session = sessions()
    writes = []
    real_write = recovery.write_recovery
    monkeypatch.setattr(recovery, "write_recovery", lambda *a: writes.append(a) or real_write(*a))

    for index in range(5):
        add_marker(session, f"m{index}")
    assert writes == []  # nothing yet: the timer restarts with every edit
    with qtbot.waitSignal(session._autosave.saved, timeout=5000):  # noqa: SLF001
        pass
    qtbot.wait(DELAY_MS * 3)  # and nothing more arrives afterwards

    assert len(writes) == 1
    recovered = recovery.open_recovery(next(e for e in _all_entries() if e.session_id == session.session_id))
    assert [m.name for m in recovered.markers()] == [f"m{i}" for i in range(5)]


def _all_entries() -> list[recovery.RecoveryEntry]:
    """Every autosave including live sessions' (find_recoverable hides those)."""
    entries = []
    for file in recovery_dir().glob("*.otio"):
        data = recovery.read_header(file.read_bytes(), file)["recovery"]
        entries.append(
            recovery.RecoveryEntry(
                file.stem, file, None, recovery.datetime.fromisoformat(data["written_at"]), ""
            )
        )
    return entries


def test_a_failing_autosave_is_reported_not_raised(sessions, qtbot, monkeypatch) -> None:  # noqa: ANN001
    session = sessions()

    def full(*_args: object) -> None:
        raise ProjectError("disk is full")

    monkeypatch.setattr(recovery, "write_recovery", full)
    add_marker(session, "m")
    with qtbot.waitSignal(session.autosave_failed, timeout=5000) as blocker:
        pass
    assert "disk is full" in blocker.args[0]


def test_undo_back_to_clean_removes_the_autosave(sessions, qtbot) -> None:  # noqa: ANN001
    session = sessions()
    add_marker(session, "m")
    with qtbot.waitSignal(session._autosave.saved, timeout=5000):  # noqa: SLF001
        pass
    assert recovery.recovery_file(session.session_id).exists()
    session.stack.undo()
    with qtbot.waitSignal(session._autosave.saved, timeout=5000):  # noqa: SLF001
        pass
    assert not recovery.recovery_file(session.session_id).exists()


# ---------------------------------------------------------------------------------------- recovery
def test_recovery_after_a_crash_offers_the_original_path(sessions, qtbot, tmp_path) -> None:  # noqa: ANN001
    project = tmp_path / "Fox.aiprod"
    first = sessions()
    add_marker(first, "saved")
    first.save(project)
    add_marker(first, "after the save")
    with qtbot.waitSignal(first._autosave.saved, timeout=5000):  # noqa: SLF001
        pass
    assert find_recoverable() == []  # its owner (this process) is alive: a second instance, not a crash

    crash(first)
    entries = find_recoverable()

    assert [e.session_id for e in entries] == [first.session_id]
    assert entries[0].original_path == project
    session = ProjectSession.from_recovery(entries[0], autosave_ms=DELAY_MS)
    try:
        assert session.dirty
        assert session.path == project
        assert session.title() == "Fox* — AIPROD Studio"
        assert [m.name for m in session.doc.markers()] == ["saved", "after the save"]
        # The new session took the autosave over; the dead one's copy is gone, so it is not offered twice.
        assert not entries[0].file.exists()
        assert recovery.recovery_file(session.session_id).exists()
        session.save()
        assert not session.dirty
        assert [m.name for m in load_project(project).doc.markers()] == ["saved", "after the save"]
    finally:
        session.close()
    assert find_recoverable() == []


def test_a_never_saved_project_is_recovered_with_its_scratch_media(sessions, qtbot, tmp_path) -> None:  # noqa: ANN001
    first = sessions()
    clip = first.media_dir / "gen.mkv"
    clip.write_bytes(b"generated")
    info = MediaInfo(str(clip), "matroska", True, False, 64, 48, Fraction(24), 24, size_bytes=9)
    push_edit(
        first.stack,
        first.doc,
        "generate",
        lambda d: d.add_bin_item(MediaItem("g1", str(clip), "gen", info, {"seed": 7}, kind="generated")),
    )
    with qtbot.waitSignal(first._autosave.saved, timeout=5000):  # noqa: SLF001
        pass
    crash(first)

    (entry,) = find_recoverable()
    assert entry.original_path is None
    session = ProjectSession.from_recovery(entry, autosave_ms=DELAY_MS)
    try:
        assert session.path is None and session.dirty
        assert session.missing == []
        session.save(tmp_path / "Saved")
    finally:
        session.close()

    assert not scratch_dir(first.session_id).exists()  # cleaned once saved and closed
    loaded = load_project(tmp_path / "Saved.aiprod")
    assert loaded.missing == []
    assert Path(loaded.doc.bin_item("g1").path).read_bytes() == b"generated"
    assert loaded.doc.bin_item("g1").generation == {"seed": 7}


def test_discarding_a_recovery_removes_it(sessions, qtbot) -> None:  # noqa: ANN001
    first = sessions()
    add_marker(first, "m")
    first.flush_autosave()
    crash(first)
    (entry,) = find_recoverable()
    recovery.discard_recovery(entry)
    assert find_recoverable() == []
    assert list(recovery_dir().iterdir()) == []


def test_a_clean_close_leaves_nothing_to_recover(sessions, qtbot) -> None:  # noqa: ANN001
    session = sessions()
    add_marker(session, "m")
    session.flush_autosave()
    assert recovery.recovery_file(session.session_id).exists()
    session.close()
    assert list(recovery_dir().iterdir()) == []


def test_a_recycled_pid_does_not_count_as_alive(tmp_path) -> None:  # noqa: ANN001
    import os

    token = recovery.process_start_token(os.getpid())
    assert recovery.process_alive(os.getpid(), token)
    assert not recovery.process_alive(dead_pid())
    if token is not None:  # Linux: same pid, different start time = another process
        assert not recovery.process_alive(os.getpid(), str(int(token) + 1))


def test_a_failing_autosave_write_keeps_the_previous_autosave(sessions, qtbot, monkeypatch) -> None:  # noqa: ANN001
    session = sessions()
    add_marker(session, "first")
    session.flush_autosave()
    before = recovery.recovery_file(session.session_id).read_bytes()

    def disk_full(handle: object, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic, "_write_all", disk_full)
    add_marker(session, "second")
    with qtbot.waitSignal(session.autosave_failed, timeout=5000):
        pass
    assert recovery.recovery_file(session.session_id).read_bytes() == before


# ----------------------------------------------------------------------------------- unsaved state
def test_dirty_follows_the_undo_stack_and_saves(sessions, qtbot, tmp_path) -> None:  # noqa: ANN001
    session = sessions(TimelineDocument(name="Untitled"))
    assert not session.dirty and session.title() == "Untitled — AIPROD Studio"
    with qtbot.waitSignal(session.dirty_changed) as changed:
        add_marker(session, "m")
    assert changed.args == [True] and session.title() == "Untitled* — AIPROD Studio"

    session.save(tmp_path / "Film")
    assert not session.dirty and session.title() == "Film — AIPROD Studio"
    assert session.path == tmp_path / "Film.aiprod"
    assert session.media_dir == tmp_path / "Film.aiprod" / "media"

    session.stack.undo()
    assert session.dirty
    session.stack.redo()
    assert not session.dirty  # back at the saved state


def test_save_without_a_path_asks_for_one(sessions) -> None:  # noqa: ANN001
    with pytest.raises(ProjectError, match="Save As"):
        sessions().save()


def test_save_as_copies_generated_media_from_the_old_project(sessions, tmp_path) -> None:  # noqa: ANN001
    session = sessions()
    session.save(tmp_path / "One")
    clip = session.media_dir / "gen.mkv"
    clip.write_bytes(b"generated")
    info = MediaInfo(str(clip), "matroska", True, False, 64, 48, Fraction(24), 24, size_bytes=9)
    push_edit(
        session.stack, session.doc, "gen", lambda d: d.add_bin_item(MediaItem("g1", str(clip), "gen", info))
    )
    session.save(tmp_path / "Two")
    session.save()  # a later save still stores the copy, not a path into the old project

    loaded = load_project(tmp_path / "Two.aiprod")
    assert loaded.doc.bin_item("g1").path == str(tmp_path / "Two.aiprod" / "media" / "gen.mkv")
    assert '"../One.aiprod' not in (tmp_path / "Two.aiprod" / "project.otio").read_text()
