"""The Export dialog's Exact colour box: ticked, the export (queued or run by the dialog) renders every frame
through OpenColorIO itself (``fast=False``); the choice is remembered like the preset and folder; a
finished export says how many frames took the fast path."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from app.document import TimelineDocument
from app.export import RenderReport
from app.export.runner import ExportRequest
from tests.media_builders import back_to_back, make_video
from ui.export_dialog import EXACT_KEY, ExportDialog

TIMEOUT_MS = 30_000


class FakeRender:
    """render_timeline-shaped, with the optional keywords: records them, writes a file, reports
    ``fast_frames`` of its frames on the fast path unless ``fast=False``."""

    def __init__(self, frames: int = 4, fast_frames: int = 3) -> None:
        self.frames, self.fast_frames = frames, fast_frames
        self.kwargs: list[dict] = []

    def __call__(self, doc, preset, out_path, **kwargs):  # noqa: ANN001, ANN204
        self.kwargs.append(kwargs)
        for done in range(1, self.frames + 1):
            kwargs["on_progress"](done, self.frames, 0.0)
        Path(out_path).write_bytes(b"x")
        fast = 0 if kwargs.get("fast", True) is False else self.fast_frames
        return RenderReport(
            path=Path(out_path), preset=preset.name, first_frame=0, frames=self.frames, width=64, height=48,
            fps=Fraction(24), has_audio=False, alpha=False, graded=True, seconds=0.1, fast_frames=fast,
        )  # fmt: skip


@pytest.fixture(scope="module")
def doc(tmp_path_factory) -> TimelineDocument:
    root = tmp_path_factory.mktemp("exact_dialog_media")
    return back_to_back([make_video(root / "a.mp4", frames=6, audio=False)], name="Exact")


def queue_one(make_dialog, doc, tmp_path, tick: bool | None) -> tuple[ExportDialog, list[ExportRequest]]:  # noqa: ANN001
    submitted: list[ExportRequest] = []

    def submit(request: ExportRequest) -> str:
        submitted.append(request)
        return f"job-{len(submitted)}"

    dialog = make_dialog(doc, submit=submit)
    if tick is not None:
        dialog.exact_check.setChecked(tick)
    dialog.select_preset("prores_422_proxy")
    dialog.set_destination(str(tmp_path / "master.mov"))
    dialog.export_button.click()
    return dialog, submitted


def test_the_box_is_off_by_default_and_says_what_it_does(make_dialog, doc):
    dialog = make_dialog(doc)
    box = dialog.exact_check
    assert not box.isChecked() and box.isEnabled()
    assert "OpenColorIO" in box.text()
    tip = box.toolTip()
    assert "one code value" in tip and "fast path" in tip and "match OpenColorIO itself" in tip


def test_ticking_the_box_makes_the_queued_request_exact(make_dialog, doc, tmp_path):
    _dialog, submitted = queue_one(make_dialog, doc, tmp_path, tick=True)
    assert len(submitted) == 1 and submitted[0].exact is True
    assert "exact colour" in submitted[0].detail


def test_an_unticked_box_queues_the_fast_path(make_dialog, doc, tmp_path):
    _dialog, submitted = queue_one(make_dialog, doc, tmp_path, tick=None)
    assert len(submitted) == 1 and submitted[0].exact is False


def test_the_choice_is_remembered_across_dialogs(qtbot, make_dialog, doc, tmp_path, settings):
    queue_one(make_dialog, doc, tmp_path, tick=True)
    settings.sync()
    assert make_dialog(doc).exact_check.isChecked()  # a new dialog starts ticked
    reread = QSettings(settings.fileName(), QSettings.Format.IniFormat)  # as after a restart
    after_restart = ExportDialog(doc, reread)
    qtbot.addWidget(after_restart)
    assert after_restart.exact_check.isChecked()
    queue_one(make_dialog, doc, tmp_path, tick=False)
    assert not make_dialog(doc).exact_check.isChecked()
    assert str(settings.value(EXACT_KEY)).lower() == "false"


def test_the_summary_says_exact_colour_when_ticked(make_dialog, doc, tmp_path):
    dialog = make_dialog(doc)
    dialog.set_destination(str(tmp_path / "master.mov"))
    assert "Exact colour" not in dialog.summary_label.text()
    dialog.exact_check.setChecked(True)
    assert "Exact colour" in dialog.summary_label.text()


def test_the_dialogs_own_export_renders_exact_and_says_how_many_frames_took_the_fast_path(
    qtbot, make_dialog, doc, tmp_path
):
    render = FakeRender(frames=4, fast_frames=3)
    dialog = make_dialog(doc, render=render)
    dialog.select_preset("prores_422_proxy")
    dialog.set_destination(str(tmp_path / "fast.mov"))
    with qtbot.waitSignal(dialog.export_finished, timeout=TIMEOUT_MS):
        dialog.export_button.click()
    assert "fast" not in render.kwargs[-1]
    assert "3 of 4 frames took the fast path" in dialog.status_label.text()

    dialog.exact_check.setChecked(True)
    dialog.set_destination(str(tmp_path / "exact.mov"))
    with qtbot.waitSignal(dialog.export_finished, timeout=TIMEOUT_MS):
        dialog.export_button.click()
        assert not dialog.exact_check.isEnabled()  # not changed while it renders
    assert render.kwargs[-1]["fast"] is False
    assert "All 4 frames went through OpenColorIO itself" in dialog.status_label.text()
    assert dialog.exact_check.isEnabled()
