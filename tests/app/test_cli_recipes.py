"""`aiprod-cli generate --recipe/--lora/--keyframe/--duration` and `aiprod-cli extend` end to end on the tiny
models and the release fixtures: written files probed (video and sound), bad input refused with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app import cli
from app.export import probe
from tests import shared_fixtures as fixtures

PROMPT = "a cat on a beach"


def _argv(command: str, out: Path, *extra: str, **options: str) -> list[str]:
    argv = [command, "--out", str(out), "--quiet", *extra]
    for key, value in options.items():
        argv += [f"--{key.replace('_', '-')}", value]
    return argv


def _release(version: str) -> Path:
    if version == "2.3":
        if fixtures.LTX23_FIXTURE is None:
            pytest.skip("the shared LTX-2.3 fixture is not available")
        return fixtures.ltx23_monolith(fixtures.LTX23_FIXTURE)
    if fixtures.LTX25_FIXTURE is None:
        pytest.skip("the shared LTX-2.5 fixture is not available")
    return fixtures.LTX25_FIXTURE


def _lora(model: Path) -> Path:
    folder = model if model.is_dir() else model.parent
    return sorted(folder.rglob("*lora*.safetensors"))[0]


@pytest.fixture(scope="module")
def still(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("still") / "frame.png"
    rng = np.random.default_rng(1)
    Image.fromarray((rng.random((64, 128, 3)) * 255).astype(np.uint8)).save(path)
    return path


@pytest.mark.parametrize("version", ["2.3", "2.5"])
def test_two_stage_with_a_lora_and_keyframes_from_the_cli(capsys, tmp_path, still, version):
    model = _release(version)
    out = tmp_path / "clip.mov"
    code = cli.main(
        _argv(
            "generate", out, "--lora", f"{_lora(model)}:0.5",
            "--keyframe", f"{still}@0", "--keyframe", f"{still}@-1:0.7",
            prompt=PROMPT, model=str(model), recipe="two-stage", width="128", height="64", frames="9",
            seed="5",
        )
    )
    err = capsys.readouterr().err
    assert code == cli.EXIT_OK, err
    assert "two-stage recipe" in err
    info = probe(out)
    assert (info["width"], info["height"], info["frame_count"]) == (128, 64, 9)
    assert info["channels"] == 2 and info["sample_rate"] == 48000
    record = json.loads(info["metadata"]["aiprod_generation"])
    assert record["recipe"] == "two-stage" and record["model_version"] == version
    assert record["loras"] == [{"path": str(_lora(model)), "strength": 0.5}]
    assert [k["frame"] for k in record["keyframes"]] == [0, 8]
    assert [s["width"] for s in record["stages"]] == [64, 128]


def test_distilled_recipe_and_extend_with_the_tiny_model(capsys, tmp_path):
    clip = tmp_path / "clip.mov"
    code = cli.main(
        _argv("generate", clip, prompt=PROMPT, model="tiny", recipe="distilled", width="64", height="64",
              frames="17", seed="3")
    )
    assert code == cli.EXIT_OK, capsys.readouterr().err
    assert json.loads(probe(clip)["metadata"]["aiprod_generation"])["recipe"] == "distilled"
    for direction in ("forward", "backward"):
        out = tmp_path / f"ext-{direction}.mov"
        extra = ("--backward",) if direction == "backward" else ()
        code = cli.main(_argv("extend", out, str(clip), *extra, seconds="0.5", model="tiny", steps="2"))
        err = capsys.readouterr().err
        assert code == cli.EXIT_OK, err
        info = probe(out)
        assert info["frame_count"] == 16 and (info["width"], info["height"]) == (64, 64)
        assert info["channels"] == 2 and info["audio_duration"] == pytest.approx(16 / 24, abs=0.05)
        record = json.loads(info["metadata"]["aiprod_generation"])
        assert record["prompt"] == PROMPT  # the clip's own prompt, from its record
        assert record["extend"]["direction"] == direction and record["extended_from"] == str(clip.resolve())


@pytest.mark.skipif(fixtures.LTX25_FIXTURE is None, reason="the shared LTX-2.5 fixture is not available")
def test_duration_auto_asks_the_duration_head(capsys, tmp_path):
    out = tmp_path / "clip.mov"
    code = cli.main(
        _argv("generate", out, prompt=PROMPT, model=str(fixtures.LTX25_FIXTURE), recipe="distilled",
              width="64", height="32", duration="auto", seed="1", video_decoder="diffusion")
    )
    err = capsys.readouterr().err
    assert code == cli.EXIT_OK, err
    assert "the duration head suggests" in err
    info = probe(out)
    assert (info["frame_count"] - 1) % 8 == 0
    assert json.loads(info["metadata"]["aiprod_generation"])["video_decoder"] == "diffusion"


@pytest.mark.parametrize(
    ("extra", "options", "expected"),
    [
        ((), {"recipe": "two-stage", "width": "96"}, "multiple of 64"),
        ((), {"recipe": "two-stage"}, "upsampler"),
        (("--lora", "/no/such/lora.safetensors"), {}, "does not exist"),
        (("--lora", "LORA:strong"), {}, "not a number"),
        (("--keyframe", "STILL@9"), {}, "outside the clip"),
        (("--keyframe", "STILL"), {}, "no frame index"),
        (("--lora", "NOTLORA"), {}, "LoRA"),
        ((), {"duration": "auto"}, "duration head"),
        ((), {"recipe": "distilled", "steps": "4"}, "fixed sigmas"),
    ],
)
def test_bad_recipe_lora_and_keyframe_input_exits_2(capsys, tmp_path, still, extra, options, expected):
    not_lora = tmp_path / "not-a-lora.safetensors"
    import torch
    from safetensors.torch import save_file

    save_file({"weight": torch.zeros(2)}, str(not_lora))
    lora = tmp_path / "x.safetensors"
    lora.write_bytes(b"")
    extra = tuple(
        e.replace("STILL", str(still)).replace("NOTLORA", str(not_lora)).replace("LORA", str(lora))
        for e in extra
    )
    base = {"prompt": PROMPT, "model": "tiny", "width": "64", "height": "64", "frames": "9", "steps": "2"}
    if "recipe" in options and options["recipe"] != "full":
        base.pop("steps")
    out = tmp_path / "x.mov"
    code = cli.main(_argv("generate", out, *extra, **{**base, **options}))
    err = capsys.readouterr().err
    assert code == cli.EXIT_BAD_INPUT, err
    assert expected in err and err.count("\n") >= 1
    assert not out.exists()


def test_extend_refuses_a_missing_clip_and_bad_seconds(capsys, tmp_path):
    out = tmp_path / "x.mov"
    assert cli.main(_argv("extend", out, str(tmp_path / "nope.mov"), seconds="1", model="tiny")) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli.main(_argv("extend", out, str(tmp_path / "nope.mov"), seconds="0", model="tiny")) == 2
    assert "positive" in capsys.readouterr().err
    assert not out.exists()
