"""The grade editor: every change one undo step (a slider drag merged into one), reset, errors shown with the
document untouched, look thumbnails rendered through each look, and the inspector embedding it."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest
from opentimelineio.opentime import RationalTime
from PySide6.QtCore import Qt
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QApplication

from app.color import Grade
from app.document import MediaItem, TimelineDocument, TrackKind
from app.media.probe import probe_media
from tests.media_builders import make_video
from ui.grade_panel import GradePanel
from ui.inspector import Inspector
from ui.theme import apply_dark_theme
from ui.viewer import qimage_to_array

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def write_cube(path: Path, size: int, fn, title: str = "") -> Path:
    """A .cube file of `fn(r, g, b) -> (r, g, b)` (red varies fastest, as the format says)."""
    grid = np.linspace(0.0, 1.0, size)
    lines = [f'TITLE "{title or path.stem}"', f"# {title or path.stem} test look", f"LUT_3D_SIZE {size}"]
    for b in grid:
        for g in grid:
            for r in grid:
                lines.append("{:.6f} {:.6f} {:.6f}".format(*fn(r, g, b)))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def looks_dir(tmp_path, monkeypatch) -> Path:
    """Two looks of our own, so these tests do not depend on which looks ship."""
    folder = tmp_path / "looks"
    folder.mkdir()
    write_cube(folder / "warm.cube", 9, lambda r, g, b: (min(1.0, r * 1.2), g, b * 0.8), "Warm")
    write_cube(folder / "invert.cube", 5, lambda r, g, b: (1 - r, 1 - g, 1 - b), "Invert")
    monkeypatch.setenv("AIPROD_LUTS_DIR", str(folder))
    return folder


@pytest.fixture
def doc(tmp_path) -> TimelineDocument:
    return TimelineDocument(name="Grade test", rate=24)


@pytest.fixture
def clip(doc, tmp_path) -> str:
    """The id of a 48-frame clip (with linked audio) at the start of V1."""
    path = make_video(tmp_path / "shot.mkv", frames=48, codec="ffv1", size=(96, 54))
    media = doc.add_bin_item(
        MediaItem(id=uuid.uuid4().hex, path=str(path), name="shot", info=probe_media(path))
    )
    video = doc.tracks(TrackKind.VIDEO)[0].id
    ids = doc.insert(media, video, RationalTime(0, 24))
    return next(i for i in ids if doc.clip(i).track_id == video)


@pytest.fixture
def stack() -> QUndoStack:
    return QUndoStack()


@pytest.fixture
def panel(qtbot, doc, stack, clip, looks_dir) -> GradePanel:
    widget = GradePanel(doc, stack)
    qtbot.addWidget(widget)
    widget.resize(380, 560)
    widget.show()
    widget.set_clip(clip)
    return widget


def stored(doc, clip) -> Grade:
    return Grade.coerce(doc.clip(clip).grade)


def drag(slider, values) -> None:
    """A mouse drag as the slider reports it: pressed, several values, released."""
    slider.setSliderDown(True)
    for value in values:
        slider.setValue(value)
    slider.setSliderDown(False)


def test_a_slider_drag_is_one_undo_step_and_the_next_drag_another(panel, doc, stack, clip):
    drag(panel.exposure.slider, (10, 25, 40, 55))
    assert stack.count() == 1 and stack.undoText() == "Grade shot"
    assert stored(doc, clip).exposure == pytest.approx(0.55)
    assert panel.exposure.spin.value() == pytest.approx(0.55)

    drag(panel.exposure.slider, (60, 80))
    assert stack.count() == 2
    stack.undo()
    assert stored(doc, clip).exposure == pytest.approx(0.55)
    assert panel.exposure.slider.value() == 55  # the panel follows the document through undo
    stack.undo()
    assert doc.clip(clip).grade is None and panel.exposure.value() == 0.0
    stack.redo()
    stack.redo()
    assert stored(doc, clip).exposure == pytest.approx(0.8)


def test_drags_on_different_controls_do_not_merge(panel, doc, stack, clip):
    drag(panel.exposure.slider, (10, 20))
    drag(panel.saturation.slider, (120, 140))
    assert stack.count() == 2
    grade = stored(doc, clip)
    assert grade.exposure == pytest.approx(0.2) and grade.cdl.saturation == pytest.approx(1.4)


def test_cdl_spin_boxes_and_the_input_space_each_make_one_step(panel, doc, stack, clip):
    panel.cdl_spins["slope"][0].setValue(1.2)
    panel.cdl_spins["offset"][2].setValue(-0.05)
    panel.cdl_spins["power"][1].setValue(1.1)
    assert stack.count() == 3
    cdl = stored(doc, clip).cdl
    assert cdl.slope == pytest.approx((1.2, 1.0, 1.0))
    assert cdl.offset == pytest.approx((0.0, 0.0, -0.05))
    assert cdl.power == pytest.approx((1.0, 1.1, 1.0))

    index = panel.input_space.findData("Linear Rec.709 (sRGB)")
    assert index > 0, "the config's colour spaces are offered"
    panel.input_space.setCurrentIndex(index)
    assert stored(doc, clip).input_space == "Linear Rec.709 (sRGB)" and stack.count() == 4


def test_reset_removes_the_grade_in_one_step_and_undo_brings_it_back(panel, doc, stack, clip):
    drag(panel.exposure.slider, (30,))
    panel.cdl_spins["slope"][1].setValue(0.9)
    panel.set_look("warm")
    assert stack.count() == 3
    panel.reset_button.click()
    assert doc.clip(clip).grade is None and stack.count() == 4
    assert panel.exposure.value() == 0.0 and panel.cdl_spins["slope"][1].value() == 1.0
    assert panel.look_list.currentItem().data(Qt.ItemDataRole.UserRole) == ""
    stack.undo()
    grade = stored(doc, clip)
    assert (grade.look, grade.exposure, grade.cdl.slope[1]) == (
        "warm",
        pytest.approx(0.3),
        pytest.approx(0.9),
    )
    assert panel.look_list.currentItem().data(Qt.ItemDataRole.UserRole) == "warm"


def test_a_malformed_or_missing_lut_is_refused_with_a_message(panel, doc, stack, clip, tmp_path):
    panel.cdl_spins["slope"][0].setValue(1.1)
    before, steps = doc.clip(clip).grade, stack.count()
    bad = tmp_path / "broken.cube"
    bad.write_text("LUT_3D_SIZE 3\n0 0 0\nthis is not a lut\n")
    panel.set_lut_file(str(bad))
    assert "broken.cube" in panel.error_text()
    assert doc.clip(clip).grade == before and stack.count() == steps
    assert panel.lut_edit.text() == ""  # the controls still show what the document holds

    panel.set_lut_file(str(tmp_path / "gone.cube"))
    assert "gone.cube" in panel.error_text()
    assert doc.clip(clip).grade == before and stack.count() == steps


def test_a_lut_file_and_its_mix_are_stored_and_the_error_clears(panel, doc, stack, clip, tmp_path):
    panel.set_lut_file(str(tmp_path / "missing.cube"))
    assert panel.error_text()
    lut = write_cube(tmp_path / "mine.cube", 5, lambda r, g, b: (g, b, r))
    panel.set_lut_file(str(lut))
    assert panel.error_text() == ""
    assert stored(doc, clip).lut_path == str(lut) and panel.lut_edit.text() == str(lut)
    drag(panel.mix.slider, (80, 50))
    assert stored(doc, clip).lut_mix == pytest.approx(0.5) and stack.count() == 2
    panel.lut_clear.click()
    assert stored(doc, clip).lut_path is None


def test_look_thumbnails_appear_and_differ_per_look(panel, doc, clip, qtbot):
    names = [panel.look_list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(panel.look_list.count())]
    assert names == ["", "invert", "warm"]
    qtbot.waitUntil(panel.thumbnails_done, timeout=10000)
    pictures = [qimage_to_array(panel.look_list.item(i).icon().pixmap(96, 54).toImage()) for i in range(3)]
    plain, inverted, warm = (p.astype(int) for p in pictures)
    assert np.abs(inverted - (255 - plain)).mean() < 4  # the invert look, applied to the clip's frame
    assert warm[..., 0].mean() > plain[..., 0].mean() and warm[..., 2].mean() < plain[..., 2].mean()

    panel.look_list.setCurrentRow(2)
    assert stored(doc, clip).look == "warm"


def test_nothing_to_edit_without_a_clip(qtbot, doc, looks_dir):
    panel = GradePanel(doc)  # no stack given: it keeps its own
    qtbot.addWidget(panel)
    panel.set_clip("no-such-clip")
    assert panel.clip_id is None and not panel.exposure.isEnabled()
    panel.reset()  # a no-op, not an error
    assert panel.undo_stack.count() == 0


def test_the_inspector_shows_the_grade_for_video_clips_and_uses_its_stack(qtbot, doc, clip, looks_dir):
    stack = QUndoStack()
    inspector = Inspector(doc, undo_stack=stack)
    qtbot.addWidget(inspector)
    inspector.resize(380, 900)
    inspector.show()
    inspector.show_clip(clip)
    panel = inspector.grade_panel
    assert panel.isVisibleTo(inspector) and panel.clip_id == clip
    drag(panel.exposure.slider, (15, 25))
    assert stack.count() == 1 and stored(doc, clip).exposure == pytest.approx(0.25)
    assert inspector.field_text("Track") == "V1"  # the inspector's own rows are still there

    audio = doc.clips(doc.tracks(TrackKind.AUDIO)[0].id)[0].id
    inspector.show_clip(audio)
    assert not panel.isVisibleTo(inspector)
    inspector.show_media(doc.clip(clip).media_id)
    assert not panel.isVisibleTo(inspector) and panel.clip_id is None


def test_screenshot_of_the_grade_panel(qtbot, doc, stack, clip, looks_dir):
    app = QApplication.instance()
    previous = (app.style().name(), app.palette(), app.styleSheet())
    apply_dark_theme(app)
    try:
        panel = GradePanel(doc, stack)
        qtbot.addWidget(panel)
        panel.resize(380, 520)
        panel.show()
        panel.set_clip(clip)
        panel.set_look("warm")
        panel.cdl_spins["slope"][0].setValue(1.1)
        qtbot.waitUntil(panel.thumbnails_done, timeout=10000)
        image = panel.grab().toImage()
    finally:
        app.setStyle(previous[0])
        app.setPalette(previous[1])
        app.setStyleSheet(previous[2])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert image.save(str(SCREENSHOTS / "grade_panel.png"))
    assert stored(doc, clip).look == "warm"
