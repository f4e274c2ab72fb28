"""Four-point fit to fill through the window: four marks of different lengths, the question's "Fit to Fill
(speed NN%)" button, the placed clip spans the timeline range and the timeline viewer plays the whole source
range at the speed (frames identified by the picture make_video draws); one undo step; the clip's speed in
the timeline label and the inspector."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from media_builders import decoded_index
from PySide6.QtWidgets import QMessageBox

from tests.ui import test_source_viewer as shared
from tests.ui.test_source_viewer import mark_source, mark_timeline, on_timeline, put_base, v1
from ui.main_window import MainWindow

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"  # docs/ holds the README copy

pytestmark = pytest.mark.usefixtures("data_dir")  # tests/ui/conftest.py
window, media = shared.window, shared.media  # the same fixtures: the window; "base" and "source" in its bin


def click_in_question(monkeypatch, starts: str, seen: list[str]) -> None:  # noqa: ANN001
    """The four-point question answered by clicking its button whose text starts with ``starts``."""

    def answer(box: QMessageBox) -> int:
        seen.extend(b.text() for b in box.buttons())
        button = next(b for b in box.buttons() if b.text().startswith(starts))
        button.click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", answer)


def timeline_shows(qtbot, window: MainWindow, frame: int) -> int:  # noqa: ANN001
    window.seek(frame)
    viewer = window.viewer
    qtbot.waitUntil(lambda: viewer.shown_frame == frame, timeout=10000)
    return decoded_index(viewer.current_frame_array())


@pytest.mark.parametrize(("source", "record"), [((10, 39), (10, 19)), ((5, 14), (20, 39))])
def test_fit_to_fill_spans_the_record_range_and_plays_the_whole_source_range(
    window, media, qtbot, monkeypatch, source, record
):
    base, src = media
    put_base(window, base)
    window.load_source(src)
    mark_source(window, *source)
    mark_timeline(window, *record)
    seen: list[str] = []
    click_in_question(monkeypatch, "Fit to Fill", seen)
    steps = window.session.stack.count()
    on_timeline(window, ".")  # overwrite
    src_len, rec_len = source[1] - source[0] + 1, record[1] - record[0] + 1
    speed = src_len / rec_len
    assert f"Fit to Fill (speed {speed:.0%})" in seen and "Trim to Shorter" in seen
    assert window.session.stack.count() == steps + 1
    placed = [c for c in v1(window) if c[0] == src]
    assert placed == [(src, record[0], rec_len, source[0])]  # the whole record range, from the source in
    doc = window.session.doc
    (clip,) = [c for c in doc.clips(doc.tracks()[0].id) if c.media_id == src]
    assert clip.speed == pytest.approx(speed)
    assert "fit to fill" in window.statusBar().currentMessage()
    shown = [timeline_shows(qtbot, window, f) for f in range(record[0], record[1] + 1)]
    assert shown == [source[0] + math.floor(k * speed + 1e-6) for k in range(rec_len)]
    assert shown[0] == source[0] and source[1] - speed < shown[-1] <= source[1]
    # the timeline names the speed on the clip, the inspector in a row
    item = window.timeline.clip_item(clip.id)
    assert item is not None and item.look.speed == pytest.approx(speed)
    window.inspector.show_clip(clip.id)
    assert window.inspector.field_text("Speed") == f"{speed * 100:.0f}%"
    if source == (10, 39):
        window.timeline.zoom_to_fit()  # wide enough to read the clip's "300%"
        qtbot.wait(50)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(SCREENSHOTS / "fit_to_fill.png"))
    window.session.stack.undo()
    assert [c for c in v1(window) if c[0] == src] == []


def test_trim_is_still_offered_beside_fit(window, media, qtbot, monkeypatch):
    base, src = media
    put_base(window, base)
    window.load_source(src)
    mark_source(window, 0, 19)
    mark_timeline(window, 10, 14)
    click_in_question(monkeypatch, "Trim to Shorter", [])
    on_timeline(window, ",")
    assert v1(window) == [(base, 0, 10, 0), (src, 10, 5, 0), (base, 15, 38, 10)]
    doc = window.session.doc
    assert all(c.speed == 1.0 for c in doc.clips(doc.tracks()[0].id))
