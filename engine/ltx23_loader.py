"""Loading an LTX-2.3 release file (and its companions) into diffusers components.

`load_ltx23(path, dtype)` reads the monolith: config from its metadata, every tensor assigned to exactly one
component, no missing or unexpected weights. The companions a 2.3 user also downloads - the Gemma-3 root, the
x2 spatial upsampler and the distilled LoRA - load through `engine.text_encoder`, `engine.upsampler` and
`engine.lora`; `engine.checkpoint_report.describe_checkpoint` locates them beside the monolith, and
`load_ltx23_release` loads the monolith with them. Fuse LoRAs before any quantization: `fuse_lora` needs
plain float weights.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from accelerate import init_empty_weights
from diffusers import FlowMatchEulerDiscreteScheduler
from diffusers.pipelines.ltx2 import LTX2VocoderWithBWE

from engine import ltx23_layout
from engine.checkpoint import SafetensorsFile, file_identity, read_official_config
from engine.components import MODEL_CLASSES, SCHEDULER_CONFIG, ModelComponents, assign_state
from engine.errors import CheckpointError
from engine.fp8 import fp8_weight_keys, load_prequantized

log = logging.getLogger(__name__)

# As LTX-2.0, but the vocoder carries the 48 kHz bandwidth extension.
LTX23_MODEL_CLASSES = {**MODEL_CLASSES, "vocoder": LTX2VocoderWithBWE}


def build_ltx23_skeleton(name: str, config: dict, path: Path | None = None) -> torch.nn.Module:
    """A 2.3 component with parameters on the meta device, buffers real."""
    cls = LTX23_MODEL_CLASSES[name]
    try:
        with init_empty_weights():
            module = cls.from_config(config)
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
    if name == "vocoder":
        # diffusers 0.42.1 pads the 16 kHz stage with `self.hop_length`, an attribute it never sets; the
        # reference pads to a multiple of the hop whenever the stage's length is not one already.
        module.hop_length = config["hop_length"]
        _computes_in_weight_dtype(module)
    return module


def _computes_in_weight_dtype(vocoder: torch.nn.Module) -> None:
    """Feed the vocoder its weights' dtype and hand back the caller's, as ltx-core's VocoderWithBWE does.

    The reference runs the whole vocoder + BWE in float32 whatever the model dtype (bfloat16 accumulation
    through ~100 convolutions degrades the sound), so `load_ltx23` keeps its weights in float32 and a bfloat16
    mel from the audio decoder is upcast here, the waveform cast back.
    """
    inner = vocoder.forward

    def forward(mel_spec: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        weight_dtype = next(vocoder.parameters()).dtype
        return inner(mel_spec.to(weight_dtype), *args, **kwargs).to(mel_spec.dtype)

    vocoder.forward = forward


def ltx23_configs(checkpoint: SafetensorsFile) -> tuple[dict, dict[str, dict]]:
    """The file's official config and the diffusers configs derived from it, errors naming the file."""
    config = read_official_config(checkpoint)
    shapes = {key: checkpoint.shape(key) for key in checkpoint.keys()}
    try:
        return config, ltx23_layout.component_configs(config, shapes)
    except CheckpointError as exc:
        raise CheckpointError(exc.detail, path=checkpoint.path, component=exc.component) from exc
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
        raise CheckpointError(
            f"has an invalid value in its 'config' metadata ({exc!r})", path=checkpoint.path
        ) from exc


def load_ltx23(path: str | Path, dtype: torch.dtype, only: tuple[str, ...] | None = None) -> ModelComponents:
    """Load an LTX-2.3 release monolith (`ltx-2.3-*.safetensors`); `only` limits the components built."""
    checkpoint = SafetensorsFile.open(path)
    config, configs = ltx23_configs(checkpoint)
    if not ltx23_layout.is_ltx23_config(config, checkpoint.metadata):
        raise CheckpointError(
            "is not an LTX-2.3 file (no model_version >= 2.3 and no 2.3 switches in its config)",
            path=checkpoint.path,
        )
    claimed: set[str] = set()
    modules: dict[str, torch.nn.Module] = {}
    for spec in ltx23_layout.components(config):
        keys = [key for key in checkpoint.keys() if spec.select(key) and key not in claimed]
        claimed.update(keys)
        if only is not None and spec.name not in only:
            continue
        if not keys:
            raise CheckpointError(
                "has no weights for this component", path=checkpoint.path, component=spec.name
            )
        skeleton = build_ltx23_skeleton(spec.name, configs[spec.name], checkpoint.path)
        if spec.name == "transformer" and fp8_weight_keys({key: checkpoint.tensors[key] for key in keys}):
            # Lightricks' *-fp8.safetensors: FP8 weights + scales read as stored (engine/fp8.py)
            modules[spec.name] = load_prequantized(checkpoint, keys, spec.rename, skeleton, dtype)
            continue
        # The vocoder stays float32 (see _computes_in_weight_dtype); it is small.
        load_dtype = torch.float32 if spec.name == "vocoder" else dtype
        state = spec.rename(checkpoint.load(keys, dtype=load_dtype))
        modules[spec.name] = assign_state(skeleton, state, spec.name, checkpoint.path)
    leftovers = sorted(set(checkpoint.keys()) - claimed)
    if leftovers:
        log.warning(
            "%s: %d weights belong to no known component (e.g. %s); ignored",
            checkpoint.path,
            len(leftovers),
            leftovers[:3],
        )
    return ModelComponents(
        transformer=modules.get("transformer"),
        connectors=modules.get("connectors"),
        vae=modules.get("vae"),
        audio_vae=modules.get("audio_vae"),
        vocoder=modules.get("vocoder"),
        scheduler=FlowMatchEulerDiscreteScheduler.from_config(SCHEDULER_CONFIG),
        identity=file_identity([checkpoint]),
        source=str(checkpoint.path),
        configs=configs,
    )


def load_ltx23_release(
    path: str | Path,
    dtype: torch.dtype,
    text_encoder: str | Path | None = None,
    lora_strengths: dict[str | Path, float] | None = None,
) -> ModelComponents:
    """The monolith with its companions: the Gemma 3 root (beside it unless given), the spatial upscaler when
    present, and any LoRAs named in `lora_strengths` fused into the transformer.

    A missing or unusable Gemma root is a `CheckpointError` naming the monolith and what to get, raised before
    any weights are read.
    """
    from engine.checkpoint_report import describe_checkpoint
    from engine.lora import fuse_lora, load_lora
    from engine.text_encoder import load_text_encoder
    from engine.upsampler import load_upsampler

    report = describe_checkpoint(path, text_encoder=text_encoder)
    if report.version != "2.3":
        raise CheckpointError(f"is an LTX-{report.version} checkpoint, not LTX-2.3", path=report.path)
    if not report.text_encoder_ok:
        reason = report.text_encoder_problem or "; ".join(
            str(item) for item in report.missing if item.role == "text encoder"
        )
        raise CheckpointError(
            f"cannot be used without its Gemma 3 text encoder: {reason}",
            path=report.path,
            component="text_encoder",
        )
    components = load_ltx23(report.path, dtype)
    components.text_encoder = load_text_encoder(report.text_encoder, dtype)
    if report.upscalers:
        components.upsampler = load_upsampler(report.upscalers[0], dtype)
    fused = []
    for lora_path, strength in (lora_strengths or {}).items():
        fuse_lora(components.transformer, load_lora(lora_path), strength)
        fused.append(Path(lora_path))
    components.companions = {
        "text_encoder": report.text_encoder,
        "upsampler": report.upscalers[0] if report.upscalers else None,
        "loras": list(report.loras),
        "fused_loras": fused,
    }
    return components
