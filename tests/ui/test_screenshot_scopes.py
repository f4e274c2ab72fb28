"""Screenshot of the Scopes dock beside the viewer on a graded clip (artifacts/screenshots/scopes.png), and
one picture of the panel per mode (scopes_<mode>.png) for a human to look at."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from opentimelineio.opentime import RationalTime
from PySide6.QtCore import Qt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_screenshot import SCREENSHOTS, _distinct_colours, _save, _scene, themed_window  # noqa: E402, F401

from app.color import scopes  # noqa: E402
from app.commands import push_edit  # noqa: E402
from app.document import TrackKind  # noqa: E402


def test_scopes_screenshot(themed_window, qtbot, tmp_path):  # noqa: F811
    window = themed_window
    window.resize(1600, 1000)
    doc, stack = window.session.doc, window.session.stack
    paths = [
        _scene(tmp_path / "harbour_dawn.mov", (0.95, 0.55, 0.35)),
        _scene(tmp_path / "blue_hour.mov", (0.25, 0.35, 0.75)),
    ]
    ids = window.media_bin.import_files([str(p) for p in paths])
    video = doc.tracks(TrackKind.VIDEO)[0].id

    def arrange(d):  # noqa: ANN001, ANN202
        d.insert(ids[0], video, RationalTime(0, 24))
        d.insert(ids[1], video, RationalTime(72, 24))
        first = d.clips(video)[0].id
        d.set_clip_grade(first, {"look": "teal_orange", "cdl": {"saturation": 1.15}, "exposure": 0.2})
        return first

    first = push_edit(stack, doc, "Arrange", arrange)
    window.timeline.zoom_to_fit()
    window.timeline.select([first])
    panel = window.scopes_panel
    with qtbot.waitSignal(panel.updated, timeout=20_000):
        window.scopes_action.trigger()
    panel.set_mode("parade")
    window.seek(40)
    qtbot.waitUntil(lambda: panel.info.get("frame") == 40 and panel.scope().mode == "parade", timeout=20_000)
    window.resizeDocks([window.timeline_dock, window.scopes_dock], [900, 560], Qt.Orientation.Horizontal)
    window.thumbnails.wait(10_000)
    qtbot.wait(300)
    image = window.grab().toImage()
    _save(image, "scopes.png", window)
    assert _distinct_colours(image) > 40
    # The graded clip's parade in the picture: red above blue (a warm sky through teal and orange).
    counts = panel.scope().counts
    top = [int(np.nonzero(counts[c].sum(axis=1))[0][0]) for c in range(3)]
    assert top[0] < top[2]
    for mode in scopes.MODES:
        panel.set_mode(mode)
        qtbot.waitUntil(lambda m=mode: panel.scope() is not None and panel.scope().mode == m, timeout=20_000)
        qtbot.wait(50)
        assert panel.grab().toImage().save(str(SCREENSHOTS / f"scopes_{mode}.png"))
