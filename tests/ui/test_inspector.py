"""The inspector: clip timing in timecode, media facts, generation parameters, Regenerate and Copy seed."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from opentimelineio.opentime import RationalTime
from PySide6.QtGui import QGuiApplication, QUndoStack
from PySide6.QtWidgets import QApplication

from app.commands import push_edit
from app.document import MediaItem, TimelineDocument, TrackKind
from app.media.probe import probe_media
from tests.media_builders import make_video
from ui.inspector import Inspector, generation_rows
from ui.theme import apply_dark_theme

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"

# The shape app.jobs.result.generation_record writes.
GENERATION = {
    "prompt": "A red fox trots through a snowy birch forest at dawn, steam rising from its breath",
    "negative_prompt": "blurry, low quality, watermark",
    "width": 1280,
    "height": 704,
    "frames": 121,
    "fps": 24.0,
    "steps": 30,
    "seed": 1234567,
    "guidance": 4.0,
    "audio_guidance": 7.0,
    "model": "ltx-2",
    "quantization": "fp8",
    "image": None,
    "model_name": "LTX-2 19B dev",
    "checkpoint_identity": "ltx-2-19b-dev-fp8.safetensors sha256:9f2c4e1d0a7b",
    "engine_version": "1",
    "software": "AIPROD Studio 0.3.0",
    "created": "2026-11-21T07:00:00+00:00",
    "lora": None,
}


@pytest.fixture
def doc() -> TimelineDocument:
    return TimelineDocument(name="Inspector test", rate=24)


@pytest.fixture
def generated(doc, tmp_path) -> tuple[str, str]:
    """(media id, clip id) of a generated clip placed at 00:00:02:00 on V1."""
    path = make_video(tmp_path / "fox.mkv", frames=48, codec="ffv1", size=(128, 72))
    media_id = doc.add_bin_item(
        MediaItem(
            id=uuid.uuid4().hex,
            path=str(path),
            name="fox.mkv",
            info=probe_media(path),
            generation=dict(GENERATION),
            kind="generated",
        )
    )
    track = doc.tracks(TrackKind.VIDEO)[0].id
    doc.insert(media_id, track, RationalTime(0, 24))
    # A ripple insert of a second copy at 0 pushes ours to 00:00:02:00, so "timeline in" is not just zero.
    ids = doc.insert(media_id, track, RationalTime(0, 24), source_range=None, with_audio=False)
    clip_id = next(c.id for c in doc.clips(track) if c.id not in ids)
    return media_id, clip_id


@pytest.fixture
def inspector(qtbot, doc) -> Inspector:
    widget = Inspector(doc)
    qtbot.addWidget(widget)
    widget.resize(380, 640)
    widget.show()
    return widget


def test_generation_rows_put_the_prompt_first_and_keep_unknown_keys():
    rows = generation_rows({"zeta": 1, "seed": 5, "prompt": "p"})
    assert rows == [("Prompt", "p"), ("Seed", "5"), ("Zeta", "1")]


def test_shows_clip_timing_media_and_generation(inspector, generated):
    media_id, clip_id = generated
    inspector.show_clip(clip_id)

    assert inspector._title.text() == "fox.mkv"
    assert inspector.field_text("Timeline in") == "00:00:02:00  (48)"
    assert inspector.field_text("Timeline out") == "00:00:04:00  (96)"
    assert inspector.field_text("Duration") == "00:00:02:00  (48)"
    assert inspector.field_text("Source in") == "00:00:00:00  (0)"
    assert inspector.field_text("Path").endswith("fox.mkv")
    assert inspector.field_text("Video") == "128×72, 24 fps, ffv1"
    assert inspector.field_text("Prompt") == GENERATION["prompt"]
    assert inspector.field_text("Negative prompt") == GENERATION["negative_prompt"]
    assert inspector.field_text("Seed") == "1234567"
    assert inspector.field_text("Checkpoint") == GENERATION["checkpoint_identity"]
    assert inspector.field_text("Model name") == "LTX-2 19B dev"
    assert inspector.field_text("Quantization") == "fp8"
    assert inspector.field_text("Steps") == "30"
    assert inspector.field_text("Size") == "1280×704"
    assert inspector.field_text("FPS") == "24"
    assert inspector.field_text("Start image") == "—"
    assert inspector.field_text("Lora") == "—"  # keys the inspector does not know are still shown
    assert inspector.regenerate_button.isVisibleTo(inspector)


def test_regenerate_emits_the_generation_dict_and_copy_seed_copies(inspector, generated, qtbot):
    inspector.show_media(generated[0])
    with qtbot.waitSignal(inspector.regenerate_requested) as emitted:
        inspector.regenerate_button.click()
    assert emitted.args == [GENERATION, False]  # a new seed unless "Same seed" is ticked
    inspector.same_seed_check.setChecked(True)
    with qtbot.waitSignal(inspector.regenerate_requested) as emitted:
        inspector.regenerate_button.click()
    assert emitted.args == [GENERATION, True]

    inspector.copy_seed_button.click()
    assert QGuiApplication.clipboard().text() == "1234567"


def test_imported_media_has_no_generation_actions(inspector, doc, tmp_path):
    path = make_video(tmp_path / "plain.mp4", audio=True)
    media_id = doc.add_bin_item(MediaItem(id="m1", path=str(path), name="plain.mp4", info=probe_media(path)))
    inspector.show_media(media_id)
    assert inspector.field_text("Kind") == "imported"
    assert inspector.field_text("Audio").startswith("aac, 48000 Hz, 2 ch")
    assert inspector.field_text("Prompt") is None
    assert not inspector.regenerate_button.isVisibleTo(inspector)


def test_follows_the_document_through_undo(inspector, doc, generated):
    media_id, clip_id = generated
    stack = QUndoStack()
    inspector.show_clip(clip_id)
    push_edit(stack, doc, "Lift", lambda d: d.lift([clip_id]))
    assert inspector.field_text("Timeline in") is None and inspector._empty.isVisibleTo(inspector)
    inspector.show_media(media_id)
    push_edit(stack, doc, "Relink", lambda d: d.relink(media_id, "/nowhere/fox.mkv", None))
    assert inspector.field_text("Path") == "/nowhere/fox.mkv"
    assert inspector.field_text("Media").startswith("not readable")


def test_clear_and_unknown_ids_show_the_hint(inspector, generated):
    inspector.show_clip(generated[1])
    inspector.clear()
    assert inspector._empty.isVisibleTo(inspector) and not inspector._title.isVisibleTo(inspector)
    inspector.show_clip("no-such-clip")
    assert inspector._empty.isVisibleTo(inspector)


def test_screenshot_of_a_generated_clip(qtbot, doc, generated):
    app = QApplication.instance()
    previous = (app.style().name(), app.palette(), app.styleSheet())
    apply_dark_theme(app)
    try:
        widget = Inspector(doc)
        qtbot.addWidget(widget)
        widget.resize(380, 720)
        widget.show()
        widget.show_clip(generated[1])
        qtbot.wait(50)
        image = widget.grab().toImage()
    finally:
        app.setStyle(previous[0])
        app.setPalette(previous[1])
        app.setStyleSheet(previous[2])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert image.save(str(SCREENSHOTS / "inspector.png"))
    assert widget.field_text("Seed") == "1234567"
