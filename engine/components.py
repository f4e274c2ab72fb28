"""Building LTX-2 components (diffusers classes) from checkpoints, folders or random init.

Every loader builds the module skeleton without allocating weights (accelerate's `init_empty_weights`),
then assigns the checkpoint tensors, so peak host memory stays near the size of the weights themselves.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch
from accelerate import init_empty_weights
from diffusers import (
    AutoencoderKLLTX2Audio,
    AutoencoderKLLTX2Video,
    FlowMatchEulerDiscreteScheduler,
    LTX2VideoTransformer3DModel,
)
from diffusers.pipelines.ltx2 import LTX2TextConnectors, LTX2Vocoder

from engine import official_layout
from engine.checkpoint import SafetensorsFile, file_identity, read_official_config
from engine.errors import CheckpointError
from engine.fp8 import fp8_weight_keys, load_prequantized

log = logging.getLogger(__name__)

MODEL_CLASSES = {
    "transformer": LTX2VideoTransformer3DModel,
    "connectors": LTX2TextConnectors,
    "vae": AutoencoderKLLTX2Video,
    "audio_vae": AutoencoderKLLTX2Audio,
    "vocoder": LTX2Vocoder,
}

# A diffusers scheduler for code that drives diffusers' own LTX-2 pipelines with these modules. The engine
# does not use it: it samples with the loaded version's `ModelSpec.sigma_schedule` (engine/models.py), the
# reference's schedule (no shift by sequence length).
SCHEDULER_CONFIG = {
    "num_train_timesteps": 1000,
    "shift": 1.0,
    "use_dynamic_shifting": True,
    "base_shift": 0.95,
    "max_shift": 2.05,
    "base_image_seq_len": 1024,
    "max_image_seq_len": 4096,
    "shift_terminal": 0.1,
}


@dataclass
class ModelComponents:
    """The denoiser, its text connectors and the decoders, plus where they came from."""

    transformer: LTX2VideoTransformer3DModel
    connectors: LTX2TextConnectors
    vae: AutoencoderKLLTX2Video
    audio_vae: AutoencoderKLLTX2Audio
    vocoder: LTX2Vocoder
    scheduler: FlowMatchEulerDiscreteScheduler
    identity: str
    source: str
    configs: dict = field(default_factory=dict)
    # Release folders (LTX-2.5) bring more than the five core modules; None / empty where a layout has none.
    text_encoder: object | None = None  # engine.text_encoder.TextEncoder packed beside the weights
    diffusion_decoder: torch.nn.Module | None = None  # quality option; conv `vae` is the default
    duration_head: torch.nn.Module | None = None
    upsampler: torch.nn.Module | None = None
    companions: dict = field(default_factory=dict)  # role -> Path of every file found (loras: list of Paths)

    def modules(self) -> dict[str, torch.nn.Module]:
        return {name: getattr(self, name) for name in MODEL_CLASSES}


def build_skeleton(name: str, config: dict, path: Path | None = None) -> torch.nn.Module:
    """A module with parameters on the meta device (no memory), buffers real."""
    cls = MODEL_CLASSES[name]
    try:
        with init_empty_weights():
            return cls.from_config(config)
    # RuntimeError/ArithmeticError/IndexError: e.g. a negative or zero size reaching torch or a division.
    except (
        TypeError,
        ValueError,
        KeyError,
        AssertionError,
        RuntimeError,
        ArithmeticError,
        IndexError,
    ) as exc:
        raise CheckpointError(
            f"the config does not describe a valid {cls.__name__} ({exc})", path=path, component=name
        ) from exc


def build_random(name: str, config: dict, generator_seed: int) -> torch.nn.Module:
    """A randomly initialised module of the given config (used by the tiny model)."""
    torch.manual_seed(generator_seed)
    module = MODEL_CLASSES[name].from_config(config)
    return module.eval().requires_grad_(False)


def assign_state(
    module: torch.nn.Module, state: dict[str, torch.Tensor], name: str, path: Path | None
) -> torch.nn.Module:
    """Load `state` into a skeleton, reporting missing/unexpected keys and shape mismatches clearly."""
    expected = module.state_dict()
    # diffusers sizes the audio VAE's latent statistics by base_channels; the checkpoint knows the true size.
    for key in ("latents_mean", "latents_std"):
        if key in state and key in expected and expected[key].shape != state[key].shape:
            module.register_buffer(key, torch.empty_like(state[key]), persistent=True)
            expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing weights (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected weights (e.g. {', '.join(unexpected[:3])})")
        raise CheckpointError(
            "does not match its config: "
            + "; ".join(parts)
            + ". The file may belong to another model version or be damaged.",
            path=path,
            component=name,
        )
    for key, tensor in state.items():
        if tuple(expected[key].shape) != tuple(tensor.shape):
            raise CheckpointError(
                f"weight '{key}' has shape {tuple(tensor.shape)} but the config needs "
                f"{tuple(expected[key].shape)}; the config and weights disagree",
                path=path,
                component=name,
            )
    module.load_state_dict(state, strict=True, assign=True)
    return module.eval().requires_grad_(False)


def load_official(
    path: str | Path, dtype: torch.dtype, only: tuple[str, ...] | None = None
) -> ModelComponents:
    """Load Lightricks' official single-file checkpoint (config from its metadata, never from a hub)."""
    checkpoint = SafetensorsFile.open(path)
    config = read_official_config(checkpoint)
    shapes = {key: checkpoint.shape(key) for key in checkpoint.keys()}
    try:
        configs = official_layout.component_configs(config, shapes)
    except CheckpointError as exc:  # name the file, not only the component
        raise CheckpointError(exc.detail, path=checkpoint.path, component=exc.component) from exc
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:  # e.g. text for a number
        raise CheckpointError(
            f"has an invalid value in its 'config' metadata ({exc!r})", path=checkpoint.path
        ) from exc
    claimed: set[str] = set()
    modules: dict[str, torch.nn.Module] = {}
    for spec in official_layout.COMPONENTS:
        keys = [key for key in checkpoint.keys() if spec.select(key)]
        claimed.update(keys)
        if only is not None and spec.name not in only:
            continue
        if not keys:
            raise CheckpointError(
                "has no weights for this component", path=checkpoint.path, component=spec.name
            )
        skeleton = build_skeleton(spec.name, configs[spec.name], checkpoint.path)
        if spec.name == "transformer" and fp8_weight_keys({key: checkpoint.tensors[key] for key in keys}):
            # Lightricks' *-fp8.safetensors: FP8 weights + scales read as stored (engine/fp8.py)
            modules[spec.name] = load_prequantized(checkpoint, keys, spec.rename, skeleton, dtype)
            continue
        state = spec.rename(checkpoint.load(keys, dtype=dtype))
        modules[spec.name] = assign_state(skeleton, state, spec.name, checkpoint.path)
    leftovers = sorted(set(checkpoint.keys()) - claimed)
    if leftovers:
        log.warning(
            "%s: %d weights belong to no known component (e.g. %s); ignored",
            checkpoint.path,
            len(leftovers),
            leftovers[:3],
        )
    return _assemble(modules, file_identity([checkpoint]), str(checkpoint.path), configs)


def _component_files(folder: Path, name: str) -> list[Path]:
    sub = folder / name
    if not sub.is_dir():
        raise CheckpointError("is missing from the diffusers folder", path=sub, component=name)
    pickles = [p for p in sub.iterdir() if p.suffix in (".bin", ".pt", ".pth", ".ckpt")]
    files = sorted(sub.glob("*.safetensors"))
    if not files:
        if pickles:
            raise CheckpointError(
                f"holds only pickle weights ({pickles[0].name}); AIPROD Studio only reads .safetensors. "
                "Re-save the folder with `save_pretrained(..., safe_serialization=True)`.",
                path=sub,
                component=name,
            )
        raise CheckpointError("has no .safetensors weights", path=sub, component=name)
    return files


def load_diffusers_folder(
    folder: str | Path, dtype: torch.dtype, only: tuple[str, ...] | None = None
) -> ModelComponents:
    """Load a diffusers-format LTX-2 folder offline: configs from `config.json`, weights from safetensors."""
    folder = Path(folder)
    modules: dict[str, torch.nn.Module] = {}
    configs: dict[str, dict] = {}
    opened: list[SafetensorsFile] = []
    for name in MODEL_CLASSES:
        config_path = folder / name / "config.json"
        files = _component_files(folder, name)
        try:
            config = json.loads(config_path.read_text())
        except FileNotFoundError as exc:
            raise CheckpointError("has no config.json", path=config_path.parent, component=name) from exc
        except json.JSONDecodeError as exc:
            raise CheckpointError(f"is not valid JSON ({exc})", path=config_path, component=name) from exc
        except RecursionError as exc:
            raise CheckpointError("is JSON nested too deeply", path=config_path, component=name) from exc
        if not isinstance(config, dict):
            raise CheckpointError("is not a JSON object", path=config_path, component=name)
        config = {k: v for k, v in config.items() if not k.startswith("_")}
        configs[name] = config
        if only is not None and name not in only:
            opened.extend(SafetensorsFile.open(file, component=name) for file in files)
            continue
        state: dict[str, torch.Tensor] = {}
        for file in files:
            st = SafetensorsFile.open(file, component=name)
            opened.append(st)
            state.update(st.load(st.keys(), dtype=dtype))
        modules[name] = assign_state(build_skeleton(name, config, config_path), state, name, folder / name)
    return _assemble(modules, file_identity(opened), str(folder), configs)


def _assemble(
    modules: dict[str, torch.nn.Module], identity: str, source: str, configs: dict
) -> ModelComponents:
    return ModelComponents(
        transformer=modules.get("transformer"),
        connectors=modules.get("connectors"),
        vae=modules.get("vae"),
        audio_vae=modules.get("audio_vae"),
        vocoder=modules.get("vocoder"),
        scheduler=FlowMatchEulerDiscreteScheduler.from_config(SCHEDULER_CONFIG),
        identity=identity,
        source=source,
        configs=configs,
    )
