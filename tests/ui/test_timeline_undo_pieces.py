"""Undo by pieces emits narrow changes ("clips", "tracks", "markers", "bin") instead of "reset": the timeline
view and the media bin still show exactly the undone and redone state."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QUndoStack
from timeline_helpers import RATE, fake_media, frames, make_view, rt, span, track_id

from app.commands import push_edit
from app.document import TimelineDocument, TrackKind
from app.document.pieces import PieceTracker
from ui.media_bin import MEDIA_ID_ROLE, MediaBin


@pytest.fixture(autouse=True)
def verify_pieces(monkeypatch):
    monkeypatch.setattr(PieceTracker, "verify", True)


@pytest.fixture
def setup(qtbot):
    doc = TimelineDocument(name="undo", rate=RATE)
    for name in ("a", "b", "c"):
        fake_media(doc, name, frames=120, audio=True)
    v1 = track_id(doc, "V1")
    for i, name in enumerate("abc"):
        doc.overwrite(f"m-{name}", v1, rt(40 * i), span(0, 40))
    stack = QUndoStack()
    view = make_view(qtbot, doc, stack, (1000, 320))
    return doc, stack, view, v1


def shown(view, doc) -> list[tuple[str, int, int]]:
    """(clip id, start, duration) of every clip item the view draws, in timeline order."""
    out = []
    for track in doc.tracks():
        for clip in doc.clips(track.id):
            item = view.clip_item(clip.id)
            assert item is not None, clip.id
            out.append((clip.id, item.look.start, item.look.duration))
    assert len(view._items) == len(out)  # nothing left over from an undone clip
    return out


def expected(doc) -> list[tuple[str, int, int]]:
    return [(c.id, frames(c.start), frames(c.duration)) for t in doc.tracks() for c in doc.clips(t.id)]


def test_the_view_follows_undo_and_redo_of_trims_moves_splits_and_deletes(setup, qtbot):
    doc, stack, view, v1 = setup
    first, middle, last = (c.id for c in doc.clips(v1))
    edits = [
        ("Trim", lambda d: d.trim_out(middle, rt(-10), ripple=True)),
        ("Move", lambda d: d.move_clip(last, v1, rt(200))),
        ("Split", lambda d: d.split(first, rt(15))),
        ("Delete", lambda d: d.ripple_delete([middle])),
    ]
    states = [expected(doc)]
    for text, apply in edits:
        push_edit(stack, doc, text, apply)
        states.append(expected(doc))
        assert shown(view, doc) == states[-1]
    for state in reversed(states[:-1]):
        stack.undo()
        assert expected(doc) == state
        assert shown(view, doc) == state  # the view redrew from a "clips" change, not a "reset"
    for state in states[1:]:
        stack.redo()
        assert shown(view, doc) == state


def test_the_view_adds_and_drops_rows_and_markers_on_undo(setup):
    doc, stack, view, v1 = setup
    rows = len(view.rows())
    push_edit(stack, doc, "Track", lambda d: d.add_track(TrackKind.VIDEO))
    push_edit(stack, doc, "Marker", lambda d: d.add_marker(rt(30), "here"))
    view.clip_item(doc.clips(v1)[0].id)  # (syncs)
    assert len(view.rows()) == rows + 1 and [m[0] for m in view.marker_frames()] == [30]
    stack.undo()
    view.clip_item(doc.clips(v1)[0].id)
    assert view.marker_frames() == []
    stack.undo()
    view.clip_item(doc.clips(v1)[0].id)
    assert len(view.rows()) == rows
    stack.redo()
    view.clip_item(doc.clips(v1)[0].id)
    assert len(view.rows()) == rows + 1


def test_the_media_bin_follows_undo_of_an_import_and_a_removal(setup, qtbot):
    doc, stack, _view, _v1 = setup
    bin_widget = MediaBin(doc, stack)
    qtbot.addWidget(bin_widget)

    def listed() -> set[str]:
        model = bin_widget.model
        return {model.index(row, 0).data(MEDIA_ID_ROLE) for row in range(model.rowCount())}

    before = listed()
    assert before == {"m-a", "m-b", "m-c"}
    push_edit(stack, doc, "Import", lambda d: fake_media(d, "d"))
    assert listed() == before | {"m-d"}
    stack.undo()
    assert listed() == before  # the bin refreshed on a "bin" change, not a "reset"
    stack.redo()
    assert listed() == before | {"m-d"}
    push_edit(stack, doc, "Remove", lambda d: d.remove_bin_item("m-d"))
    assert listed() == before
    stack.undo()
    assert listed() == before | {"m-d"}
