"""The timeline view: drops (bin ids, file URLs), mouse moves and trims, snapping, zoom, selection, ruler.

Gestures are real Qt events sent to the view's viewport (drag-and-drop events, mouse press/move/release),
and the checks read the document and the undo stack, so a gesture that stops editing fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QObject, QPoint, QPointF, Qt, QUrl, Signal
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QImage,
    QMouseEvent,
    QUndoStack,
)
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from timeline_helpers import PPF, RATE, fake_media, frames, make_view, point, rt, span, track_id

from app.document import TimelineDocument, TrackKind
from ui.timeline.ruler import RULER_HEIGHT, RulerWidget
from ui.timeline.track_headers import HEADER_WIDTH, TrackHeaders
from ui.timeline_view import TimelineView

MIME = "application/x-aiprod-media-ids"
HEADER_OFFSET = QPoint(HEADER_WIDTH, RULER_HEIGHT)  # the viewport sits inside the view by this much
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture
def doc() -> TimelineDocument:
    return TimelineDocument(name="test", rate=RATE)


@pytest.fixture
def stack() -> QUndoStack:
    return QUndoStack()


@pytest.fixture
def view(qtbot, doc, stack) -> TimelineView:
    return make_view(qtbot, doc, stack, (1000, 320))


def mouse(
    view, kind, pos: QPoint, buttons=Qt.MouseButton.LeftButton, modifiers=Qt.KeyboardModifier.NoModifier
):
    button = Qt.MouseButton.NoButton if kind == QMouseEvent.Type.MouseMove else Qt.MouseButton.LeftButton
    held = Qt.MouseButton.NoButton if kind == QMouseEvent.Type.MouseButtonRelease else buttons
    local = QPointF(pos)
    event = QMouseEvent(kind, local, QPointF(view.viewport().mapToGlobal(pos)), button, held, modifiers)
    QApplication.sendEvent(view.viewport(), event)


def drag_mouse(view, start: QPoint, end: QPoint, modifiers=Qt.KeyboardModifier.NoModifier, steps: int = 6):
    mouse(view, QMouseEvent.Type.MouseButtonPress, start, modifiers=modifiers)
    for i in range(1, steps + 1):
        x = start.x() + (end.x() - start.x()) * i // steps
        y = start.y() + (end.y() - start.y()) * i // steps
        mouse(view, QMouseEvent.Type.MouseMove, QPoint(x, y), modifiers=modifiers)
    mouse(view, QMouseEvent.Type.MouseButtonRelease, end, modifiers=modifiers)


def drop(view: TimelineView, mime: QMimeData, pos: QPoint, modifiers=Qt.KeyboardModifier.NoModifier) -> bool:
    """Enter, move and drop at `pos` on the viewport; returns whether the drop was accepted."""
    actions = Qt.DropAction.CopyAction
    buttons = Qt.MouseButton.LeftButton
    enter = QDragEnterEvent(QPointF(pos), actions, mime, buttons, modifiers)
    QApplication.sendEvent(view.viewport(), enter)
    assert enter.isAccepted()
    move = QDragMoveEvent(QPointF(pos), actions, mime, buttons, modifiers)
    QApplication.sendEvent(view.viewport(), move)
    dropped = QDropEvent(QPointF(pos), actions, mime, buttons, modifiers)
    QApplication.sendEvent(view.viewport(), dropped)
    return dropped.isAccepted()


def ids_mime(*media_ids: str) -> QMimeData:
    mime = QMimeData()
    mime.setData(MIME, "\n".join(media_ids).encode("utf-8"))
    return mime


# ------------------------------------------------------------------------------------------------ layout
def test_tracks_are_drawn_top_video_first(view, doc):
    doc.add_track(TrackKind.VIDEO)
    doc.add_track(TrackKind.AUDIO)
    QApplication.processEvents()
    view.clip_item("none")  # forces the pending rebuild
    rows = view.rows()
    assert [r.name for r in rows] == ["V2", "V1", "A1", "A2"]
    assert all(a.bottom <= b.top for a, b in zip(rows, rows[1:], strict=False))


def test_clip_items_follow_the_document_and_undo(view, doc, stack):
    media = fake_media(doc, "a")
    v1 = track_id(doc, "V1")
    from app.commands import push_edit

    (clip,) = push_edit(stack, doc, "insert", lambda d: d.insert(media, v1, rt(24), source_range=span(0, 48)))
    item = view.clip_item(clip)
    assert item is not None
    assert item.pos().x() == pytest.approx(24 * PPF)
    assert item.boundingRect().width() == pytest.approx(48 * PPF)
    stack.undo()
    assert view.clip_item(clip) is None


# ------------------------------------------------------------------------------------------------- drops
def test_bin_drop_inserts_at_track_and_frame_as_one_undo_step(view, doc, stack):
    doc.add_track(TrackKind.VIDEO)
    a, b = fake_media(doc, "a", 48), fake_media(doc, "b", 72)
    QApplication.processEvents()
    assert drop(view, ids_mime(a, b), point(view, 60, "V2"))
    v2 = track_id(doc, "V2")
    clips = doc.clips(v2)
    assert [(c.media_id, frames(c.start), frames(c.duration)) for c in clips] == [(a, 60, 48), (b, 108, 72)]
    assert doc.clips(track_id(doc, "V1")) == []
    assert stack.count() == 1
    assert sorted(view.selected_clip_ids()) == sorted(c.id for c in clips)
    stack.undo()
    assert doc.clips(v2) == []


def test_bin_drop_with_ctrl_overwrites(view, doc, stack):
    a, b = fake_media(doc, "a", 96), fake_media(doc, "b", 24)
    v1 = track_id(doc, "V1")
    from app.commands import push_edit

    push_edit(stack, doc, "insert", lambda d: d.insert(a, v1, rt(0)))
    QApplication.processEvents()
    assert drop(view, ids_mime(b), point(view, 40, "V1"), modifiers=Qt.KeyboardModifier.ControlModifier)
    layout = [(c.media_id, frames(c.start), frames(c.duration)) for c in doc.clips(v1)]
    assert layout == [(a, 0, 40), (b, 40, 24), (a, 64, 32)]  # overwrite: the total length is unchanged


def test_drop_snaps_to_a_clip_end(view, doc, stack):
    a, b = fake_media(doc, "a", 48), fake_media(doc, "b", 24)
    v1 = track_id(doc, "V1")
    from app.commands import push_edit

    push_edit(stack, doc, "insert", lambda d: d.insert(a, v1, rt(0)))
    QApplication.processEvents()
    assert drop(view, ids_mime(b), point(view, 49.5, "V1"))  # 1.5 frames (6 px) past the end of clip a
    assert [frames(c.start) for c in doc.clips(v1)] == [0, 48]


def test_file_url_drop_imports_and_places_files_in_order(view, doc, stack, tmp_path):
    from media_builders import make_video

    first = make_video(tmp_path / "first.mp4", frames=24)
    second = make_video(tmp_path / "second.mkv", frames=36)
    dropped = []
    view.files_dropped.connect(lambda paths, track, frame: dropped.append((paths, track, frame)))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(first)), QUrl.fromLocalFile(str(second))])
    assert drop(view, mime, point(view, 12, "V1"))

    v1, a1 = track_id(doc, "V1"), track_id(doc, "A1")
    names = {item.id: Path(item.path).name for item in doc.bin_items()}
    video = [(names[c.media_id], frames(c.start), frames(c.duration)) for c in doc.clips(v1)]
    assert video == [("first.mp4", 12, 24), ("second.mkv", 36, 36)]
    assert len(doc.clips(a1)) == 2  # the files have sound: linked audio clips came along
    assert stack.count() == 1 and len(dropped) == 1 and dropped[0][1:] == (v1, 12)
    stack.undo()
    assert doc.bin_items() == [] and doc.clips(v1) == []


def test_unusable_drops_are_ignored_with_a_message(view, doc, stack, tmp_path):
    messages = []
    view.message.connect(messages.append)
    assert not drop(view, ids_mime("no-such-media"), point(view, 10, "V1"))
    remote = QMimeData()
    remote.setUrls([QUrl("https://example.com/clip.mp4")])
    assert not drop(view, remote, point(view, 10, "V1"))
    bad = tmp_path / "notes.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    broken = QMimeData()
    broken.setUrls([QUrl.fromLocalFile(str(bad))])
    assert not drop(view, broken, point(view, 10, "V1"))
    assert len(messages) == 3 and all(messages)
    assert stack.count() == 0 and doc.bin_items() == []


# ----------------------------------------------------------------------------------- mouse: move & trim
@pytest.fixture
def two_clips(view, doc, stack):
    """V1: clip A at 0-48, clip B at 100-148 (both with handles), the view in sync."""
    a, b = fake_media(doc, "a"), fake_media(doc, "b")
    v1 = track_id(doc, "V1")
    from app.commands import push_edit

    (clip_a,) = push_edit(stack, doc, "a", lambda d: d.insert(a, v1, rt(0), source_range=span(24, 48)))
    (clip_b,) = push_edit(stack, doc, "b", lambda d: d.overwrite(b, v1, rt(100), source_range=span(24, 48)))
    stack.clear()
    view.clip_item(clip_a)
    return clip_a, clip_b


def test_dragging_a_clip_moves_it_as_one_undo_step(view, doc, stack, two_clips):
    clip_a, clip_b = two_clips
    drag_mouse(view, point(view, 124, "V1"), point(view, 124 + 60, "V1"))
    assert frames(doc.clip(clip_b).start) == 160
    assert stack.count() == 1
    assert view.clip_item(clip_b).pos().x() == pytest.approx(160 * PPF)
    stack.undo()
    assert frames(doc.clip(clip_b).start) == 100


def test_dragging_a_clip_to_another_track(view, doc, stack, two_clips):
    clip_a, _ = two_clips
    doc.add_track(TrackKind.VIDEO)
    view.clip_item(clip_a)
    drag_mouse(view, point(view, 24, "V1"), point(view, 24, "V2"))
    assert doc.clip(clip_a).track_id == track_id(doc, "V2")
    assert frames(doc.clip(clip_a).start) == 0
    assert stack.count() == 1


def test_move_snaps_onto_an_edit_point_and_shows_the_snap_line(view, doc, stack, two_clips):
    clip_a, clip_b = two_clips
    start, end = point(view, 124, "V1"), point(view, 124 - 50, "V1")  # B's head to 50, 2 frames past A's end
    mouse(view, QMouseEvent.Type.MouseButtonPress, start)
    for x in range(start.x(), end.x() - 1, -20):
        mouse(view, QMouseEvent.Type.MouseMove, QPoint(x, start.y()))
    mouse(view, QMouseEvent.Type.MouseMove, end)
    assert view.snap_line_frame() == 48
    mouse(view, QMouseEvent.Type.MouseButtonRelease, end)
    assert view.snap_line_frame() is None
    assert frames(doc.clip(clip_b).start) == 48


def test_move_without_snapping_lands_where_dropped(view, doc, two_clips):
    _, clip_b = two_clips
    view.set_snapping(False)
    drag_mouse(view, point(view, 124, "V1"), point(view, 124 - 50, "V1"))
    assert frames(doc.clip(clip_b).start) == 50


def test_ctrl_drag_reorders_with_ripple(view, doc, stack, two_clips):
    clip_a, clip_b = two_clips
    v1 = track_id(doc, "V1")
    drag_mouse(
        view, point(view, 124, "V1"), point(view, 10, "V1"), modifiers=Qt.KeyboardModifier.ControlModifier
    )
    assert [c.id for c in doc.clips(v1)] == [clip_b, clip_a]
    assert stack.count() == 1


def test_dragging_the_out_edge_trims_live_as_one_undo_step(view, doc, stack, two_clips):
    clip_a, _ = two_clips
    edge = point(view, 48, "V1") - QPoint(2, 0)
    drag_mouse(view, edge, edge + QPoint(int(20 * PPF), 0), steps=5)
    assert frames(doc.clip(clip_a).duration) == 68
    assert stack.count() == 1
    stack.undo()
    assert frames(doc.clip(clip_a).duration) == 48


def test_dragging_the_in_edge_trims_the_head(view, doc, stack, two_clips):
    _, clip_b = two_clips
    edge = point(view, 100, "V1") + QPoint(2, 0)
    drag_mouse(view, edge, edge + QPoint(int(10 * PPF), 0))
    clip = doc.clip(clip_b)
    assert (frames(clip.start), frames(clip.duration), frames(clip.source_start)) == (110, 38, 34)
    assert stack.count() == 1


def test_ctrl_trim_ripples_later_clips(view, doc, stack, two_clips):
    clip_a, clip_b = two_clips
    edge = point(view, 48, "V1") - QPoint(2, 0)
    drag_mouse(view, edge, edge - QPoint(int(12 * PPF), 0), modifiers=Qt.KeyboardModifier.ControlModifier)
    assert frames(doc.clip(clip_a).duration) == 36
    assert frames(doc.clip(clip_b).start) == 88  # the clip after followed the ripple
    assert stack.count() == 1


# ------------------------------------------------------------------------------------ selection, zoom
def test_click_selects_and_shift_click_adds(view, doc, two_clips):
    clip_a, clip_b = two_clips
    seen = []
    view.selection_changed.connect(seen.append)
    QTest.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point(view, 20, "V1")
    )
    assert view.selected_clip_ids() == [clip_a]
    QTest.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, point(view, 120, "V1")
    )
    assert view.selected_clip_ids() == [clip_a, clip_b]
    assert view.clip_item(clip_b).selected
    QTest.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point(view, 70, "V1")
    )  # empty space between the clips
    assert view.selected_clip_ids() == []
    assert seen == [[clip_a], [clip_a, clip_b], []]
    view.select([clip_b, "unknown"])
    assert view.selected_clip_ids() == [clip_b]


def test_zoom_changes_pixels_per_frame_around_the_playhead(view, doc, two_clips):
    _, clip_b = two_clips
    view.set_playhead(100)
    before_x = view.frame_to_viewport_x(100)
    view.zoom_in()
    assert view.pixels_per_frame() == pytest.approx(PPF * 1.5)
    assert view.clip_item(clip_b).boundingRect().width() == pytest.approx(48 * PPF * 1.5)
    assert view.frame_to_viewport_x(100) == pytest.approx(before_x, abs=1.0)
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_Minus)
    assert view.pixels_per_frame() == pytest.approx(PPF)
    QTest.keyClick(view, Qt.Key.Key_Plus)
    assert view.pixels_per_frame() == pytest.approx(PPF * 1.5)
    view.set_pixels_per_frame(1e9)
    assert view.pixels_per_frame() <= 64


def test_clicking_and_dragging_the_ruler_moves_the_playhead(view):
    ruler = view.findChild(RulerWidget)
    moved = []
    view.playhead_changed.connect(moved.append)
    QTest.mouseClick(ruler, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(200, 10))
    assert view.playhead() == 50 and moved == [50]
    QTest.mousePress(ruler, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(40, 10))
    event = QMouseEvent(
        QMouseEvent.Type.MouseMove,
        QPointF(80, 10),
        QPointF(ruler.mapToGlobal(QPoint(80, 10))),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(ruler, event)
    QTest.mouseRelease(ruler, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(80, 10))
    assert moved == [50, 10, 20] and view.playhead() == 20


def test_playhead_follows_during_playback(view, doc, two_clips):
    far = 5000
    fake = fake_media(doc, "long", frames=6000)
    from app.commands import push_edit

    push_edit(QUndoStack(), doc, "long", lambda d: d.insert(fake, track_id(doc, "V1"), rt(148)))
    view.clip_item("x")
    assert view.frame_to_viewport_x(far) > view.viewport().width()
    view.set_playhead(far)
    assert 0 <= view.frame_to_viewport_x(far) <= view.viewport().width()


def test_linked_pair_selects_and_moves_together_and_alt_moves_one_side(view, doc, stack):
    media = fake_media(doc, "av", frames=240, audio=True)
    v1, a1 = track_id(doc, "V1"), track_id(doc, "A1")
    from app.commands import push_edit

    video, audio = push_edit(stack, doc, "av", lambda d: d.insert(media, v1, rt(0), source_range=span(0, 48)))
    assert doc.clip(audio).track_id == a1
    QTest.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point(view, 24, "V1")
    )
    assert sorted(view.selected_clip_ids()) == sorted([video, audio])
    view.set_snapping(False)
    drag_mouse(view, point(view, 24, "V1"), point(view, 44, "V1"))
    assert (frames(doc.clip(video).start), frames(doc.clip(audio).start)) == (20, 20)
    drag_mouse(view, point(view, 44, "V1"), point(view, 54, "V1"), modifiers=Qt.KeyboardModifier.AltModifier)
    assert (frames(doc.clip(video).start), frames(doc.clip(audio).start)) == (30, 20)
    assert stack.count() == 3


def test_splitting_a_selected_linked_pair_cuts_both_once_in_one_step(view, doc, stack):
    """Picture and sound selected together (a click with linked selection on): B cuts both at the playhead,
    one undo step, instead of cutting the sound with the picture and then refusing to cut it again."""
    media = fake_media(doc, "av", frames=240, audio=True)
    v1, a1 = track_id(doc, "V1"), track_id(doc, "A1")
    from app.commands import push_edit

    video, audio = push_edit(stack, doc, "av", lambda d: d.insert(media, v1, rt(0), source_range=span(0, 48)))
    QTest.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point(view, 24, "V1")
    )
    assert sorted(view.selected_clip_ids()) == sorted([video, audio])
    messages: list[str] = []
    view.message.connect(messages.append)
    count = stack.count()
    view.set_playhead(20)
    view.split_at_playhead()
    assert messages == [] and stack.count() == count + 1
    for track in (v1, a1):
        assert [(frames(c.start), frames(c.duration)) for c in doc.clips(track)] == [(0, 20), (20, 28)]
    right_video = doc.clips(v1)[1].id
    assert sorted(doc.linked_clips(right_video)) == sorted([right_video, doc.clips(a1)[1].id])
    stack.undo()
    assert [(frames(c.start), frames(c.duration)) for c in doc.clips(v1)] == [(0, 48)]


def test_clicking_a_track_header_toggles_the_track_undoably(view, doc, stack):
    headers = view.findChild(TrackHeaders)
    row = next(r for r in view.rows() if r.name == "V1")
    spot = QPoint(headers.width() - 10, int(RULER_HEIGHT + row.top + row.height / 2))
    QTest.mouseClick(headers, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, spot)
    assert doc.track_info(track_id(doc, "V1")).enabled is False
    assert next(r for r in view.rows() if r.name == "V1").enabled is False
    QTest.mouseClick(headers, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(10, spot.y()))
    assert doc.track_info(track_id(doc, "V1")).enabled is False  # the name area does nothing
    stack.undo()
    assert doc.track_info(track_id(doc, "V1")).enabled is True


# ------------------------------------------------------------------------------------ shortcut edits
def test_split_lift_ripple_delete_marker_and_dissolve(view, doc, stack, two_clips):
    clip_a, clip_b = two_clips
    v1 = track_id(doc, "V1")
    view.set_playhead(24)
    view.split_at_playhead()
    assert [frames(c.duration) for c in doc.clips(v1)] == [24, 24, 48]
    view.add_marker_at_playhead()
    assert [frames(m.time) for m in doc.markers()] == [24]
    assert view.marker_frames()[0][0] == 24
    view.select([clip_a])
    view.add_dissolve_at_selection(frames=8)
    (dissolve,) = doc.dissolves(v1)
    assert dissolve.left_id == clip_a and frames(dissolve.duration) == 8
    view.select([clip_b])
    view.lift_selection()
    assert clip_b not in [c.id for c in doc.clips(v1)] and view.selected_clip_ids() == []
    right = doc.clips(v1)[1].id
    view.select([right])
    view.ripple_delete_selection()
    assert [c.id for c in doc.clips(v1)] == [clip_a]
    assert stack.count() == 5


def test_impossible_edit_becomes_a_message(view, doc, stack, two_clips):
    messages = []
    view.message.connect(messages.append)
    view.lift_selection()
    view.select([two_clips[1]])
    view.add_dissolve_at_selection()  # B has no neighbour touching it
    assert len(messages) == 2 and stack.count() == 0


# -------------------------------------------------------------------------------------------- screenshot
SHOTS = ("shot-beach", "shot-city", "shot-forest", "shot-night")


def real_media(doc: TimelineDocument, folder: Path) -> dict[str, str]:
    """Small real files (so thumbnails and waveforms come from the real ThumbnailProvider)."""
    from media_builders import make_audio, make_video

    from app.media.importer import import_files

    files = {
        name: make_video(folder / f"{name}.mkv", frames=480, size=(96, 54), codec="mpeg4", gop=24)
        for name in SHOTS
    }
    files["title"] = make_video(folder / "title.mkv", frames=120, size=(96, 54), codec="mpeg4", audio=False)
    files["music"] = make_audio(folder / "music.wav", seconds=14)
    ids, errors = import_files(doc, [str(p) for p in files.values()])
    assert not errors
    return dict(zip(files, ids, strict=True))


def populate(doc: TimelineDocument, stack: QUndoStack, media: dict[str, str]) -> dict[str, str]:
    """Two video and two audio tracks, eight clips, a dissolve and two markers."""
    from app.commands import push_edit

    doc.add_track(TrackKind.VIDEO)
    doc.add_track(TrackKind.AUDIO)
    v1, v2, a1, a2 = (track_id(doc, n) for n in ("V1", "V2", "A1", "A2"))
    clips: dict[str, str] = {}

    def build(d: TimelineDocument) -> None:
        clips["beach"] = d.insert(media["shot-beach"], v1, rt(0), source_range=span(24, 96))[0]
        clips["city"] = d.insert(media["shot-city"], v1, rt(96), source_range=span(48, 72))[0]
        clips["forest"] = d.insert(media["shot-forest"], v1, rt(168), source_range=span(12, 120))[0]
        clips["night"] = d.overwrite(media["shot-night"], v1, rt(330), source_range=span(0, 90))[0]
        clips["title"] = d.overwrite(media["title"], v2, rt(36), source_range=span(0, 60), with_audio=False)[
            0
        ]
        clips["music"] = d.overwrite(media["music"], a2, rt(0), source_range=span(0, 300), with_audio=False)[
            0
        ]
        d.add_dissolve(clips["beach"], rt(16))
        d.add_marker(rt(60), name="beat", color="YELLOW")
        d.add_marker(rt(250), name="fix sky", color="RED")

    push_edit(stack, doc, "build", build)
    assert len(doc.clips(a1)) == 4
    return clips


class RecordingProvider(QObject):
    """A ThumbnailProvider stand-in that records requests and answers when told to."""

    ready = Signal(object, QImage)
    waveform_ready = Signal(object, object)

    def __init__(self) -> None:
        super().__init__()
        self.thumbs: list[tuple[str, int, int]] = []
        self.waves: list[str] = []

    def request_thumbnail(self, path: str, index: int = 0, height: int = 72) -> None:
        self.thumbs.append((path, index, height))

    def request_waveform(self, path: str, buckets: int) -> None:
        self.waves.append(path)


def test_art_is_requested_lazily_for_visible_clips_and_drawn_when_it_arrives(qtbot, doc, stack):
    media = {name: fake_media(doc, name, frames=480, audio=True) for name in (*SHOTS, "title")}
    media["music"] = fake_media(doc, "music", frames=480, audio=True, video=False)
    clips = populate(doc, stack, media)
    provider = RecordingProvider()
    view = TimelineView(doc, stack, thumbnails=provider)
    qtbot.addWidget(view)
    view.resize(700, 320)
    view.show()
    qtbot.waitExposed(view)
    view.set_pixels_per_frame(4.0)
    view.horizontalScrollBar().setValue(0)
    view.grab()  # an offscreen render paints what is visible
    night = doc.bin_item(media["shot-night"]).path
    requested = {path for path, _, _ in provider.thumbs}
    assert doc.bin_item(media["shot-beach"]).path in requested
    assert night not in requested  # at frame 330, off screen: nothing asked for it yet
    assert doc.bin_item(media["music"]).path in provider.waves

    beach = view.clip_item(clips["beach"])
    region = beach.mapRectToScene(beach.boundingRect()).adjusted(4, 20, -4, -4)
    spot = view.mapFromScene(region.center())
    before = view.grab().toImage().pixelColor(spot.x() + HEADER_OFFSET.x(), spot.y() + HEADER_OFFSET.y())
    for path, index, height in list(provider.thumbs):
        image = QImage(height * 16 // 9, height, QImage.Format.Format_RGB32)
        image.fill(QColor(250, 20, 200))
        provider.ready.emit((path, index, height), image)
    QApplication.processEvents()
    after = view.grab().toImage().pixelColor(spot.x() + HEADER_OFFSET.x(), spot.y() + HEADER_OFFSET.y())
    assert before != after and after == QColor(250, 20, 200)

    count = len(provider.thumbs)
    view.horizontalScrollBar().setValue(int(300 * 4.0))
    view.grab()
    assert night in {path for path, _, _ in provider.thumbs[count:]}


def test_screenshot_of_a_populated_timeline(qtbot, doc, stack, tmp_path):
    from app.media.workers import ThumbnailProvider

    clips = populate(doc, stack, real_media(doc, tmp_path))
    provider = ThumbnailProvider()
    view = TimelineView(doc, stack, thumbnails=provider)
    qtbot.addWidget(view)
    try:
        view.resize(1100, 360)
        view.show()
        qtbot.waitExposed(view)
        view.set_pixels_per_frame(2.4)
        view.horizontalScrollBar().setValue(0)
        view.select([clips["city"]])
        view.set_playhead(120)
        for _ in range(4):  # paint -> requests -> results -> repaint (a few rounds as tiles appear)
            view.grab()
            provider.wait()
            qtbot.wait(30)
        image = view.grab().toImage()
    finally:
        provider.shutdown()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert image.save(str(SCREENSHOTS / "timeline_view.png"))
    assert len(doc.dissolves(track_id(doc, "V1"))) == 1
    colours = {image.pixel(x, y) for x in range(0, image.width(), 3) for y in range(0, image.height(), 3)}
    assert len(colours) > 30


def test_context_menu_removes_a_dissolve_and_manages_tracks(view, doc, stack, two_clips):
    clip_a, clip_b = two_clips
    v1 = track_id(doc, "V1")
    view.set_playhead(24)
    view.split_at_playhead()
    view.select([clip_a])
    view.add_dissolve_at_selection(frames=8)
    assert doc.dissolves(v1)
    view.grab()  # sync the scene

    on_dissolve = dict(view.context_actions(QPointF(point(view, 24, "V1"))))
    assert {"Remove Dissolve", "Split at Playhead", "Add Video Track", "Remove Track V1"} <= set(on_dissolve)
    on_dissolve["Remove Dissolve"]()
    assert doc.dissolves(v1) == [] and stack.undoText() == "Remove dissolve"

    on_gap = dict(view.context_actions(QPointF(point(view, 70, "V1"))))
    assert "Remove Dissolve" not in on_gap and "Lift" not in on_gap  # no clip, no dissolve there
    on_gap["Add Video Track"]()
    assert [t.name for t in doc.tracks(TrackKind.VIDEO)] == ["V1", "V2"]
    view.grab()
    dict(view.context_actions(QPointF(point(view, 70, "V2"))))["Remove Track V2"]()
    assert [t.name for t in doc.tracks(TrackKind.VIDEO)] == ["V1"]
    messages = []
    view.message.connect(messages.append)
    dict(view.context_actions(QPointF(point(view, 10, "A1"))))["Remove Track A1"]()
    assert messages and len(doc.tracks(TrackKind.AUDIO)) == 1  # the last audio track stays
