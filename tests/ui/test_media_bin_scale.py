"""A big bin asks for thumbnails lazily: only the rows on screen, and more as they scroll into view."""

from __future__ import annotations

import os
from fractions import Fraction

import pytest
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage, QUndoStack

from app.document import MediaItem, TimelineDocument
from app.media.info import MediaInfo
from ui.media_bin import MEDIA_ID_ROLE, MISSING_ROLE, MediaBin

ENTRIES = 1000


class _CountingProvider(QObject):
    """Stands in for ThumbnailProvider: records each request and answers later (None, as for a decode)."""

    ready = Signal(object, QImage)

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[str] = []

    def request_thumbnail(self, path: str, index: int = 0, height: int = 72) -> None:
        self.requests.append(path)
        return None


def _info(path: str) -> MediaInfo:
    return MediaInfo(
        path,
        "mov,mp4,m4a,3gp,3g2,mj2",
        True,
        False,
        1920,
        1080,
        Fraction(24),
        240,
        "h264",
        "yuv420p",
        None,
        0,
        0,
        10_000_000,
        1 << 20,
        1,
    )


@pytest.fixture
def big_doc(tmp_path) -> TimelineDocument:
    doc = TimelineDocument(name="Big bin", rate=24)
    for index in range(ENTRIES):
        path = tmp_path / f"shot_{index:04d}.mov"
        path.write_bytes(b"")  # a stand-in file: present, so not "missing"
        doc.add_bin_item(MediaItem(f"m{index}", str(path), path.name, _info(str(path))))
    return doc


def _visible_paths(widget: MediaBin) -> set[str]:
    view, viewport = widget.view, widget.view.viewport().rect()
    out = set()
    for row in range(widget.model.rowCount()):
        index = widget.model.index(row, 0)
        if view.visualRect(index).intersects(viewport):
            out.add(widget._doc.bin_item(index.data(MEDIA_ID_ROLE)).path)
    return out


def _shown_bin(qtbot, doc, provider) -> MediaBin:  # noqa: ANN001
    """The bin on screen (420 x 480) once it has asked its first thumbnails."""
    widget = MediaBin(doc, QUndoStack(), provider)
    qtbot.addWidget(widget)
    widget.resize(420, 480)
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.waitUntil(lambda: len(provider.requests) > 0)
    return widget


def test_a_big_bin_asks_thumbnails_only_for_visible_rows_and_more_on_scroll(qtbot, big_doc):
    provider = _CountingProvider()
    widget = _shown_bin(qtbot, big_doc, provider)
    qtbot.wait(50)  # any other batch of this turn
    first = set(provider.requests)
    visible = _visible_paths(widget)
    assert visible and first == visible  # exactly the rows on screen, none of the other ~990
    assert len(provider.requests) == len(first)  # each asked once
    assert widget.model.rowCount() == ENTRIES

    bar = widget.view.verticalScrollBar()
    bar.setValue(bar.maximum())
    last = str(big_doc.bin_item(f"m{ENTRIES - 1}").path)
    qtbot.waitUntil(lambda: last in provider.requests)
    qtbot.wait(50)
    now_visible = _visible_paths(widget)
    assert now_visible <= set(provider.requests)  # the rows scrolled into view were asked for
    assert set(provider.requests) == first | now_visible  # and nothing in between
    assert len(provider.requests) < ENTRIES // 10


def test_a_thumbnail_that_arrives_replaces_the_placeholder_of_its_rows(qtbot, big_doc):
    provider = _CountingProvider()
    widget = _shown_bin(qtbot, big_doc, provider)
    path = provider.requests[0]
    image = QImage(96, 54, QImage.Format.Format_RGB888)
    image.fill(Qt.GlobalColor.red)
    provider.ready.emit((path, 120, 54), image)
    index = widget.model.index(0, 0)
    icon = index.data(Qt.ItemDataRole.DecorationRole)
    assert icon.pixmap(96, 54).toImage().pixelColor(48, 27).red() == 255
    other = widget.model.index(1, 0).data(Qt.ItemDataRole.DecorationRole)
    assert other.pixmap(96, 54).toImage().pixelColor(48, 27).red() != 255


def test_missing_files_in_a_big_bin_are_marked_and_never_asked_for(qtbot, big_doc):
    gone = big_doc.bin_item("m1").path
    os.remove(gone)
    provider = _CountingProvider()
    widget = _shown_bin(qtbot, big_doc, provider)
    qtbot.wait(50)
    assert widget.model.index(1, 0).data(MISSING_ROLE) is True
    assert widget.model.index(0, 0).data(MISSING_ROLE) is False
    assert gone not in provider.requests and big_doc.bin_item("m0").path in provider.requests
