"""`kill -9` during editing loses at most the last few seconds: a real process edits a saved project, its
autosave runs, the process is SIGKILLed mid-session, and the next launch is offered exactly what the
autosave held, with the original project path."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
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
