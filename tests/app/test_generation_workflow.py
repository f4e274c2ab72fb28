"""Issue 14, the Qt-free parts of the AI workflow: the project's job history (every outcome, batches,
persistence), variation batches (new seeds, sweeps), gap fill (geometry, keyframes, the edit) and prompt
presets."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest
from opentimelineio.opentime import RationalTime
from PIL import Image
from PySide6.QtCore import QSettings
from PySide6.QtGui import QImage, QUndoStack

from app.document import MediaItem, TimelineDocument, TrackKind
from app.errors import EditError, JobError
from app.jobs.gapfill import (
    Gap,
    GapFillSpec,
    apply_gap_fill,
    find_gap,
    gap_fill_spec,
    generated_frames,
    place_gap_fill,
)
from app.jobs.history import KIND_GAPFILL, KIND_INPAINT, KIND_VARIATION, JobHistory
from app.jobs.prompt_presets import KEY, PromptPresets, add_to_prompt
from app.jobs.queue import Job, JobStatus
from app.jobs.spec import JobSpec
from app.jobs.variations import MAX_VARIATIONS, VariationPlan, expand, sweep_values
from app.media.probe import probe_media
from tests.media_builders import decoded_index, make_video

BASE = JobSpec(prompt="a lighthouse in a storm", seed=7, width=64, height=64, frames=17, model="tiny")


# ------------------------------------------------------------------------------------------- variations
def test_new_seed_variations_are_distinct_takes_left_off_the_timeline():
    base = BASE.with_changes(place_on_timeline=True)
    batch = expand(base, VariationPlan(3), take_of="media-1")
    seeds = [v.spec.seed for v in batch]
    assert len(set(seeds)) == 3 and base.seed not in seeds
    assert [v.label for v in batch] == [f"seed {s}" for s in seeds]
    for v in batch:
        assert v.spec.take_of == "media-1" and not v.spec.place_on_timeline
        assert v.spec.with_changes(seed=base.seed, name="", take_of=None, place_on_timeline=True) == base


def test_a_guidance_sweep_keeps_the_seed_and_spaces_the_values():
    batch = expand(BASE, VariationPlan(3, "guidance", 3.0, 6.0))
    assert [v.spec.guidance for v in batch] == [3.0, 4.5, 6.0]
    assert {v.spec.seed for v in batch} == {BASE.seed}
    assert [v.label for v in batch] == ["guidance 3", "guidance 4.5", "guidance 6"]
    assert sweep_values(0.0, 1.0, 4) == [0.0, 0.3333, 0.6667, 1.0]


def test_a_lora_sweep_changes_only_that_loras_strength():
    base = BASE.with_changes(loras=(("/l/style.safetensors", 1.0), ("/l/other.safetensors", 0.5)))
    batch = expand(base, VariationPlan(2, "lora", 0.2, 1.2, lora="/l/style.safetensors"))
    assert [v.spec.loras for v in batch] == [
        (("/l/style.safetensors", 0.2), ("/l/other.safetensors", 0.5)),
        (("/l/style.safetensors", 1.2), ("/l/other.safetensors", 0.5)),
    ]
    assert batch[0].label == "LoRA style 0.2"


@pytest.mark.parametrize(
    ("plan", "base", "says"),
    [
        (VariationPlan(0), BASE, "1 to"),
        (VariationPlan(MAX_VARIATIONS + 1), BASE, "1 to"),
        (VariationPlan(3, "steps", 1, 2), BASE, "unknown parameter"),
        (VariationPlan(3, "guidance", 3, 6), BASE.with_changes(recipe="distilled"), "without guidance"),
        (VariationPlan(3, "guidance", 0.5, 6), BASE, "guidance goes from"),
        (VariationPlan(3, "guidance", 4, 4), BASE, "same value"),
        (VariationPlan(3, "lora", 0, 1, lora="/x.safetensors"), BASE, "used none"),
        (VariationPlan(3, "lora", 0, 9, lora="/x"), BASE.with_changes(loras=(("/x", 1.0),)), "strength goes"),
    ],
)
def test_impossible_variation_plans_say_why(plan, base, says):
    with pytest.raises(JobError, match=says):
        expand(base, plan)


# --------------------------------------------------------------------------------------------- gap fill
@pytest.fixture
def gapped(tmp_path):
    """V1: clip A (source frames 2..21 of a 24-frame video) at 0-20, a 10-frame gap, clip B (source 5..)
    at 30-46; every frame of the videos shows its index."""
    doc, stack = TimelineDocument(), QUndoStack()
    track = doc.tracks(TrackKind.VIDEO)[0].id
    ids = []
    for name in ("a", "b"):
        path = make_video(tmp_path / f"{name}.mkv", frames=24, codec="ffv1", audio=False)
        ids.append(doc.add_bin_item(MediaItem(uuid.uuid4().hex, str(path), name, probe_media(path))))
    rate = doc.rate
    from opentimelineio.opentime import TimeRange

    [a] = doc.insert(
        ids[0], track, RationalTime(0, rate), TimeRange(RationalTime(2, rate), RationalTime(20, rate))
    )
    [b] = doc.insert(
        ids[1], track, RationalTime(20, rate), TimeRange(RationalTime(5, rate), RationalTime(16, rate))
    )
    doc.move_clip(b, track, RationalTime(30, rate))
    return doc, stack, track, a, b


def test_a_gap_is_found_between_two_clips_only(gapped):
    doc, _stack, track, a, b = gapped
    assert find_gap(doc, track, 25) == Gap(track, 20, 30, a, b)
    assert find_gap(doc, track, 20) == Gap(track, 20, 30, a, b)
    assert find_gap(doc, track, 19) is None  # inside A
    assert find_gap(doc, track, 60) is None  # after the last clip: no clip after it


@pytest.mark.parametrize(("gap", "made"), [(1, 9), (9, 9), (10, 17), (17, 17), (18, 25), (100, 105)])
def test_the_model_makes_the_next_valid_length(gap, made):
    assert generated_frames(gap) == made and (made - 1) % 8 == 0 and made >= gap


def test_gap_fill_job_has_the_neighbours_frames_as_first_and_last_keyframes(gapped, tmp_path):
    doc, _stack, track, _a, _b = gapped
    gap = find_gap(doc, track, 25)
    job = gap_fill_spec(BASE, doc, gap, tmp_path / "project" / "keyframes", prompt="the storm clears")
    assert isinstance(job, GapFillSpec)
    spec = job.job
    assert spec.frames == 17 and spec.fps == doc.rate and spec.prompt == "the storm clears"
    [(first, at_first, _), (last, at_last, _)] = spec.keyframes
    assert (at_first, at_last) == (0, 16)
    assert Path(first).parent == tmp_path / "project" / "keyframes"
    # A shows source frames 2..21: its last is 21; B starts at source frame 5
    assert decoded_index(np.asarray(Image.open(first).convert("RGB"))) == 21
    assert decoded_index(np.asarray(Image.open(last).convert("RGB"))) == 5
    job.validate()
    assert job.generation_parameters()["gap_frames"] == 10


def test_gap_fill_refuses_an_empty_prompt_and_a_gap_that_filled_meanwhile(gapped, tmp_path):
    doc, _stack, track, _a, b = gapped
    gap = find_gap(doc, track, 25)
    with pytest.raises(JobError, match="prompt is empty"):
        gap_fill_spec(BASE, doc, gap, tmp_path, prompt="  ")
    doc.move_clip(b, track, RationalTime(24, doc.rate))
    with pytest.raises(EditError, match="no longer empty"):
        gap_fill_spec(BASE, doc, gap, tmp_path, prompt="x")


def test_the_filled_clip_fits_the_gap_exactly_in_one_undo_step(gapped, tmp_path):
    doc, stack, track, a, b = gapped
    gap = find_gap(doc, track, 25)
    path = make_video(tmp_path / "fill.mkv", frames=17, codec="ffv1", audio=True)
    item = MediaItem(uuid.uuid4().hex, str(path), "fill", probe_media(path), kind="generated")
    before = [c.id for c in doc.clips(track)]
    created = apply_gap_fill(stack, doc, item, gap)
    clips = doc.clips(track)
    assert [c.id for c in clips] == [a, created[0], b]
    fill = clips[1]
    assert (fill.start.value, fill.duration.value, fill.source_start.value) == (20, 10, 0)
    assert fill.media_id == item.id and len(created) == 2  # with its sound: A1 is free under the gap
    assert stack.count() == 1
    stack.undo()
    assert [c.id for c in doc.clips(track)] == before and item.id not in {i.id for i in doc.bin_items()}


def test_a_sound_bed_under_the_gap_is_never_cut(gapped, tmp_path):
    doc, _stack, track, _a, _b = gapped
    audio = doc.tracks(TrackKind.AUDIO)[0].id
    bed = make_video(tmp_path / "bed.mkv", frames=48, codec="ffv1", audio=True)
    bed_id = doc.add_bin_item(MediaItem(uuid.uuid4().hex, str(bed), "bed", probe_media(bed)))
    [bed_clip] = doc.insert(bed_id, audio, RationalTime(0, doc.rate))
    path = make_video(tmp_path / "fill.mkv", frames=17, codec="ffv1", audio=True)
    fill_id = doc.add_bin_item(MediaItem(uuid.uuid4().hex, str(path), "fill", probe_media(path)))
    created = place_gap_fill(doc, fill_id, find_gap(doc, track, 25))
    assert len(created) == 1  # the picture only
    assert [c.id for c in doc.clips(audio)] == [bed_clip] and doc.clip(bed_clip).duration.value == 48


def test_a_filled_clip_shorter_than_the_gap_is_refused(gapped, tmp_path):
    doc, _stack, track, _a, _b = gapped
    path = make_video(tmp_path / "short.mkv", frames=9, codec="ffv1", audio=False)
    short = doc.add_bin_item(MediaItem(uuid.uuid4().hex, str(path), "short", probe_media(path)))
    with pytest.raises(EditError, match="fewer than the gap"):
        place_gap_fill(doc, short, find_gap(doc, track, 25))


# ---------------------------------------------------------------------------------------------- history
def _job(job_id: str, status: JobStatus, spec=BASE, item=None, error="", kind="generate") -> Job:  # noqa: ANN001
    job = Job(id=job_id, spec=spec, status=status, error=error, item=item)
    if hasattr(job, "kind"):
        job.kind = kind
    return job


def _preview() -> QImage:
    image = QImage(64, 64, QImage.Format.Format_RGB888)
    image.fill(0x3366CC)
    return image


def test_the_history_keeps_every_outcome_with_its_message_and_batch(tmp_path, qapp):
    history = JobHistory(tmp_path / "Film.aiprod" / "history", kinds=None)
    (tmp_path / "Film.aiprod" / "media").mkdir(parents=True)
    path = make_video(tmp_path / "Film.aiprod" / "media" / "a.mkv", frames=9, codec="ffv1", audio=False)
    item = MediaItem("m1", str(path), "a", probe_media(path), kind="generated")
    history.expect("job2", batch="batch-1", batch_index=0, variation="seed 5", source="e0")
    history.record(_job("job1", JobStatus.DONE, item=item))  # no live preview: its first frame
    history.record(_job("job2", JobStatus.FAILED, BASE.with_changes(seed=5), error="out of memory",
                        kind="variations"))  # fmt: skip
    cancelled = _job("job3", JobStatus.CANCELLED, BASE.with_changes(seed=6))
    cancelled.preview = _preview()
    history.record(cancelled)
    assert history.record(_job("job4", JobStatus.RUNNING)) is None  # still running: not kept

    again = JobHistory(tmp_path / "Film.aiprod" / "history", kinds=None)  # the project reopened
    third, second, first = again.entries()
    assert (first.status, first.media_id, first.media_path) == ("done", "m1", "media/a.mkv")
    assert again.media_path(first) == str(path.resolve()) and again.thumbnail_path(first) is not None
    assert (second.status, second.error, second.kind) == ("failed", "out of memory", KIND_VARIATION)
    assert (second.batch, second.batch_index, second.variation) == ("batch-1", 0, "seed 5")
    assert again.batch("batch-1") == [second] and second.source == "e0"
    assert again.batch_source("batch-1") is None  # its source entry is not in this history
    assert third.status == "cancelled" and again.thumbnail_path(third) is not None
    assert third.spec().seed == 6


def test_the_history_follows_a_project_saved_for_the_first_time(tmp_path, qapp):
    scratch = JobHistory(tmp_path / "scratch" / "history", kinds=None)
    keyframe = str((tmp_path / "scratch" / "keyframes" / "k.png").resolve())
    job = _job("job1", JobStatus.CANCELLED, BASE.with_changes(keyframes=((keyframe, 0, 1.0),)))
    job.preview = _preview()
    entry = scratch.record(job)
    scratch.set_folder(tmp_path / "Film.aiprod" / "history", carry=True)
    reopened = JobHistory(tmp_path / "Film.aiprod" / "history", kinds=None)
    assert [e.id for e in reopened.entries()] == [entry.id]
    assert reopened.thumbnail_path(reopened.entries()[0]) is not None
    [(moved, _, _)] = reopened.entries()[0].spec().keyframes  # named in the project's own keyframes/
    assert moved == str((tmp_path / "Film.aiprod" / "keyframes" / "k.png").resolve())
    scratch.set_folder(tmp_path / "Other.aiprod" / "history")  # another project: its own history
    assert scratch.entries() == []


def test_a_damaged_history_starts_empty_and_kinds_filter(tmp_path, qapp):
    folder = tmp_path / "history"
    folder.mkdir()
    (folder / "history.json").write_text("{not json")
    history = JobHistory(folder)  # the per-user list: generations only
    assert history.entries() == []
    from app.jobs.inpaint import InpaintSpec

    inpaint = InpaintSpec("c", "m", "mask", (0, 9), "a scarf", "/x.mkv", "/masks")
    assert history.record(_job("j1", JobStatus.DONE, inpaint, kind="inpaint")) is None
    project = JobHistory(tmp_path / "p", kinds=None)
    assert project.record(_job("j1", JobStatus.DONE, inpaint, kind="inpaint")).kind == KIND_INPAINT
    with pytest.raises(JobError, match="not a generation"):
        project.entries()[0].spec()
    assert (folder / "history.json").read_text() == "{not json"  # left as it was until a job is kept


def test_a_gap_fill_is_filed_as_such(gapped, tmp_path, qapp):
    doc, _stack, track, _a, _b = gapped
    job = gap_fill_spec(BASE, doc, find_gap(doc, track, 25), tmp_path / "k", prompt="bridge")
    history = JobHistory(tmp_path / "h", kinds=None)
    entry = history.record(_job("j", JobStatus.FAILED, job, error="boom", kind="gapfill"))
    assert entry.kind == KIND_GAPFILL and entry.spec().keyframes == job.job.keyframes


# ---------------------------------------------------------------------------------------- prompt presets
def test_prompt_presets_persist_per_user_and_replace_by_name(tmp_path, qapp):
    store = QSettings(str(tmp_path / "user.ini"), QSettings.Format.IniFormat)
    presets = PromptPresets(store)
    presets.save("Film", "35mm film, soft grain")
    presets.save("Noir", "black and white, hard shadows")
    presets.save("Film", "16mm film, heavy grain")  # same name: replaced in place
    later = PromptPresets(QSettings(str(tmp_path / "user.ini"), QSettings.Format.IniFormat))
    assert [(p.name, p.text) for p in later.presets()] == [
        ("Film", "16mm film, heavy grain"), ("Noir", "black and white, hard shadows"),
    ]  # fmt: skip
    assert later.remove("Noir") and not later.remove("Noir")
    assert [p.name for p in PromptPresets(store).presets()] == ["Film"]


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [("", "x", "name"), ("a", " ", "empty"), ("n" * 61, "x", "at most"), ("a", "x" * 2001, "at most")],
)
def test_bad_prompt_presets_are_refused(tmp_path, qapp, name, text, says):
    presets = PromptPresets(QSettings(str(tmp_path / "u.ini"), QSettings.Format.IniFormat))
    with pytest.raises(JobError, match=says):
        presets.save(name, text)
    assert presets.presets() == []


def test_unreadable_presets_start_empty(tmp_path, qapp):
    store = QSettings(str(tmp_path / "u.ini"), QSettings.Format.IniFormat)
    store.setValue(KEY, "[{oops")
    assert PromptPresets(store).presets() == []


def test_a_snippet_is_added_as_another_clause():
    assert add_to_prompt("a lighthouse", "35mm film") == "a lighthouse, 35mm film"
    assert add_to_prompt("a lighthouse.", "35mm film") == "a lighthouse. 35mm film"
    assert add_to_prompt("", "35mm film") == "35mm film"
    assert add_to_prompt("a lighthouse, 35mm film", "35mm film") == "a lighthouse, 35mm film"
