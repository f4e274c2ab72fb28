"""Every bad model input fails with an engine error whose message names the file and component involved."""

from __future__ import annotations

import copy
import json
import os
import pickle
import shutil
import struct
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from shared_fixtures import LTX2_CHECKPOINT as CHECKPOINT
from shared_fixtures import LTX2_FIXTURE, LTX2_FIXTURE_NAME, needs_ltx2_fixture

from engine import quantization
from engine.checkpoint import SafetensorsFile, detect_layout
from engine.components import MODEL_CLASSES, load_diffusers_folder, load_official
from engine.engine import Engine
from engine.errors import CheckpointError, EngineError, QuantizationError, TextEncoderError
from engine.text_encoder import check_root, load_text_encoder

FIXTURE = LTX2_FIXTURE
needs_fixture = needs_ltx2_fixture


@pytest.fixture
def fake_gemma(tmp_path) -> Path:
    """A folder that passes the text encoder's presence check (so the checkpoint is what fails)."""
    root = tmp_path / "gemma"
    root.mkdir()
    (root / "config.json").write_text("{}")
    (root / "tokenizer.model").write_bytes(b"")
    (root / "model.safetensors").write_bytes(b"")
    return root


@pytest.fixture(scope="module")
def official() -> tuple[dict[str, torch.Tensor], dict]:
    if FIXTURE is None:
        pytest.skip(f"the shared fixture {LTX2_FIXTURE_NAME}/ was not found")
    with safe_open(str(FIXTURE / CHECKPOINT), framework="pt") as handle:
        config = json.loads(handle.metadata()["config"])
    return load_file(str(FIXTURE / CHECKPOINT)), config


def _save(path: Path, tensors: dict[str, torch.Tensor], config: dict | str | None) -> Path:
    if isinstance(config, dict):
        config = json.dumps(config)
    metadata = None if config is None else {"config": config}
    save_file(tensors, str(path), metadata=metadata)
    return path


def _raises(error, call, *parts: str) -> EngineError:
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    for part in parts:
        assert part in message, (part, message)
    return info.value


# ---------------------------------------------------------------------------------------- pickle files

@pytest.mark.parametrize("suffix", [".ckpt", ".pt", ".pth", ".bin"])
def test_pickle_suffixes_are_refused_with_a_conversion_hint(tmp_path, fake_gemma, suffix):
    path = tmp_path / f"ltx-2{suffix}"
    torch.save({"w": torch.zeros(2)}, path)
    for call in (lambda: detect_layout(path), lambda: load_official(path, torch.float32),
                 lambda: Engine.from_checkpoint(path, text_encoder=fake_gemma, device="cpu")):
        error = _raises(CheckpointError, call, str(path), "pickle", ".safetensors", "Convert")
        assert error.path == path


class _Payload:
    """Unpickling this creates a folder: it shows whether anyone unpickled the file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (str(self.marker),)


def test_pickle_data_behind_a_safetensors_suffix_is_refused_without_unpickling(tmp_path, fake_gemma):
    marker = tmp_path / "payload-ran"
    payload = pickle.dumps(_Payload(marker), protocol=4)
    pickle.loads(payload)  # control: the payload is live
    assert marker.is_dir()
    marker.rmdir()

    path = tmp_path / "ltx-2-disguised.safetensors"
    path.write_bytes(payload)
    for call in (lambda: detect_layout(path), lambda: SafetensorsFile.open(path),
                 lambda: load_official(path, torch.float32),
                 lambda: Engine.from_checkpoint(path, text_encoder=fake_gemma, device="cpu")):
        _raises(CheckpointError, call, str(path), "pickle data", ".safetensors")
    assert not marker.exists()


def test_torch_zip_archive_behind_a_safetensors_suffix_is_refused(tmp_path):
    path = tmp_path / "ltx-2-zip.safetensors"
    torch.save({"w": torch.zeros(2)}, path)
    assert path.read_bytes()[:4] == b"PK\x03\x04"
    _raises(CheckpointError, lambda: load_official(path, torch.float32), str(path), "pickle data")


# ------------------------------------------------------------------------------------- damaged files

@needs_fixture
def test_truncated_checkpoint_is_reported_as_incomplete(tmp_path, fake_gemma):
    path = tmp_path / CHECKPOINT
    data = (FIXTURE / CHECKPOINT).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    for call in (lambda: load_official(path, torch.float32),
                 lambda: Engine.from_checkpoint(path, text_encoder=fake_gemma, device="cpu")):
        _raises(CheckpointError, call, str(path), "truncated", "re-download")


@needs_fixture
def test_checkpoint_cut_inside_its_header_is_reported(tmp_path):
    path = tmp_path / CHECKPOINT
    path.write_bytes((FIXTURE / CHECKPOINT).read_bytes()[:100])
    _raises(CheckpointError, lambda: load_official(path, torch.float32), str(path), "header length")


@pytest.mark.parametrize(("content", "expected"), [
    (b"", "empty or truncated"),
    (b"\x01\x02", "empty or truncated"),
    (struct.pack("<Q", 16) + b"this is not json", "damaged safetensors header"),
    (struct.pack("<Q", 5) + b"[1,2]", "not a table"),
    (struct.pack("<Q", 1 << 40) + b"{}", "header length"),
    (struct.pack("<Q", 24) + b'{"w": {"dtype": "F32"}}  ', "damaged entry for tensor 'w'"),
])
def test_garbage_files_are_reported_as_damaged(tmp_path, content, expected):
    path = tmp_path / "ltx-2-garbage.safetensors"
    path.write_bytes(content)
    _raises(CheckpointError, lambda: load_official(path, torch.float32), str(path), expected)


def test_tensor_size_that_does_not_match_its_shape_is_reported(tmp_path):
    path = _save(tmp_path / "ltx-2-lie.safetensors", {"w": torch.zeros(4)}, {})
    data = bytearray(path.read_bytes())
    header_len = struct.unpack("<Q", data[:8])[0]
    header = data[8: 8 + header_len].replace(b'"shape":[4]', b'"shape":[3]')
    path.write_bytes(bytes(data[:8]) + header + bytes(data[8 + header_len:]))
    _raises(CheckpointError, lambda: load_official(path, torch.float32), str(path), "'w'",
            "size does not match")


# --------------------------------------------------------------------------------------- config metadata

def test_safetensors_without_config_metadata_is_not_an_official_checkpoint(tmp_path, fake_gemma):
    path = _save(tmp_path / "ltx-2-noconfig.safetensors", {"w": torch.zeros(2)}, None)
    for call in (lambda: load_official(path, torch.float32),
                 lambda: Engine.from_checkpoint(path, text_encoder=fake_gemma, device="cpu")):
        _raises(CheckpointError, call, str(path), "no 'config' metadata")


@pytest.mark.parametrize(("config", "expected"), [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "not a JSON object"),
])
def test_unreadable_config_metadata(tmp_path, config, expected):
    path = _save(tmp_path / "ltx-2-badconfig.safetensors", {"w": torch.zeros(2)}, config)
    _raises(CheckpointError, lambda: load_official(path, torch.float32), str(path), expected)


def _save_raw_metadata(path: Path, metadata) -> Path:
    """A valid one-tensor safetensors file whose `__metadata__` is any JSON value (hand-written headers)."""
    tensor = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
    header = json.dumps({"__metadata__": metadata, "w": tensor})
    raw = header.encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + bytes(8))
    return path


_DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(("metadata", "expected"), [
    ({"config": _DEEP}, "nested too deeply"),
    ({"config": '{"transformer": ' + "[" * 50_000 + "]" * 50_000 + "}"}, "nested too deeply"),
    ({"config": {"transformer": {}}}, "not a string"),
    ({"config": 12}, "not a string"),
    ({"config": None}, "no 'config' metadata"),
    ({"config": "12"}, "not a JSON object"),
    ([1, 2], "__metadata__ is not a table"),
    ("config", "__metadata__ is not a table"),
])
def test_config_metadata_of_the_wrong_json_type_or_depth(tmp_path, fake_gemma, metadata, expected):
    path = _save_raw_metadata(tmp_path / "ltx-2-odd.safetensors", metadata)
    for call in (lambda: load_official(path, torch.float32),
                 lambda: Engine.from_checkpoint(path, text_encoder=fake_gemma, device="cpu")):
        _raises(CheckpointError, call, str(path), expected)


def test_deeply_nested_safetensors_header_is_a_checkpoint_error(tmp_path):
    raw = ('{"w": ' + _DEEP + "}").encode()
    path = tmp_path / "ltx-2-deep.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw)
    _raises(CheckpointError, lambda: SafetensorsFile.open(path), str(path), "nested too deeply")


def test_cli_exits_2_for_config_metadata_that_is_not_a_string(tmp_path, fake_gemma, capsys):
    from app import cli

    for name, metadata in (("object", {"config": {"transformer": {}}}), ("deep", {"config": _DEEP})):
        path = _save_raw_metadata(tmp_path / f"ltx-2-{name}.safetensors", metadata)
        code = cli.main(["generate", "--prompt", "x", "--model", str(path), "--text-encoder", str(fake_gemma),
                         "--device", "cpu", "--out", str(tmp_path / "out.mov"), "--quiet"])
        err = capsys.readouterr().err
        assert code == 2, err
        assert str(path) in err and "Traceback" not in err


@pytest.mark.parametrize("content", ["[1, 2]", "12", '"text"', _DEEP])
def test_diffusers_config_json_of_the_wrong_type_or_depth(diffusers_folder, content):
    (diffusers_folder / "vae" / "config.json").write_text(content)
    _raises(CheckpointError, lambda: load_diffusers_folder(diffusers_folder, torch.float32), "vae",
            "config.json")


def _variant(official, tmp_path, edit_config=None, edit_tensors=None) -> Path:
    tensors, config = official
    tensors, config = dict(tensors), copy.deepcopy(config)
    if edit_config:
        edit_config(config)
    if edit_tensors:
        edit_tensors(tensors)
    return _save(tmp_path / "ltx-2-variant.safetensors", tensors, config)


def _set_decoder_block(config):
    config["vae"]["decoder_blocks"][1][0] = "compress_magic"


def _set(section, key, value):
    def edit(config):
        config[section][key] = value
    return edit


def _one_more(section, key):
    def edit(config):
        config[section][key] += 1
    return edit


def _set_audio_channels(config):
    config["audio_vae"]["model"]["params"]["ddconfig"]["ch"] = -5


@needs_fixture
@pytest.mark.parametrize(("edit", "component", "expected"), [
    (_set_decoder_block, "vae", ["decoder_blocks", "compress_magic", "compress_all"]),
    (_set("transformer", "num_layers", "three"), "transformer", ["not describe a valid"]),
    (_one_more("transformer", "num_attention_heads"), "transformer", ["has shape", "the config needs"]),
    (_set("vae", "patch_size", "four"), None, ["invalid value", "four"]),
    (_set("vocoder", "resblock", "2"), "vocoder", ["resblock type '2'"]),
    (lambda config: config.pop("vocoder"), "vocoder", ["no 'vocoder' section"]),
    (lambda config: config["transformer"].pop("num_layers"), "transformer", ["lacks 'num_layers'"]),
    (_set_audio_channels, "audio_vae", ["not describe a valid", "negative dimension"]),
])
def test_config_values_that_do_not_fit_name_the_file_and_component(official, tmp_path, edit, component,
                                                                   expected):
    path = _variant(official, tmp_path, edit_config=edit)
    parts = [f"file {path}", *expected] + ([f"component '{component}'"] if component else [])
    error = _raises(CheckpointError, lambda: load_official(path, torch.float32), *parts)
    assert error.path == path and error.component == component


@needs_fixture
def test_a_config_with_more_layers_than_weights_names_the_missing_block(official, tmp_path):
    """Whatever the checkpoint's depth: one layer more in the config than in the file is refused, naming the
    first block whose weights are missing (not the fixture's count)."""
    layers = []

    def add_layer(config):
        layers.append(config["transformer"]["num_layers"])
        config["transformer"]["num_layers"] += 1

    path = _variant(official, tmp_path, edit_config=add_layer)
    error = _raises(
        CheckpointError,
        lambda: load_official(path, torch.float32),
        f"file {path}",
        "missing weights",
        f"transformer_blocks.{layers[0]}.",
        "component 'transformer'",
    )
    assert error.component == "transformer"


@needs_fixture
def test_a_tensor_of_the_wrong_shape_names_the_weight_and_component(official, tmp_path):
    def edit(tensors):
        tensors["model.diffusion_model.audio_proj_out.weight"] = torch.zeros(128, 17, dtype=torch.bfloat16)

    path = _variant(official, tmp_path, edit_tensors=edit)
    _raises(CheckpointError, lambda: load_official(path, torch.float32), f"file {path}",
            "component 'transformer'", "'audio_proj_out.weight'", "(128, 17)", "(128, 16)")


@needs_fixture
def test_a_component_without_weights_is_named(official, tmp_path):
    def edit(tensors):
        for key in [k for k in tensors if k.startswith("vocoder.")]:
            del tensors[key]

    path = _variant(official, tmp_path, edit_tensors=edit)
    _raises(CheckpointError, lambda: load_official(path, torch.float32), f"file {path}",
            "component 'vocoder'", "no weights")


@needs_fixture
def test_unexpected_extra_weights_in_a_component_are_reported(official, tmp_path):
    def edit(tensors):
        tensors["vocoder.extra_layer.weight"] = torch.zeros(3)

    path = _variant(official, tmp_path, edit_tensors=edit)
    _raises(CheckpointError, lambda: load_official(path, torch.float32), "component 'vocoder'",
            "1 unexpected weights", "extra_layer.weight")


# ------------------------------------------------------------------------------------------ text encoder

def test_no_text_encoder_fails_before_the_checkpoint_is_read(tmp_path, monkeypatch):
    import engine.engine as engine_module

    read: list[object] = []
    monkeypatch.setattr(engine_module, "detect_layout", lambda path: read.append(path))
    _raises(TextEncoderError, lambda: Engine.from_checkpoint(tmp_path / "x.safetensors", text_encoder=None),
            "no text encoder given", "--text-encoder")
    assert read == []


def test_nonexistent_text_encoder_folder_is_named(tmp_path):
    missing = tmp_path / "gemma-3-12b-it"
    for call in (lambda: check_root(missing),
                 lambda: Engine.from_checkpoint(tmp_path / "x.safetensors", text_encoder=missing)):
        _raises(TextEncoderError, call, str(missing), "does not exist")


def test_text_encoder_folder_missing_files_lists_them(fake_gemma):
    (fake_gemma / "tokenizer.model").unlink()
    tokenizer = "tokenizer.json or tokenizer.model"
    _raises(TextEncoderError, lambda: check_root(fake_gemma), str(fake_gemma), tokenizer)
    (fake_gemma / "config.json").unlink()
    (fake_gemma / "model.safetensors").unlink()
    _raises(TextEncoderError, lambda: check_root(fake_gemma), "config.json", tokenizer,
            "*.safetensors weights")


def test_text_encoder_with_only_pickle_weights_is_refused(fake_gemma):
    (fake_gemma / "model.safetensors").unlink()
    torch.save({"w": torch.zeros(1)}, fake_gemma / "pytorch_model.bin")
    _raises(EngineError, lambda: check_root(fake_gemma), "pytorch_model.bin", "pickle", ".safetensors")


def test_text_encoder_of_another_model_type_is_refused(fake_gemma):
    llama = {"model_type": "llama", "hidden_size": 8, "num_attention_heads": 2, "num_key_value_heads": 1}
    (fake_gemma / "config.json").write_text(json.dumps(llama))
    _raises(TextEncoderError, lambda: load_text_encoder(fake_gemma, torch.float32), "'llama'", "Gemma-3")


@needs_fixture
def test_text_encoder_with_damaged_weights_is_reported(tmp_path):
    root = tmp_path / "gemma"
    shutil.copytree(FIXTURE / "gemma", root)
    shard = next(root.glob("model-*.safetensors"))
    shard.write_bytes(shard.read_bytes()[:1000])
    _raises(TextEncoderError, lambda: load_text_encoder(root, torch.float32), str(root))


# ------------------------------------------------------------------------------------------ quantization

def test_unknown_quantization_lists_the_valid_modes(tmp_path, fake_gemma):
    for call in (lambda: quantization.parse_mode("fp3"),
                 lambda: Engine.from_checkpoint(tmp_path / "x.safetensors", text_encoder=fake_gemma,
                                                quantization="fp3"),
                 lambda: Engine.from_checkpoint(tmp_path / "x.safetensors", text_encoder=fake_gemma,
                                                text_encoder_quantization="int2"),
                 lambda: Engine.tiny(quantization="int3")):
        _raises(QuantizationError, call, "none", "fp8", "int8", "int4")


# ------------------------------------------------------------------------------------- diffusers folders

@pytest.fixture
def diffusers_folder(tmp_path) -> Path:
    from engine.tiny import tiny_components

    components = tiny_components(0)
    root = tmp_path / "ltx-2-diffusers"
    for name in MODEL_CLASSES:
        getattr(components, name).save_pretrained(root / name, safe_serialization=True)
    (root / "model_index.json").write_text(json.dumps({"_class_name": "LTX2Pipeline"}))
    return root


def test_a_complete_diffusers_folder_loads(diffusers_folder):
    # The control for the folder errors below: the same folder, undamaged, loads.
    from engine.tiny import tiny_components

    loaded = load_diffusers_folder(diffusers_folder, torch.float32)
    original = tiny_components(0)
    for name in MODEL_CLASSES:
        ours, theirs = getattr(loaded, name).state_dict(), getattr(original, name).state_dict()
        assert set(ours) == set(theirs), name
        assert all(torch.equal(ours[k], theirs[k]) for k in ours), name
    assert loaded.source == str(diffusers_folder)


@pytest.mark.parametrize("component", list(MODEL_CLASSES))
def test_diffusers_folder_missing_a_component_names_it(diffusers_folder, fake_gemma, component):
    shutil.rmtree(diffusers_folder / component)
    for call in (lambda: load_diffusers_folder(diffusers_folder, torch.float32),
                 lambda: Engine.from_checkpoint(diffusers_folder, text_encoder=fake_gemma, device="cpu")):
        error = _raises(CheckpointError, call, str(diffusers_folder / component), f"component '{component}'",
                        "missing")
        assert error.component == component


def test_diffusers_component_problems_are_named(diffusers_folder):
    vocoder = diffusers_folder / "vocoder"
    load = lambda: load_diffusers_folder(diffusers_folder, torch.float32)  # noqa: E731
    config = json.loads((vocoder / "config.json").read_text())

    (vocoder / "config.json").write_text("{broken")
    _raises(CheckpointError, load, "component 'vocoder'", "not valid JSON")

    (vocoder / "config.json").write_text(json.dumps({**config, "hidden_channels": 48}))
    _raises(CheckpointError, load, "component 'vocoder'", "has shape", "the config needs")

    (vocoder / "config.json").unlink()
    _raises(CheckpointError, load, "component 'vocoder'", "no config.json")

    weights = vocoder / "diffusion_pytorch_model.safetensors"
    weights.rename(vocoder / "diffusion_pytorch_model.bin")
    _raises(CheckpointError, load, "component 'vocoder'", "only pickle weights", "safe_serialization=True")

    (vocoder / "diffusion_pytorch_model.bin").unlink()
    _raises(CheckpointError, load, "component 'vocoder'", "no .safetensors weights")


# ------------------------------------------------------------------------------------------------ paths

def test_nonexistent_model_path_is_named(tmp_path, fake_gemma):
    missing = tmp_path / "ltx-2-19b-dev.safetensors"
    for call in (lambda: detect_layout(missing),
                 lambda: Engine.from_checkpoint(missing, text_encoder=fake_gemma, device="cpu")):
        _raises(CheckpointError, call, str(missing), "does not exist")


def test_folder_that_is_not_a_diffusers_folder_points_at_the_file_inside(tmp_path):
    (tmp_path / "ltx-2-19b-dev.safetensors").write_bytes(b"")
    _raises(CheckpointError, lambda: detect_layout(tmp_path), "not a diffusers LTX-2 folder",
            "did you mean ltx-2-19b-dev.safetensors")


def test_other_file_formats_are_refused(tmp_path):
    path = tmp_path / "ltx-2.gguf"
    path.write_bytes(b"GGUF\x03\x00\x00\x00")
    _raises(CheckpointError, lambda: detect_layout(path), str(path), "not a .safetensors file")
