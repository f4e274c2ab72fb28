"""load_project turns the cyclic garbage collector off while it reads (fewer full collections during an
open) and always leaves it as it found it: on, off, after a good project and after a damaged one."""

from __future__ import annotations

import gc

import pytest

from app.document import TimelineDocument
from app.errors import ProjectError
from app.project import load_project, save_project
from app.project import store as store_module


@pytest.fixture
def project(tmp_path):
    save_project(TimelineDocument(name="GC", rate=24), tmp_path / "GC.aiprod")
    return tmp_path / "GC.aiprod"


@pytest.fixture(autouse=True)
def restore_gc():
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def test_the_collector_is_off_during_the_load_and_on_after(project, monkeypatch):
    seen = []
    inner = store_module.parse

    def spying_parse(*args, **kwargs):
        seen.append(gc.isenabled())
        return inner(*args, **kwargs)

    monkeypatch.setattr(store_module, "parse", spying_parse)
    gc.enable()
    assert load_project(project).doc.name == "GC"
    assert seen == [False] and gc.isenabled()


def test_a_damaged_project_leaves_the_collector_on(project):
    (project / "project.otio").write_text("{ not json")
    gc.enable()
    with pytest.raises(ProjectError):
        load_project(project)
    assert gc.isenabled()


def test_a_collector_turned_off_by_the_caller_stays_off(project):
    gc.disable()
    load_project(project)
    assert not gc.isenabled()
