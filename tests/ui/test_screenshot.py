"""Screenshots of the studio, kept under artifacts/screenshots for a human to look at (and shown in the
README): the empty window a newcomer sees first, and the editor with a populated timeline."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from opentimelineio.opentime import RationalTime
from PySide6.QtCore import QSettings
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QApplication
from window_helpers import dark_theme, opened_window

from app.commands import push_edit
from app.document import TrackKind
from app.export import write_clip
from ui.main_window import MainWindow
from ui.project_actions import ProjectPrompts, RecoveryDecision, UnsavedChoice
from ui.theme import apply_dark_theme, dark_palette

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture
def themed_window(qtbot, tmp_path, monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.setenv("AIPROD_DATA_DIR", str(tmp_path / "data"))
    with (
        dark_theme(QApplication.instance()),
        opened_window(qtbot, tmp_path, prompts=_discarding_prompts()) as window,
    ):
        yield window


def _discarding_prompts() -> ProjectPrompts:
    """No modal dialog may open in a test: closing the edited window discards its changes."""

    def refuse(*_args: object) -> None:
        raise AssertionError("the screenshot tests never ask for paths")

    return ProjectPrompts(
        unsaved=lambda _name: UnsavedChoice.DISCARD, open_path=refuse, save_path=refuse,
        confirm=lambda _text: True, recover=lambda _entries: RecoveryDecision(), relink=refuse, error=refuse,
    )  # fmt: skip


def _save(image: QImage, name: str, window: MainWindow) -> Path:
    """Save the window's own rendering; under a real X server (xvfb-run, see test_xvfb.py) also what the
    X server shows, grabbed from its framebuffer."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    assert image.save(str(path))
    if QGuiApplication.platformName() == "xcb":
        screen = window.screen().grabWindow(0).toImage()
        assert screen.save(str(SCREENSHOTS / name.replace(".png", "_xvfb.png")))
    return path


def _distinct_colours(image: QImage) -> int:
    return len({image.pixel(x, y) for x in range(0, image.width(), 4) for y in range(0, image.height(), 4)})


def _scene(path: Path, hue: tuple[float, float, float], frames: int = 72) -> Path:
    """A small ProRes clip with sound that looks like footage: a drifting gradient with a moving sun."""
    h, w = 180, 320
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    sky = np.stack([np.full((h, w), c, np.float32) for c in hue], axis=-1) * (1 - y[..., None] / h * 0.7)
    video = np.empty((frames, h, w, 3), np.float32)
    for i in range(frames):
        cx, cy = 40 + i * 3.0, 60 + 20 * np.sin(i / 12)
        sun = np.exp(-(((x - cx) ** 2 + (y - cy) ** 2) / 300.0))[..., None]
        ground = (y > 130)[..., None] * np.array([0.08, 0.1, 0.06], np.float32)
        video[i] = np.clip(sky + sun * np.array([1.0, 0.9, 0.6]) + ground, 0, 1)
    t = np.arange(int(48000 * frames / 24)) / 48000
    tone = 0.3 * np.sin(2 * np.pi * 220 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 1.5 * t))
    audio = np.stack([tone, tone]).astype(np.float32)
    write_clip(path, video, fps=Fraction(24), audio=audio, sample_rate=48000)
    return path


def test_empty_main_window_screenshot(themed_window, qtbot):
    window = themed_window
    qtbot.wait(50)  # let posted layout requests (status bar) settle before grabbing
    image = window.grab().toImage()
    _save(image, "main_window.png", window)
    assert (image.width(), image.height()) == (window.width(), window.height())
    assert _distinct_colours(image) > 20, "the window rendered as (nearly) one flat colour"
    # The dark theme took: the status bar area is dark, not the light default palette.
    assert dark_palette().window().color().lightness() < 60
    assert image.pixelColor(window.width() // 2, window.height() - 5).lightness() < 60


def test_populated_editor_screenshot(themed_window, qtbot, tmp_path):
    window = themed_window
    paths = [
        _scene(tmp_path / "dawn_harbour.mov", (0.95, 0.55, 0.35)),
        _scene(tmp_path / "blue_hour_street.mov", (0.25, 0.35, 0.75)),
        _scene(tmp_path / "forest_mist.mov", (0.35, 0.6, 0.45)),
    ]
    ids = window.media_bin.import_files([str(p) for p in paths])
    assert len(ids) == 3
    doc, stack = window.session.doc, window.session.stack
    video = doc.tracks(TrackKind.VIDEO)[0].id

    def arrange(d):  # noqa: ANN001, ANN202
        at = 0
        for media_id in ids:
            d.insert(media_id, video, RationalTime(at, 24), source_range=None)
            at += 72
        v2 = d.add_track(TrackKind.VIDEO)
        d.overwrite(ids[1], v2, RationalTime(170, 24), with_audio=False)
        first, second = d.clips(video)[0].id, d.clips(video)[1].id
        d.trim_out(first, RationalTime(-12, 24), ripple=True)
        d.trim_in(second, RationalTime(12, 24), ripple=True)
        d.add_dissolve(first, RationalTime(12, 24))
        d.set_clip_grade(first, {"look": "teal_orange", "cdl": {"saturation": 1.15}, "exposure": 0.2})
        d.add_marker(RationalTime(30, 24), "sun clears the mast", "RED")
        d.add_marker(RationalTime(100, 24), "cut on the horn", "GREEN")

    push_edit(stack, doc, "Arrange", arrange)
    qtbot.wait(50)  # the rebuild after an edit is batched to the next event-loop turn
    window.timeline.zoom_to_fit()
    window.timeline.select([doc.clips(video)[0].id])  # the graded clip: the inspector shows its grade
    with qtbot.waitSignal(window.player.frame_ready, timeout=20_000):
        window.seek(40)
    qtbot.wait(300)  # thumbnails and waveforms arrive from the pool
    window.thumbnails.wait(10_000)
    qtbot.wait(100)
    image = window.grab().toImage()
    _save(image, "main_window_populated.png", window)

    assert window.windowTitle().startswith("Untitled*")
    assert len(doc.clips(video)) == 3 and doc.dissolves(video)
    assert _distinct_colours(image) > 200, "the viewer and thumbnails should show footage"
    # The viewer shows the picture at the playhead, not black.
    viewer_grab = window.viewer.grab().toImage()
    centre = viewer_grab.pixelColor(viewer_grab.width() // 2, viewer_grab.height() // 3)
    assert centre.lightness() > 30


class _SlowEngine:
    """Stands in for the model so the queue can be photographed mid-job: a colourful preview every step,
    then it waits on `gate` at step 3."""

    model_name, identity, quantization = "fake", "fake", "none"

    def __init__(self) -> None:
        import threading

        self.gate = threading.Event()

    def generate(self, request, on_progress=None, on_preview=None, cancel=None):  # noqa: ANN001, ANN201
        from engine.errors import GenerationCancelled
        from engine.request import GenerationResult, PreviewFrame

        h, w = request.height, request.width
        y, x = np.mgrid[0:h, 0:w]
        for step in range(1, request.steps + 1):
            if step == 3:
                self.gate.wait(30)
            if cancel is not None and cancel.is_set():
                raise GenerationCancelled(step)
            on_progress(step, request.steps)
            blur = 1.0 - step / request.steps
            image = np.stack([x / w, 0.4 + 0.3 * np.sin(y / 9 + step), 1 - y / h], -1) * (1 - 0.5 * blur)
            on_preview(PreviewFrame(step, request.steps, (np.clip(image, 0, 1) * 255).astype(np.uint8)))
        frames = np.full((request.num_frames, h, w, 3), 0.5, np.float32)
        return GenerationResult(frames, np.zeros((2, 9000), np.float32), 24000, request.fps, {})


def test_generating_screenshot(qtbot, tmp_path, monkeypatch):
    """The queue while a job runs: progress, ETA, the live preview and cancel; a second job waits."""
    from app.jobs import EngineSettings

    monkeypatch.setenv("AIPROD_DATA_DIR", str(tmp_path / "data"))
    app = QApplication.instance()
    previous = (app.style().name(), app.palette(), app.styleSheet())
    apply_dark_theme(app)
    engine = _SlowEngine()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings, prompts=_discarding_prompts(), engine_factory=lambda *_: engine)
    qtbot.addWidget(window)
    try:
        window.show()
        qtbot.waitExposed(window)
        window.apply_engine_settings(EngineSettings(developer_tiny=True))
        panel = window.generate_panel
        panel.model_combo.setCurrentIndex(panel.model_combo.findData("tiny"))
        panel.size_combo.setCurrentIndex(panel.size_combo.findData("64x64"))
        panel.steps_spin.setValue(8)
        panel.prompt_edit.setPlainText("a lighthouse on a cliff in a storm, waves crashing, lightning")
        running = panel.request_generate()
        panel.prompt_edit.setPlainText("fishing boats returning at dawn, gulls, calm sea")
        panel.request_generate()
        assert running is not None
        qtbot.waitUntil(lambda: window.jobs.jobs()[0].step >= 2 and window.jobs.jobs()[0].preview is not None)
        qtbot.wait(100)
        image = window.grab().toImage()
        _save(image, "main_window_generating.png", window)
        waiting, row = window.job_queue_view.rows()  # newest first: the waiting job is on top
        assert row.progress.value() >= 2 and not row.thumbnail.pixmap().isNull()
        assert waiting.progress.value() == 0
        assert len(window.job_queue_view.rows()) == 2
    finally:
        engine.gate.set()
        window.shutdown()
        app.setStyle(previous[0])
        app.setPalette(previous[1])
        app.setStyleSheet(previous[2])


def test_inpaint_screenshot(themed_window, qtbot, tmp_path):
    """The inpainting workflow for the README: a range marked, a region painted over the viewer, the
    Inpaint panel with its prompt."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    window = themed_window
    footage = _scene(tmp_path / "pier_at_dusk.mov", (0.85, 0.5, 0.45))
    [media_id] = window.media_bin.import_files([str(footage)])
    doc, stack = window.session.doc, window.session.stack
    video = doc.tracks(TrackKind.VIDEO)[0].id
    push_edit(stack, doc, "Insert", lambda d: d.insert(media_id, video, RationalTime(0, 24)))
    clip = doc.clips(video)[0].id
    qtbot.wait(50)
    window.timeline.zoom_to_fit()
    window.timeline.select([clip])
    window.seek(12)
    window.viewer.mark_in()
    with qtbot.waitSignal(window.player.frame_ready, timeout=20_000):
        window.seek(30)
    window.viewer.mark_out()
    window.inpaint_dock.raise_()
    painter = window.mask_painter
    painter.set_painting(True)
    painter.set_tool("ellipse")
    shown = painter.media_rect()
    a = QPoint(shown.x() + int(shown.width() * 0.55), shown.y() + int(shown.height() * 0.2))
    b = QPoint(shown.x() + int(shown.width() * 0.8), shown.y() + int(shown.height() * 0.55))
    QTest.mousePress(painter, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    QTest.mouseMove(painter, b)
    QTest.mouseRelease(painter, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)
    window.inpaint_panel.prompt_edit.setPlainText("a full moon rising over the water")
    qtbot.wait(200)
    image = window.grab().toImage()
    _save(image, "main_window_inpaint.png", window)
    assert doc.clip(clip).mask is not None and painter.mask_array().max() == 255
