"""The export dialog: presets grouped with a description, destination suffix following the preset, range
and size handed to the renderer, progress/ETA, cancel, inline errors, the inline close question, and
remembered choices. A real export of a tiny 2-clip timeline goes through app.export and is probed back.

Destinations are set directly (no file dialog); Reveal gets an injected function."""

from __future__ import annotations

import threading
from fractions import Fraction
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.document import TimelineDocument, TrackKind
from app.errors import ExportCancelled, ExportError
from app.export import RenderReport, presets, probe, render_timeline
from tests.media_builders import back_to_back, make_video
from ui.export_dialog import FOLDER_KEY, PRESET_KEY, ExportDialog, facts, format_eta

TIMEOUT_MS = 30_000
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


class FakeRender:
    """render_timeline-shaped; writes a file (or folder) at the end, honours cancel, can fail or pause."""

    def __init__(self, frames: int = 4, fail: Exception | None = None, gate: threading.Event | None = None):
        self.frames, self.fail, self.gate = frames, fail, gate
        self.calls: list[dict] = []
        self.started = threading.Event()

    def __call__(self, doc, preset, out_path, *, in_frame, out_frame, size, on_progress, cancel):
        self.calls.append(dict(preset=preset, out=out_path, range=(in_frame, out_frame), size=size))
        self.started.set()
        if self.fail is not None:
            raise self.fail
        for done in range(1, self.frames + 1):
            if self.gate is not None:
                self.gate.wait(5)
            if cancel.is_set():
                raise ExportCancelled("cancelled")
            on_progress(done, self.frames, 2.0 * (self.frames - done))
        Path(out_path).write_bytes(b"x")
        return fake_report(out_path, preset, self.frames)


def fake_report(out_path, preset, frames: int) -> RenderReport:  # noqa: ANN001
    return RenderReport(
        path=Path(out_path), preset=preset.name, first_frame=0, frames=frames, width=64, height=48,
        fps=Fraction(24), has_audio=True, alpha=False, graded=False, seconds=0.1,
    )  # fmt: skip


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("export_media")
    return [
        make_video(root / "a.mp4", frames=12, size=(64, 48)),
        make_video(root / "b.mp4", frames=12, size=(64, 48)),
    ]


@pytest.fixture
def doc(media) -> TimelineDocument:
    """Two 12-frame clips on V1 (with their sound on A1): 24 frames at 24 fps."""
    return back_to_back(media, name="Two clips")


def group_titles(dialog: ExportDialog) -> list[str]:
    tree = dialog.preset_tree
    return [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]


# ----------------------------------------------------------------------------------------- choices
def test_presets_are_grouped_with_a_description_and_headings_are_not_choices(make_dialog, doc):
    dialog = make_dialog(doc)
    assert group_titles(dialog) == ["ProRes", "H.265 / H.264", "DNxHR", "Image sequences"]
    prores = dialog.preset_tree.topLevelItem(0)
    assert not prores.flags() & Qt.ItemFlag.ItemIsSelectable
    # lightest to heaviest, as an editor expects to read them
    assert [prores.child(i).text(0) for i in range(prores.childCount())] == [
        "ProRes 422 Proxy",
        "ProRes 422 LT",
        "ProRes 422",
        "ProRes 422 HQ",
        "ProRes 4444 (with alpha)",
    ]
    hq = prores.child(3).text(1)
    assert "prores_ks" in hq and "yuv422p10le" in hq and "PCM 24-bit" in hq
    hevc = dialog.preset_tree.topLevelItem(1).child(1)
    assert hevc.text(0) == "H.265 Main10 (.mp4)"
    assert "libx265" in hevc.text(1) and "yuv420p10le" in hevc.text(1) and "hvc1" in hevc.text(1)
    assert "AAC" in hevc.text(1)
    sequences = dialog.preset_tree.topLevelItem(3)
    assert sequences.childCount() == 3 and all("WAV" in sequences.child(i).text(1) for i in range(3))
    assert facts(presets.get("png_sequence")).group == "Image sequences"


def test_destination_suffix_follows_the_preset_and_sequences_get_a_folder(make_dialog, doc, tmp_path):
    dialog = make_dialog(doc)
    assert facts(dialog.current_preset()).name == "prores_422_hq"  # the default delivery
    dialog.set_destination(str(tmp_path / "cut.mov"))
    dialog.select_preset("h265_main10")
    assert dialog.destination() == tmp_path / "cut.mp4"
    dialog.select_preset("png_sequence")
    assert dialog.destination() == tmp_path / "cut"
    assert "image sequence into the folder" in dialog.summary_label.text()
    dialog.select_preset("prores_422_hq")
    assert dialog.destination() == tmp_path / "cut.mov"


def test_summary_says_what_will_be_written_and_refuses_an_empty_timeline(make_dialog, doc, tmp_path):
    dialog = make_dialog(doc, in_out=(6, 18))
    dialog.set_destination(str(tmp_path / "cut.mov"))
    summary = dialog.summary_label.text()
    assert "cut.mov" in summary and "64 × 48" in summary and "12 frames" in summary  # the in/out range
    dialog.whole_radio.setChecked(True)
    assert "24 frames" in dialog.summary_label.text()
    assert dialog.export_button.isEnabled()

    empty = make_dialog(TimelineDocument())
    assert "empty" in empty.summary_label.text()
    assert not empty.export_button.isEnabled()


def test_summary_follows_edits_made_while_the_dialog_is_open(make_dialog, doc, tmp_path):
    dialog = make_dialog(doc)
    dialog.set_destination(str(tmp_path / "cut.mov"))
    assert "24 frames" in dialog.summary_label.text()
    clip = doc.clips(doc.tracks(TrackKind.VIDEO)[0].id)[-1]
    doc.ripple_delete([clip.id])
    assert "12 frames" in dialog.summary_label.text()


def test_only_an_export_suffix_is_replaced(make_dialog, doc, tmp_path):
    dialog = make_dialog(doc)
    dialog.set_destination(str(tmp_path / "take 1.2"))
    dialog.select_preset("h264_high")
    assert dialog.destination() == tmp_path / "take 1.2.mp4"
    dialog.select_preset("exr_sequence")
    assert dialog.destination() == tmp_path / "take 1.2"


def test_range_is_disabled_without_marks(make_dialog, doc):
    dialog = make_dialog(doc)
    assert not dialog.range_radio.isEnabled()
    assert dialog.frame_range() == (None, None)


# ------------------------------------------------------------------------------ export (fake render)
def test_export_passes_choices_to_the_renderer_shows_progress_and_remembers(
    qtbot, make_dialog, doc, tmp_path, settings
):
    render = FakeRender(frames=4)
    revealed: list[Path] = []
    dialog = make_dialog(doc, in_out=(3, 20), render=render, reveal=revealed.append)
    dialog.select_preset("h265_main10")
    dialog.set_destination(str(tmp_path / "out" / "film.mp4"))
    (tmp_path / "out").mkdir()
    dialog.select_size((1280, 720))
    values: list[int] = []
    dialog.progress_bar.valueChanged.connect(values.append)
    with qtbot.waitSignal(dialog.export_finished, timeout=TIMEOUT_MS) as done:
        dialog.export_button.click()
        assert dialog.cancel_button.isVisibleTo(dialog) and not dialog.preset_tree.isEnabled()
    assert done.args == [str(tmp_path / "out" / "film.mp4")]
    call = render.calls[0]
    assert (call["preset"].name, call["out"], call["range"], call["size"]) == (
        "h265_main10",
        tmp_path / "out" / "film.mp4",
        (3, 20),
        (1280, 720),
    )
    assert values and values[-1] == 4 and dialog.progress_bar.maximum() == 4
    assert str(tmp_path / "out" / "film.mp4") in dialog.status_label.text()
    assert dialog.reveal_button.isVisibleTo(dialog) and dialog.preset_tree.isEnabled()
    dialog.reveal_button.click()
    assert revealed == [tmp_path / "out" / "film.mp4"]
    assert settings.value(PRESET_KEY) == "h265_main10"
    assert settings.value(FOLDER_KEY) == str(tmp_path / "out")

    again = make_dialog(doc)
    assert facts(again.current_preset()).name == "h265_main10"
    assert again.destination() == tmp_path / "out" / "Two clips.mp4"


def test_an_export_error_is_shown_inline(qtbot, make_dialog, doc, tmp_path):
    message = "Cannot write to /nowhere: the folder does not exist. Choose another destination."
    dialog = make_dialog(doc, render=FakeRender(fail=ExportError(message)))
    dialog.set_destination(str(tmp_path / "a.mov"))
    with qtbot.waitSignal(dialog.export_failed, timeout=TIMEOUT_MS):
        dialog.export_button.click()
    assert dialog.status_label.text() == message
    assert dialog.export_button.isVisibleTo(dialog) and dialog.export_button.isEnabled()
    assert not dialog.reveal_button.isVisibleTo(dialog)


def test_progress_shows_frames_and_eta_while_running(qtbot, make_dialog, doc, tmp_path):
    gate = threading.Event()

    def render(doc, preset, out_path, *, on_progress, cancel, **_range):  # noqa: ANN001, ANN202
        on_progress(1, 4, 75.0)
        gate.wait(5)  # hold here until the test has looked at the dialog
        on_progress(4, 4, 0.0)
        Path(out_path).write_bytes(b"x")
        return fake_report(out_path, preset, 4)

    dialog = make_dialog(doc, render=render)
    dialog.set_destination(str(tmp_path / "a.mov"))
    with qtbot.waitSignal(dialog.export_finished, timeout=TIMEOUT_MS):
        dialog.export_button.click()
        qtbot.waitUntil(lambda: dialog.progress_bar.value() == 1, timeout=TIMEOUT_MS)
        assert dialog.progress_bar.maximum() == 4
        # the time left is the runner's smoothed estimate (app.export.eta), not the renderer's raw one
        assert dialog.eta_label.text() == "Frame 1 of 4 — estimating the time left"
        assert dialog.status_label.text() == "Exporting a.mov…"  # no longer "Starting…"
        gate.set()
    assert dialog.progress_bar.value() == 4


def test_screenshot_of_a_finished_export(qtbot, make_dialog, doc, tmp_path):
    dialog = make_dialog(doc, render=FakeRender(frames=4), in_out=(6, 18))
    dialog.set_destination(str(tmp_path / "Two clips.mov"))
    dialog.show()
    qtbot.waitExposed(dialog)
    with qtbot.waitSignal(dialog.export_finished, timeout=TIMEOUT_MS):
        dialog.export_button.click()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    image = dialog.grab().toImage()
    assert image.width() > 400 and image.save(str(SCREENSHOTS / "export_dialog.png"))


def test_cancel_button_cancels(qtbot, make_dialog, doc, tmp_path):
    gate = threading.Event()
    dialog = make_dialog(doc, render=FakeRender(frames=100, gate=gate))
    dialog.set_destination(str(tmp_path / "a.mov"))
    dialog.export_button.click()
    assert dialog.busy
    dialog.cancel_button.click()
    with qtbot.waitSignal(dialog.export_cancelled, timeout=TIMEOUT_MS):
        gate.set()
    assert "cancelled" in dialog.status_label.text()
    assert not (tmp_path / "a.mov").exists()
    assert not dialog.busy and dialog.export_button.isVisibleTo(dialog)


def test_closing_while_exporting_asks_inline_and_closes_only_by_cancelling(qtbot, make_dialog, doc, tmp_path):
    gate = threading.Event()
    render = FakeRender(frames=100, gate=gate)
    dialog = make_dialog(doc, render=render)
    dialog.set_destination(str(tmp_path / "a.mov"))
    dialog.open()
    dialog.export_button.click()
    assert render.started.wait(5)

    dialog.close_button.click()
    assert dialog.isVisible() and dialog.confirm_frame.isVisibleTo(dialog)
    dialog.confirm_keep_button.click()
    assert dialog.isVisible() and not dialog.confirm_frame.isVisibleTo(dialog) and dialog.busy

    dialog.close()  # the window's close button
    assert dialog.isVisible() and dialog.confirm_frame.isVisibleTo(dialog)
    with qtbot.waitSignal(dialog.finished, timeout=TIMEOUT_MS):
        dialog.confirm_cancel_button.click()
        gate.set()
    assert not dialog.isVisible()
    assert not (tmp_path / "a.mov").exists()
    assert dialog._runner is None  # closing stopped the worker thread


def test_format_eta():
    assert format_eta(-1) == "estimating..."
    assert format_eta(75) == "1:15"
    assert format_eta(3725) == "1:02:05"


# ------------------------------------------------------------------------------ export (real render)
def test_a_real_export_of_two_clips_writes_a_probed_file(qtbot, make_dialog, doc, tmp_path):
    dialog = make_dialog(doc)
    dialog.select_preset("prores_422_hq")
    dialog.set_destination(str(tmp_path / "cut.mov"))
    values: list[int] = []
    dialog.progress_bar.valueChanged.connect(values.append)
    with qtbot.waitSignal(dialog.export_finished, timeout=TIMEOUT_MS):
        dialog.export_button.click()
    info = probe(tmp_path / "cut.mov")
    assert info["video_codec"] == "prores" and info["frame_count"] == 24
    assert (info["width"], info["height"]) == (64, 48)
    assert info["audio_codec"] == "pcm_s24le"
    assert 24 in values and dialog.progress_bar.maximum() == 24
    runner_thread = dialog._runner._thread
    dialog.reject()
    assert not runner_thread.isRunning()


def test_a_real_cancelled_export_leaves_nothing(qtbot, make_dialog, doc, tmp_path):
    gate = threading.Event()

    def slow_render(*args, on_progress, **kwargs):
        def paused(done, total, eta):
            on_progress(done, total, eta)
            gate.wait(5)  # hold the renderer after its first frame until the test has cancelled

        return render_timeline(*args, on_progress=paused, **kwargs)

    out = tmp_path / "out"
    out.mkdir()
    dialog = make_dialog(doc, render=slow_render)
    dialog.select_preset("prores_422_hq")
    dialog.set_destination(str(out / "cut.mov"))
    dialog.export_button.click()
    qtbot.waitUntil(lambda: dialog.progress_bar.value() >= 1, timeout=TIMEOUT_MS)
    dialog.cancel_button.click()
    with qtbot.waitSignal(dialog.export_cancelled, timeout=TIMEOUT_MS):
        gate.set()
    assert "cancelled" in dialog.status_label.text()
    assert list(out.iterdir()) == []  # no file, no temporary left behind


def test_a_real_export_to_an_unwritable_destination_shows_the_error(qtbot, make_dialog, doc, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    blocker = out / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    dialog = make_dialog(doc)
    dialog.select_preset("prores_422_hq")
    dialog.set_destination(str(blocker / "cut.mov"))
    with qtbot.waitSignal(dialog.export_failed, timeout=TIMEOUT_MS) as failed:
        dialog.export_button.click()
    assert failed.args[0] and dialog.status_label.text() == failed.args[0]
    assert "not-a-folder" in failed.args[0]
    assert [p.name for p in out.iterdir()] == ["not-a-folder"]


def test_a_real_image_sequence_export_writes_a_folder(qtbot, make_dialog, doc, tmp_path):
    dialog = make_dialog(doc, in_out=(0, 6))
    dialog.set_destination(str(tmp_path / "frames.mov"))
    dialog.select_preset("png_sequence")
    assert dialog.destination() == tmp_path / "frames"
    with qtbot.waitSignal(dialog.export_finished, timeout=TIMEOUT_MS) as done:
        dialog.export_button.click()
    assert done.args == [str(tmp_path / "frames")]
    written = sorted(p.suffix for p in (tmp_path / "frames").iterdir())
    assert written.count(".png") == 6 and ".wav" in written


def test_an_output_onto_the_project_or_its_media_is_refused_inline(qtbot, make_dialog, doc, media, tmp_path):
    folder = tmp_path / "Film.aiprod"
    folder.mkdir()
    render = FakeRender()
    dialog = make_dialog(doc, render=render, project_folder=lambda: folder)
    dialog.select_preset("h264_high")
    for out in (media[0], folder / "cut.mp4"):
        dialog.set_destination(str(out))
        with qtbot.waitSignal(dialog.export_failed, timeout=TIMEOUT_MS) as failed:
            dialog.export_button.click()
        assert "Refusing to write" in failed.args[0] and dialog.status_label.text() == failed.args[0]
        assert dialog.export_button.isVisibleTo(dialog) and dialog.export_button.isEnabled()
    assert render.calls == []  # nothing started
    dialog.grab().save(str(SCREENSHOTS / "export_dialog_refused.png")) if SCREENSHOTS.is_dir() else None
