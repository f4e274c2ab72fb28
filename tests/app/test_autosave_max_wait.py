"""Autosave under steady editing: the debounce waits for a pause, the maximum wait does not.

Timings are driven through QTimer with pytest-qt's ``qtbot`` (short intervals, same code paths as the
defaults); the real defaults are checked as values, since waiting 10 s in a unit test would be waste.
"""

from __future__ import annotations

import time

from app.project.autosave import AUTOSAVE_DELAY_MS, AUTOSAVE_MAX_WAIT_MS, Autosave


def test_the_defaults_are_the_promise_in_the_readme() -> None:
    autosave = Autosave(lambda: None)
    assert (autosave.delay_ms, autosave.max_wait_ms) == (AUTOSAVE_DELAY_MS, AUTOSAVE_MAX_WAIT_MS)
    assert (AUTOSAVE_DELAY_MS, AUTOSAVE_MAX_WAIT_MS) == (3000, 10000)
    assert AUTOSAVE_MAX_WAIT_MS > AUTOSAVE_DELAY_MS  # otherwise the debounce would never matter


def test_steady_editing_is_written_within_the_maximum_wait(qtbot) -> None:  # noqa: ANN001
    writes: list[float] = []
    autosave = Autosave(lambda: writes.append(time.monotonic()), delay_ms=200, max_wait_ms=600)
    start = time.monotonic()
    # An edit every 50 ms for 1.5 s: the 200 ms debounce alone would never fire.
    while time.monotonic() - start < 1.5:
        autosave.schedule()
        qtbot.wait(50)
    assert writes, "no autosave during steady editing"
    assert writes[0] - start < 0.6 + 0.3  # the first write within the maximum wait (plus timer slack)
    assert len(writes) >= 2  # and it keeps writing while the editing goes on
    gaps = [b - a for a, b in zip([start, *writes], writes, strict=False)]
    assert max(gaps) < 0.6 + 0.3


def test_a_burst_still_costs_one_write_after_the_pause(qtbot) -> None:  # noqa: ANN001
    writes: list[float] = []
    autosave = Autosave(lambda: writes.append(time.monotonic()), delay_ms=100, max_wait_ms=5000)
    for _ in range(20):
        autosave.schedule()
    qtbot.waitUntil(lambda: len(writes) == 1, timeout=2000)
    qtbot.wait(300)
    assert len(writes) == 1 and not autosave.pending


def test_the_maximum_wait_counts_from_the_first_edit_after_a_write(qtbot) -> None:  # noqa: ANN001
    writes: list[float] = []
    autosave = Autosave(lambda: writes.append(time.monotonic()), delay_ms=150, max_wait_ms=500)
    autosave.schedule()
    qtbot.waitUntil(lambda: len(writes) == 1, timeout=2000)  # debounce write after a pause
    qtbot.wait(700)  # idle longer than the maximum wait: nothing is due, nothing is written
    assert len(writes) == 1 and not autosave.pending
    first_edit = time.monotonic()
    while len(writes) < 2 and time.monotonic() - first_edit < 2:
        autosave.schedule()
        qtbot.wait(40)
    assert len(writes) == 2
    assert writes[1] - first_edit < 0.5 + 0.3


def test_a_maximum_wait_below_the_debounce_is_raised_to_it() -> None:
    assert Autosave(lambda: None, delay_ms=400, max_wait_ms=100).max_wait_ms == 400


def test_cancel_stops_both_timers(qtbot) -> None:  # noqa: ANN001
    writes: list[int] = []
    autosave = Autosave(lambda: writes.append(1), delay_ms=50, max_wait_ms=100)
    autosave.schedule()
    autosave.cancel()
    assert not autosave.pending
    qtbot.wait(250)
    assert writes == []


def test_a_session_edited_steadily_writes_its_recovery_within_the_maximum_wait(qtbot, tmp_path, monkeypatch):  # noqa: ANN001
    from opentimelineio.opentime import RationalTime

    from app.commands import push_edit
    from app.project import recovery
    from app.project.session import ProjectSession

    monkeypatch.setenv("AIPROD_DATA_DIR", str(tmp_path / "data"))
    session = ProjectSession(autosave_ms=300, autosave_max_ms=700)
    try:
        start = time.monotonic()
        edits = 0
        while not recovery.recovery_file(session.session_id).exists():
            assert time.monotonic() - start < 0.7 + 0.5, "no recovery copy while editing steadily"
            push_edit(
                session.stack, session.doc, "m", lambda d, n=edits: d.add_marker(RationalTime(n, 24), "m")
            )
            edits += 1
            qtbot.wait(100)  # an edit every 100 ms: the 300 ms debounce never runs out
        assert edits >= 4
    finally:
        session.close()
