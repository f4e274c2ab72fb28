"""`kill -9` during editing loses at most the last few seconds: a real process edits a saved project, its
autosave runs, the process is SIGKILLed mid-session, and the next launch is offered exactly what the
autosave held, with the original project path."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from app.project import discard_recovery, find_recoverable, open_recovery

REPO_ROOT = Path(__file__).resolve().parents[2]

# An editing session in its own process: save a project, make edits (each followed by enough idle time
# for the 300 ms autosave), then make one last edit and report, leaving no time for its autosave.
EDITOR = textwrap.dedent(
    """
    import sys, time
    from fractions import Fraction
    from opentimelineio.opentime import RationalTime
    from PySide6.QtCore import QCoreApplication
    from app.commands import push_edit
    from app.document import MediaItem, TrackKind
    from app.media.info import MediaInfo
    from app.project.session import ProjectSession

    qt = QCoreApplication([])
    session = ProjectSession(autosave_ms=300)
    doc, stack = session.doc, session.stack
    info = MediaInfo(path="/media/shot.mov", container="mov", has_video=True, has_audio=False,
                     width=64, height=48, fps=Fraction(24), frame_count=48)
    media = doc.add_bin_item(MediaItem(id="shot", path="/media/shot.mov", name="shot.mov", info=info,
                                       generation=None, take_of=None, take=0, kind="imported"))
    session.save(sys.argv[1])
    video = doc.tracks(TrackKind.VIDEO)[0].id

    def settle(seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            qt.processEvents()
            time.sleep(0.01)

    for n in range(3):  # three edits, each autosaved
        push_edit(stack, doc, "Insert", lambda d: d.insert(media, video, RationalTime(0, 24)))
        settle(0.8)
    print("AUTOSAVED", len(doc.clips(video)), flush=True)
    push_edit(stack, doc, "Insert", lambda d: d.insert(media, video, RationalTime(0, 24)))
    print("LAST-EDIT", len(doc.clips(video)), flush=True)
    time.sleep(600)  # killed here, before the last edit's autosave
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_kill_9_loses_only_the_last_seconds(tmp_path, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("AIPROD_DATA_DIR", str(data))
    project = tmp_path / "Film.aiprod"
    env = {**os.environ, "AIPROD_DATA_DIR": str(data), "QT_QPA_PLATFORM": "offscreen"}
    editor = subprocess.Popen(
        [sys.executable, "-c", EDITOR, str(project)],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        lines = []
        deadline = time.monotonic() + 120
        while not any(line.startswith("LAST-EDIT") for line in lines):
            assert time.monotonic() < deadline and editor.poll() is None, editor.stderr.read()
            lines.append(editor.stdout.readline().strip())
        assert find_recoverable() == []  # the session is alive: its autosave is not a crash
    finally:
        editor.send_signal(signal.SIGKILL)
        editor.wait(30)
    assert editor.returncode == -signal.SIGKILL

    autosaved = int(next(line for line in lines if line.startswith("AUTOSAVED")).split()[1])
    entries = find_recoverable()
    assert len(entries) == 1
    entry = entries[0]
    assert entry.original_path == project
    recovered = open_recovery(entry)
    video = recovered.tracks()[0].id
    # Everything up to the last autosave survived; only the edit made in the last instant is gone.
    assert autosaved == 3 and len(recovered.clips(video)) == autosaved
    assert [item.id for item in recovered.bin_items()] == ["shot"]
    discard_recovery(entry)
    assert find_recoverable() == []


# Steady editing: an edit every 0.2-0.9 s, always sooner than the 1 s debounce, so only the maximum wait
# (1.5 s here; 10 s in the studio) can write the autosave. Each edit is reported with its time on the
# shared monotonic clock, so the test knows which edits were older than the promise when it killed.
STEADY_EDITOR = textwrap.dedent(
    """
    import random, sys, time
    from fractions import Fraction
    from opentimelineio.opentime import RationalTime
    from PySide6.QtCore import QCoreApplication
    from app.commands import push_edit
    from app.document import MediaItem, TrackKind
    from app.media.info import MediaInfo
    from app.project.session import ProjectSession

    qt = QCoreApplication([])
    project, seed = sys.argv[1], int(sys.argv[2])
    debounce_ms, max_wait_ms = int(sys.argv[3]), int(sys.argv[4])
    rng = random.Random(seed)
    session = ProjectSession(autosave_ms=debounce_ms, autosave_max_ms=max_wait_ms)
    doc, stack = session.doc, session.stack
    info = MediaInfo(path="/media/shot.mov", container="mov", has_video=True, has_audio=False,
                     width=64, height=48, fps=Fraction(24), frame_count=48)
    media = doc.add_bin_item(MediaItem(id="shot", path="/media/shot.mov", name="shot.mov", info=info,
                                       generation=None, take_of=None, take=0, kind="imported"))
    session.save(project)
    video = doc.tracks(TrackKind.VIDEO)[0].id
    n = 0
    while True:
        push_edit(stack, doc, "Insert", lambda d: d.insert(media, video, RationalTime(0, 24)))
        n += 1
        print("EDIT", n, time.monotonic(), flush=True)
        end = time.monotonic() + rng.uniform(0.2, 0.9)
        while time.monotonic() < end:
            qt.processEvents()
            time.sleep(0.01)
    """
)

STEADY_DEBOUNCE_MS, STEADY_MAX_WAIT_MS = 1000, 1500
KILLS, AT_ONCE = 20, 5
# Timer latency and the write itself on a loaded 2-core CI machine; the promise is the maximum wait.
SLACK_S = 0.75


def _run_and_kill(tmp_path: Path, index: int, rng: random.Random) -> dict:
    data = tmp_path / f"data{index}"
    project = tmp_path / f"Film{index}.aiprod"
    env = {**os.environ, "AIPROD_DATA_DIR": str(data), "QT_QPA_PLATFORM": "offscreen"}
    args = [str(project), str(index), str(STEADY_DEBOUNCE_MS), str(STEADY_MAX_WAIT_MS)]
    editor = subprocess.Popen(
        [sys.executable, "-c", STEADY_EDITOR, *args],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    edits: list[tuple[int, float]] = []

    def read() -> None:
        for line in editor.stdout:
            if line.startswith("EDIT"):
                _, n, at = line.split()
                edits.append((int(n), float(at)))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    # Killed at a random moment once the editing has gone on longer than the maximum wait, so an
    # autosave is due (with slack): up to 2.5 s past that, anywhere in the edit/write cycle.
    delay = STEADY_MAX_WAIT_MS / 1000 + SLACK_S + rng.uniform(0.05, 2.5)
    return {"editor": editor, "reader": reader, "edits": edits, "data": data, "project": project,
            "delay": delay, "killed_at": None}  # fmt: skip


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_steady_editing_killed_at_random_loses_at_most_the_maximum_wait(tmp_path, monkeypatch):
    rng = random.Random(12)
    results = []
    for batch in range(0, KILLS, AT_ONCE):
        runs = [_run_and_kill(tmp_path, batch + i, rng) for i in range(AT_ONCE)]
        deadline = time.monotonic() + 60
        try:
            while any(run["killed_at"] is None for run in runs):
                assert time.monotonic() < deadline, "editors did not start"
                for run in runs:
                    editor = run["editor"]
                    if run["killed_at"] is not None:
                        continue
                    assert editor.poll() is None, editor.stderr.read()
                    if run["edits"] and time.monotonic() >= run["edits"][0][1] + run["delay"]:
                        run["killed_at"] = time.monotonic()
                        editor.send_signal(signal.SIGKILL)
                time.sleep(0.01)
        finally:
            for run in runs:
                if run["editor"].poll() is None:
                    run["editor"].send_signal(signal.SIGKILL)
                run["editor"].wait(30)
                run["reader"].join(10)
                run["editor"].stdout.close()
                run["editor"].stderr.close()
        results.extend(runs)

    assert len(results) >= 20
    for run in results:
        assert run["editor"].returncode == -signal.SIGKILL
        monkeypatch.setenv("AIPROD_DATA_DIR", str(run["data"]))
        entries = find_recoverable()
        assert len(entries) == 1, f"no recovery offered after {len(run['edits'])} edits"
        assert entries[0].original_path == run["project"]
        recovered = open_recovery(entries[0])
        count = len(recovered.clips(recovered.tracks()[0].id))
        # Every edit made longer than the maximum wait before the kill is in the autosave...
        promised = max(
            (n for n, at in run["edits"] if at <= run["killed_at"] - STEADY_MAX_WAIT_MS / 1000 - SLACK_S),
            default=0,
        )
        assert promised >= 1  # the kill came late enough for the promise to cover something
        assert count >= promised, (count, promised, run["edits"], run["killed_at"])
        # ...and it holds nothing the editor never made.
        assert count <= len(run["edits"])
