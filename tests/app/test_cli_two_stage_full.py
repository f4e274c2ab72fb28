"""`aiprod-cli generate --recipe two-stage-full --distilled-lora --upsampler --upsampler-scale` end to end on
the LTX-2.3 release fixture (with a random x1.5 upsampler written in the release layout): the file is probed
(size, frames, sound) and its record says what ran; bad values exit 2 before the model loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app import cli
from app.export import probe
from tests import shared_fixtures as fixtures
from tests.engine.test_two_stage_full import write_x15_upsampler

pytestmark = pytest.mark.skipif(fixtures.LTX23_FIXTURE is None, reason="the LTX-2.3 fixture is not available")


def _argv(out: Path, *extra: str, **options: str) -> list[str]:
    argv = ["generate", "--out", str(out), "--quiet", *extra]
    for key, value in options.items():
        argv += [f"--{key.replace('_', '-')}", value]
    return argv


def test_two_stage_full_with_the_x15_upsampler_from_the_cli(capsys, tmp_path):
    model = fixtures.ltx23_monolith(fixtures.LTX23_FIXTURE)
    lora = sorted(model.parent.glob("*distilled-lora*.safetensors"))[0]
    x15 = write_x15_upsampler(tmp_path)
    out = tmp_path / "clip.mov"
    code = cli.main(
        _argv(
            out, "--upsampler", str(x15), "--distilled-lora", f"{lora}:0.8",
            prompt="a lighthouse", model=str(model), recipe="two-stage-full", upsampler_scale="1.5",
            width="192", height="96", frames="9", steps="2", seed="4",
        )
    )
    err = capsys.readouterr().err
    assert code == cli.EXIT_OK, err
    info = probe(out)
    assert (info["width"], info["height"], info["frame_count"]) == (192, 96, 9)
    assert info["channels"] == 2 and info["audio_duration"] == pytest.approx(9 / 24, abs=0.05)
    record = json.loads(info["metadata"]["aiprod_generation"])
    assert record["recipe"] == "two-stage-full" and record["upsampler_scale"] == 1.5
    assert [s["width"] for s in record["stages"]] == [128, 192]  # stage 1 at 2/3 of the output
    assert record["stages"][0]["steps"] == 2
    assert record["stages"][0]["loras"] == []  # stage 1: the dev model alone
    assert [(d["path"], d["strength"]) for d in record["stages"][1]["loras"]] == [(str(lora), 0.8)]
    assert record["loras"] == []  # the caller's set: the refine's LoRA is recorded per stage


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"recipe": "two-stage-full", "width": "96"}, "multiple of 64"),
        ({"recipe": "two-stage", "upsampler_scale": "1.5", "width": "128"}, "multiple of 96"),
        ({"recipe": "two-stage-full", "distilled_lora": "/no/such/lora.safetensors"}, "does not exist"),
    ],
)
def test_bad_two_stage_input_exits_2(capsys, tmp_path, options, expected):
    base = {"prompt": "a cat", "model": "tiny", "width": "192", "height": "96", "frames": "9"}
    code = cli.main(_argv(tmp_path / "x.mov", **{**base, **options}))
    assert code == 2
    assert expected in capsys.readouterr().err


def test_the_production_preset_maps_to_two_stage_full_and_weighs_its_guided_stage():
    from app.jobs.presets import LTX_PRESETS, recipe_work
    from engine.models import LTX_2_3

    preset = next(p for p in LTX_PRESETS if p.recipe == "two-stage-full")
    assert preset.width % 64 == 0 and preset.height % 64 == 0
    guided = recipe_work(LTX_2_3, "two-stage-full", preset.width, preset.height, 121)
    distilled = recipe_work(LTX_2_3, "two-stage", preset.width, preset.height, 121)
    full_half = recipe_work(LTX_2_3, "full", preset.width // 2, preset.height // 2, 121)
    refine = recipe_work(LTX_2_3, "two-stage", preset.width, preset.height, 121) - recipe_work(
        LTX_2_3, "distilled", preset.width // 2, preset.height // 2, 121
    )
    assert guided == pytest.approx(full_half + refine) and guided > distilled


def test_cli_plan_of_two_stage_full_with_the_x15_upsampler(capsys):
    code = cli.main(["plan", "--model", "ltx-2.3", "--quant", "fp8", "--recipe", "two-stage-full",
                     "--upsampler-scale", "1.5", "--width", "1152", "--height", "768", "--frames", "121",
                     "--vram", "24GiB", "--ram", "64GiB"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "stage 1 (2/3 size, guided): 768x512x121" in out
    assert out.strip().splitlines()[-1].startswith("fits:")
    code = cli.main(["plan", "--model", "ltx-2.3", "--recipe", "two-stage", "--upsampler-scale", "1.5",
                     "--width", "1280", "--height", "768", "--vram", "24GiB"])
    assert code == 2 and "multiple of 96" in capsys.readouterr().err
