"""The studio freezes its start-up objects out of the garbage collector's full collections (app.gc_freeze),
and does so before any project opens: a project's document is never frozen, so one replaced by the next
open is freed (a frozen one would leak until the studio quits).

Runs ``ui.main.main()`` in a child process (the freeze is process-wide and cannot be undone for the suite's
other tests without changing what they see), with a project on the command line and QApplication.exec
replaced by a driver that checks from inside the running studio and quits.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

DRIVER = r"""
import gc, json, sys, weakref
from PySide6.QtCore import QEvent, QTimer
from PySide6.QtWidgets import QApplication

out, project = sys.argv[1], sys.argv[2]
result = {}


def tracked(obj):
    # gc.get_objects() lists the generations the collector walks; the frozen (permanent) one is not among them
    return any(o is obj for o in gc.get_objects())


def drive():
    try:
        app = QApplication.instance()
        window = next(w for w in app.topLevelWidgets() if type(w).__name__ == "MainWindow")
        session = window.project.session
        result["frozen_after_start"] = gc.get_freeze_count()
        result["window_state_frozen"] = not tracked(window.__dict__)
        result["opened_path"] = str(session.path)
        result["opened_doc_frozen"] = not tracked(session.doc)
        del session  # or this reference keeps the first document alive
        replaced = []
        for _ in range(3):
            replaced.append(weakref.ref(window.project.session.doc))
            assert window.project.open_project(project)
            app.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # the old session's deleteLater
            app.processEvents()
        gc.collect()
        result["replaced_docs_alive"] = sum(ref() is not None for ref in replaced)
        result["current_doc_frozen"] = not tracked(window.project.session.doc)
        result["frozen_after_opens"] = gc.get_freeze_count()
    except Exception as exc:
        result["error"] = repr(exc)
    window.close()
    app.quit()


real_exec = QApplication.exec


def exec_and_drive(*_args):
    QTimer.singleShot(0, drive)
    return real_exec()


QApplication.exec = exec_and_drive
from ui.main import main

code = main(["aiprod-studio", project])
result["exit_code"] = code
with open(out, "w") as handle:
    json.dump(result, handle)
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    from app.document import TimelineDocument
    from app.project import save_project

    doc = TimelineDocument(name="Frozen or not", rate=24)
    target = tmp_path / "Frozen.aiprod"
    save_project(doc, target)
    return target


def test_the_studio_freezes_start_up_objects_but_never_a_project(tmp_path: Path, project: Path):
    out = tmp_path / "result.json"
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "AIPROD_DATA_DIR": str(tmp_path / "data"),
        "AIPROD_STATE_DIR": str(tmp_path / "state"),
        "PYTHONPATH": str(REPO_ROOT),
    }
    run = subprocess.run([sys.executable, str(script), str(out), str(project)], cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, timeout=240)  # fmt: skip
    assert out.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(out.read_text())
    assert "error" not in result, result
    assert result["exit_code"] == 0
    # start-up's objects (the main window's among them) are out of the collector's walks...
    assert result["frozen_after_start"] > 0 and result["window_state_frozen"]
    # ...but the project named on the command line, opened after the freeze, is not frozen,
    assert result["opened_path"] == str(project) and not result["opened_doc_frozen"]
    # and the documents replaced by later opens are freed: nothing is frozen after start-up
    assert result["replaced_docs_alive"] == 0 and not result["current_doc_frozen"]
    assert result["frozen_after_opens"] == result["frozen_after_start"]
