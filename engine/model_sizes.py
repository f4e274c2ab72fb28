"""How big each part of an LTX-2 model is, without loading a weight.

`weights_of(source)` takes a checkpoint path (any layout the engine loads) or a version name ("ltx-2.0",
"ltx-2.3", "ltx-2.5") and returns `ModelWeights`: parameter counts and stored bytes per component, and the
transformer's linear layers (the ones quantization shrinks) with their shapes. Everything is built on the meta
device (accelerate's `init_empty_weights`) from configs: for a path the configs the engine's own loaders
derive from the file's metadata, for a version name the released full-size configurations below.

The full-size transformer and connector configurations are the diffusers constructor arguments of Lightricks'
public releases, as diffusers' `scripts/convert_ltx2_to_diffusers.py` (`get_ltx2_transformer_config`,
`get_ltx2_connectors_config`) and ltx-core's `LTXModelConfigurator` defaults describe them: every version is
48 blocks of 32 heads x 128 (video) and 32 x 64 (audio); 2.3 adds gated attention and the prompt AdaLN and
moves the text projection in front of 8-layer connectors; 2.5 drops the video feed-forward bias and adds the
keyframe position embedding. The text encoder is Gemma 3 12B (`gemma-3-12b-it`, text + SigLIP vision tower,
as `Gemma3ForConditionalGeneration` loads it). For 2.5 (Gemma 4 12B, whose configuration is not public in a
form we can read here) the Gemma 3 12B size stands in, and the plan says so. LTX-2.0's VAEs and vocoder are
diffusers' defaults; 2.3's are the release's config sections (`RELEASED_23_COMPONENTS`) built by the engine's
2.3 layout code, and 2.5 reuses them (same structure; its own widths are not known here). The 2.3/2.5 x2
upsampler is built from its release config. Each stand-in is a note in the plan.
"""

from __future__ import annotations

import fnmatch
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from engine.errors import CheckpointError, RequestError

GiB = 1024**3

_BASE_TRANSFORMER = {
    "in_channels": 128,
    "out_channels": 128,
    "patch_size": 1,
    "patch_size_t": 1,
    "num_attention_heads": 32,
    "attention_head_dim": 128,
    "cross_attention_dim": 4096,
    "vae_scale_factors": (8, 32, 32),
    "pos_embed_max_pos": 20,
    "base_height": 2048,
    "base_width": 2048,
    "gated_attn": False,
    "cross_attn_mod": False,
    "audio_in_channels": 128,
    "audio_out_channels": 128,
    "audio_patch_size": 1,
    "audio_patch_size_t": 1,
    "audio_num_attention_heads": 32,
    "audio_attention_head_dim": 64,
    "audio_cross_attention_dim": 2048,
    "audio_scale_factor": 4,
    "audio_pos_embed_max_pos": 20,
    "audio_sampling_rate": 16000,
    "audio_hop_length": 160,
    "audio_gated_attn": False,
    "audio_cross_attn_mod": False,
    "num_layers": 48,
    "activation_fn": "gelu-approximate",
    "qk_norm": "rms_norm_across_heads",
    "norm_elementwise_affine": False,
    "norm_eps": 1e-6,
    "caption_channels": 3840,
    "attention_bias": True,
    "attention_out_bias": True,
    "rope_theta": 10000.0,
    "rope_double_precision": True,
    "causal_offset": 1,
    "timestep_scale_multiplier": 1000,
    "cross_attn_timestep_scale_multiplier": 1000,
    "rope_type": "split",
    "use_prompt_embeddings": True,
    "perturbed_attn": True,
}
_GATED = {"gated_attn": True, "cross_attn_mod": True, "audio_gated_attn": True, "audio_cross_attn_mod": True}
_BASE_CONNECTORS = {
    "caption_channels": 3840,
    "text_proj_in_factor": 49,
    "video_connector_num_attention_heads": 30,
    "video_connector_attention_head_dim": 128,
    "video_connector_num_layers": 2,
    "video_connector_num_learnable_registers": 128,
    "video_gated_attn": False,
    "audio_connector_num_attention_heads": 30,
    "audio_connector_attention_head_dim": 128,
    "audio_connector_num_layers": 2,
    "audio_connector_num_learnable_registers": 128,
    "audio_gated_attn": False,
    "connector_rope_base_seq_len": 4096,
    "rope_theta": 10000.0,
    "rope_double_precision": True,
    "causal_temporal_positioning": False,
    "rope_type": "split",
    "per_modality_projections": False,
    "proj_bias": False,
}
_CONNECTORS_23 = {
    **_BASE_CONNECTORS,
    "video_connector_num_attention_heads": 32,
    "video_connector_num_layers": 8,
    "video_gated_attn": True,
    "audio_connector_num_attention_heads": 32,
    "audio_connector_attention_head_dim": 64,
    "audio_connector_num_layers": 8,
    "audio_gated_attn": True,
    "per_modality_projections": True,
    "video_hidden_dim": 4096,
    "audio_hidden_dim": 2048,
    "proj_bias": True,
}
# google/gemma-3-12b-it's config.json: the text model and its SigLIP-so400m vision tower.
GEMMA3_12B_VISION = {
    "hidden_size": 1152,
    "intermediate_size": 4304,
    "num_hidden_layers": 27,
    "num_attention_heads": 16,
    "image_size": 896,
    "patch_size": 14,
}
GEMMA3_12B_TEXT = {
    "hidden_size": 3840,
    "intermediate_size": 15360,
    "num_hidden_layers": 48,
    "num_attention_heads": 16,
    "num_key_value_heads": 8,
    "head_dim": 256,
    "vocab_size": 262208,
}

FULL_SIZE: dict[str, dict[str, dict]] = {
    "2.0": {
        "transformer": {**_BASE_TRANSFORMER, "perturbed_attn": False},
        "connectors": _BASE_CONNECTORS,
        "text_encoder": GEMMA3_12B_TEXT,
    },
    "2.3": {
        "transformer": {**_BASE_TRANSFORMER, **_GATED, "use_prompt_embeddings": False},
        "connectors": _CONNECTORS_23,
        "text_encoder": GEMMA3_12B_TEXT,
    },
    "2.5": {
        "transformer": {
            **_BASE_TRANSFORMER,
            **_GATED,
            "use_prompt_embeddings": False,
            "ff_bias": False,
            "use_keyframes_abs_pos_embedding": True,
        },
        "connectors": _CONNECTORS_23,
        "text_encoder": GEMMA3_12B_TEXT,  # stand-in for Gemma 4 12B (see the module docstring)
    },
}
# The video VAE, audio VAE and vocoder sections of the LTX-2.3 release's `config` metadata
# (`ltx-2.3-22b-dev.safetensors`), as a public model-loader harness embeds them and loads the real weights
# into them (tenstorrent tt-forge-models, `ltx2_3` loader; it reports encoder 318.9M / decoder 407.2M, audio
# VAE 21.3M + 31.9M and vocoder 128.5M parameters, which the meta-device counts here reproduce). The structure
# matches the shared 2.3 fixture's (9 decoder up_blocks, BigVGAN-v2 AMP1 + bandwidth extension); the engine's
# own 2.3 layout code turns them into diffusers configs. LTX-2.5's conv VAE, audio VAE and vocoder have the
# 2.3 structure (the 2.5 fixture); their full-size widths are not published in a form we can read here, so
# the 2.3 values stand in (the plan says so).
_RES = "res_x"
RELEASED_23_COMPONENTS: dict = {
    "vae": {
        "_class_name": "CausalVideoAutoencoder",
        "dims": 3,
        "in_channels": 3,
        "out_channels": 3,
        "latent_channels": 128,
        "encoder_blocks": [
            [_RES, {"num_layers": 4}], ["compress_space_res", {"multiplier": 2}],
            [_RES, {"num_layers": 6}], ["compress_time_res", {"multiplier": 2}],
            [_RES, {"num_layers": 4}], ["compress_all_res", {"multiplier": 2}],
            [_RES, {"num_layers": 2}], ["compress_all_res", {"multiplier": 1}],
            [_RES, {"num_layers": 2}],
        ],
        "decoder_blocks": [
            [_RES, {"num_layers": 4}], ["compress_space", {"multiplier": 2}],
            [_RES, {"num_layers": 6}], ["compress_time", {"multiplier": 2}],
            [_RES, {"num_layers": 4}], ["compress_all", {"multiplier": 1}],
            [_RES, {"num_layers": 2}], ["compress_all", {"multiplier": 2}],
            [_RES, {"num_layers": 2}],
        ],
        "scaling_factor": 1.0,
        "norm_layer": "pixel_norm",
        "patch_size": 4,
        "latent_log_var": "uniform",
        "use_quant_conv": False,
        "causal_decoder": False,
        "timestep_conditioning": False,
        "normalize_latent_channels": False,
        "encoder_base_channels": 128,
        "decoder_base_channels": 128,
        "spatial_padding_mode": "zeros",
    },
    # `ltx-2.3-spatial-upscaler-x2-1.1.safetensors` and 2.5's x2 spatial upscaler (their `config` metadata as
    # diffusers' conversion script and public loaders that check it write it): the 2.0 widths, no rational
    # resampler, so the same parameter count as 2.0's.
    "upsampler": {
        "_class_name": "LatentUpsampler", "in_channels": 128, "mid_channels": 1024, "num_blocks_per_stage": 4,
        "dims": 3, "spatial_upsample": True, "temporal_upsample": False, "spatial_scale": 2.0,
        "rational_resampler": False,
    },
    "audio_vae": {
        "model": {
            "params": {
                "ddconfig": {
                    "double_z": True, "mel_bins": 64, "z_channels": 8, "resolution": 256,
                    "downsample_time": False, "in_channels": 2, "out_ch": 2, "ch": 128, "ch_mult": [1, 2, 4],
                    "num_res_blocks": 2, "attn_resolutions": [], "dropout": 0.0,
                    "mid_block_add_attention": False, "norm_type": "pixel", "causality_axis": "height",
                },
                "sampling_rate": 16000,
            }
        },
        "preprocessing": {
            "stft": {"filter_length": 1024, "hop_length": 160, "win_length": 1024, "causal": True},
            "mel": {"n_mel_channels": 64, "mel_fmin": 0, "mel_fmax": 8000},
        },
    },
    "vocoder": {
        "vocoder": {
            "upsample_initial_channel": 1536, "resblock": "AMP1", "upsample_rates": [5, 2, 2, 2, 2, 2],
            "resblock_kernel_sizes": [3, 7, 11], "upsample_kernel_sizes": [11, 4, 4, 4, 4, 4],
            "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]], "stereo": True,
            "use_tanh_at_final": False, "activation": "snakebeta", "use_bias_at_final": False,
        },
        "bwe": {
            "upsample_initial_channel": 512, "resblock": "AMP1", "upsample_rates": [6, 5, 2, 2, 2],
            "resblock_kernel_sizes": [3, 7, 11], "upsample_kernel_sizes": [12, 11, 4, 4, 4],
            "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]], "stereo": True,
            "use_tanh_at_final": False, "activation": "snakebeta", "use_bias_at_final": False,
            "apply_final_activation": False, "input_sampling_rate": 16000, "output_sampling_rate": 48000,
            "hop_length": 80, "n_fft": 512, "win_size": 512, "num_mels": 64,
        },
    },
}
VERSION_NAMES = {"ltx-2.0": "2.0", "ltx-2": "2.0", "ltx-2.3": "2.3", "ltx-2.5": "2.5"}
# diffusers' defaults are the LTX-2 video VAE except the compression ratios, set as the engine sets them.
_VAE_DEFAULTS = {"spatial_compression_ratio": 32, "temporal_compression_ratio": 8}
_NON_TRANSFORMER = ("connectors", "vae", "audio_vae", "vocoder")


@dataclass(frozen=True)
class ComponentWeights:
    name: str
    params: int
    stored_bytes: int  # in the checkpoint (or bf16 for a version name)


@dataclass(frozen=True)
class ModelWeights:
    """Sizes of one model, from headers and meta-device modules only."""

    version: str  # "2.0", "2.3", "2.5"
    source: str  # the path, or "released LTX-2.3 configuration"
    transformer_config: dict
    vae_config: dict
    components: dict[str, ComponentWeights]
    # the transformer's nn.Linear layers: (qualified name, out_features, in_features, has_bias)
    linears: tuple[tuple[str, int, int, bool], ...] = field(repr=False)
    block_params: tuple[int, ...] = field(repr=False)  # parameters of each transformer block
    prequantized_fp8: bool = False  # a Lightricks *-fp8.safetensors transformer
    notes: tuple[str, ...] = ()
    text_hidden_size: int = 3840  # width of the text encoder's hidden states (Gemma 12B: 3840)

    @property
    def transformer_params(self) -> int:
        return self.components["transformer"].params

    def params(self, name: str) -> int:
        item = self.components.get(name)
        return item.params if item else 0


def resolve_version(name: str) -> str | None:
    """'ltx-2.3' / 'LTX-2.3' / '2.3' -> '2.3'; None when `name` is not a version name."""
    text = str(name).strip().lower()
    if text in VERSION_NAMES:
        return VERSION_NAMES[text]
    return text if text in FULL_SIZE else None


def _meta(build):
    from accelerate import init_empty_weights

    with init_empty_weights():
        return build()


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _linears(transformer: torch.nn.Module) -> tuple[tuple[str, int, int, bool], ...]:
    return tuple(
        (name, m.out_features, m.in_features, m.bias is not None)
        for name, m in transformer.named_modules()
        if isinstance(m, torch.nn.Linear)
    )


def _transformer_summary(transformer: torch.nn.Module):
    blocks = tuple(_count(block) for block in transformer.transformer_blocks)
    return _count(transformer), _linears(transformer), blocks


@functools.lru_cache(maxsize=8)
def full_size_weights(version: str) -> ModelWeights:
    """The released full-size configuration of `version` ("2.0", "2.3", "2.5"), counted on the meta device."""
    from diffusers import AutoencoderKLLTX2Audio, AutoencoderKLLTX2Video, LTX2VideoTransformer3DModel
    from diffusers.pipelines.ltx2.connectors import LTX2TextConnectors
    from diffusers.pipelines.ltx2.latent_upsampler import LTX2LatentUpsamplerModel
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder

    configs = FULL_SIZE[version]
    transformer = _meta(lambda: LTX2VideoTransformer3DModel(**configs["transformer"]))
    total, linears, blocks = _transformer_summary(transformer)
    notes = []
    from engine.upsampler import upsampler_config

    upsampler_args = {} if version == "2.0" else upsampler_config(RELEASED_23_COMPONENTS["upsampler"])
    if version == "2.0":
        vae = _meta(lambda: AutoencoderKLLTX2Video(**_VAE_DEFAULTS))
        audio_vae, vocoder = _meta(AutoencoderKLLTX2Audio), _meta(LTX2Vocoder)
    else:
        vae, audio_vae, vocoder = released_23_components()
    if version == "2.5":
        notes.append(
            "VAE, audio VAE and vocoder sized with LTX-2.3's released widths (same structure; 2.5's own"
            " not known here)"
        )
        notes.append(
            "text encoder sized as Gemma 3 12B (stand-in for Gemma 4 12B, whose config is not known here)"
        )
    sizes = {
        "transformer": total,
        "connectors": _count(_meta(lambda: LTX2TextConnectors(**configs["connectors"]))),
        "vae": _count(vae),
        "audio_vae": _count(audio_vae),
        "vocoder": _count(vocoder),
        "upsampler": _count(_meta(lambda: LTX2LatentUpsamplerModel(**upsampler_args))),
        "text_encoder": gemma3_params(configs["text_encoder"]),
    }
    return ModelWeights(
        version=version,
        source=f"released LTX-{version} configuration",
        transformer_config=dict(configs["transformer"]),
        vae_config=dict(vae.config),
        components={k: ComponentWeights(k, v, 2 * v) for k, v in sizes.items()},
        linears=linears,
        block_params=blocks,
        notes=tuple(notes),
        text_hidden_size=int(configs["text_encoder"]["hidden_size"]),
    )


def released_23_components() -> tuple[torch.nn.Module, torch.nn.Module, torch.nn.Module]:
    """(video VAE, audio VAE, vocoder with BWE) of the LTX-2.3 release, parameters on the meta device, built
    from `RELEASED_23_COMPONENTS` by the engine's 2.3 layout code (as a 2.3 checkpoint's would be)."""
    from engine import ltx23_layout
    from engine.ltx23_loader import build_ltx23_skeleton

    config = RELEASED_23_COMPONENTS
    return (
        build_ltx23_skeleton("vae", ltx23_layout.video_vae_config(config)),
        build_ltx23_skeleton("audio_vae", ltx23_layout.audio_vae_config(config)),
        build_ltx23_skeleton("vocoder", ltx23_layout.vocoder_config(config)),
    )


@functools.lru_cache(maxsize=4)
def _gemma3_params_cached(text_items: tuple) -> int:
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration

    config = Gemma3Config(text_config=dict(text_items), vision_config=dict(GEMMA3_12B_VISION))
    model = _meta(lambda: Gemma3ForConditionalGeneration(config))
    total = _count(model)
    if (
        model.lm_head.weight is not model.get_input_embeddings().weight
    ):  # tied on load, not on the meta device
        total -= model.lm_head.weight.numel()
    return total


def gemma3_params(text_config: dict) -> int:
    """Parameters of a Gemma 3 model with this text config and the default SigLIP vision tower."""
    return _gemma3_params_cached(tuple(sorted(text_config.items())))


# --- checkpoints --------------------------------------------------------------------------------------------


def _safetensors_bytes(paths, select=None) -> tuple[int, int, dict[str, int]]:
    """(parameters, bytes, dtype -> parameters) from safetensors headers (of the keys `select` accepts)."""
    from engine.checkpoint import SafetensorsFile

    params = stored = 0
    dtypes: dict[str, int] = {}
    for path in paths:
        st = SafetensorsFile.open(path)
        for key, info in st.tensors.items():
            if select is not None and not select(key):
                continue
            n = 1
            for dim in info["shape"]:
                n *= dim
            params += n
            stored += info["data_offsets"][1] - info["data_offsets"][0]
            dtypes[info["dtype"]] = dtypes.get(info["dtype"], 0) + n
    return params, stored, dtypes


def _configs_for(path: Path, layout) -> tuple[dict[str, dict], object]:
    """(diffusers configs of the five core components, skeleton builder), as the loaders make them."""
    from engine.checkpoint import CheckpointLayout, SafetensorsFile, read_official_config
    from engine.components import build_skeleton

    if layout is CheckpointLayout.OFFICIAL_SINGLE_FILE:
        from engine import official_layout

        checkpoint = SafetensorsFile.open(path)
        shapes = {key: checkpoint.shape(key) for key in checkpoint.keys()}
        try:
            return official_layout.component_configs(read_official_config(checkpoint), shapes), build_skeleton
        except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
            raise CheckpointError(
                f"has an invalid value in its 'config' metadata ({exc!r})", path=path
            ) from exc
    if layout is CheckpointLayout.LTX23_SINGLE_FILE:
        from engine.ltx23_loader import build_ltx23_skeleton, ltx23_configs

        return ltx23_configs(SafetensorsFile.open(path))[1], build_ltx23_skeleton
    if layout is CheckpointLayout.RELEASE_FOLDER:
        from engine.ltx23_loader import build_ltx23_skeleton
        from engine.ltx25_layout import component_configs, find_release_files, open_release

        return component_configs(open_release(find_release_files(path))), build_ltx23_skeleton
    configs = {}
    for name in ("transformer", *_NON_TRANSFORMER):
        config_path = path / name / "config.json"
        try:
            config = json.loads(config_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"could not be read ({exc})", path=config_path, component=name) from exc
        configs[name] = {k: v for k, v in config.items() if not k.startswith("_")}
    return configs, build_skeleton


def _transformer_files(path: Path, layout) -> list[Path]:
    from engine.checkpoint import CheckpointLayout

    if layout is CheckpointLayout.RELEASE_FOLDER:
        from engine.ltx25_layout import find_release_files

        return [find_release_files(path).transformer]
    if layout is CheckpointLayout.DIFFUSERS_FOLDER:
        return sorted((path / "transformer").glob("*.safetensors"))
    return [path]


def _transformer_key_selector(layout):
    """Which keys of the transformer file(s) are the transformer's own (not connectors, VAEs, vocoder)."""
    from engine.checkpoint import CheckpointLayout
    from engine.official_layout import CONNECTOR_PREFIXES, TRANSFORMER_PREFIX

    if layout is CheckpointLayout.DIFFUSERS_FOLDER:
        return None
    return lambda key: key.startswith(TRANSFORMER_PREFIX) and not key.startswith(CONNECTOR_PREFIXES)


def _text_encoder_files(path: Path, layout, report) -> list[Path]:
    from engine.checkpoint import CheckpointLayout

    if layout is CheckpointLayout.RELEASE_FOLDER:
        from engine.ltx25_layout import find_release_files

        return [find_release_files(path).text_encoder]
    if report.text_encoder is not None and report.text_encoder_ok:
        return sorted(Path(report.text_encoder).glob("*.safetensors"))
    return []


def _is_prequantized_fp8(files: list[Path]) -> bool:
    """A transformer stored as Lightricks' FP8 release: F8_E4M3 weights with `*.weight_scale` siblings."""
    from engine.checkpoint import SafetensorsFile

    for file in files:
        tensors = SafetensorsFile.open(file).tensors
        for key in tensors:
            if (
                key.endswith(".weight_scale")
                and tensors.get(key[: -len("_scale")], {}).get("dtype") == "F8_E4M3"
            ):
                return True
    return False


def checkpoint_weights(path: str | Path, text_encoder: str | Path | None = None) -> ModelWeights:
    """Sizes of a checkpoint on disk (any layout the engine loads); reads headers and configs only."""
    from engine.checkpoint_report import describe_checkpoint

    path = Path(path).expanduser()
    report = describe_checkpoint(path, text_encoder)
    layout = report.layout
    configs, build = _configs_for(path, layout)
    modules = {name: build(name, configs[name], path) for name in ("transformer", *_NON_TRANSFORMER)}
    total, linears, blocks = _transformer_summary(modules["transformer"])
    t_files = _transformer_files(path, layout)
    _, t_stored, t_dtypes = _safetensors_bytes(t_files, _transformer_key_selector(layout))
    prequantized = _is_prequantized_fp8(t_files)
    components: dict[str, ComponentWeights] = {}
    for name, module in modules.items():
        params = _count(module)
        components[name] = ComponentWeights(name, params, 2 * params)
    notes: list[str] = []
    te_files = _text_encoder_files(path, layout, report)
    version = report.version or "2.0"
    if te_files:
        te_params, te_stored, _ = _safetensors_bytes(te_files)
        if layout.value == "release-folder":
            # the 2.5 text encoder file also carries the text projection (counted with the connectors)
            te_params -= components["connectors"].params // 2
        components["text_encoder"] = ComponentWeights("text_encoder", te_params, te_stored)
    else:
        te_params = gemma3_params(GEMMA3_12B_TEXT)
        components["text_encoder"] = ComponentWeights("text_encoder", te_params, 2 * te_params)
        notes.append("text encoder not found: sized as Gemma 3 12B")
    if report.upscalers:
        up_params, up_stored, _ = _safetensors_bytes(report.upscalers[:1])
        components["upsampler"] = ComponentWeights("upsampler", up_params, up_stored)
    if "F8_E4M3" in t_dtypes:
        notes.append("transformer stored in FP8")
    components["transformer"] = ComponentWeights("transformer", total, t_stored)
    return ModelWeights(
        version=version,
        source=str(path),
        transformer_config=configs["transformer"],
        vae_config=configs["vae"],
        components=components,
        linears=linears,
        block_params=blocks,
        prequantized_fp8=prequantized,
        notes=tuple(notes),
        text_hidden_size=int(configs["connectors"].get("caption_channels", 3840)),
    )


def weights_of(model: str | Path, text_encoder: str | Path | None = None) -> ModelWeights:
    """A version name ("ltx-2.0", "ltx-2.3", "ltx-2.5") or a checkpoint path -> its `ModelWeights`."""
    version = resolve_version(str(model))
    if version is not None and not Path(str(model)).exists():
        return full_size_weights(version)
    if not Path(model).expanduser().exists():
        raise RequestError(
            f"{model}: no such checkpoint; give a path or one of {', '.join(sorted(VERSION_NAMES))}"
        )
    return checkpoint_weights(model, text_encoder)


# --- quantized sizes ----------------------------------------------------------------------------------------


def _kept_precise(name: str, patterns) -> bool:
    """As `quantize_module`'s exclusions: a pattern matching the layer or an ancestor keeps it precise."""
    parts = name.split(".")
    prefixes = [".".join(parts[: i + 1]) for i in range(len(parts))]
    return any(fnmatch.fnmatchcase(prefix, p) for p in patterns for prefix in prefixes)


def _int4_group(in_features: int) -> int:
    """optimum-quanto 0.2.7's int4 group size (QModuleMixin): 128 stepping down by 32, else per channel."""
    group = 128
    if in_features > group:
        while in_features % group != 0 and group > 32:
            group -= 32
        if in_features % group == 0:
            return group
    return in_features


QUANTO_MODES = ("fp8", "int8", "int4")


def quantized_linear_bytes(out_features: int, in_features: int, mode: str, dtype_bytes: int = 2) -> int:
    """Bytes of one quantized linear weight (data + scales), as optimum-quanto / torchao store it."""
    n = out_features * in_features
    if mode in ("fp8", "int8"):  # quanto: one byte per weight, one scale per output channel (weight dtype)
        return n + out_features * dtype_bytes
    if mode == "int4":  # quanto qint4: packed nibbles, scale and shift per group
        return n // 2 + 2 * (n // _int4_group(in_features)) * dtype_bytes
    if mode == "fp8-fast":  # torchao float8 per-row: one byte per weight, float32 scale per row
        return n + out_features * 4
    if mode == "fp8-prequantized":  # Lightricks' release: one byte per weight, one float32 scale per tensor
        return n + 4
    return n * dtype_bytes


def quantized_module_bytes(params: int, linears, mode: str, keep_precise, dtype_bytes: int = 2) -> int:
    """Bytes of a module of `params` parameters whose `linears` ((name, out, in, bias) of each nn.Linear) are
    quantized with `mode`, except those `keep_precise` names (quantize_module's exclusion rules)."""
    total = params * dtype_bytes
    if mode == "none":
        return total
    for name, out_f, in_f, _bias in linears:
        if _kept_precise(name, keep_precise):
            continue
        total += quantized_linear_bytes(out_f, in_f, mode, dtype_bytes) - out_f * in_f * dtype_bytes
        if mode in QUANTO_MODES:
            total += 2 * dtype_bytes  # each quanto QLinear also holds scalar input_scale/output_scale buffers
    return total


def linear_layers(module: torch.nn.Module) -> tuple[tuple[str, int, int, bool], ...]:
    """(name, out_features, in_features, has_bias) of every nn.Linear of `module` (meta or real)."""
    return _linears(module)


def transformer_bytes(weights: ModelWeights, mode: str, keep_precise, dtype_bytes: int = 2) -> int:
    """Bytes of the transformer in memory after quantizing with `mode` (`keep_precise` layers kept)."""
    params, linears = weights.transformer_params, weights.linears
    return quantized_module_bytes(params, linears, mode, keep_precise, dtype_bytes)


def module_weights(
    transformer: torch.nn.Module,
    version: str = "2.3",
    others: dict[str, int] | None = None,
    vae_config: dict | None = None,
) -> ModelWeights:
    """`ModelWeights` of a built transformer (benchmarks, tests): its own counts, other components from
    `others` (name -> parameters; absent ones count as zero)."""
    total, linears, blocks = _transformer_summary(transformer)
    config = {k: v for k, v in transformer.config.items() if not k.startswith("_")}
    components = {"transformer": ComponentWeights("transformer", total, 2 * total)}
    for name, params in (others or {}).items():
        components[name] = ComponentWeights(name, params, 2 * params)
    return ModelWeights(
        version=version,
        source="built in memory",
        transformer_config=config,
        vae_config=dict(vae_config or _VAE_DEFAULTS),
        components=components,
        linears=linears,
        block_params=blocks,
    )
