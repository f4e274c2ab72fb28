"""Lightricks' LTX-2.5 release folder -> diffusers components.

LTX-2.5 ships one file per component, in the folders of the Hugging Face repository a user downloads:

    diffusion_models/*transformer*          transformer + text connectors (`model.diffusion_model.*`)
    text_encoders/gemma4-*-with-proj-*      Gemma 4 + tokenizer + LTX text projection, packed in one file
    vae/ltx-2.5-video-vae-conv-*            conv video decoder + encoder (keys without the `vae.` prefix)
    vae/ltx-2.5-video-vae-*                 diffusion video decoder (`CausalDiffusionVAE`)
    vae/ltx-2.5-audio-vae-*                 audio VAE + BigVGAN vocoder with 48 kHz bandwidth extension
    latent_upscale_models/*                 x2 latent spatial upsampler
    loras/*                                 LoRAs (e.g. the distilled LoRA)
    model_patches/*duration-head*           duration head

(all `.safetensors`).

Each file carries only its own part of the model config; they are merged into the single-file shape the
LTX-2.3 mapping (`engine.ltx23_layout`) reads, so the transformer, connectors, conv VAE, audio VAE and
vocoder are mapped by exactly the code that maps a 2.3 monolith. As in ltx-pipelines'
`ModelPaths.from_split`, the connectors come from the transformer file and the text projection from the
text-encoder file; the transformer's `gemma_source_checkpoint.gemma_version` must equal the encoder's.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from engine import ltx23_layout
from engine.checkpoint import PICKLE_SUFFIXES, SafetensorsFile, file_identity, read_official_config
from engine.errors import CheckpointError

log = logging.getLogger(__name__)

TRANSFORMER_DIR = "diffusion_models"
TEXT_ENCODER_DIR = "text_encoders"
VAE_DIR = "vae"
UPSAMPLER_DIR = "latent_upscale_models"
LORA_DIR = "loras"
PATCH_DIR = "model_patches"
GEMMA_SOURCE_KEY = "gemma_source_checkpoint"


@dataclass(frozen=True)
class ReleaseFiles:
    """The files of one LTX-2.5 release folder, by role (None / empty where absent)."""

    folder: Path
    transformer: Path
    text_encoder: Path
    conv_vae: Path
    audio_vae: Path
    diffusion_vae: Path | None = None
    upsamplers: tuple[Path, ...] = ()
    loras: tuple[Path, ...] = ()
    duration_head: Path | None = None
    other_transformers: tuple[Path, ...] = ()

    def as_dict(self) -> dict:
        return {
            "transformer": self.transformer,
            "text_encoder": self.text_encoder,
            "vae": self.conv_vae,
            "audio_vae": self.audio_vae,
            "diffusion_decoder": self.diffusion_vae,
            "upsampler": self.upsamplers[0] if self.upsamplers else None,
            "loras": list(self.loras),
            "duration_head": self.duration_head,
        }


def _safetensors(folder: Path, pattern: str) -> list[Path]:
    return sorted(p for p in folder.glob(pattern) if p.is_file() and p.suffix == ".safetensors")


def _pickles(folder: Path, pattern: str) -> list[Path]:
    return sorted(p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in PICKLE_SUFFIXES)


def _required(folder: Path, sub: str, pattern: str, what: str, example: str) -> list[Path]:
    directory = folder / sub
    found = _safetensors(directory, pattern) if directory.is_dir() else []
    if found:
        return found
    pickles = _pickles(directory, pattern.replace(".safetensors", ".*")) if directory.is_dir() else []
    if pickles:
        raise CheckpointError(
            f"is a pickle file, not the {what}; AIPROD Studio only reads .safetensors (pickle files can run "
            f"code when loaded). Download the .safetensors release file ({example}).",
            path=pickles[0],
            component=what,
        )
    raise CheckpointError(
        f"has no {what}: expected {sub}/{example} (download it from the LTX-2.5 release)",
        path=folder,
        component=what,
    )


def _has_metadata(path: Path, key: str) -> bool:
    try:
        return key in SafetensorsFile.open(path).metadata
    except CheckpointError:
        return False


def find_release_files(folder: str | Path) -> ReleaseFiles:
    """Locate every component file; a missing required one is a CheckpointError naming the expected file."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError("is not a folder", path=folder)
    transformers = _required(
        folder,
        TRANSFORMER_DIR,
        "*transformer*.safetensors",
        "transformer",
        "ltx-2.5-22b-dev-transformer-bf16.safetensors",
    )
    # The dev transformer is the base the LoRAs apply to; a distilled one is used when it is the only one.
    transformers.sort(key=lambda p: ("dev" not in p.name, p.name))
    if len(transformers) > 1:
        log.info(
            "%s: using %s (also found %s)", folder, transformers[0].name, [p.name for p in transformers[1:]]
        )
    text_encoders = [
        p
        for p in _required(
            folder,
            TEXT_ENCODER_DIR,
            "*.safetensors",
            "text_encoder",
            "gemma4-12b-with-proj-ltx-2.5-bf16.safetensors",
        )
        if _has_metadata(p, "gemma_config")
    ]
    if not text_encoders:
        raise CheckpointError(
            "holds no packed Gemma text encoder (a .safetensors with 'gemma_config' metadata, e.g. "
            "gemma4-12b-with-proj-ltx-2.5-bf16.safetensors)",
            path=folder / TEXT_ENCODER_DIR,
            component="text_encoder",
        )
    text_encoders.sort(key=lambda p: ("with-proj" not in p.name, p.name))
    conv = _required(
        folder, VAE_DIR, "*video-vae-conv*.safetensors", "vae", "ltx-2.5-video-vae-conv-bf16.safetensors"
    )
    audio = _required(
        folder, VAE_DIR, "*audio-vae*.safetensors", "audio_vae", "ltx-2.5-audio-vae-bf16.safetensors"
    )
    diffusion = [p for p in _safetensors(folder / VAE_DIR, "*video-vae*.safetensors") if "conv" not in p.name]
    patches = _safetensors(folder / PATCH_DIR, "*duration-head*.safetensors")
    return ReleaseFiles(
        folder=folder,
        transformer=transformers[0],
        text_encoder=text_encoders[0],
        conv_vae=conv[0],
        audio_vae=audio[0],
        diffusion_vae=diffusion[0] if diffusion else None,
        upsamplers=tuple(_safetensors(folder / UPSAMPLER_DIR, "*.safetensors")),
        loras=tuple(_safetensors(folder / LORA_DIR, "*.safetensors")),
        duration_head=patches[0] if patches else None,
        other_transformers=tuple(transformers[1:]),
    )


def _section_of(checkpoint: SafetensorsFile, name: str, component: str) -> dict:
    config = read_official_config(checkpoint)
    section = config.get(name)
    if not isinstance(section, dict):
        raise CheckpointError(
            f"has no '{name}' section in its 'config' metadata", path=checkpoint.path, component=component
        )
    return config


def gemma_source_version(checkpoint: SafetensorsFile) -> str | None:
    """`gemma_source_checkpoint.gemma_version` of a transformer file (None when it declares none)."""
    raw = checkpoint.metadata.get(GEMMA_SOURCE_KEY)
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CheckpointError(
            f"has '{GEMMA_SOURCE_KEY}' metadata that is not valid JSON ({exc})",
            path=checkpoint.path,
            component="transformer",
        ) from exc
    if not isinstance(value, dict):
        raise CheckpointError(
            f"has '{GEMMA_SOURCE_KEY}' metadata that is not a JSON object",
            path=checkpoint.path,
            component="transformer",
        )
    version = value.get("gemma_version")
    return None if version is None else str(version)


@dataclass
class OpenedRelease:
    """The opened core files and the merged config the 2.3 mapping reads."""

    files: ReleaseFiles
    transformer: SafetensorsFile
    conv_vae: SafetensorsFile
    audio_vae: SafetensorsFile
    text_encoder: SafetensorsFile
    config: dict
    metadata: dict


def open_release(files: ReleaseFiles) -> OpenedRelease:
    """Open and validate the core files; merge their config sections (each file is named in any error)."""
    transformer = SafetensorsFile.open(files.transformer, component="transformer")
    conv = SafetensorsFile.open(files.conv_vae, component="vae")
    audio = SafetensorsFile.open(files.audio_vae, component="audio_vae")
    text = SafetensorsFile.open(files.text_encoder, component="text_encoder")
    t_config = _section_of(transformer, "transformer", "transformer")
    v_config = _section_of(conv, "vae", "vae")
    if v_config["vae"].get("_class_name", "CausalVideoAutoencoder") != "CausalVideoAutoencoder":
        raise CheckpointError(
            f"is a '{v_config['vae'].get('_class_name')}', not the conv video VAE (CausalVideoAutoencoder)",
            path=conv.path,
            component="vae",
        )
    a_config = _section_of(audio, "audio_vae", "audio_vae")
    if not isinstance(a_config.get("vocoder"), dict):
        raise CheckpointError(
            "has no 'vocoder' section in its 'config' metadata", path=audio.path, component="vocoder"
        )
    merged = {
        "transformer": t_config["transformer"],
        "vae": v_config["vae"],
        "audio_vae": a_config["audio_vae"],
        "vocoder": a_config["vocoder"],
    }
    metadata = {"model_version": transformer.metadata.get("model_version", "2.5.0")}
    if GEMMA_SOURCE_KEY in transformer.metadata:
        metadata[GEMMA_SOURCE_KEY] = transformer.metadata[GEMMA_SOURCE_KEY]
    return OpenedRelease(files, transformer, conv, audio, text, merged, metadata)


def check_gemma_version(release: OpenedRelease) -> None:
    """ltx-core refuses a transformer/encoder pair from different Gemma fine-tunes; so do we."""
    from engine.gemma4_encoder import check_gemma_version as check
    from engine.gemma4_encoder import read_gemma_config

    expected = gemma_source_version(release.transformer)
    actual = read_gemma_config(release.text_encoder).get("gemma_version")
    check(expected, actual, transformer=release.transformer.path, encoder=release.text_encoder.path)


def _file_of(component: str, release: OpenedRelease) -> Path:
    return {
        "transformer": release.transformer.path,
        "connectors": release.transformer.path,
        "vae": release.conv_vae.path,
        "audio_vae": release.audio_vae.path,
        "vocoder": release.audio_vae.path,
    }.get(component, release.files.folder)


def component_configs(release: OpenedRelease) -> dict[str, dict]:
    """diffusers configs of the five core components (LTX-2.3 mapping on the merged config)."""
    shapes = {key: release.transformer.shape(key) for key in release.transformer.keys()}
    shapes.update(
        {
            key: release.text_encoder.shape(key)
            for key in release.text_encoder.keys()
            if key.startswith(ltx23_layout.TEXT_PROJECTION_PREFIX)
        }
    )
    try:
        return ltx23_layout.component_configs(release.config, shapes)
    except CheckpointError as exc:
        raise CheckpointError(
            exc.detail, path=_file_of(exc.component or "", release), component=exc.component
        ) from exc
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
        raise CheckpointError(
            f"a 'config' metadata value has the wrong type ({exc!r})", path=release.files.folder
        ) from exc


def component_states(release: OpenedRelease, name: str, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """One core component's diffusers state dict, gathered from the file(s) that hold it."""
    if name == "transformer":
        keys = [k for k in release.transformer.keys() if ltx23_layout.is_transformer_key(k)]
        return ltx23_layout.rename_transformer(release.transformer.load(keys, dtype=dtype))
    if name == "connectors":
        keys = [
            k
            for k in release.transformer.keys()
            if k.startswith((ltx23_layout.VIDEO_CONNECTOR_PREFIX, ltx23_layout.AUDIO_CONNECTOR_PREFIX))
        ]
        state = release.transformer.load(keys, dtype=dtype)
        projection = [
            k for k in release.text_encoder.keys() if k.startswith(ltx23_layout.TEXT_PROJECTION_PREFIX)
        ]
        if not projection:
            raise CheckpointError(
                "has no text_embedding_projection.* weights (LTX-2.5 keeps the text projection in the text "
                "encoder file)",
                path=release.text_encoder.path,
                component="connectors",
            )
        state.update(release.text_encoder.load(projection, dtype=dtype))
        return ltx23_layout.rename_connectors(state)
    if name == "vae":
        v = release.config["vae"]
        blocks = (len(v.get("encoder_blocks", [])), len(v.get("decoder_blocks", [])))
        keys = [
            k
            for k in release.conv_vae.keys()
            if k.startswith(("encoder.", "decoder.", "per_channel_statistics."))
        ]
        # The 2.5 file drops the monolith's `vae.` prefix; the 2.3 rename expects it.
        state = {ltx23_layout.VAE_PREFIX + k: v for k, v in release.conv_vae.load(keys, dtype=dtype).items()}
        return ltx23_layout.rename_video_vae(state, *blocks)
    if name == "audio_vae":
        keys = [k for k in release.audio_vae.keys() if k.startswith("audio_vae.")]
        return ltx23_layout.rename_audio_vae(release.audio_vae.load(keys, dtype=dtype))
    if name == "vocoder":
        keys = [k for k in release.audio_vae.keys() if k.startswith("vocoder.")]
        return ltx23_layout.rename_vocoder(release.audio_vae.load(keys, dtype=dtype))
    raise KeyError(name)


def load_ltx25(
    folder: str | Path,
    dtype: torch.dtype,
    only: tuple[str, ...] | None = None,
    *,
    load_text_encoder: bool = True,
    load_diffusion_decoder: bool = True,
    lora_strengths: dict[str | Path, float] | None = None,
):
    """Load an LTX-2.5 release folder into `engine.components.ModelComponents`.

    The five core modules fill the usual fields (`vae` is the conv decoder, the default); the packed Gemma 4
    encoder, the diffusion decoder (quality option), the duration head and the spatial upsampler fill the
    optional ones when their files are present; `companions` names every file used or found. LoRAs named in
    `lora_strengths` (paths, e.g. from `companions["loras"]`) are fused into the transformer as ltx-core does.
    """
    from diffusers import FlowMatchEulerDiscreteScheduler

    from engine.components import SCHEDULER_CONFIG, ModelComponents, assign_state
    from engine.ltx23_loader import build_ltx23_skeleton

    files = find_release_files(folder)
    release = open_release(files)
    check_gemma_version(release)
    configs = component_configs(release)
    modules: dict[str, torch.nn.Module] = {}
    for name in ("transformer", "connectors", "vae", "audio_vae", "vocoder"):
        if only is not None and name not in only:
            continue
        path = _file_of(name, release)
        skeleton = build_ltx23_skeleton(name, configs[name], path)
        if name == "transformer":
            from engine.fp8 import fp8_weight_keys, load_prequantized

            keys = [k for k in release.transformer.keys() if ltx23_layout.is_transformer_key(k)]
            if fp8_weight_keys({k: release.transformer.tensors[k] for k in keys}):
                # an FP8 transformer file: FP8 weights + scales read as stored (engine/fp8.py)
                modules[name] = load_prequantized(
                    release.transformer, keys, ltx23_layout.rename_transformer, skeleton, dtype
                )
                continue
        modules[name] = assign_state(skeleton, component_states(release, name, dtype), name, path)

    fused = []
    if lora_strengths and "transformer" in modules:
        from engine.lora import fuse_lora, load_lora

        for lora_path, strength in lora_strengths.items():
            fuse_lora(modules["transformer"], load_lora(lora_path), strength)
            fused.append(Path(lora_path))

    opened = [release.transformer, release.conv_vae, release.audio_vae, release.text_encoder]
    components = ModelComponents(
        transformer=modules.get("transformer"),
        connectors=modules.get("connectors"),
        vae=modules.get("vae"),
        audio_vae=modules.get("audio_vae"),
        vocoder=modules.get("vocoder"),
        scheduler=FlowMatchEulerDiscreteScheduler.from_config(SCHEDULER_CONFIG),
        identity=file_identity(opened),
        source=str(files.folder),
        configs=configs,
        companions={**files.as_dict(), "fused_loras": fused},
    )
    wanted = {"text_encoder", "diffusion_decoder", "duration_head", "upsampler"}
    if only is not None:
        wanted &= set(only)
    if not load_text_encoder:
        wanted.discard("text_encoder")
    if not load_diffusion_decoder:
        wanted.discard("diffusion_decoder")
    return load_extras(components, dtype, wanted)


EXTRAS = ("text_encoder", "diffusion_decoder", "duration_head", "upsampler")


def load_extras(components, dtype: torch.dtype, wanted=EXTRAS):
    """Fill the optional fields of release-folder components (those in `wanted` that are still None) from the
    files in `components.companions`: packed Gemma 4 encoder, diffusion decoder, duration head, upsampler."""
    paths = components.companions
    if "text_encoder" in wanted and components.text_encoder is None and paths.get("text_encoder"):
        from engine.gemma4_encoder import load_packed_gemma4

        components.text_encoder = load_packed_gemma4(paths["text_encoder"], dtype).encoder
    if (
        "diffusion_decoder" in wanted
        and components.diffusion_decoder is None
        and paths.get("diffusion_decoder")
    ):
        from engine.diffusion_decoder import load_diffusion_decoder

        components.diffusion_decoder = load_diffusion_decoder(paths["diffusion_decoder"], dtype)
    if "duration_head" in wanted and components.duration_head is None and paths.get("duration_head"):
        from engine.duration_head import load_duration_head

        components.duration_head = load_duration_head(paths["duration_head"], dtype)
    if "upsampler" in wanted and components.upsampler is None and paths.get("upsampler"):
        from engine.upsampler import load_upsampler

        components.upsampler = load_upsampler(paths["upsampler"], dtype)
    return components
