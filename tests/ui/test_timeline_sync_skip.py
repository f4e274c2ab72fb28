"""The timeline view re-reads only the clips whose record changed: at 500 clips an edit's redraw stays cheap,
and the clip that did change still shows its new state."""

from __future__ import annotations

from PySide6.QtGui import QUndoStack
from timeline_helpers import RATE, fake_media, make_view, rt, span, track_id

from app.document import TimelineDocument
from ui.timeline.view import TimelineView


def _setup(qtbot, count: int = 12):
    doc = TimelineDocument(name="skip", rate=RATE)
    v1 = track_id(doc, "V1")
    for i in range(count):
        fake_media(doc, f"s{i}", frames=120, audio=True)
        doc.overwrite(f"m-s{i}", v1, rt(40 * i), span(0, 40))
    view = make_view(qtbot, doc, QUndoStack(), (1000, 320))
    return doc, view, v1


def _count_looks(monkeypatch) -> list[str]:
    made: list[str] = []
    original = TimelineView._look

    def counting(self, clip, row, media, rate):
        made.append(clip.id)
        return original(self, clip, row, media, rate)

    monkeypatch.setattr(TimelineView, "_look", counting)
    return made


def test_an_edit_rereads_only_the_changed_clip(qtbot, monkeypatch):
    doc, view, v1 = _setup(qtbot)
    target = doc.clips(v1)[5]
    made = _count_looks(monkeypatch)
    doc.set_clip_gain(target.id, -6.0)
    qtbot.waitUntil(lambda: view.clip_item(target.id).look.gain_db == -6.0)
    assert made == [target.id]  # the other 23 clips (video and sound) kept their looks
    others = [c for c in doc.clips(v1) if c.id != target.id]
    assert all(view.clip_item(c.id).look.gain_db == c.gain_db for c in others)


def test_a_row_change_reaches_every_clip_of_the_row(qtbot, monkeypatch):
    doc, view, v1 = _setup(qtbot, count=4)
    made = _count_looks(monkeypatch)
    doc.set_track_enabled(v1, False)
    ids = [c.id for c in doc.clips(v1)]
    qtbot.waitUntil(lambda: all(not view.clip_item(i).look.enabled for i in ids))
    assert sorted(made) == sorted(ids)  # the same records, a different row: read again


def test_a_relinked_entry_reaches_its_clips(qtbot, monkeypatch, tmp_path):
    doc, view, v1 = _setup(qtbot, count=3)
    clip = doc.clips(v1)[1]
    entry = doc.bin_item(clip.media_id)
    made = _count_looks(monkeypatch)
    new_path = str(tmp_path / "moved.mov")
    doc.relink(entry.id, new_path, entry.info)
    qtbot.waitUntil(lambda: view.clip_item(clip.id).look.path == new_path)
    assert clip.id in made and doc.clips(v1)[0].id not in made
