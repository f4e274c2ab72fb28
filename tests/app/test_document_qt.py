"""DocumentSignals bridges document notifications to a Qt signal."""

from __future__ import annotations

import opentimelineio as otio

from app.document import DocumentChange, TimelineDocument, TrackKind
from app.document.qt import DocumentSignals


def test_changes_arrive_as_qt_signals(qapp) -> None:
    doc = TimelineDocument()
    signals = DocumentSignals(doc)
    seen: list[DocumentChange] = []
    signals.changed.connect(seen.append)
    track = doc.add_track(TrackKind.VIDEO)
    doc.add_marker(otio.opentime.RationalTime(3, 24))
    assert [c.kind for c in seen] == ["tracks", "markers"] and seen[0].ids == (track,)
    signals.detach()
    doc.add_marker(otio.opentime.RationalTime(4, 24))
    assert len(seen) == 2
