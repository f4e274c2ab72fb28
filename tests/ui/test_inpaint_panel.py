"""The inpaint panel (a spec with the range from the viewer's marks and the clip's mask), the takes switcher
(lists the takes, switching is one undo step), and an inpaint through the UI with the tiny model: a mask
painted with the mouse, the job queued, a new take shown in the clip with the original sound."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest
from opentimelineio.opentime import RationalTime
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QUndoStack
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QHBoxLayout, QVBoxLayout, QWidget

from app.document import MediaItem, TimelineDocument, TrackKind
from app.jobs import EngineSettings, InpaintSpec, JobQueue, JobStatus, apply_inpaint_result, read_audio_exact
from app.masks import MaskStore, new_mask, paint_rect
from app.media.probe import probe_media
from app.media.workers import TimelinePlayer
from tests.media_builders import make_video
from ui.inpaint_panel import InpaintPanel
from ui.job_queue import JobQueueView
from ui.mask_painter import MaskPainter
from ui.takes_switcher import TakesSwitcher
from ui.theme import apply_dark_theme
from ui.viewer import Viewer

DEV = EngineSettings(developer_tiny=True)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
LEFT, NOMOD = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier


def _add(doc: TimelineDocument, path: Path, name: str, **fields) -> str:
    item = MediaItem(id=uuid.uuid4().hex, path=str(path), name=name, info=probe_media(path), **fields)
    return doc.add_bin_item(item)


@pytest.fixture
def clip(tmp_path):
    """A 24-frame clip placed at timeline frame 10, its mask painted on source frames 0..23."""
    doc = TimelineDocument(rate=24)
    track = doc.tracks(TrackKind.VIDEO)[0].id
    media = _add(doc, make_video(tmp_path / "shot.mkv", frames=24, size=(64, 48), codec="ffv1"), "shot")
    doc.insert(media, track, RationalTime(10, 24))
    clip_id = next(c.id for c in doc.clips(track) if c.media_id == media)
    store = MaskStore(tmp_path / "masks")
    mask_id = store.save(paint_rect(new_mask(64, 48), (8, 8, 20, 16)))
    doc.set_clip_mask(clip_id, {"id": mask_id, "in": 0, "out": 24})
    return doc, clip_id, media, store, mask_id


def _panel(qtbot, doc, store) -> InpaintPanel:
    panel = InpaintPanel(doc, DEV, masks_dir=lambda: store.folder)
    qtbot.addWidget(panel)
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("tiny"))
    panel.prompt_edit.setPlainText("a red scarf")
    return panel


# ------------------------------------------------------------------------------------------------- panel
def test_the_panel_emits_a_spec_with_the_range_from_the_marks_and_the_clips_mask(qtbot, clip):
    doc, clip_id, media, store, mask_id = clip
    panel = _panel(qtbot, doc, store)
    panel.set_clip(clip_id)
    panel.set_range(15, 22)  # timeline frames 15..22 = source frames 5..12 (the clip starts at 10)
    assert "Frames 5–12" in panel.range_label.text()
    panel.seed_lock.setChecked(True)
    panel.seed_spin.setValue(1234)
    panel.steps_spin.setValue(3)
    panel.strength_spin.setValue(0.8)
    panel.negative_edit.setText("blur")
    panel.audio_check.setChecked(True)
    with qtbot.waitSignal(panel.inpaint_requested) as emitted:
        qtbot.mouseClick(panel.inpaint_button, LEFT)
    spec = emitted.args[0]
    assert isinstance(spec, InpaintSpec)
    assert spec.clip_id == clip_id and spec.media_id == media and spec.mask_id == mask_id
    assert spec.frame_range == (5, 13) and spec.masks_dir == str(store.folder)
    assert (spec.prompt, spec.negative_prompt, spec.seed, spec.steps) == ("a red scarf", "blur", 1234, 3)
    assert spec.strength == pytest.approx(0.8) and spec.regenerate_audio and spec.place
    assert spec.model == "tiny" and spec.take_of == media

    panel.set_range(None, None)  # no marks: the range the mask was painted for
    assert panel.request_inpaint().frame_range == (0, 24)


def test_the_seed_is_new_each_time_unless_locked(qtbot, clip):
    doc, clip_id, media, store, mask_id = clip
    panel = _panel(qtbot, doc, store)
    panel.set_clip(clip_id)
    seeds = {panel.request_inpaint().seed for _ in range(4)}
    assert len(seeds) > 1
    panel.seed_lock.setChecked(True)
    assert len({panel.request_inpaint().seed for _ in range(3)}) == 1


def test_problems_are_shown_and_nothing_is_emitted(qtbot, clip):
    doc, clip_id, media, store, mask_id = clip
    panel = _panel(qtbot, doc, store)
    emitted = []
    panel.inpaint_requested.connect(emitted.append)
    assert not panel.inpaint_button.isEnabled()  # no clip yet
    panel.set_clip(clip_id)
    panel.prompt_edit.setPlainText("  ")
    assert panel.request_inpaint() is None and "prompt" in panel.message_label.text()
    panel.prompt_edit.setPlainText("a hat")
    panel.set_range(50, 60)  # beside the clip
    assert panel.request_inpaint() is None and "marks" in panel.message_label.text()
    panel.set_range(None, None)
    doc.set_clip_mask(clip_id, None)
    assert panel.request_inpaint() is None and "no mask" in panel.message_label.text()
    assert emitted == []
    # LTX-2 without a checkpoint: the button is off and the message says what to set
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("ltx2"))
    assert not panel.inpaint_button.isEnabled() and "Cannot inpaint yet" in panel.message_label.text()


def test_the_panel_hosts_the_painters_tools_and_forgets_a_deleted_clip(qtbot, clip, tmp_path):
    doc, clip_id, media, store, mask_id = clip
    player = TimelinePlayer(doc, audio=False)
    viewer = Viewer(player, gpu=False)
    qtbot.addWidget(viewer)
    painter = MaskPainter(viewer, doc, QUndoStack(), lambda: store)
    panel = InpaintPanel(doc, DEV, painter=painter)
    qtbot.addWidget(panel)
    try:
        assert painter.toolbar.parentWidget() is panel
        panel.set_clip(clip_id)
        assert panel.current_spec().masks_dir == str(store.folder)  # the painter's store by default
        doc.lift([clip_id])
        assert panel.clip_id is None and not panel.inpaint_button.isEnabled()
    finally:
        viewer.shutdown()
        player.shutdown()


# ------------------------------------------------------------------------------------------------- takes
def test_the_takes_switcher_lists_the_takes_and_switching_is_undoable(qtbot, clip, tmp_path):
    doc, clip_id, media, store, mask_id = clip
    take_path = make_video(tmp_path / "take1.mkv", frames=24, size=(64, 48), codec="ffv1")
    take = _add(
        doc, take_path, "shot_take1", take_of=media, take=1, generation={"prompt": "a red scarf", "seed": 3}
    )
    stack = QUndoStack()
    switcher = TakesSwitcher(doc, stack)
    qtbot.addWidget(switcher)
    assert not switcher.combo.isEnabled()  # no clip
    switcher.set_clip(clip_id)
    texts = [switcher.combo.itemText(i) for i in range(switcher.combo.count())]
    assert texts[0].startswith("Original") and texts[1] == "Take 1 · a red scarf"
    assert switcher.combo.isEnabled() and switcher.combo.currentData() == media
    linked = [c for c in doc.linked_clips(clip_id) if c != clip_id]
    assert linked, "the clip's sound should be linked to it"

    with qtbot.waitSignal(switcher.take_switched):
        switcher.combo.activated.emit(1)  # what choosing an entry with the mouse emits
    assert doc.clip(clip_id).media_id == take and switcher.combo.currentData() == take
    assert all(doc.clip(c).media_id == take for c in linked)  # its sound switched with it
    assert stack.count() == 1
    stack.undo()
    assert doc.clip(clip_id).media_id == media and switcher.combo.currentData() == media
    assert all(doc.clip(c).media_id == media for c in linked)
    assert doc.clip(clip_id).mask["id"] == mask_id  # the mask stays on the clip


def test_a_take_too_short_for_the_clip_is_refused_with_a_message(qtbot, clip, tmp_path):
    doc, clip_id, media, store, mask_id = clip
    short = make_video(tmp_path / "short.mkv", frames=6, size=(64, 48), codec="ffv1")
    take = _add(doc, short, "short_take", take_of=media, take=1)
    stack = QUndoStack()
    switcher = TakesSwitcher(doc, stack)
    qtbot.addWidget(switcher)
    switcher.set_clip(clip_id)
    assert not switcher.switch_to(take)
    assert doc.clip(clip_id).media_id == media and stack.count() == 0
    assert "frames" in switcher.message_label.text() and switcher.combo.currentData() == media


# ---------------------------------------------------------------------------------- through the UI: tiny
@pytest.fixture
def studio(qtbot, tmp_path):
    """A 64x64, 9-frame clip with sound, the viewer with the painter, the panel, the tiny-model queue,
    wired the way the main window does it."""
    doc = TimelineDocument(rate=24)
    track = doc.tracks(TrackKind.VIDEO)[0].id
    path = make_video(tmp_path / "shot.mkv", frames=9, size=(64, 64), codec="ffv1")
    media = _add(doc, path, "shot", generation={"model": "tiny", "prompt": "a street", "seed": 1})
    doc.insert(media, track, RationalTime(0, 24))
    clip_id = doc.clips(track)[0].id
    stack = QUndoStack()
    store = MaskStore(tmp_path / "masks")
    player = TimelinePlayer(doc, audio=False)
    viewer = Viewer(player, gpu=False)
    painter = MaskPainter(viewer, doc, stack, lambda: store)
    panel = InpaintPanel(doc, DEV, painter=painter)
    takes = TakesSwitcher(doc, stack)
    queue = JobQueue(DEV, tmp_path / "media")
    view = JobQueueView(queue)
    for widget in (viewer, panel, takes, view):
        qtbot.addWidget(widget)
    viewer.marks_changed.connect(panel.set_range)
    panel.inpaint_requested.connect(queue.submit)
    queue.job_finished.connect(
        lambda job_id, item: apply_inpaint_result(
            stack, doc, item, queue.job(job_id).spec.clip_id if queue.job(job_id).spec.place else None
        )
    )
    viewer.resize(320, 240)
    viewer.show()
    qtbot.waitUntil(lambda: viewer.shown_frame == 0, timeout=10000)
    for widget in (painter, panel, takes):
        widget.set_clip(clip_id)
    yield doc, stack, store, viewer, painter, panel, takes, queue, view, clip_id, media, path
    assert queue.shutdown(120_000)
    viewer.shutdown()
    player.shutdown()


def _paint_square(painter: MaskPainter) -> None:
    """A rectangle drag over media pixels 16..40 with the mouse."""
    painter.set_painting(True)
    painter.set_tool("rect")
    painter.toolbar.feather_spin.setValue(0)
    shown = painter.media_rect()

    def at(x: float, y: float) -> QPoint:
        return QPoint(round(shown.x() + x * shown.width() / 64), round(shown.y() + y * shown.height() / 64))

    QTest.mousePress(painter, LEFT, NOMOD, at(16, 16))
    QTest.mouseMove(painter, at(28, 28))
    QTest.mouseRelease(painter, LEFT, NOMOD, at(40, 40))


def test_an_inpaint_through_the_ui_with_the_tiny_model_makes_a_new_take(studio, qtbot):
    doc, stack, store, viewer, painter, panel, takes, queue, view, clip_id, media, path = studio
    _paint_square(painter)
    mask = store.load(painter.mask_id())
    assert mask[20:36, 20:36].min() == 255 and mask[:8].max() == 0 and mask[50:].max() == 0
    assert stack.count() == 1

    panel.prompt_edit.setPlainText("a red door")
    panel.steps_spin.setValue(2)
    progress = []
    queue.job_changed.connect(lambda job_id: progress.append(queue.job(job_id).step))
    with qtbot.waitSignal(queue.job_finished, timeout=300_000) as finished:
        qtbot.mouseClick(panel.inpaint_button, LEFT)
    job_id, item = finished.args
    assert queue.job(job_id).status is JobStatus.DONE and {1, 2} <= set(progress)
    assert "failed" not in view.row(job_id).status.text()

    # a new take, shown in the clip, one undo step; the original file is untouched and still in the bin
    take = doc.clip(clip_id).media_id
    assert take != media and doc.bin_item(take).take_of == media and doc.bin_item(take).take == 1
    assert doc.bin_item(media).path == str(path)
    generation = doc.bin_item(take).generation
    assert generation["mask_id"] == painter.mask_id() and generation["range"] == [0, 9]
    assert generation["prompt"] == "a red door" and generation["steps"] == 2
    assert stack.count() == 2
    assert takes.combo.count() == 2 and takes.combo.currentData() == take
    # the sound was kept sample for sample
    original_audio, original_rate = read_audio_exact(path)
    take_audio, take_rate = read_audio_exact(doc.bin_item(take).path)
    assert take_rate == original_rate and np.array_equal(take_audio, original_audio)

    stack.undo()  # the take leaves the clip (and the bin); the mask stays
    assert doc.clip(clip_id).media_id == media and painter.mask_id() is not None
    stack.redo()
    takes.switch_to(media)  # back to the original through the switcher
    assert doc.clip(clip_id).media_id == media and stack.count() == 3


def test_a_cancelled_inpaint_leaves_the_clip_untouched(studio, qtbot):
    doc, stack, store, viewer, painter, panel, takes, queue, view, clip_id, media, path = studio
    _paint_square(painter)
    before = doc.snapshot()
    panel.prompt_edit.setPlainText("a red door")
    panel.steps_spin.setValue(50)  # long enough that the cancel lands mid-denoising
    started = []
    queue.job_changed.connect(lambda job_id: started.append(job_id) if queue.job(job_id).step >= 1 else None)
    spec = panel.request_inpaint()
    assert spec is not None
    qtbot.waitUntil(lambda: bool(started), timeout=300_000)
    with qtbot.waitSignal(queue.job_cancelled, timeout=120_000):
        qtbot.mouseClick(view.row(started[0]).cancel_button, LEFT)
    assert queue.job(started[0]).status is JobStatus.CANCELLED
    assert doc.snapshot() == before and stack.count() == 1


def test_screenshot_of_a_painted_mask_in_the_viewer(qtbot, tmp_path):
    """artifacts/screenshots/mask_painter.png: the viewer with an ellipse and a brush stroke painted, the
    inpaint panel with the mask tools beside it."""
    apply_dark_theme(QApplication.instance())
    doc = TimelineDocument(rate=24)
    track = doc.tracks(TrackKind.VIDEO)[0].id
    media = _add(doc, make_video(tmp_path / "shot.mkv", frames=24, size=(320, 180), codec="ffv1"), "shot")
    doc.insert(media, track, RationalTime(0, 24))
    clip_id = doc.clips(track)[0].id
    store = MaskStore(tmp_path / "masks")
    stack = QUndoStack()
    player = TimelinePlayer(doc, audio=False)
    host = QWidget()
    qtbot.addWidget(host)
    viewer = Viewer(player, gpu=False)
    painter = MaskPainter(viewer, doc, stack, lambda: store)
    panel = InpaintPanel(doc, DEV, painter=painter)
    side = QVBoxLayout()
    side.addWidget(panel)
    side.addWidget(TakesSwitcher(doc, stack))
    layout = QHBoxLayout(host)
    layout.addWidget(viewer, 3)
    layout.addLayout(side, 2)
    host.resize(1100, 560)
    host.show()
    try:
        viewer.seek(21)  # a frame with a few of the test pattern's blocks lit
        qtbot.waitUntil(lambda: viewer.shown_frame == 21, timeout=10000)
        painter.set_clip(clip_id)
        panel.set_clip(clip_id)
        panel.prompt_edit.setPlainText("a red umbrella")
        panel.model_combo.setCurrentIndex(panel.model_combo.findData("tiny"))
        painter.set_painting(True)
        shown = painter.media_rect()

        def at(x: float, y: float) -> QPoint:
            return QPoint(
                round(shown.x() + x * shown.width() / 320), round(shown.y() + y * shown.height() / 180)
            )

        painter.set_tool("ellipse")
        painter.toolbar.feather_spin.setValue(10)
        QTest.mousePress(painter, LEFT, NOMOD, at(170, 40))
        QTest.mouseMove(painter, at(230, 90))
        QTest.mouseRelease(painter, LEFT, NOMOD, at(290, 150))
        painter.set_tool("brush")
        painter.toolbar.size_spin.setValue(24)
        QTest.mousePress(painter, LEFT, NOMOD, at(40, 140))
        for x, y in ((70, 120), (100, 130), (130, 110)):
            QTest.mouseMove(painter, at(x, y))
        QTest.mouseRelease(painter, LEFT, NOMOD, at(130, 110))
        QTest.mouseMove(painter, at(100, 60))  # the brush outline where the pointer rests
        assert stack.count() == 2
        qtbot.wait(50)
        image = host.grab().toImage()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        assert image.save(str(SCREENSHOTS / "mask_painter.png"))
        # the tint is in the picture where the ellipse is, not far from it
        centre = painter.mapTo(host, at(230, 95))
        corner = painter.mapTo(host, at(10, 10))
        tinted, plain = image.pixelColor(centre), image.pixelColor(corner)
        assert tinted.red() - tinted.green() > 40 and abs(plain.red() - plain.green()) < 10
    finally:
        viewer.shutdown()
        player.shutdown()
