"""JobSpec, EngineSettings and apply_result: LTX-2's grid, regenerate-from-clip, settings detection and
persistence, and a finished clip landing in the bin / on the timeline as one undo step."""

from __future__ import annotations

from fractions import Fraction

import pytest
from opentimelineio.opentime import RationalTime
from PySide6.QtCore import QSettings
from PySide6.QtGui import QUndoStack

from app.document import MediaItem, TimelineDocument, TrackKind
from app.errors import JobError
from app.jobs import EngineSettings, JobSpec, apply_result, frames_for_duration, snap_frames
from app.media.info import MediaInfo


def test_durations_snap_to_8k_plus_1_frames():
    assert frames_for_duration(5.0, 24.0) == 121
    assert frames_for_duration(2.0, 25.0) == 49
    assert frames_for_duration(0.1, 24.0) == 9  # never below one latent step
    assert snap_frames(12) == 9 and snap_frames(14) == 17
    with pytest.raises(JobError):
        frames_for_duration(0, 24)


def test_validate_explains_how_to_fix_a_bad_size_or_step_count():
    with pytest.raises(JobError, match="use 64 or 96"):
        JobSpec(prompt="x", width=70, height=64, frames=9).validate()
    with pytest.raises(JobError, match="steps 1"):
        JobSpec(prompt="x", width=64, height=64, frames=9, steps=1).validate()
    with pytest.raises(JobError, match="prompt is empty"):
        JobSpec(prompt="  ", width=64, height=64, frames=9).validate()


def test_regenerate_from_a_clip_builds_the_same_request():
    spec = JobSpec(
        prompt="a cat",
        negative_prompt="blur",
        width=64,
        height=96,
        frames=17,
        fps=25.0,
        steps=3,
        seed=2**40,
        guidance=3.5,
        model="tiny",
        quantization="int8",
        image="/x/start.png",
    )
    again = JobSpec.from_generation(dict(spec.generation_parameters(), checkpoint_identity="tiny-random"))
    assert again == spec
    assert again.to_request() == spec.to_request()
    with pytest.raises(JobError, match="no stored generation"):
        JobSpec.from_generation({})


def test_settings_detect_says_what_is_missing(tmp_path):
    problems = EngineSettings().detect()
    assert any("No LTX-2 checkpoint" in p for p in problems) and any("Gemma" in p for p in problems)
    pickle = tmp_path / "model.ckpt"
    pickle.write_bytes(b"PK\x03\x04")
    (tmp_path / "gemma").mkdir()
    problems = EngineSettings(checkpoint=str(pickle), gemma_root=str(tmp_path / "gemma")).detect()
    assert any("pickle" in p for p in problems)
    assert any("incomplete" in p and "tokenizer" in p for p in problems)


def test_settings_round_trip_through_qsettings(tmp_path):
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    chosen = EngineSettings(
        checkpoint="/m/ltx.safetensors", gemma_root="/m/gemma", quantization="fp8", developer_tiny=True
    )
    chosen.save(store)
    reread = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    assert EngineSettings.load(reread) == chosen
    assert (
        EngineSettings.load(QSettings(str(tmp_path / "empty.ini"), QSettings.Format.IniFormat))
        == EngineSettings()
    )


def _item(tmp_path) -> MediaItem:
    info = MediaInfo(
        path=str(tmp_path / "cat.mkv"),
        container="matroska",
        has_video=True,
        has_audio=True,
        width=64,
        height=64,
        fps=Fraction(24),
        frame_count=9,
        sample_rate=24000,
        channels=2,
        audio_samples=9000,
    )
    return MediaItem(
        id="m1",
        path=info.path,
        name="cat",
        info=info,
        generation={"prompt": "a cat", "seed": 1},
        kind="generated",
    )


def test_apply_result_adds_to_bin_and_timeline_as_one_undo_step(tmp_path, qapp):
    doc, stack = TimelineDocument(rate=24), QUndoStack()
    video = doc.tracks(TrackKind.VIDEO)[0].id
    ids = apply_result(stack, doc, _item(tmp_path), RationalTime(0, 24), video)
    assert ids and [i.id for i in doc.bin_items()] == ["m1"]
    clip = doc.clips(video)[0]
    assert clip.media_id == "m1" and clip.duration.to_frames() == 9
    assert stack.count() == 1
    stack.undo()
    assert doc.bin_items() == [] and doc.clips(video) == []
    stack.redo()
    assert doc.clips(video)[0].media_id == "m1"


def test_apply_result_without_a_place_only_fills_the_bin(tmp_path, qapp):
    doc, stack = TimelineDocument(rate=24), QUndoStack()
    assert apply_result(stack, doc, _item(tmp_path)) == []
    assert [i.id for i in doc.bin_items()] == ["m1"]
    assert all(doc.clips(t.id) == [] for t in doc.tracks())
    stack.undo()
    assert doc.bin_items() == []


def test_settings_accept_each_release_layout_and_say_what_they_found(tmp_path):
    """A 2.0/2.3 single file with its Gemma root beside it and a 2.5 release folder need no Gemma setting;
    the summary names the version; the model spec follows the file; a lone file names the missing root."""
    from engine.models import SPECS
    from tests import shared_fixtures as fx

    cases = []
    if fx.LTX2_FIXTURE is not None:
        cases.append(("2.0", fx.LTX2_FIXTURE / fx.LTX2_CHECKPOINT))
    if fx.LTX23_FIXTURE is not None:
        cases.append(("2.3", fx.ltx23_monolith(fx.LTX23_FIXTURE)))
    if fx.LTX25_FIXTURE is not None:
        cases.append(("2.5", fx.LTX25_FIXTURE))
    if not cases:
        pytest.skip("no shared fixture available")
    for version, path in cases:
        settings = EngineSettings(checkpoint=str(path))
        assert settings.detect() == [], (version, settings.detect())
        assert settings.summary().startswith(f"LTX-{version}")
        assert settings.model_spec() is SPECS[version]
        if version == "2.5":
            assert settings.text_encoder_path() is None  # the packed encoder inside the folder
        else:
            assert settings.text_encoder_path() is not None and settings.text_encoder_path().is_dir()
    version, path = cases[0]
    if version != "2.5":
        lone = tmp_path / path.name
        lone.symlink_to(path)
        problems = EngineSettings(checkpoint=str(lone)).detect()
        assert any("Gemma" in p and "missing" in p for p in problems), problems
