"""app.gc_freeze: start-up's objects frozen out of the collector's walks (start-up's garbage collected first),
and a full collection at each project load once frozen, none before (command line tools, tests)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import gc_freeze


class Node:
    """A weak-referenceable object in a reference cycle: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


def dropped_cycle() -> weakref.ref:
    return weakref.ref(Node())


def in_collector_walks(obj: object) -> bool:
    return any(o is obj for o in gc.get_objects())  # the frozen (permanent) generation is not listed


@pytest.fixture
def collector(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The automatic collector off (so only the code under test collects), full collections recorded; the
    freeze undone afterwards so the suite's other tests see an ordinary collector."""
    full: list[int] = []

    def record(phase: str, info: dict) -> None:
        if phase == "start" and info["generation"] == 2:
            full.append(1)

    monkeypatch.setattr(gc_freeze, "_frozen", False)
    was_enabled = gc.isenabled()
    gc.disable()
    gc.callbacks.append(record)
    try:
        yield full
    finally:
        gc.callbacks.remove(record)
        gc.unfreeze()
        if was_enabled:
            gc.enable()


def test_freeze_collects_start_up_garbage_then_freezes_what_lives(collector):
    live = Node()
    garbage = dropped_cycle()
    assert garbage() is not None and in_collector_walks(live)

    frozen = gc_freeze.freeze_long_lived()

    assert frozen == gc.get_freeze_count() > 0
    assert garbage() is None  # collected, not frozen (a frozen cycle would live until unfreeze)
    assert not in_collector_walks(live)  # frozen: full collections no longer walk it
    later = Node()
    assert in_collector_walks(later)  # what is made afterwards stays collectable


def test_no_collection_at_a_load_unless_the_studio_froze_its_start_up(collector):
    garbage = dropped_cycle()
    assert gc_freeze.collect_if_frozen() == 0
    assert collector == [] and garbage() is not None  # command line and tests: no full collection added

    gc_freeze.freeze_long_lived()  # (collects the garbage above)
    collector.clear()
    garbage = dropped_cycle()
    assert gc_freeze.collect_if_frozen() >= 1
    assert collector == [1] and garbage() is None


def test_collection_skipped_when_the_freeze_was_undone(collector):
    gc_freeze.freeze_long_lived()
    gc.unfreeze()  # everything back in the walks: a full collection would be the 0.2-0.4 s kind again
    collector.clear()
    garbage = dropped_cycle()
    assert gc_freeze.collect_if_frozen() == 0
    assert collector == [] and garbage() is not None


def _small_project(folder: Path) -> Path:
    from app.document import TimelineDocument
    from app.project import save_project

    target = folder / "Small.aiprod"
    save_project(TimelineDocument(name="Small", rate=24), target)
    return target


def test_a_project_load_frees_what_earlier_loads_dropped_once_frozen(collector, tmp_path):
    from app.project import load_project

    project = _small_project(tmp_path)
    garbage = dropped_cycle()
    assert load_project(project).doc.name == "Small"
    assert collector == [] and garbage() is not None  # not frozen: the load adds no collection

    gc_freeze.freeze_long_lived()
    collector.clear()
    garbage = dropped_cycle()  # stands for the document the last open replaced
    assert load_project(project).doc.name == "Small"
    assert collector == [1] and garbage() is None
    assert gc.isenabled() is False  # the load left the collector as it found it (off here)
