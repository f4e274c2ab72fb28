"""Inpaint jobs: the source read at full precision, the same queue/worker as generation (progress, preview,
cancel), the take written as a new file and filed under the original, errors a user can act on, and the
take applied to the clip as one undo step. A fake engine keeps most of these fast; one test runs the real
tiny engine end to end and checks exactness on the files written."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from opentimelineio.opentime import RationalTime
from PySide6.QtGui import QUndoStack

from app.document import MediaItem, TimelineDocument, TrackKind
from app.errors import EditError, JobError
from app.jobs import (
    EngineSettings,
    InpaintSpec,
    JobQueue,
    JobStatus,
    apply_inpaint_result,
    read_audio_exact,
    switch_take,
)
from app.jobs.master import write_master
from app.masks import MaskStore, invert, new_mask, paint_rect
from app.media.probe import probe_media
from app.media.reader import VideoReader
from engine.errors import GenerationCancelled
from engine.request import GenerationResult, PreviewFrame

DEV = EngineSettings(developer_tiny=True)
F, H, W, FPS, RATE = 9, 64, 64, 24.0, 24000
RANGE = (2, 7)
RECT = (16, 24, 24, 16)  # x, y, width, height


class FakeInpaintEngine:
    """Engine-shaped per docs/inpainting.md: composites a fixed colour into the masked pixels of the range,
    returns everything else and the sound as given, records what it was called with."""

    model_name, identity, quantization = "fake LTX-2", "fake-identity", "none"

    def __init__(self, gate: threading.Event | None = None):
        self.gate = gate
        self.calls: list[dict] = []
        self.threads: list[int] = []

    def inpaint(
        self,
        source_frames,
        source_audio,
        sample_rate,
        mask,
        frame_range,
        request,
        strength=1.0,
        regenerate_audio=False,
        source_latents=None,
        on_progress=None,
        on_preview=None,
        cancel=None,
    ):
        self.threads.append(threading.get_ident())
        self.calls.append(
            dict(
                frames=source_frames.copy(),
                audio=None if source_audio is None else source_audio.copy(),
                sample_rate=sample_rate,
                mask=mask.copy(),
                frame_range=frame_range,
                request=request,
                strength=strength,
                regenerate_audio=regenerate_audio,
                source_latents=source_latents,
            )
        )
        for step in range(1, request.steps + 1):
            if self.gate is not None:
                self.gate.wait(5)
            on_progress(step, request.steps)
            if cancel is not None and cancel.is_set():
                raise GenerationCancelled(step)
            on_preview(PreviewFrame(step, request.steps, np.full((H, W, 3), 90, np.uint8)))
        start, end = frame_range
        out = source_frames.copy()
        alpha = mask[None, :, :, None]
        out[start:end] = source_frames[start:end] * (1 - alpha) + np.float32(0.25) * alpha
        out[start:end] = np.where(alpha > 0, out[start:end], source_frames[start:end])
        audio = None if source_audio is None else source_audio.copy()
        return GenerationResult(
            out, audio, sample_rate, request.fps, {}, video_latents=torch.zeros(1, 4, 2, 2, 2)
        )


class Factory:
    def __init__(self, engine):
        self.engine = engine
        self.calls: list[tuple] = []

    def __call__(self, model, settings, quantization):
        self.calls.append((model, quantization))
        return self.engine


# --- fixtures -----------------------------------------------------------------------------------------------


class Project:
    """A document with one generated clip (video + linked sound) on the timeline and a mask painted on it."""

    def __init__(self, root: Path, frames: np.ndarray | None = None, audio: bool = True, size=(W, H)):
        self.root = root
        self.media_dir = root / "media"
        self.masks_dir = root / "masks"
        rng = np.random.default_rng(11)
        width, height = size
        self.frames = frames if frames is not None else rng.random((F, height, width, 3)).astype(np.float32)
        self.audio = rng.uniform(-1, 1, (2, round(F / FPS * RATE))).astype(np.float32) if audio else None
        meta = {
            "model": "tiny random LTX-2 (noise)",
            "seed": 7,
            "prompt": "a street",
            "checkpoint": "tiny-random",
        }
        path = write_master(
            self.media_dir,
            "street",
            self.frames,
            FPS,
            self.audio,
            RATE,
            meta,
            video_latents=torch.full((1, 128, 2, height // 32, width // 32), 0.5),
        )
        self.master = path
        self.master_sha = _sha(path)
        generation = {
            "prompt": "a street",
            "seed": 7,
            "model": "tiny",
            "model_name": "tiny random LTX-2 (noise)",
            "checkpoint_identity": "tiny-random",
        }
        self.doc = TimelineDocument(rate=24)
        item = MediaItem(
            id="orig",
            path=str(path),
            name="street",
            info=probe_media(path),
            generation=generation,
            kind="generated",
        )
        self.doc.add_bin_item(item)
        track = self.doc.tracks(TrackKind.VIDEO)[0].id
        ids = self.doc.insert("orig", track, RationalTime(0, 24))
        self.clip_id = ids[0]
        self.audio_clip_ids = [c for c in ids[1:]]
        self.store = MaskStore(self.masks_dir)
        self.mask = paint_rect(new_mask(width, height), RECT)
        self.mask_id = self.store.save(self.mask)
        self.doc.set_clip_mask(self.clip_id, {"id": self.mask_id, "in": RANGE[0], "out": RANGE[1]})
        self.stack = QUndoStack()

    def spec(self, **params) -> InpaintSpec:
        params.setdefault("steps", 3)
        params.setdefault("seed", 4)
        return InpaintSpec.for_clip(self.doc, self.clip_id, self.masks_dir, "a red door", **params)


def _sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _frames16(path) -> np.ndarray:
    with VideoReader(path) as reader:
        return np.stack([reader.frame(i, depth=16) for i in range(reader.frame_count)])


@pytest.fixture()
def project(tmp_path, qapp):
    return Project(tmp_path / "proj")


@pytest.fixture()
def make_queue(project, qapp):
    queues: list[JobQueue] = []

    def make(engine=None):
        engine = engine or FakeInpaintEngine()
        queue = JobQueue(DEV, project.media_dir, engine_factory=Factory(engine))
        queues.append(queue)
        return queue, engine

    yield make
    for queue in queues:
        assert queue.shutdown(10_000)


# --- the spec -----------------------------------------------------------------------------------------------


def test_spec_for_a_clip_takes_the_mask_source_and_model_from_the_document(project):
    spec = project.spec(strength=0.7, regenerate_audio=True, negative_prompt="blurry")
    assert (spec.clip_id, spec.media_id, spec.take_of, spec.mask_id) == (
        project.clip_id,
        "orig",
        "orig",
        project.mask_id,
    )
    assert spec.frame_range == RANGE and spec.source_path == str(project.master)
    assert spec.model == "tiny" and (spec.width, spec.height, spec.frames) == (W, H, F)
    assert spec.display_name() == "street_take1" and not spec.place_on_timeline
    spec.validate()
    for bad, match in (
        (dict(prompt=" "), "prompt is empty"),
        (dict(strength=1.5), "strength"),
        (dict(steps=1), "steps"),
        (dict(seed=-1), "seed"),
        (dict(model="sdxl"), "unknown model"),
    ):
        with pytest.raises(JobError, match=match):
            spec.with_changes(**bad).validate()


def test_spec_refuses_a_clip_without_a_mask(project):
    project.doc.set_clip_mask(project.clip_id, None)
    with pytest.raises(JobError, match="no mask"):
        project.spec()


# --- through the queue --------------------------------------------------------------------------------------


def test_inpaint_job_runs_on_the_worker_with_progress_preview_and_returns_a_take(project, make_queue, qtbot):
    queue, engine = make_queue()
    before = project.doc.snapshot()
    steps, previews = [], []
    queue.job_changed.connect(lambda job_id: steps.append(queue.job(job_id).step))
    queue.job_changed.connect(
        lambda job_id: previews.append(queue.job(job_id).preview) if queue.job(job_id).preview else None
    )
    spec = project.spec(strength=0.8, negative_prompt="blurry")
    with qtbot.waitSignal(queue.job_finished, timeout=30_000) as finished:
        job_id = queue.submit(spec)
    item = finished.args[1]
    assert queue.job(job_id).status is JobStatus.DONE
    assert [s for s in dict.fromkeys(steps) if s] == [1, 2, 3]
    assert previews and previews[-1].pixelColor(5, 5).red() == 90
    assert engine.threads and threading.main_thread().ident not in engine.threads

    # The engine got the master exactly: 16-bit codes / 65535, the float PCM bit for bit, the mask in 0..1.
    call = engine.calls[0]
    assert call["frames"].dtype == np.float32 and call["frames"].shape == (F, H, W, 3)
    assert np.array_equal(call["frames"], _frames16(project.master).astype(np.float32) / np.float32(65535))
    assert call["audio"].dtype == np.float32 and np.array_equal(call["audio"], project.audio)
    assert call["sample_rate"] == RATE
    assert np.array_equal(call["mask"], project.mask.astype(np.float32) / 255)
    assert call["frame_range"] == RANGE and call["strength"] == 0.8 and call["regenerate_audio"] is False
    assert call["request"].prompt == "a red door" and call["request"].negative_prompt == "blurry"
    assert (call["request"].steps, call["request"].seed, call["request"].num_frames) == (3, 4, F)
    assert tuple(call["source_latents"].shape) == (1, 128, 2, 2, 2)  # the latents kept beside the master

    # A new file, filed as a take of the original, with every parameter.
    assert item.take_of == "orig" and item.kind == "generated" and item.name == "street_take1"
    assert Path(item.path) != project.master and Path(item.path).parent == project.media_dir
    assert item.info.has_audio and (item.info.width, item.info.height, item.info.frame_count) == (W, H, F)
    gen = item.generation
    expected = {
        "kind": "inpaint",
        "source_media_id": "orig",
        "mask_id": project.mask_id,
        "range": list(RANGE),
        "prompt": "a red door",
        "negative_prompt": "blurry",
        "seed": 4,
        "steps": 3,
        "strength": 0.8,
        "regenerate_audio": False,
        "model": "tiny",
        "checkpoint_identity": "tiny-random",
        "model_name": "fake LTX-2",
        "source_checkpoint_identity": "tiny-random",
        "source_model": "tiny random LTX-2 (noise)",
        "sample_rate": RATE,
    }
    assert {k: gen.get(k) for k in expected} == expected
    assert "engine_version" in gen and "created" in gen and gen["latents"].endswith(".latents.safetensors")

    # Nothing touched the document or the original file.
    assert project.doc.snapshot() == before and _sha(project.master) == project.master_sha
    # The take keeps the source's pixels outside the mask and its sound.
    take = _frames16(item.path)
    source = _frames16(project.master)
    outside = project.mask == 0
    assert np.array_equal(take[:, outside], source[:, outside])
    assert np.array_equal(take[: RANGE[0]], source[: RANGE[0]]) and np.array_equal(
        take[RANGE[1] :], source[RANGE[1] :]
    )
    assert not np.array_equal(
        take[RANGE[0] : RANGE[1]][:, ~outside], source[RANGE[0] : RANGE[1]][:, ~outside]
    )
    audio, rate = read_audio_exact(item.path)
    assert rate == RATE and np.array_equal(audio, project.audio)


def test_cancel_leaves_the_clip_bin_and_media_folder_untouched(project, make_queue, qtbot):
    gate = threading.Event()
    queue, _ = make_queue(FakeInpaintEngine(gate=gate))
    before = project.doc.snapshot()
    files = sorted(project.media_dir.iterdir())
    job_id = queue.submit(project.spec())
    queue.cancel(job_id)
    with qtbot.waitSignal(queue.job_cancelled, timeout=30_000):
        gate.set()
    assert queue.job(job_id).status is JobStatus.CANCELLED
    assert project.doc.snapshot() == before
    assert sorted(project.media_dir.iterdir()) == files and _sha(project.master) == project.master_sha


def _failure(queue, qtbot, spec) -> str:
    with qtbot.waitSignal(queue.job_failed, timeout=30_000) as failed:
        job_id = queue.submit(spec)
    assert queue.job(job_id).status is JobStatus.FAILED
    return failed.args[1]


def test_errors_reach_the_ui_before_the_model_loads(project, make_queue, qtbot):
    queue, engine = make_queue()
    factory_calls = queue._worker._factory.calls
    files = sorted(project.media_dir.iterdir())
    empty = project.store.save(new_mask(W, H))
    assert "mask is empty" in _failure(queue, qtbot, project.spec(mask={"id": empty, "in": 0, "out": F}))
    small = project.store.save(paint_rect(new_mask(32, 32), (0, 0, 8, 8)))
    message = _failure(queue, qtbot, project.spec(mask={"id": small, "in": 0, "out": F}))
    assert "32 x 32" in message and "64 x 64" in message and "paint it again" in message
    for bad in ((0, F + 1), (5, 5), (-1, 3), (8, 2)):
        mask = {"id": project.mask_id, "in": bad[0], "out": bad[1]}
        assert "outside the clip's frames 0..8" in _failure(queue, qtbot, project.spec(mask=mask))
    missing = {"id": "f" * 40, "in": 0, "out": F}
    assert "mask file" in _failure(queue, qtbot, project.spec(mask=missing))
    spec = project.spec()
    project.master.rename(project.master.with_suffix(".moved"))
    assert "the clip's media file is missing: relink it first" in _failure(queue, qtbot, spec)
    assert engine.calls == [] and factory_calls == []  # nothing got as far as loading the model
    assert project.doc.bin_items()[0].id == "orig" and len(project.doc.bin_items()) == 1
    assert len(list(project.media_dir.iterdir())) == len(files)  # nothing written


def test_jobs_of_both_kinds_share_one_worker_and_model(project, make_queue, qtbot):
    from app.jobs import JobSpec

    class Both(FakeInpaintEngine):
        def generate(self, request, on_progress=None, on_preview=None, cancel=None):
            on_progress(1, 1)
            frames = np.zeros((request.num_frames, request.height, request.width, 3), np.float32)
            return GenerationResult(frames, None, RATE, request.fps, {})

    queue, engine = make_queue(Both())
    done = []
    queue.job_finished.connect(lambda job_id, item: done.append(item))
    queue.submit(JobSpec(prompt="a cat", width=64, height=64, frames=9, steps=2, model="tiny"))
    queue.submit(project.spec())
    qtbot.waitUntil(lambda: len(done) == 2, timeout=30_000)
    assert done[0].take_of is None and done[1].take_of == "orig"
    assert queue._worker._factory.calls == [("tiny", "none")]


# --- applying the take --------------------------------------------------------------------------------------


def _run(queue, qtbot, spec):
    with qtbot.waitSignal(queue.job_finished, timeout=30_000) as finished:
        queue.submit(spec)
    return finished.args[1]


def test_apply_switches_the_clip_and_its_sound_as_one_undo_step(project, make_queue, qtbot):
    queue, _ = make_queue()
    doc, stack = project.doc, project.stack
    before = doc.snapshot()
    item = _run(queue, qtbot, project.spec())
    take_id = apply_inpaint_result(stack, doc, item, project.clip_id)
    assert stack.count() == 1
    assert doc.bin_item(take_id).take == 1 and doc.bin_item(take_id).take_of == "orig"
    assert [i.id for i in doc.takes("orig")] == ["orig", take_id]
    assert doc.clip(project.clip_id).media_id == take_id
    assert all(doc.clip(c).media_id == take_id for c in project.audio_clip_ids)
    assert doc.clip(project.clip_id).mask["id"] == project.mask_id  # the mask stays with the clip
    after = doc.snapshot()
    stack.undo()
    assert doc.snapshot() == before and doc.clip(project.clip_id).media_id == "orig"
    assert [i.id for i in doc.bin_items()] == ["orig"]
    assert Path(item.path).is_file()  # undo keeps the file, so redo works
    stack.redo()
    assert doc.snapshot() == after
    assert _sha(project.master) == project.master_sha

    # A take of the take hangs under the original, numbered on.
    spec2 = project.spec(seed=9)
    assert spec2.media_id == take_id and spec2.take_of == "orig" and spec2.display_name() == "street_take2"
    assert spec2.source_path == item.path
    item2 = _run(queue, qtbot, spec2)
    assert item2.take_of == "orig" and item2.generation["source_media_id"] == take_id
    take2 = apply_inpaint_result(stack, doc, item2, project.clip_id)
    assert doc.bin_item(take2).take == 2 and [i.id for i in doc.takes(take_id)] == ["orig", take_id, take2]
    stack.undo()
    assert doc.snapshot() == after


def test_apply_without_a_clip_only_files_the_take_and_a_vanished_clip_is_refused(project, make_queue, qtbot):
    queue, _ = make_queue()
    item = _run(queue, qtbot, project.spec())
    doc, stack = project.doc, project.stack
    take_id = apply_inpaint_result(stack, doc, item, None)
    assert doc.clip(project.clip_id).media_id == "orig" and doc.bin_item(take_id).take == 1
    stack.undo()
    before = doc.snapshot()
    with pytest.raises(EditError):
        apply_inpaint_result(stack, doc, item, "no-such-clip")
    assert doc.snapshot() == before and stack.count() == 1 and stack.index() == 0


def test_switching_takes_is_undoable_and_limited_to_the_family(project, make_queue, qtbot):
    queue, _ = make_queue()
    doc, stack = project.doc, project.stack
    take_id = apply_inpaint_result(stack, doc, _run(queue, qtbot, project.spec()), project.clip_id)
    assert switch_take(stack, doc, project.clip_id, "orig") == [project.clip_id, *project.audio_clip_ids]
    assert doc.clip(project.clip_id).media_id == "orig" and stack.count() == 2
    assert switch_take(stack, doc, project.clip_id, "orig") == [] and stack.count() == 2  # no empty step
    stack.undo()
    assert doc.clip(project.clip_id).media_id == take_id
    doc.add_bin_item(
        MediaItem(id="other", path=str(project.master), name="other", info=project.doc.bin_item("orig").info)
    )
    with pytest.raises(EditError, match="not a take"):
        switch_take(stack, doc, project.clip_id, "other")
    assert doc.clip(project.clip_id).media_id == take_id


# --- the real tiny engine -----------------------------------------------------------------------------------


def test_tiny_engine_take_changes_only_the_masked_region_and_keeps_the_sound(tmp_path, qapp, qtbot):
    from engine import Engine

    if not hasattr(Engine, "inpaint"):
        pytest.skip("Engine.inpaint is not there yet")
    project = Project(tmp_path / "tiny")
    queue = JobQueue(DEV, project.media_dir)  # the default factory: Engine.tiny on the CPU
    try:
        spec = project.spec(steps=2, seed=3)
        with qtbot.waitSignal(queue.job_finished, timeout=300_000) as finished:
            queue.submit(spec)
        item = finished.args[1]
    finally:
        assert queue.shutdown(60_000)
    take, source = _frames16(item.path), _frames16(project.master)
    outside = project.mask == 0
    assert np.array_equal(take[:, outside], source[:, outside])  # bit-identical at 16 bits
    assert np.array_equal(take[: RANGE[0]], source[: RANGE[0]])
    assert np.array_equal(take[RANGE[1] :], source[RANGE[1] :])
    inside = take[RANGE[0] : RANGE[1]][:, ~outside].astype(np.int64)
    assert np.abs(inside - source[RANGE[0] : RANGE[1]][:, ~outside]).mean() > 100  # really regenerated
    audio, rate = read_audio_exact(item.path)
    assert rate == RATE and audio.shape == project.audio.shape and np.array_equal(audio, project.audio)
    assert item.generation["checkpoint_identity"] == "tiny-random" and item.take_of == "orig"
    assert _sha(project.master) == project.master_sha


def test_tiny_engine_retake_of_whole_frames(tmp_path, qapp, qtbot):
    from engine import Engine

    if not hasattr(Engine, "inpaint"):
        pytest.skip("Engine.inpaint is not there yet")
    project = Project(tmp_path / "retake")
    full = project.store.save(invert(new_mask(W, H)))
    queue = JobQueue(DEV, project.media_dir)
    try:
        spec = project.spec(steps=2, mask={"id": full, "in": 1, "out": 9})
        with qtbot.waitSignal(queue.job_finished, timeout=300_000) as finished:
            queue.submit(spec)
        item = finished.args[1]
    finally:
        assert queue.shutdown(60_000)
    take, source = _frames16(item.path), _frames16(project.master)
    assert np.array_equal(take[0], source[0])
    assert all(not np.array_equal(take[i], source[i]) for i in range(1, F))
    audio, _ = read_audio_exact(item.path)
    assert np.array_equal(audio, project.audio)
