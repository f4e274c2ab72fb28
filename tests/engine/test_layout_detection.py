"""Which layout and version a path holds, and what `describe_checkpoint` tells the user, for every layout:
2.0 and 2.3 single files, diffusers folders and 2.5 release folders. Only headers and listings are read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from shared_fixtures import LTX2_CHECKPOINT, LTX2_FIXTURE, LTX23_FIXTURE, ltx23_monolith, repo_root

from engine.checkpoint import CheckpointLayout, detect_layout
from engine.checkpoint_report import describe_checkpoint
from engine.errors import CheckpointError

LTX25_FIXTURE = repo_root() / ".." / "shared" / "fixtures" / "ltx25-tiny-official"
needs_ltx25 = pytest.mark.skipif(not (LTX25_FIXTURE / "diffusion_models").is_dir(), reason="no 2.5 fixture")


def _single_file(path: Path, metadata: dict[str, str]) -> Path:
    save_file({"w": torch.zeros(1)}, str(path), metadata=metadata)
    return path


def _config_23() -> str:
    return json.dumps({"transformer": {"caption_proj_before_connector": True}, "vocoder": {"bwe": {}}})


def test_a_single_file_version_comes_from_model_version_then_config(tmp_path):
    v20 = _single_file(tmp_path / "a.safetensors", {"config": json.dumps({"transformer": {}})})
    v23_meta = _single_file(tmp_path / "b.safetensors", {"config": "{}", "model_version": "2.3.0"})
    v23_cfg = _single_file(tmp_path / "c.safetensors", {"config": _config_23()})
    old = _single_file(tmp_path / "d.safetensors", {"config": _config_23(), "model_version": "2.0.0"})
    assert detect_layout(v20) is CheckpointLayout.OFFICIAL_SINGLE_FILE
    assert detect_layout(v23_meta) is CheckpointLayout.LTX23_SINGLE_FILE
    assert detect_layout(v23_cfg) is CheckpointLayout.LTX23_SINGLE_FILE
    assert detect_layout(old) is CheckpointLayout.OFFICIAL_SINGLE_FILE  # model_version wins


def test_a_damaged_single_file_is_left_to_the_loader_to_explain(tmp_path):
    path = tmp_path / "ltx-2.3-broken.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{")
    assert detect_layout(path) is CheckpointLayout.OFFICIAL_SINGLE_FILE


def test_one_file_of_a_25_release_points_at_its_folder(tmp_path):
    folder = tmp_path / "LTX-2.5" / "diffusion_models"
    folder.mkdir(parents=True)
    path = _single_file(
        folder / "ltx-2.5-transformer.safetensors", {"config": "{}", "model_version": "2.5.0"}
    )
    with pytest.raises(CheckpointError) as info:
        detect_layout(path)
    assert str(path) in str(info.value) and str(tmp_path / "LTX-2.5") in str(info.value)


def test_a_diffusers_folder(tmp_path):
    (tmp_path / "transformer").mkdir()
    (tmp_path / "transformer" / "config.json").write_text(json.dumps({"gated_attn": True}))
    assert detect_layout(tmp_path) is CheckpointLayout.DIFFUSERS_FOLDER
    report = describe_checkpoint(tmp_path)
    assert report.version == "2.3" and not report.ready
    missing = {item.role for item in report.missing}
    assert {"connectors", "vae", "audio_vae", "vocoder", "text encoder"} <= missing


def test_an_empty_release_folder_names_every_required_file(tmp_path):
    for sub in ("diffusion_models", "text_encoders", "vae"):
        (tmp_path / sub).mkdir()
    assert detect_layout(tmp_path) is CheckpointLayout.RELEASE_FOLDER
    report = describe_checkpoint(tmp_path)
    assert not report.ready
    text = "\n".join(report.lines())
    for name in ("diffusion_models/", "text_encoders/", "video-vae-conv", "audio-vae"):
        assert name in text, (name, text)


@pytest.mark.skipif(LTX2_FIXTURE is None, reason="no 2.0 fixture")
def test_the_20_fixture():
    path = LTX2_FIXTURE / LTX2_CHECKPOINT
    assert detect_layout(path) is CheckpointLayout.OFFICIAL_SINGLE_FILE
    report = describe_checkpoint(path)
    assert report.version == "2.0" and report.text_encoder_ok
    assert report.summary().startswith("LTX-2.0")


@pytest.mark.skipif(LTX23_FIXTURE is None, reason="no 2.3 fixture")
def test_the_23_fixture_with_an_explicit_gemma_root(tmp_path):
    monolith = ltx23_monolith(LTX23_FIXTURE)
    root = next(p for p in LTX23_FIXTURE.iterdir() if p.is_dir() and p.name.startswith("gemma"))
    lone = tmp_path / "ltx-2.3-22b-distilled.safetensors"
    lone.symlink_to(monolith)
    report = describe_checkpoint(lone, text_encoder=root)
    assert report.summary() == "LTX-2.3 distilled, Gemma 3 root OK, no spatial upscaler, no LoRAs"
    assert report.ready  # the upscaler is optional; a distilled file needs no distilled LoRA
    assert [item.role for item in report.missing] == ["spatial upscaler"]


@pytest.mark.skipif(LTX23_FIXTURE is None, reason="no 2.3 fixture")
def test_a_gemma_root_of_the_wrong_size_is_reported(tmp_path):
    monolith = ltx23_monolith(LTX23_FIXTURE)
    other = tmp_path / "gemma-other"
    other.mkdir()
    root = next(p for p in LTX23_FIXTURE.iterdir() if p.is_dir() and p.name.startswith("gemma"))
    for item in root.iterdir():
        (other / item.name).symlink_to(item)
    config = json.loads((root / "config.json").read_text())
    text = config.get("text_config", config)
    text["num_hidden_layers"] = text.get("num_hidden_layers", 1) + 1
    (other / "config.json").unlink()
    (other / "config.json").write_text(json.dumps(config))
    report = describe_checkpoint(monolith, text_encoder=other)
    assert not report.text_encoder_ok and "layers" in report.text_encoder_problem


@needs_ltx25
def test_the_25_fixture_folder():
    assert detect_layout(LTX25_FIXTURE) is CheckpointLayout.RELEASE_FOLDER
    report = describe_checkpoint(LTX25_FIXTURE)
    assert report.version.startswith("2.5") and report.ready and report.text_encoder_ok
    assert "spatial upscaler x2 found" in report.summary()
