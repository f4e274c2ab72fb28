"""The studio's queue runs the recipes, LoRAs, keyframes and extend through the real engines: the two-stage
recipe with a LoRA and keyframes on the LTX-2.3 release fixture, extend on the tiny model, each finished job a
playable file with sound (probed), the queue showing the stage, and the extension joined to its clip as one
undo step."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtGui import QUndoStack

from app.document import TimelineDocument
from app.export import probe
from app.jobs import EngineSettings, JobQueue, JobSpec
from app.jobs.extend import ExtendSpec, apply_extend_result
from app.jobs.result import apply_result
from tests import shared_fixtures as fixtures


@pytest.fixture()
def still(tmp_path):
    path = tmp_path / "key.png"
    Image.fromarray((np.random.default_rng(2).random((64, 128, 3)) * 255).astype(np.uint8)).save(path)
    return path


@pytest.mark.parametrize("version", ["2.0", "2.3", "2.5"])
def test_recipe_jobs_with_loras_and_keyframes_on_the_releases(qtbot, tmp_path, still, qapp, version):
    """2.3 and 2.5: two-stage with the release's LoRA and two keyframes; 2.0 (no upsampler or LoRA in its
    fixture): distilled with the keyframes."""
    if version == "2.0":
        if fixtures.LTX2_FIXTURE is None:
            pytest.skip("the shared LTX-2.0 fixture is not available")
        settings = EngineSettings(
            checkpoint=str(fixtures.LTX2_FIXTURE / fixtures.LTX2_CHECKPOINT),
            gemma_root=str(fixtures.LTX2_FIXTURE / "gemma"),
        )
        recipe, loras, rate = "distilled", (), 24000
    else:
        folder = fixtures.LTX23_FIXTURE if version == "2.3" else fixtures.LTX25_FIXTURE
        if folder is None:
            pytest.skip(f"the shared LTX-{version} fixture is not available")
        model = fixtures.ltx23_monolith(folder) if version == "2.3" else folder
        lora = sorted(folder.rglob("*lora*.safetensors"))[0]
        settings = EngineSettings(checkpoint=str(model))
        recipe, loras, rate = "two-stage", ((str(lora), 0.5),), 48000
    queue = JobQueue(settings, tmp_path / "media")
    try:
        spec = JobSpec(
            prompt="a cat", width=128, height=64, frames=9, fps=24.0, seed=4, recipe=recipe,
            loras=loras, keyframes=((str(still), 0, 1.0), (str(still), 8, 0.6)),
        )
        labels: list[str] = []
        queue.job_changed.connect(lambda job_id: labels.append(queue.job(job_id).step_label))
        with qtbot.waitSignal(queue.job_finished, timeout=120_000) as finished:
            queue.submit(spec)
        item = finished.args[1]
    finally:
        assert queue.shutdown(30_000)
    if recipe == "two-stage":
        assert "stage 1/2, step 1/8" in labels and "stage 2/2, step 3/3" in labels
    else:
        assert "step 8/8" in labels
    info = probe(item.path)
    assert (info["width"], info["height"], info["frame_count"]) == (128, 64, 9)
    assert info["channels"] == 2 and info["sample_rate"] == rate
    record = item.generation
    assert record["recipe"] == recipe and record["model_version"] == version
    assert record["loras"] == [{"path": p, "strength": s} for p, s in loras]
    if loras:
        assert record["loras_fused"][0]["strength"] == 0.5 and record["loras_fused"][0]["identity"]
    assert [k["frame"] for k in record["keyframes"]] == [0, 8]
    again = JobSpec.from_generation(record)  # a regenerate keeps recipe, LoRAs and keyframes
    assert again.recipe == recipe and again.loras == spec.loras and again.keyframes == spec.keyframes


def test_extend_job_joins_the_clip_as_one_undo_step(qtbot, tmp_path, qapp):
    queue = JobQueue(EngineSettings(developer_tiny=True), tmp_path / "media")
    doc, stack = TimelineDocument(rate=24), QUndoStack()
    try:
        source_spec = JobSpec(prompt="a cat", width=64, height=64, frames=17, fps=24.0, steps=2, seed=1,
                              model="tiny", recipe="distilled")
        with qtbot.waitSignal(queue.job_finished, timeout=60_000) as finished:
            queue.submit(source_spec)
        clip_ids = apply_result(stack, doc, finished.args[1], place_at="append")
        clip = doc.clip(clip_ids[0])
        extend = ExtendSpec(source_path=finished.args[1].path, seconds=0.5, clip_id=clip.id, prompt="a cat",
                            seed=3, model="tiny", recipe="distilled")
        with qtbot.waitSignal(queue.job_finished, timeout=60_000) as done:
            queue.submit(extend)
        item = done.args[1]
        again = ExtendSpec(source_path=item.path, seconds=0.5, prompt="a cat", seed=4, model="tiny",
                           recipe="distilled")
        with qtbot.waitSignal(queue.job_finished, timeout=60_000) as twice:
            queue.submit(again)  # an extension keeps its own audio latents: its sound continues too
        assert twice.args[1].generation["extend"]["sound_held"]
    finally:
        assert queue.shutdown(30_000)
    info = probe(item.path)
    assert info["frame_count"] == 16 and info["channels"] == 2
    assert item.generation["extend"]["direction"] == "forward"
    assert item.generation["extend"]["sound_held"]  # the source kept its latents: its sound continues
    before = doc.snapshot()
    count = stack.count()
    new_ids = apply_extend_result(stack, doc, item, clip.id, "forward")
    assert stack.count() == count + 1
    joined = doc.clip(new_ids[0])
    assert joined.start == clip.end and joined.track_id == clip.track_id
    stack.undo()
    assert doc.snapshot() == before
    stack.redo()
    assert doc.clip(new_ids[0]).start == clip.end
    stack.undo()
    back_ids = apply_extend_result(stack, doc, item, clip.id, "backward")  # before the clip, ripple
    before_clip = doc.clip(back_ids[0])
    assert before_clip.start == clip.start and doc.clip(clip.id).start == before_clip.end
    stack.undo()
    assert doc.snapshot() == before
    with pytest.raises(Exception, match="extend by"):
        ExtendSpec(source_path="x.mov", seconds=0, prompt="a").validate()


def test_duration_suggestion_job_on_the_25_release(qtbot, tmp_path, qapp):
    """'Suggest' in the Generate panel queues this: the duration head's answer for the prompt."""
    import json

    from safetensors import safe_open
    from safetensors.torch import load_file

    from app.jobs.duration import DurationSpec, DurationSuggestion

    if fixtures.LTX25_FIXTURE is None:
        pytest.skip("the shared LTX-2.5 fixture is not available")
    references = fixtures.LTX25_FIXTURE / "reference_outputs.safetensors"
    with safe_open(str(references), framework="pt") as handle:
        prompt = handle.metadata()["prompt"]
    expected = load_file(str(references))["duration_num_frames_24fps"].reshape(-1)[0]
    queue = JobQueue(EngineSettings(checkpoint=str(fixtures.LTX25_FIXTURE)), tmp_path / "media")
    try:
        with qtbot.waitSignal(queue.job_finished, timeout=60_000) as finished:
            queue.submit(DurationSpec(prompt, 24.0))
    finally:
        assert queue.shutdown(30_000)
    answer = finished.args[1]
    assert isinstance(answer, DurationSuggestion) and answer.frames == int(expected)
    assert json.dumps(answer.seconds)  # a plain float


def test_eta_from_the_work_fraction_weighs_the_bigger_second_stage():
    from app.jobs.worker import StepClock

    clock = StepClock()
    clock.start = 0.0
    assert clock.eta_from_fraction(0.1, now=2.0) == pytest.approx(18.0)  # first report: includes start-up
    # stage 1 done at 40 % of the work after 8 s more: 0.3 of the work took 8 s, 0.6 left -> 16 s
    assert clock.eta_from_fraction(0.4, now=10.0) == pytest.approx(16.0)
    assert clock.eta_from_fraction(1.0, now=26.0) == 0.0
