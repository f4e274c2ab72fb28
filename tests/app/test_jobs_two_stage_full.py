"""The studio's queue runs the dev model's two-stage recipe (two-stage-full) with LTX-2.3's x1.5 upsampler on
the LTX-2.3 release fixture (its distilled LoRA beside it, a random x1.5 upsampler written beside it in the
release layout): a playable file with sound (probed), the queue showing both stages, and a regenerate that
keeps the recipe and the upsampler."""

from __future__ import annotations

import os

import pytest

from app.export import probe
from app.jobs import EngineSettings, JobQueue, JobSpec
from tests import shared_fixtures as fixtures
from tests.engine.test_two_stage_full import write_x15_upsampler

pytestmark = pytest.mark.skipif(fixtures.LTX23_FIXTURE is None, reason="the LTX-2.3 fixture is not available")


def test_two_stage_full_job_with_the_x15_upsampler(qtbot, tmp_path, qapp):
    folder = tmp_path / "ltx23"
    folder.mkdir()
    for item in fixtures.LTX23_FIXTURE.iterdir():  # the release files, plus an x1.5 upsampler beside them
        if item.suffix == ".safetensors" and "reference" not in item.name or item.is_dir():
            os.symlink(item, folder / item.name)
    write_x15_upsampler(folder)
    model = fixtures.ltx23_monolith(folder)
    queue = JobQueue(EngineSettings(checkpoint=str(folder / model.name)), tmp_path / "media")
    try:
        spec = JobSpec(prompt="a lighthouse", width=192, height=96, frames=9, fps=24.0, seed=4, steps=2,
                       recipe="two-stage-full", upsampler_scale=1.5)
        labels: list[str] = []
        queue.job_changed.connect(lambda job_id: labels.append(queue.job(job_id).step_label))
        with qtbot.waitSignal(queue.job_finished, timeout=180_000) as finished:
            queue.submit(spec)
        item = finished.args[1]
    finally:
        assert queue.shutdown(30_000)
    assert "stage 1/2, step 2/2" in labels and "stage 2/2, step 3/3" in labels
    info = probe(item.path)
    assert (info["width"], info["height"], info["frame_count"]) == (192, 96, 9)
    assert info["channels"] == 2 and info["sample_rate"] == 48000
    record = item.generation
    assert record["recipe"] == "two-stage-full" and record["upsampler_scale"] == 1.5
    assert [s["width"] for s in record["stages"]] == [128, 192]
    assert "distilled" in record["stages"][1]["loras"][0]["path"] and record["stages"][0]["loras"] == []
    again = JobSpec.from_generation(record)
    assert again.recipe == "two-stage-full" and again.upsampler_scale == 1.5 and again.steps == 2
