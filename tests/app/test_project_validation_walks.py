"""check_tree's quick walk (the common "all good" answer) and its careful walk (the one naming the place)
agree: every tree the careful walk refuses, the quick one refuses too, and a saved project passes both."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from opentimelineio.opentime import RationalTime

from app.document import MediaItem, TimelineDocument, TrackKind
from app.errors import ProjectError
from app.media.info import MediaInfo
from app.project import save_project
from app.project.validation import MAX_DEPTH, _check_tree_named, _tree_is_clean, check_tree


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("walks")
    doc = TimelineDocument(name="Walks", rate=24)
    v1 = doc.tracks(TrackKind.VIDEO)[0].id
    for index in range(3):
        path = folder / f"shot{index}.mov"
        path.write_bytes(b"")
        info = MediaInfo(
            str(path), "mov", True, True, 64, 36, 24, 48, "h264", "yuv420p", "aac", 48000, 2, 96000, 1, 1
        )
        doc.add_bin_item(MediaItem(f"m{index}", str(path), path.name, info))
        doc.overwrite(f"m{index}", v1, RationalTime(index * 24, 24))
    save_project(doc, folder / "W.aiprod")
    return json.loads((folder / "W.aiprod" / "project.otio").read_text())


def _schema(node, schema: str, out: list) -> list:
    """Every dict under ``node`` whose OTIO_SCHEMA is ``schema`` (any version), in document order."""
    if isinstance(node, dict):
        if str(node.get("OTIO_SCHEMA", "")).startswith(schema + "."):
            out.append(node)
        for value in node.values():
            _schema(value, schema, out)
    elif isinstance(node, list):
        for value in node:
            _schema(value, schema, out)
    return out


def _times(node, out):
    return _schema(node, "RationalTime", out)


def _ranges(node, out):
    return _schema(node, "TimeRange", out)


def _nest(depth: int):
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


def test_a_saved_project_is_clean_for_both_walks(raw):
    assert _tree_is_clean(raw)
    with pytest.raises(ProjectError, match="impossible"):  # the careful walk finds nothing to name
        _check_tree_named(raw, Path("p.otio"))
    check_tree(raw, Path("p.otio"))  # and the public check lets it through


MUTATIONS = {
    "rate 0": lambda t: _times(t, [])[-1].update(rate=0),
    "rate NaN": lambda t: _times(t, [])[0].update(rate=float("nan")),
    "value inf": lambda t: _times(t, [])[1].update(value=float("inf")),
    "a year": lambda t: _times(t, [])[2].update(value=24 * 3600 * 365 * 24.0, rate=24),
    "text value": lambda t: _times(t, [])[0].update(value="3"),
    "negative duration": lambda t: _ranges(t, [])[-1]["duration"].update(value=-1),
    "huge int": lambda t: t["metadata"].update(big=2**64),
    "aiprod not a table": lambda t: t["tracks"].update(metadata={"aiprod": [1]}),
    "too deep": lambda t: t["metadata"].update(deep=_nest(MAX_DEPTH)),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_what_the_careful_walk_refuses_the_quick_walk_refuses(raw, name):
    tree = copy.deepcopy(raw)
    MUTATIONS[name](tree)
    assert not _tree_is_clean(tree)
    with pytest.raises(ProjectError, match="damaged") as named:
        _check_tree_named(tree, Path("p.otio"))
    assert "impossible" not in str(named.value)  # it names the problem, not the fallback
    with pytest.raises(ProjectError) as public:
        check_tree(tree, Path("p.otio"))
    assert str(public.value) == str(named.value)


def test_nesting_just_within_the_limit_is_clean_for_both(raw):
    tree = copy.deepcopy(raw)
    tree["metadata"]["deep"] = _nest(MAX_DEPTH - 3)  # timeline > metadata > deep: the leaf at MAX_DEPTH
    assert _tree_is_clean(tree)
    check_tree(tree, Path("p.otio"))
