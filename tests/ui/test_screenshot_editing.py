"""Screenshot of the editing commands (artifacts/screenshots/editing_commands.png): a locked track (padlock
lit, clips hatched), a disabled clip (dimmed), a pasted copy, coloured markers with notes, its dialog."""

from __future__ import annotations

import sys
from pathlib import Path

from opentimelineio.opentime import RationalTime, TimeRange
from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor, QPainter, QPen

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_screenshot import _distinct_colours, _save, _scene, themed_window  # noqa: E402, F401

from app.commands import push_edit  # noqa: E402
from app.document import TrackKind  # noqa: E402
from app.document.clipboard import copy_clips, paste  # noqa: E402


def rt(frame: int) -> RationalTime:
    return RationalTime(frame, 24)


def test_editing_commands_screenshot(themed_window, qtbot, tmp_path):  # noqa: F811
    window = themed_window
    window.resize(1600, 1000)
    doc, stack = window.session.doc, window.session.stack
    dusk = _scene(tmp_path / "dusk.mov", (0.9, 0.45, 0.2), frames=72)
    sea = _scene(tmp_path / "sea.mov", (0.2, 0.45, 0.85), frames=72)
    ids = window.media_bin.import_files([str(dusk), str(sea)])

    def build(d):  # noqa: ANN001, ANN202
        v1 = d.tracks(TrackKind.VIDEO)[0].id
        first = d.insert(ids[0], v1, rt(0), TimeRange(rt(0), rt(48)))
        second = d.insert(ids[1], v1, rt(48), TimeRange(rt(0), rt(60)))
        d.set_clip_grade(first[0], {"exposure": 0.5})
        paste(d, copy_clips(d, [first[0]]), rt(120))  # a copy, grade and sound along
        v2 = d.add_track(TrackKind.VIDEO)
        d.overwrite(ids[1], v2, rt(20), TimeRange(rt(10), rt(40)), with_audio=False)
        d.set_clips_enabled(second, False)  # the sea shot and its sound: dimmed, plays as nothing
        d.set_track_locked(d.tracks(TrackKind.AUDIO)[0].id, True)
        for frame, name, colour, note in (
            (12, "Open", "GREEN", "approved"),
            (60, "Sky flickers", "ORANGE", "regenerate with seed 9"),
            (140, "Music in", "PURPLE", ""),
        ):
            marker = d.add_marker(rt(frame))
            d.edit_marker(marker, name=name, note=note, color=colour)

    push_edit(stack, doc, "Build", build)
    window.timeline.set_pixels_per_frame(5.0)
    window.timeline.select([doc.clips(doc.tracks(TrackKind.VIDEO)[0].id)[2].id])
    window.seek(30)
    qtbot.wait(300)
    marker = next(m for m in doc.markers() if m.name == "Sky flickers")
    dialog = window.editing.edit_marker(marker.id)
    qtbot.waitExposed(dialog)
    image = window.grab().toImage()
    # the dialog is its own window: paint it over the window's grab, near the timeline, as a user sees it
    painter = QPainter(image)
    spot = QPoint(24, 300)  # over the left docks, clear of the viewer and the timeline
    painter.drawImage(spot, dialog.grab().toImage())
    painter.setPen(QPen(QColor(240, 150, 50), 2))
    painter.drawRect(spot.x() - 1, spot.y() - 1, dialog.width() + 1, dialog.height() + 1)
    painter.end()
    dialog.close()
    _save(image, "editing_commands.png", window)
    assert _distinct_colours(image) > 40
