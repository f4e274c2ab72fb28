"""The viewer's colour: the CPU path (offscreen), the A/B toggle and split, the display transform, and the GPU
path (OCIO GLSL in a QOpenGLWidget) checked against the CPU processors within 1/255 under Xvfb + Mesa.

The GPU checks run in a subprocess (`xvfb-run`, Qt's xcb platform) because Qt's offscreen platform has no
OpenGL; the child writes what it measured to a JSON file and the parent asserts on it (and prints it).
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import numpy as np
import pytest
from opentimelineio.opentime import RationalTime
from PySide6.QtGui import QGuiApplication
from xvfb_child import measure_under_xvfb, needs_xvfb

from app.color import CDL, ColorSettings, Grade, GradePipeline
from app.document import MediaItem, TimelineDocument, TrackKind
from app.media.compositor import TimelineCompositor
from app.media.probe import probe_media
from app.media.workers import TimelinePlayer, to_qimage
from tests.media_builders import make_video
from ui.viewer import Viewer, qimage_to_array

ACES_VIEW = "ACES 2.0 - SDR 100 nits (Rec.709)"
GRADE = Grade(exposure=0.5, cdl=CDL(slope=(1.15, 1.0, 0.85), offset=(0.01, 0.0, -0.01), saturation=1.3))
CHILD_ENV = "AIPROD_GPU_CHECK_OUT"  # set in the xvfb child: where to write its measurements
SIZE = (160, 90)  # the GL view's minimum size: pictures are drawn 1:1, so pixels compare exactly


def make_pattern(width: int = SIZE[0], height: int = SIZE[1]) -> np.ndarray:
    """Ramps in R and G, a B pattern, and random colours in the lower third (seeded)."""
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 // (width - 1), y * 255 // (height - 1), (x * 7 + y * 13) % 256], -1)
    rgb[2 * height // 3 :] = np.random.default_rng(7).integers(0, 256, (height - 2 * height // 3, width, 3))
    return rgb.astype(np.uint8)


def to8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values * 255.0), 0, 255).astype(np.uint8)


def write_cube(path: Path, size: int = 17) -> Path:
    grid = np.linspace(0.0, 1.0, size)
    lines = [f"LUT_3D_SIZE {size}"]
    for b in grid:
        for g in grid:
            for r in grid:
                lines.append(f"{r**0.8:.6f} {0.05 + 0.9 * g:.6f} {b**1.25:.6f}")
    path.write_text("\n".join(lines) + "\n")
    return path


def graded_doc(tmp_path: Path, grade: Grade | None = GRADE) -> tuple[TimelineDocument, str]:
    doc = TimelineDocument(name="Viewer colour", rate=24)
    path = make_video(tmp_path / "shot.mkv", frames=24, codec="ffv1", size=SIZE, audio=False)
    media = doc.add_bin_item(
        MediaItem(id=uuid.uuid4().hex, path=str(path), name="shot", info=probe_media(path))
    )
    (clip,) = doc.insert(media, doc.tracks(TrackKind.VIDEO)[0].id, RationalTime(0, 24), with_audio=False)
    if grade is not None:
        doc.set_clip_grade(clip, grade.to_dict())
    return doc, clip


def reference(doc: TimelineDocument, frame: int, graded: bool) -> np.ndarray:
    compositor = TimelineCompositor(doc)
    compositor.graded = graded
    try:
        return compositor.frame_at(frame)
    finally:
        compositor.close()


@pytest.fixture
def doc_and_clip(tmp_path):
    return graded_doc(tmp_path)


@pytest.fixture
def player(doc_and_clip):
    player = TimelinePlayer(doc_and_clip[0], audio=False)
    yield player
    player.shutdown()


@pytest.fixture
def viewer(qtbot, player):
    widget = Viewer(player, gpu=False)  # the CPU path (the GPU one is checked under Xvfb below)
    qtbot.addWidget(widget)
    widget.resize(480, 360)
    widget.show()
    yield widget
    widget.shutdown()


def shown(qtbot, viewer: Viewer, expected: np.ndarray) -> None:
    qtbot.waitUntil(lambda: np.array_equal(viewer.current_frame_array(), expected), timeout=10000)


# ------------------------------------------------------------------------------------------ CPU path
def test_without_opengl_the_viewer_picks_the_cpu_path(qtbot, player):
    if QGuiApplication.platformName() != "offscreen":
        pytest.skip("Qt's offscreen platform is the one without OpenGL")
    viewer = Viewer(player)
    qtbot.addWidget(viewer)
    assert viewer.display_path == "cpu" and viewer.path_label.text() == "CPU"


def test_cpu_path_shows_the_graded_export_values(qtbot, viewer, doc_and_clip):
    doc, _clip = doc_and_clip
    assert viewer.display_path == "cpu" and viewer.path_label.text() == "CPU"
    graded, ungraded = reference(doc, 0, True), reference(doc, 0, False)
    assert np.abs(graded.astype(int) - ungraded).mean() > 5  # the grade is visible at all
    shown(qtbot, viewer, graded)
    # default display/view is the identity: the frame view shows exactly the export's values
    assert np.array_equal(qimage_to_array(viewer.displayed_image()), graded)


def test_ab_toggle_shows_the_clips_ungraded_and_back(qtbot, viewer, player, doc_and_clip):
    doc, _clip = doc_and_clip
    shown(qtbot, viewer, reference(doc, 0, True))
    with qtbot.waitSignal(viewer.compare_changed) as changed:
        viewer.compare_button.click()
    assert changed.args == ["ungraded"] and not player.graded and viewer.compare_mode == "ungraded"
    shown(qtbot, viewer, reference(doc, 0, False))
    viewer.seek(12)  # the setting holds while moving
    shown(qtbot, viewer, reference(doc, 12, False))
    viewer.compare_button.click()
    assert player.graded
    shown(qtbot, viewer, reference(doc, 12, True))


def test_split_shows_ungraded_left_and_graded_right(qtbot, viewer, doc_and_clip):
    doc, _clip = doc_and_clip
    viewer.seek(5)
    viewer.split_button.click()
    assert viewer.compare_mode == "split" and not viewer.compare_button.isChecked()
    graded, ungraded = reference(doc, 5, True), reference(doc, 5, False)
    middle = graded.shape[1] // 2

    def split_is_shown() -> bool:
        if viewer.displayed_image().isNull():
            return False
        picture = qimage_to_array(viewer.displayed_image())
        return (
            picture.shape == graded.shape
            and np.array_equal(picture[:, : middle - 1], ungraded[:, : middle - 1])
            and np.array_equal(picture[:, middle:], graded[:, middle:])
        )

    qtbot.waitUntil(split_is_shown, timeout=10000)
    assert np.array_equal(viewer.current_frame_array(), graded)  # a start image is never the split
    viewer.seek(9)  # the ungraded side follows the playhead
    graded, ungraded = reference(doc, 9, True), reference(doc, 9, False)
    qtbot.waitUntil(split_is_shown, timeout=10000)
    viewer.set_compare("graded")
    assert viewer._split_player is None  # its decode thread is stopped (the QThread guard checks too)
    qtbot.waitUntil(lambda: np.array_equal(qimage_to_array(viewer.displayed_image()), graded), timeout=5000)


def test_cpu_display_transform_follows_the_project_settings(qtbot, viewer, doc_and_clip):
    doc, _clip = doc_and_clip
    graded = reference(doc, 0, True)
    shown(qtbot, viewer, graded)
    doc.set_color_settings({"view": ACES_VIEW})  # an edit re-renders: the viewer adopts the new view
    pipeline = GradePipeline(ColorSettings(view=ACES_VIEW))
    expected = to8(pipeline.display(graded.astype(np.float32) / 255.0))
    assert np.abs(expected.astype(int) - graded).max() > 10  # the view really transforms
    qtbot.waitUntil(
        lambda: np.array_equal(qimage_to_array(viewer.displayed_image()), expected), timeout=10000
    )
    assert np.array_equal(viewer.current_frame_array(), graded)  # the export values are unchanged
    assert ACES_VIEW in viewer.path_label.toolTip()


# ------------------------------------------------------------------------------------------ GPU path
@pytest.mark.slow
@needs_xvfb
def test_gpu_path_matches_the_cpu_within_one_code_value(tmp_path):
    measured = measure_under_xvfb(__file__, "test_gpu_inside_xvfb", CHILD_ENV, tmp_path / "gpu.json")
    print(json.dumps(measured, indent=1))  # the numbers the README quotes (pytest -s shows them)
    for case, numbers in measured.items():
        assert numbers["max"] <= 1, f"{case}: GPU and CPU differ by {numbers['max']}/255"
        assert numbers["changed"] > 10, f"{case}: the transform should visibly change the pattern"


@pytest.mark.skipif(CHILD_ENV not in os.environ, reason="runs inside test_gpu_path_matches_the_cpu_... only")
def test_gpu_inside_xvfb(qtbot, tmp_path):
    from ui.gl_frame_view import GLFrameView, opengl_available

    out = Path(os.environ[CHILD_ENV])
    if not opengl_available():
        out.write_text(json.dumps({"skipped": "no OpenGL 3.3 core / ES 3.0 context"}))
        return
    pattern = make_pattern()
    measured: dict[str, dict] = {}

    def record(case: str, gpu: np.ndarray, cpu: np.ndarray) -> None:
        diff = np.abs(gpu.astype(int) - cpu.astype(int))
        changed = int(np.abs(cpu.astype(int) - pattern).max())
        measured[case] = {"max": int(diff.max()), "mean": float(diff.mean()), "changed": changed}

    view = GLFrameView()
    qtbot.addWidget(view)
    view.resize(*SIZE)
    view.show()
    qtbot.waitExposed(view)
    assert (view.width(), view.height()) == SIZE

    def through_gpu(processor) -> np.ndarray:
        view.set_processor(processor)
        view.set_image(to_qimage(pattern))
        picture = qimage_to_array(view.grabFramebuffer())
        assert view.error is None, view.error
        return picture

    source = pattern.astype(np.float32) / 255.0
    aces = GradePipeline(ColorSettings(view=ACES_VIEW))
    record(
        "display ACES 2.0 SDR (baked 3D LUT)",
        through_gpu(aces.display_processor()),
        to8(aces.display(source)),
    )
    exact = aces.display_processor(exact=True)
    cpu = source.copy()
    exact.getDefaultCPUProcessor().applyRGB(cpu)
    record("display ACES 2.0 SDR (exact)", through_gpu(exact), to8(cpu))
    pipeline = GradePipeline(ColorSettings())
    grade = Grade(lut_path=str(write_cube(tmp_path / "look.cube")), lut_mix=0.8, cdl=GRADE.cdl, exposure=0.5)
    record(
        "grade: LUT 0.8 + CDL + exposure",
        through_gpu(pipeline.processor(grade)),
        to8(pipeline.render(source, grade)),
    )

    # The whole viewer on the GPU path: a graded clip under the ACES view, compared with its CPU path.
    doc, _clip = graded_doc(tmp_path)
    doc.set_color_settings({"view": ACES_VIEW})
    player = TimelinePlayer(doc, audio=False)
    viewer = Viewer(player, gpu=True)
    qtbot.addWidget(viewer)
    try:
        viewer.frame_view.setFixedSize(*SIZE)
        viewer.show()
        qtbot.waitUntil(lambda: viewer.shown_frame == 0, timeout=10000)
        assert viewer.display_path == "gpu" and viewer.path_label.text() == "GPU"
        picture = viewer.current_frame_array()
        gpu = qimage_to_array(viewer.frame_view.grabFramebuffer())
        cpu = to8(aces.display(picture.astype(np.float32) / 255.0))
        diff = np.abs(gpu.astype(int) - cpu.astype(int))
        measured["viewer: graded clip, ACES view"] = {
            "max": int(diff.max()),
            "mean": float(diff.mean()),
            "changed": int(np.abs(cpu.astype(int) - picture).max()),
        }
    finally:
        viewer.shutdown()
        player.shutdown()
    out.write_text(json.dumps(measured))
