"""`aiprod-cli generate` end to end with the tiny model: files probed, exit codes, one-line errors, Ctrl-C."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from app import cli
from app.export import probe

TINY_MODEL_NAME = "tiny random LTX-2 (noise)"
PROMPT = "a cat on a beach"
SMALL = [
    "--model",
    "tiny",
    "--prompt",
    PROMPT,
    "--width",
    "64",
    "--height",
    "64",
    "--frames",
    "9",
    "--steps",
    "2",
    "--seed",
    "11",
    "--quiet",
]


def _repo_root() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "app").is_dir():
            return parent
    return here.parents[2]


def _generate(out: Path, *extra: str) -> int:
    return cli.main(["generate", *SMALL, "--out", str(out), *extra])


@pytest.fixture(scope="module")
def mov(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("mov") / "clip.mov"
    assert _generate(out) == cli.EXIT_OK
    return out


@pytest.fixture(scope="module")
def mp4(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("mp4") / "clip.mp4"
    assert _generate(out) == cli.EXIT_OK
    return out


def _assert_common(info: dict) -> None:
    assert (info["width"], info["height"]) == (64, 64)
    assert info["frame_count"] == 9
    assert info["fps"] == 24.0
    assert (info["color_primaries"], info["color_trc"], info["colorspace"]) == ("bt709",) * 3
    assert info["color_range"] == "tv"
    assert info["sample_rate"] == 48000 and info["channels"] == 2  # the studio's rate (the model: 24 kHz)
    assert info["audio_duration"] == pytest.approx(9 / 24, abs=0.05)


def test_generate_mov_is_prores_hq_with_24bit_pcm(mov):
    info = probe(mov)
    assert info["video_codec"] == "prores" and info["profile"] == "HQ"
    assert info["pix_fmt"] == "yuv422p10le"
    assert info["audio_codec"] == "pcm_s24le"
    _assert_common(info)


def test_generate_mp4_is_hevc_main10_hvc1_with_aac(mp4):
    info = probe(mp4)
    assert info["video_codec"] == "hevc" and info["profile"] == "Main 10"
    assert info["pix_fmt"] == "yuv420p10le"
    assert info["codec_tag"] == "hvc1"
    assert info["audio_codec"] == "aac"
    _assert_common(info)


@pytest.mark.parametrize("clip", ["mov", "mp4"])
def test_written_files_carry_provenance(clip, request):
    tags = probe(request.getfixturevalue(clip))["metadata"]
    assert tags["ai_generated"] == "true"
    assert tags["model"] == TINY_MODEL_NAME
    assert TINY_MODEL_NAME in tags["comment"] and "AI-generated" in tags["comment"]
    assert tags["prompt"] == PROMPT
    assert tags["seed"] == "11"
    record = json.loads(tags["aiprod_generation"])  # the one provenance record (app.provenance)
    assert (record["width"], record["height"], record["frames"], record["steps"]) == (64, 64, 9, 2)
    assert (record["model"], record["model_name"], record["seed"]) == ("tiny", TINY_MODEL_NAME, 11)
    assert record["checkpoint_identity"] and tags["checkpoint"] == record["checkpoint_identity"]
    assert f"checkpoint {tags['checkpoint']}" in tags["comment"]


def test_cli_and_studio_clips_carry_the_same_provenance_keys(mov, tmp_path):
    """One record, one way: a clip from `aiprod-cli generate` and a studio master have the same tags and
    the same record keys (the studio's master written by app.jobs with an engine-shaped fake)."""
    import numpy as np

    from app.jobs.master import write_master
    from app.jobs.result import generation_record, master_metadata
    from app.jobs.spec import JobSpec

    class Engine:
        model_name, identity, quantization = TINY_MODEL_NAME, "tiny-random", "none"

    spec = JobSpec(prompt=PROMPT, width=64, height=64, frames=9, fps=24.0, steps=2, seed=11, model="tiny")
    # the worker records what the engine resolved (the model's defaults for what the job left unset)
    from engine.models import LTX_2_0

    resolved = spec.to_request(preview=False).with_defaults(LTX_2_0.guidance_defaults())
    result = SimpleNamespace(metadata={"parameters": resolved.parameters(), "model_version": "2.0"})
    generation = generation_record(spec, Engine(), result)
    assert generation["negative_prompt"] == LTX_2_0.negative_prompt and generation["guidance"] == 3.0
    studio = write_master(
        tmp_path, "s", np.zeros((9, 64, 64, 3), np.float32), 24.0, None, 24000, master_metadata(generation)
    )
    # Matroska (the studio's master) stores tag names upper-case; QuickTime keeps them as written.
    cli_tags = {k.lower(): v for k, v in probe(mov)["metadata"].items()}
    studio_tags = {k.lower(): v for k, v in probe(studio)["metadata"].items()}
    ignore = {"encoder", "major_brand", "minor_version", "compatible_brands", "creation_time", "handler_name"}
    assert set(cli_tags) - ignore == set(studio_tags) - ignore
    cli_record, studio_record = (
        json.loads(cli_tags["aiprod_generation"]),
        json.loads(studio_tags["aiprod_generation"]),
    )
    assert set(studio_record) <= set(cli_record)  # the CLI adds the engine's extra settings, loses nothing
    for key in ("model", "model_name", "prompt", "seed", "width", "height", "frames", "steps", "fps"):
        assert cli_record[key] == studio_record[key], key
    # Both name the weights (the studio names the tiny model 'tiny-random', the engine 'tiny-random-seed0').
    assert cli_record["checkpoint_identity"].startswith(studio_record["checkpoint_identity"])


def test_nothing_but_the_clip_is_left_in_the_output_folder(mov, mp4):
    assert [p.name for p in mov.parent.iterdir()] == ["clip.mov"]
    assert [p.name for p in mp4.parent.iterdir()] == ["clip.mp4"]


def _run_program(*args: str) -> subprocess.CompletedProcess:
    root = _repo_root()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_cli_runs_as_a_program(tmp_path):
    out = tmp_path / "clip.mov"
    done = _run_program("generate", *SMALL, "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert f"wrote {out}" in done.stderr
    info = probe(out)
    assert info["video_codec"] == "prores" and info["frame_count"] == 9 and info["audio_codec"] == "pcm_s24le"


def test_bad_input_in_a_subprocess_is_one_line_and_exit_2(tmp_path):
    done = _run_program("generate", *SMALL, "--out", str(tmp_path / "x.avi"))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr, done.stderr
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------- bad input


@pytest.fixture
def engine_loads(monkeypatch) -> list[str]:
    """Record engine construction: bad input must be refused before any model is loaded."""
    from engine.engine import Engine

    calls: list[str] = []
    tiny, from_checkpoint = Engine.tiny.__func__, Engine.from_checkpoint.__func__
    monkeypatch.setattr(
        Engine, "tiny", classmethod(lambda cls, *a, **k: (calls.append("tiny"), tiny(cls, *a, **k))[1])
    )
    monkeypatch.setattr(
        Engine,
        "from_checkpoint",
        classmethod(lambda cls, *a, **k: (calls.append("checkpoint"), from_checkpoint(cls, *a, **k))[1]),
    )
    return calls


@pytest.fixture
def fake_gemma(tmp_path) -> Path:
    """Passes the text encoder's presence check, so the model file is what gets refused."""
    root = tmp_path / "gemma"
    root.mkdir()
    for name in ("config.json", "tokenizer.model", "model.safetensors"):
        (root / name).write_bytes(b"{}")
    return root


def _bad_input(capsys, argv: list[str], *expected: str) -> str:
    code = cli.main(argv)
    err = capsys.readouterr().err.strip()
    assert code == cli.EXIT_BAD_INPUT, err
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("aiprod-cli: error: ")
    for part in expected:
        assert part in err, (part, err)
    return err


def _generate_argv(out: Path, **options: str) -> list[str]:
    argv = ["generate", "--prompt", PROMPT, "--out", str(out), "--quiet"]
    options = {"model": "tiny", "width": "64", "height": "64", "frames": "9", "steps": "2", **options}
    for key, value in options.items():
        argv += [f"--{key.replace('_', '-')}", value]
    return argv


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"width": "100"}, ["width 100", "96", "128"]),
        ({"width": "0"}, ["width 0"]),  # an explicit 0 is refused, not replaced by the default
        ({"frames": "10"}, ["frame count 10", "9", "17"]),
        ({"steps": "0"}, ["steps 0"]),
        ({"fps": "0"}, ["fps 0"]),
    ],
)
def test_bad_request_is_refused_before_loading_a_model(capsys, tmp_path, engine_loads, options, expected):
    _bad_input(capsys, _generate_argv(tmp_path / "x.mov", **options), *expected)
    assert engine_loads == []
    assert list(tmp_path.iterdir()) == []


def test_unknown_extension(capsys, tmp_path, engine_loads):
    _bad_input(capsys, _generate_argv(tmp_path / "x.avi"), "'.avi'", ".mov", ".mp4")
    assert engine_loads == [] and list(tmp_path.iterdir()) == []


def test_missing_output_folder(capsys, tmp_path, engine_loads):
    out = tmp_path / "no-such-folder" / "x.mov"
    _bad_input(capsys, _generate_argv(out), "no-such-folder")
    assert engine_loads == [] and not out.parent.exists()


def test_missing_start_image(capsys, tmp_path, engine_loads):
    _bad_input(
        capsys,
        _generate_argv(tmp_path / "x.mov", image=str(tmp_path / "start.png")),
        "start.png",
        "does not exist",
    )
    assert engine_loads == []


def test_missing_model_file(capsys, tmp_path, engine_loads):
    model = tmp_path / "ltx-2-19b-dev.safetensors"
    _bad_input(capsys, _generate_argv(tmp_path / "x.mov", model=str(model)), str(model), "does not exist")
    assert engine_loads == []


def _lone_checkpoint(tmp_path: Path) -> Path:
    """The shared LTX-2.0 checkpoint alone in a folder (no Gemma root beside it)."""
    from tests.shared_fixtures import LTX2_CHECKPOINT, LTX2_FIXTURE

    if LTX2_FIXTURE is None:
        pytest.skip("the shared LTX-2.0 fixture is not available")
    model = tmp_path / "models" / LTX2_CHECKPOINT
    model.parent.mkdir()
    model.symlink_to(LTX2_FIXTURE / LTX2_CHECKPOINT)
    return model


def test_real_model_without_a_text_encoder_names_what_to_get(capsys, tmp_path, engine_loads):
    model = _lone_checkpoint(tmp_path)
    err = _bad_input(
        capsys, _generate_argv(tmp_path / "x.mov", model=str(model)), "LTX-2.0", "Gemma 3", "--text-encoder"
    )
    assert "cannot load" in err and engine_loads == []


def test_nonexistent_text_encoder_folder(capsys, tmp_path, engine_loads):
    model = _lone_checkpoint(tmp_path)
    gemma = tmp_path / "gemma-3-12b-it"
    _bad_input(
        capsys,
        _generate_argv(tmp_path / "x.mov", model=str(model), text_encoder=str(gemma)),
        str(gemma),
        "not a folder",
    )
    assert engine_loads == []


@pytest.mark.parametrize("name", ["ltx-2.ckpt", "ltx-2-disguised.safetensors"])
def test_pickle_model_file_is_refused(capsys, tmp_path, fake_gemma, name):
    import torch

    model = tmp_path / name
    torch.save({"w": torch.zeros(2)}, model)
    _bad_input(
        capsys,
        _generate_argv(tmp_path / "x.mov", model=str(model), text_encoder=str(fake_gemma)),
        str(model),
        "pickle",
        ".safetensors",
    )
    assert not (tmp_path / "x.mov").exists()


def test_nonexistent_model_path(capsys, tmp_path, fake_gemma):
    model = tmp_path / "missing.safetensors"
    _bad_input(
        capsys,
        _generate_argv(tmp_path / "x.mov", model=str(model), text_encoder=str(fake_gemma)),
        str(model),
        "does not exist",
    )


def test_a_multi_line_engine_error_is_printed_on_one_line(capsys, tmp_path, fake_gemma, monkeypatch):
    from engine.engine import Engine
    from engine.errors import CheckpointError

    model = tmp_path / "m.safetensors"

    def broken(cls, *args, **kwargs):
        raise CheckpointError("could not be read (first line\n  second line)", path=model)

    monkeypatch.setattr(Engine, "from_checkpoint", classmethod(broken))
    monkeypatch.setattr(cli, "_describe_model", lambda _model, text_encoder: text_encoder)
    argv = _generate_argv(tmp_path / "x.mov", model=str(model), text_encoder=str(fake_gemma))
    _bad_input(capsys, argv, str(model), "first line second line")


def test_unknown_quantization_is_an_argument_error(capsys, tmp_path):
    with pytest.raises(SystemExit) as info:
        cli.main(_generate_argv(tmp_path / "x.mov", quant="int3"))
    assert info.value.code == 2
    assert "int3" in capsys.readouterr().err


# ---------------------------------------------------------------------------------- failures and Ctrl-C


def test_out_of_memory_exits_1(capsys, tmp_path, monkeypatch):
    from engine.engine import Engine
    from engine.errors import OutOfMemoryError

    def oom(self, *args, **kwargs):
        raise OutOfMemoryError("out of CPU memory at 64x64, 9 frames; try int4 quantization")

    monkeypatch.setattr(Engine, "generate", oom)
    assert cli.main(_generate_argv(tmp_path / "x.mov")) == cli.EXIT_FAILED
    err = capsys.readouterr().err
    assert "out of CPU memory" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_during_generation_exits_130_and_writes_nothing(capsys, tmp_path, monkeypatch):
    from engine.engine import Engine

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Engine, "generate", interrupted)
    assert cli.main(_generate_argv(tmp_path / "x.mov")) == cli.EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_during_encoding_exits_130_and_removes_the_partial_file(capsys, tmp_path, monkeypatch):
    encoded: list[int] = []

    def stage(self, total, label):
        def update(done, _total):
            if label == "encode":
                encoded.append(done)
                if done == 3:
                    # The partial file exists at this point: it is the writer's job to remove it.
                    assert any(p.name.startswith(".x.partial") for p in tmp_path.iterdir())
                    raise KeyboardInterrupt

        return update

    monkeypatch.setattr(cli._Progress, "stage", stage)
    assert cli.main(_generate_argv(tmp_path / "x.mov")) == cli.EXIT_INTERRUPTED
    assert encoded == [1, 2, 3]
    assert "interrupted" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_cli_clip_imported_into_a_project_keeps_its_record(mov):
    from app.document import TimelineDocument
    from app.media.importer import import_files

    doc = TimelineDocument(name="Film", rate=24)
    ids, errors = import_files(doc, [mov])
    assert not errors
    record = doc.bin_item(ids[0]).generation
    assert record["model_name"] == TINY_MODEL_NAME and record["seed"] == 11 and record["prompt"] == PROMPT
    assert (
        record["checkpoint_identity"]
        == json.loads(probe(mov)["metadata"]["aiprod_generation"])["checkpoint_identity"]
    )


# ---------------------------------------------------------------------------------- the released layouts


def _release_model(version: str) -> Path:
    from tests import shared_fixtures as fixtures

    if version == "2.3":
        if fixtures.LTX23_FIXTURE is None:
            pytest.skip("the shared LTX-2.3 fixture is not available")
        return fixtures.ltx23_monolith(fixtures.LTX23_FIXTURE)
    if fixtures.LTX25_FIXTURE is None:
        pytest.skip("the shared LTX-2.5 fixture is not available")
    return fixtures.LTX25_FIXTURE


@pytest.mark.parametrize("version", ["2.3", "2.5"])
def test_generate_from_a_release_says_what_it_found_and_needs_no_text_encoder_flag(capsys, tmp_path, version):
    """A 2.3 single file (Gemma root beside it) and a 2.5 release folder (encoder inside) generate with no
    --text-encoder; the CLI first says what it found, and the clip records the model version."""
    out = tmp_path / "clip.mov"
    code = cli.main(_generate_argv(out, model=str(_release_model(version)), steps="2"))
    err = capsys.readouterr().err
    assert code == cli.EXIT_OK, err
    assert f"aiprod-cli: LTX-{version}" in err
    assert ("Gemma 3 root OK" if version == "2.3" else "Gemma 4 text encoder OK") in err
    assert "spatial upscaler x2 found" in err
    record = json.loads(probe(out)["metadata"]["aiprod_generation"])
    assert record["model_version"] == version and record["steps"] == 2
