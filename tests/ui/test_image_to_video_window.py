"""Image-to-video through the studio window with the tiny model: the start image from a file and from the
viewer's frame, at a non-square size, with live previews on (the studio used to fail at the first preview
with a latent-size mismatch while the CLI path worked)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from window_helpers import opened_window, quiet_prompts

from app.jobs import EngineSettings, JobStatus
from ui.generate_panel import START_FILE, START_VIEWER
from ui.main_window import MainWindow

pytestmark = pytest.mark.usefixtures("data_dir")  # tests/ui/conftest.py


@pytest.fixture
def window(qtbot, tmp_path):  # noqa: ANN001, ANN201
    errors: list[str] = []
    with opened_window(qtbot, tmp_path, prompts=quiet_prompts(errors.append)) as window:
        window.apply_engine_settings(EngineSettings(developer_tiny=True))
        yield window
    assert errors == []


def _generate(window: MainWindow, qtbot, start: str) -> tuple[str, object, list]:  # noqa: ANN001
    panel = window.generate_panel
    panel.prompt_edit.setPlainText("a red kite over the dunes")
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("tiny"))
    panel.size_combo.setCurrentIndex(panel.size_combo.findData("256x160"))  # not square
    panel.duration_spin.setValue(0.3)  # 9 frames at 24 fps
    panel.steps_spin.setValue(4)  # previews come every 2 steps, not on the last
    panel.start_combo.setCurrentIndex(panel.start_combo.findData(start))
    previews: list[str] = []
    window.jobs.job_changed.connect(
        lambda job_id: previews.append(job_id) if window.jobs.job(job_id).preview is not None else None
    )
    with qtbot.waitSignal(window.jobs.job_finished, timeout=300_000) as finished:
        qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
    job_id, item = finished.args
    return job_id, item, previews


def test_image_to_video_from_a_file_runs_with_previews_through_the_window(window, qtbot, tmp_path):
    image = tmp_path / "start.png"
    pixels = np.zeros((160, 256, 3), np.uint8)
    pixels[:, :128] = (220, 40, 30)
    Image.fromarray(pixels).save(image)
    window.generate_panel.image_edit.setText(str(image))
    job_id, item, previews = _generate(window, qtbot, START_FILE)
    job = window.jobs.job(job_id)
    assert job.status is JobStatus.DONE, job.error
    assert previews, "no live preview arrived"
    assert item.generation["image"] == str(image)
    assert (item.info.width, item.info.height, item.info.frame_count) == (256, 160, 9)


def test_image_to_video_from_the_viewers_frame_runs_through_the_window(window, qtbot, tmp_path):
    from media_builders import make_video

    clip = make_video(tmp_path / "shot.mov", frames=12, size=(256, 160), codec="prores_ks", audio=False)
    [media_id] = window.media_bin.import_files([str(clip)])
    window.media_bin.select(media_id)
    assert window.place_bin_selection()
    window.seek(3)
    qtbot.waitUntil(lambda: window.generate_panel._current_frame() is not None, timeout=10_000)
    job_id, item, previews = _generate(window, qtbot, START_VIEWER)
    job = window.jobs.job(job_id)
    assert job.status is JobStatus.DONE, job.error
    assert previews and item.generation["image"] == "<frame>"
