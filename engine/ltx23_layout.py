"""Lightricks' LTX-2.3 release single file -> diffusers components.

The 2.3 monolith (`ltx-2.3-22b-dev.safetensors`, `...-distilled...`) keeps the 2.0 key prefixes but changes
what is under them: gated attention everywhere, prompt cross-attention AdaLN (9-row scale-shift tables), the
text projection moved in front of the connectors and split per modality, connectors with own audio sizes,
a video VAE with four decoder upsamplers, and a BigVGAN-v2 vocoder with a 16 -> 48 kHz bandwidth extension.

Every value is read from the file's `config` metadata the way Lightricks' reference (ltx-core 1.2.0
configurators) reads it, with the reference's default when a key is absent - never diffusers' default. Sizes
the config does not carry (registers, projection widths) come from tensor shapes. The key renames follow
diffusers' `scripts/convert_ltx2_to_diffusers.py` LTX-2.3 tables, written here for any depth.

This module is imported by the 2.5 loaders for the transformer and connector mapping (`transformer_config`,
`connectors_config`, `rename_transformer`, `rename_connectors`).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from diffusers.loaders.single_file_utils import convert_ltx2_transformer_to_diffusers

from engine.errors import CheckpointError
from engine.official_layout import (
    _DOWNSAMPLE,
    _UPSAMPLE,
    AUDIO_VAE_PREFIX,
    TRANSFORMER_PREFIX,
    VAE_PREFIX,
    VOCODER_PREFIX,
    ComponentSpec,
    _blocks,
    _section,
    _spatial_ratio,
    _split_res_and_scaling,
    _temporal_ratio,
    rename_connector_keys,
)

MODEL_VERSION_KEY = "model_version"
VIDEO_CONNECTOR_PREFIX = "model.diffusion_model.video_embeddings_connector."
AUDIO_CONNECTOR_PREFIX = "model.diffusion_model.audio_embeddings_connector."
TEXT_PROJECTION_PREFIX = "text_embedding_projection."
VIDEO_PROJECTION = "text_embedding_projection.video_aggregate_embed"
AUDIO_PROJECTION = "text_embedding_projection.audio_aggregate_embed"
CONNECTOR_PREFIXES = (VIDEO_CONNECTOR_PREFIX, AUDIO_CONNECTOR_PREFIX, TEXT_PROJECTION_PREFIX)

# ltx-core's FeatureExtractorV2 is selected by these four keys, all present with exactly these values.
V2_TEXT_PROJECTION_CONFIG = {
    "caption_proj_before_connector": True,
    "caption_projection_first_linear": False,
    "caption_proj_input_norm": False,
    "caption_projection_second_linear": False,
}

# Values ltx-core's LTXModelConfigurator insists on (`check_config_value`), when the key is present.
_TRANSFORMER_FIXED = {
    "dropout": 0.0,
    "attention_bias": True,
    "num_vector_embeds": None,
    "activation_fn": "gelu-approximate",
    "num_embeds_ada_norm": 1000,
    "use_linear_projection": False,
    "only_cross_attention": False,
    "cross_attention_norm": True,
    "double_self_attention": False,
    "upcast_attention": False,
    "standardization_norm": "rms_norm",
    "norm_elementwise_affine": False,
    "qk_norm": "rms_norm",
    "positional_embedding_type": "rope",
    "use_audio_video_cross_attention": True,
    "share_ff": False,
    "av_cross_ada_norm": True,
    "use_middle_indices_grid": True,
}


# --- version ------------------------------------------------------------------------------------------------


def parse_model_version(text: Any) -> tuple[int, ...] | None:
    """'2.3.0' -> (2, 3, 0); None for anything that is not a dotted version."""
    if not isinstance(text, str):
        return None
    match = re.match(r"^\s*v?(\d+(?:\.\d+)*)", text)
    if not match:
        return None
    return tuple(int(part) for part in match.group(1).split("."))


def is_ltx23_config(config: dict, metadata: dict[str, str] | None = None) -> bool:
    """Whether an official single file is in the 2.3 layout: `model_version`, else the config's switches."""
    version = parse_model_version((metadata or {}).get(MODEL_VERSION_KEY))
    if version is not None:
        return version >= (2, 3)
    transformer = config.get("transformer")
    vocoder = config.get("vocoder")
    if isinstance(transformer, dict) and transformer.get("caption_proj_before_connector") is True:
        return True
    return isinstance(vocoder, dict) and "bwe" in vocoder


# --- small readers ------------------------------------------------------------------------------------------


def _typed(section: dict, key: str, default: Any, kind: type | tuple[type, ...], component: str) -> Any:
    """`section.get(key, default)`, refusing a value of the wrong JSON type with a message naming the key."""
    value = section.get(key, default)
    if kind is float:
        kind = (int, float)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kind):
        raise CheckpointError(
            f"the model config's '{key}' is {json.dumps(value)}, expected a {_kind_name(kind)}",
            component=component,
        )
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {
        bool: "true/false",
        int: "whole number",
        float: "number",
        str: "string",
        list: "list",
        dict: "table",
    }
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(dict.fromkeys(names.get(k, k.__name__) for k in kinds))


def _int_list(section: dict, key: str, default: list, component: str) -> list[int]:
    value = _typed(section, key, default, list, component)
    if not value or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise CheckpointError(
            f"the model config's '{key}' must be a list of whole numbers", component=component
        )
    return list(value)


def _check_fixed(section: dict, fixed: dict, component: str) -> None:
    for key, expected in fixed.items():
        if key in section and section[key] != expected:
            raise CheckpointError(
                f"the model config sets '{key}' to {json.dumps(section[key])}; the LTX-2 reference only "
                f"supports {json.dumps(expected)}",
                component=component,
            )


# --- transformer --------------------------------------------------------------------------------------------


def transformer_config(config: dict) -> dict:
    """Constructor arguments for `LTX2VideoTransformer3DModel` (ltx-core `LTXModelConfigurator` defaults)."""
    t = _section(config, "transformer")
    c = "transformer"
    _check_fixed(t, _TRANSFORMER_FIXED, c)
    heads = _typed(t, "num_attention_heads", 32, int, c)
    audio_heads = _typed(t, "audio_num_attention_heads", 32, int, c)
    if heads != audio_heads:  # ltx-core refuses this too (its cross-modal attention shares the head count)
        raise CheckpointError(
            f"num_attention_heads ({heads}) differs from audio_num_attention_heads ({audio_heads}); "
            "the LTX-2 reference requires them equal",
            component=c,
        )
    max_pos = _int_list(t, "positional_embedding_max_pos", [20, 2048, 2048], c)
    audio_max_pos = _int_list(t, "audio_positional_embedding_max_pos", [20], c)
    if len(max_pos) != 3:
        raise CheckpointError(
            "positional_embedding_max_pos must hold 3 values (time, height, width)", component=c
        )
    rope_type = _typed(t, "rope_type", "split", str, c)
    if rope_type not in ("split", "interleaved"):
        raise CheckpointError(f"unsupported rope_type '{rope_type}'", component=c)
    gated = _typed(t, "apply_gated_attention", False, bool, c)
    prompt_adaln = _typed(t, "cross_attention_adaln", False, bool, c)
    vae = config.get("vae") if isinstance(config.get("vae"), dict) else {}
    spatial, temporal = _spatial_ratio(vae), _temporal_ratio(vae)
    return {
        "in_channels": _typed(t, "in_channels", 128, int, c),
        "out_channels": _typed(t, "out_channels", 128, int, c),
        "patch_size": 1,
        "patch_size_t": 1,
        "num_attention_heads": heads,
        "attention_head_dim": _typed(t, "attention_head_dim", 128, int, c),
        "cross_attention_dim": _typed(t, "cross_attention_dim", 4096, int, c),
        "vae_scale_factors": (temporal, spatial, spatial),
        "pos_embed_max_pos": max_pos[0],
        "base_height": max_pos[1],
        "base_width": max_pos[2],
        "gated_attn": gated,
        "cross_attn_mod": prompt_adaln,
        "audio_in_channels": _typed(t, "audio_in_channels", 128, int, c),
        "audio_out_channels": _typed(t, "audio_out_channels", 128, int, c),
        "audio_patch_size": 1,
        "audio_patch_size_t": 1,
        "audio_num_attention_heads": audio_heads,
        "audio_attention_head_dim": _typed(t, "audio_attention_head_dim", 64, int, c),
        "audio_cross_attention_dim": _typed(t, "audio_cross_attention_dim", 2048, int, c),
        "audio_scale_factor": 4,
        "audio_pos_embed_max_pos": audio_max_pos[0],
        "audio_sampling_rate": audio_sample_rate(config),
        "audio_hop_length": audio_hop_length(config),
        "audio_gated_attn": gated,
        "audio_cross_attn_mod": prompt_adaln,
        "num_layers": _typed(t, "num_layers", 48, int, c),
        "activation_fn": "gelu-approximate",
        "qk_norm": "rms_norm_across_heads",  # ltx-core's "rms_norm" normalises across all heads
        "norm_elementwise_affine": False,
        "norm_eps": float(_typed(t, "norm_eps", 1e-6, float, c)),
        # Only read by diffusers when the projection lives in the transformer (2.0 layout).
        "caption_channels": _typed(t, "caption_channels", 3840, int, c),
        "attention_bias": True,
        "attention_out_bias": True,
        "rope_theta": float(_typed(t, "positional_embedding_theta", 10000.0, float, c)),
        "rope_double_precision": t.get("frequencies_precision", False) == "float64",
        "causal_offset": 1,
        "timestep_scale_multiplier": _typed(t, "timestep_scale_multiplier", 1000, (int, float), c),
        "cross_attn_timestep_scale_multiplier": _typed(
            t, "av_ca_timestep_scale_multiplier", 1, (int, float), c
        ),
        "rope_type": rope_type,
        "use_prompt_embeddings": not text_projection_before_connectors(t),
        # The STG-capable processor; identical to the plain one when nothing is perturbed.
        "perturbed_attn": True,
        "ff_bias": _typed(t, "ff_bias", True, bool, c),
        "audio_ff_bias": _typed(t, "audio_ff_bias", True, bool, c),
        "use_prompt_adaln_single": _typed(t, "use_prompt_adaln_single", True, bool, c),
        "use_keyframes_abs_pos_embedding": _typed(t, "use_keyframes_abs_pos_embedding", False, bool, c),
    }


def text_projection_before_connectors(transformer: dict) -> bool:
    """ltx-core's feature extractor: V1 (projection in the transformer) or V2 (per modality, in front)."""
    present = transformer.keys() & V2_TEXT_PROJECTION_CONFIG.keys()
    if not present:
        return False
    missing = sorted(V2_TEXT_PROJECTION_CONFIG.keys() - present)
    if missing:
        raise CheckpointError(
            "the model config sets only part of the text-projection switches (missing "
            + ", ".join(missing)
            + ")",
            component="connectors",
        )
    wrong = {k: transformer[k] for k in present if transformer[k] != V2_TEXT_PROJECTION_CONFIG[k]}
    if wrong:
        raise CheckpointError(
            f"unsupported text-projection configuration {json.dumps(wrong)}", component="connectors"
        )
    return True


def rename_transformer(state: dict) -> dict:
    """Official `model.diffusion_model.*` transformer keys -> `LTX2VideoTransformer3DModel` keys."""
    out = convert_ltx2_transformer_to_diffusers(dict(state))
    renamed = {}
    for key, value in out.items():
        # diffusers' single-file table predates 2.3's prompt AdaLN (the converter script maps it).
        if key.startswith("audio_prompt_adaln_single."):
            key = "audio_prompt_adaln." + key[len("audio_prompt_adaln_single.") :]
        elif key.startswith("prompt_adaln_single."):
            key = "prompt_adaln." + key[len("prompt_adaln_single.") :]
        renamed[key] = value
    return renamed


def is_transformer_key(key: str) -> bool:
    return key.startswith(TRANSFORMER_PREFIX) and not key.startswith(CONNECTOR_PREFIXES)


# --- text projection + connectors --------------------------------------------------------------------------


def connectors_config(config: dict, shapes: dict[str, tuple[int, ...]]) -> dict:
    """Constructor arguments for `LTX2TextConnectors` (ltx-core `Embeddings1DConnectorConfigurator` defaults).

    The per-modality projections' widths come from their tensors, the Gemma hidden size from
    `caption_channels`.
    """
    t = _section(config, "transformer")
    c = "connectors"
    if not text_projection_before_connectors(t):
        raise CheckpointError(
            "the config has no per-modality text projection (caption_proj_before_connector); "
            "this is not an LTX-2.3 file",
            component=c,
        )
    caption_channels = _typed(t, "caption_channels", 3840, int, c)
    widths = {}
    for name in (VIDEO_PROJECTION, AUDIO_PROJECTION):
        shape = shapes.get(f"{name}.weight")
        if shape is None or len(shape) != 2:
            raise CheckpointError(f"the checkpoint has no {name}.weight", component=c)
        widths[name] = shape
    (video_dim, flat), (audio_dim, audio_flat) = widths[VIDEO_PROJECTION], widths[AUDIO_PROJECTION]
    if flat != audio_flat or caption_channels <= 0 or flat % caption_channels:
        raise CheckpointError(
            f"text projection inputs ({flat}, {audio_flat}) are not a multiple of caption_channels "
            f"{caption_channels} (Gemma hidden size x number of hidden states)",
            component=c,
        )
    if not all(f"{name}.bias" in shapes for name in (VIDEO_PROJECTION, AUDIO_PROJECTION)):
        raise CheckpointError("the per-modality text projections have no bias", component=c)

    def registers(prefix: str) -> int | None:
        shape = shapes.get(f"{prefix}learnable_registers")
        return shape[0] if shape else None

    if t.get("connector_ff_bias", True) is not True:
        raise CheckpointError(
            "connector_ff_bias = false is not supported by diffusers' connectors", component=c
        )
    heads = _typed(t, "connector_num_attention_heads", 30, int, c)
    head_dim = _typed(t, "connector_attention_head_dim", 128, int, c)
    layers = _typed(t, "connector_num_layers", 2, int, c)
    max_pos = _int_list(t, "connector_positional_embedding_max_pos", [1], c)
    gated = _typed(t, "connector_apply_gated_attention", False, bool, c)
    rope_type = _typed(t, "rope_type", "split", str, c)
    return {
        "caption_channels": caption_channels,
        "text_proj_in_factor": flat // caption_channels,
        "video_connector_num_attention_heads": heads,
        "video_connector_attention_head_dim": head_dim,
        "video_connector_num_layers": layers,
        "video_connector_num_learnable_registers": registers(VIDEO_CONNECTOR_PREFIX),
        "video_gated_attn": gated,
        "audio_connector_num_attention_heads": _typed(
            t, "audio_connector_num_attention_heads", heads, int, c
        ),
        "audio_connector_attention_head_dim": _typed(
            t, "audio_connector_attention_head_dim", head_dim, int, c
        ),
        "audio_connector_num_layers": _typed(t, "audio_connector_num_layers", layers, int, c),
        "audio_connector_num_learnable_registers": registers(AUDIO_CONNECTOR_PREFIX),
        "audio_gated_attn": gated,
        "connector_rope_base_seq_len": max_pos[0],
        # ltx-core builds the connectors without passing a theta: its 10000 default always applies.
        "rope_theta": 10000.0,
        "rope_double_precision": t.get("frequencies_precision", False) == "float64",
        "causal_temporal_positioning": False,
        "rope_type": rope_type,
        "per_modality_projections": True,
        "video_hidden_dim": video_dim,
        "audio_hidden_dim": audio_dim,
        "proj_bias": True,
    }


def rename_connectors(state: dict) -> dict:
    return rename_connector_keys(
        state, {VIDEO_PROJECTION: "video_text_proj_in", AUDIO_PROJECTION: "audio_text_proj_in"}
    )


def is_connector_key(key: str) -> bool:
    return key.startswith(CONNECTOR_PREFIXES)


def feature_scales(connectors_cfg: dict) -> tuple[float, float]:
    """FeatureExtractorV2's rescaling of the RMS-normed features: sqrt(out_dim / Gemma hidden)."""
    hidden = connectors_cfg["caption_channels"]
    return (
        math.sqrt(connectors_cfg["video_hidden_dim"] / hidden),
        math.sqrt(connectors_cfg["audio_hidden_dim"] / hidden),
    )


# --- video VAE ----------------------------------------------------------------------------------------------


def video_vae_config(config: dict) -> dict:
    """Constructor arguments for `AutoencoderKLLTX2Video` (ltx-core VideoEncoder/ConvVideoDecoder)."""
    v = _section(config, "vae")
    c = "vae"
    class_name = v.get("_class_name", "CausalVideoAutoencoder")
    if class_name != "CausalVideoAutoencoder":
        raise CheckpointError(
            f"the video VAE is a '{class_name}'; only the convolutional CausalVideoAutoencoder is supported",
            component=c,
        )
    if v.get("dims", 3) != 3:
        raise CheckpointError("only 3D (video) VAEs are supported", component=c)
    if v.get("norm_layer", "pixel_norm") != "pixel_norm":
        raise CheckpointError(f"unsupported norm_layer '{v.get('norm_layer')}'", component=c)
    if v.get("latent_log_var", "uniform") != "uniform":
        raise CheckpointError(f"unsupported latent_log_var '{v.get('latent_log_var')}'", component=c)
    latent = _typed(v, "latent_channels", 128, int, c)

    enc_layers, enc_scalers = _split_res_and_scaling(
        _blocks(v, "encoder_blocks", c), _DOWNSAMPLE, "encoder_blocks", c
    )
    channels, block_out = latent, []
    for _, args in enc_scalers:
        channels *= int(args.get("multiplier", 2))
        block_out.append(channels)

    dec_blocks = _blocks(v, "decoder_blocks", c)
    dec_layers, dec_scalers = _split_res_and_scaling(dec_blocks, _UPSAMPLE, "decoder_blocks", c)
    # The official list runs from the output side to the bottleneck (ltx-core builds it reversed). Each
    # upsampler divides its input channels by its multiplier, ending at decoder_base_channels, so the channels
    # entering scaler i are base x the product of the multipliers up to and including i. diffusers takes the
    # channel, factor, layer, noise and residual tuples in this list order (it reverses them itself) but the
    # upsample types in application order.
    base = _typed(v, "decoder_base_channels", 128, int, c)
    multipliers = [int(args.get("multiplier", 1)) for _, args in dec_scalers]
    entering = [base * math.prod(multipliers[: i + 1]) for i in range(len(multipliers))]
    inject = [bool(args.get("inject_noise", False)) for name, args in dec_blocks if name == "res_x"]
    # ltx-core: the decoder pads with `spatial_padding_mode` (reflect when absent); the encoder prefers the
    # same key, then `encoder_spatial_padding_mode`, then zeros.
    decoder_padding = _typed(v, "spatial_padding_mode", "reflect", str, c)
    encoder_padding = _typed(
        v, "spatial_padding_mode", v.get("encoder_spatial_padding_mode", "zeros"), str, c
    )
    return {
        "in_channels": _typed(v, "in_channels", 3, int, c),
        "out_channels": _typed(v, "out_channels", 3, int, c),
        "latent_channels": latent,
        "block_out_channels": tuple(block_out),
        "down_block_types": ("LTX2VideoDownBlock3D",) * len(block_out),
        "layers_per_block": tuple(enc_layers),
        "spatio_temporal_scaling": (True,) * len(block_out),
        "downsample_type": tuple(kind for kind, _ in enc_scalers),
        "decoder_block_out_channels": tuple(entering),
        "decoder_layers_per_block": tuple(dec_layers),
        "decoder_spatio_temporal_scaling": (True,) * len(dec_scalers),
        "decoder_inject_noise": tuple(inject),
        "upsample_type": tuple(reversed([kind for kind, _ in dec_scalers])),
        "upsample_residual": tuple(bool(a.get("residual", False)) for _, a in dec_scalers),
        "upsample_factor": tuple(multipliers),
        "timestep_conditioning": _typed(v, "timestep_conditioning", True, bool, c),
        "patch_size": _typed(v, "patch_size", 4, int, c),
        "patch_size_t": 1,
        "resnet_norm_eps": 1e-6,
        "encoder_causal": True,
        "decoder_causal": _typed(v, "causal_decoder", False, bool, c),
        "encoder_spatial_padding_mode": encoder_padding,
        "decoder_spatial_padding_mode": decoder_padding,
        "spatial_compression_ratio": _spatial_ratio(v),
        "temporal_compression_ratio": _temporal_ratio(v),
    }


_VAE_BLOCK = re.compile(r"^(encoder\.down_blocks|decoder\.up_blocks)\.(\d+)\.")


def rename_video_vae(state: dict, num_encoder_blocks: int, num_decoder_blocks: int) -> dict:
    """Official `vae.*` keys -> `AutoencoderKLLTX2Video` keys, for any number of blocks.

    The official lists alternate res_x / scaling blocks: encoder block 2k is diffusers' `down_blocks.k`, 2k+1
    its downsampler, the last one the mid block; decoder block 0 is the mid block, 2k+1 `up_blocks.k`'s
    upsampler and 2k+2 `up_blocks.k` (2.3 has 9 decoder blocks where 2.0 had 7).
    """
    out = {}
    for key, value in state.items():
        new = key.removeprefix(VAE_PREFIX)
        if new.startswith("per_channel_statistics."):
            stat = new.removeprefix("per_channel_statistics.")
            if stat == "mean-of-means":
                out["latents_mean"] = value
            elif stat == "std-of-means":
                out["latents_std"] = value
            continue  # `channel`, `mean-of-stds`: statistics the decoders never use
        match = _VAE_BLOCK.match(new)
        if match:
            part, index = match.group(1), int(match.group(2))
            rest = new[match.end() :]
            if part == "encoder.down_blocks":
                if index == num_encoder_blocks - 1:
                    target = "encoder.mid_block."
                elif index % 2 == 0:
                    target = f"encoder.down_blocks.{index // 2}."
                else:
                    target = f"encoder.down_blocks.{index // 2}.downsamplers.0."
            else:
                if index == 0:
                    target = "decoder.mid_block."
                elif index % 2 == 1:
                    target = f"decoder.up_blocks.{index // 2}.upsamplers.0."
                else:
                    target = f"decoder.up_blocks.{index // 2 - 1}."
            new = target + rest
        new = new.replace(".res_blocks.", ".resnets.")
        new = new.replace("decoder.last_time_embedder.", "decoder.time_embedder.")
        new = new.replace("decoder.last_scale_shift_table", "decoder.scale_shift_table")
        out[new] = value
    return out


# --- audio VAE + vocoder ------------------------------------------------------------------------------------


def _audio_section(config: dict) -> dict:
    a = config.get("audio_vae")
    return a if isinstance(a, dict) else {}


def _audio_params(config: dict) -> dict:
    model = _audio_section(config).get("model", {})
    params = model.get("params", {}) if isinstance(model, dict) else {}
    if not isinstance(params, dict):
        raise CheckpointError("the audio_vae config's model.params is not a table", component="audio_vae")
    return params


def _stft(config: dict) -> dict:
    pre = _audio_section(config).get("preprocessing", {})
    stft = pre.get("stft", {}) if isinstance(pre, dict) else {}
    return stft if isinstance(stft, dict) else {}


def audio_sample_rate(config: dict) -> int:
    return _typed(_audio_params(config), "sampling_rate", 16000, int, "audio_vae")


def audio_hop_length(config: dict) -> int:
    return _typed(_stft(config), "hop_length", 160, int, "audio_vae")


def audio_vae_config(config: dict) -> dict:
    """Constructor arguments for `AutoencoderKLLTX2Audio` (ltx-core `AudioDecoderConfigurator` defaults)."""
    c = "audio_vae"
    _section(config, c)
    params = _audio_params(config)
    dd = params.get("ddconfig", {})
    if not isinstance(dd, dict):
        raise CheckpointError("the audio_vae config's ddconfig is not a table", component=c)
    pre = _audio_section(config).get("preprocessing", {})
    mel_cfg = pre.get("mel", {}) if isinstance(pre, dict) else {}
    variables = _audio_section(config).get("variables", {})
    mel_bins = (
        dd.get("mel_bins")
        or (mel_cfg or {}).get("n_mel_channels")
        or (variables if isinstance(variables, dict) else {}).get("mel_bins")
        or 64
    )
    if isinstance(mel_bins, bool) or not isinstance(mel_bins, int):
        raise CheckpointError(f"the audio VAE's mel_bins is {json.dumps(mel_bins)}", component=c)
    attn = dd.get("attn_resolutions", [8, 16, 32])
    return {
        "base_channels": _typed(dd, "ch", 128, int, c),
        "output_channels": _typed(dd, "out_ch", 2, int, c),
        "ch_mult": tuple(_int_list(dd, "ch_mult", [1, 2, 4], c)),
        "num_res_blocks": _typed(dd, "num_res_blocks", 2, int, c),
        "attn_resolutions": tuple(attn) or None,
        "in_channels": _typed(dd, "in_channels", 2, int, c),
        "resolution": _typed(dd, "resolution", 256, int, c),
        "latent_channels": _typed(dd, "z_channels", 8, int, c),
        "norm_type": _typed(dd, "norm_type", "pixel", str, c),
        "causality_axis": _typed(dd, "causality_axis", "height", str, c),
        "dropout": float(_typed(dd, "dropout", 0.0, float, c)),
        "mid_block_add_attention": _typed(dd, "mid_block_add_attention", True, bool, c),
        "sample_rate": audio_sample_rate(config),
        "mel_hop_length": audio_hop_length(config),
        "is_causal": _typed(_stft(config), "causal", True, bool, c),
        "mel_bins": int(mel_bins),
        "double_z": _typed(dd, "double_z", True, bool, c),
    }


def rename_audio_vae(state: dict) -> dict:
    out = {}
    for key, value in state.items():
        new = key.removeprefix(AUDIO_VAE_PREFIX)
        new = new.replace("per_channel_statistics.mean-of-means", "latents_mean")
        new = new.replace("per_channel_statistics.std-of-means", "latents_std")
        if new.startswith("per_channel_statistics."):
            continue
        out[new] = value
    return out


def _generator_config(cfg: dict, prefix: str, component: str, apply_final_activation: bool) -> dict:
    """One BigVGAN generator (ltx-core `_vocoder_from_config` defaults) as `LTX2VocoderWithBWE` arguments."""
    for key, expected in (("resblock", "AMP1"), ("stereo", True), ("activation", "snakebeta")):
        if key in cfg and cfg[key] != expected:
            raise CheckpointError(
                f"the vocoder config sets '{key}' to {json.dumps(cfg[key])}; only {json.dumps(expected)} is "
                "supported for the 2.3 vocoder",
                component=component,
            )
    kernels = _int_list(cfg, "resblock_kernel_sizes", [3, 7, 11], component)
    dilations = _typed(cfg, "resblock_dilation_sizes", [[1, 3, 5]] * 3, list, component)
    if len(dilations) != len(kernels) or not all(isinstance(d, list) and d for d in dilations):
        raise CheckpointError(
            "resblock_dilation_sizes must hold one list per resblock kernel", component=component
        )
    if not apply_final_activation:
        final = None
    else:
        final = "tanh" if _typed(cfg, "use_tanh_at_final", True, bool, component) else "clamp"
    return {
        f"{prefix}hidden_channels": _typed(cfg, "upsample_initial_channel", 1024, int, component),
        f"{prefix}out_channels": 2,
        f"{prefix}upsample_kernel_sizes": _int_list(
            cfg, "upsample_kernel_sizes", [16, 15, 8, 4, 4], component
        ),
        f"{prefix}upsample_factors": _int_list(cfg, "upsample_rates", [6, 5, 2, 2, 2], component),
        f"{prefix}resnet_kernel_sizes": kernels,
        f"{prefix}resnet_dilations": [list(d) for d in dilations],
        f"{prefix}act_fn": "snakebeta",
        f"{prefix}antialias": True,
        f"{prefix}antialias_ratio": 2,
        f"{prefix}antialias_kernel_size": 12,
        f"{prefix}final_act_fn": final,
        f"{prefix}final_bias": _typed(cfg, "use_bias_at_final", True, bool, component),
    }


def vocoder_config(config: dict) -> dict:
    """Constructor arguments for `LTX2VocoderWithBWE` from the nested `vocoder` / `bwe` config."""
    c = "vocoder"
    section = _section(config, c)
    if "bwe" not in section:
        raise CheckpointError(
            "the vocoder config has no 'bwe' section; LTX-2.3 ships a vocoder with bandwidth extension",
            component=c,
        )
    voc = section.get("vocoder", {})
    bwe = section["bwe"]
    if not isinstance(voc, dict) or not isinstance(bwe, dict):
        raise CheckpointError("the vocoder config's 'vocoder' and 'bwe' must be tables", component=c)
    for key in ("input_sampling_rate", "output_sampling_rate", "n_fft", "hop_length", "num_mels"):
        if key not in bwe:  # ltx-core indexes these without a default
            raise CheckpointError(f"the vocoder config's 'bwe' section lacks '{key}'", component=c)
    mel_bins = audio_vae_config(config)["mel_bins"]
    n_fft = _typed(bwe, "n_fft", 512, int, c)
    args = {
        "in_channels": mel_bins * 2,
        **_generator_config(voc, "", c, apply_final_activation=True),
        "bwe_in_channels": _typed(bwe, "num_mels", 64, int, c) * 2,
        **_generator_config(bwe, "bwe_", c, apply_final_activation=False),
        "filter_length": n_fft,
        "hop_length": _typed(bwe, "hop_length", 80, int, c),
        "window_length": n_fft,
        "num_mel_channels": _typed(bwe, "num_mels", 64, int, c),
        "input_sampling_rate": _typed(bwe, "input_sampling_rate", 16000, int, c),
        "output_sampling_rate": _typed(bwe, "output_sampling_rate", 48000, int, c),
    }
    if args["output_sampling_rate"] % args["input_sampling_rate"]:
        raise CheckpointError(
            "the bandwidth extension's output rate is not a multiple of its input rate", component=c
        )
    return args


def rename_vocoder(state: dict) -> dict:
    """`vocoder.vocoder.*` / `vocoder.bwe_generator.*` / `vocoder.mel_stft.*` -> `LTX2VocoderWithBWE` keys."""
    out = {}
    for key, value in state.items():
        new = key.removeprefix(VOCODER_PREFIX)  # only the first: the inner generator is `vocoder.*`
        new = new.replace(".resblocks.", ".resnets.").replace(".ups.", ".upsamplers.")
        new = new.replace(".conv_pre.", ".conv_in.").replace(".conv_post.", ".conv_out.")
        new = new.replace(".act_post.", ".act_out.").replace(".downsample.lowpass.", ".downsample.")
        out[new] = value
    return out


# --- the file -----------------------------------------------------------------------------------------------


def _vae_block_counts(config: dict) -> tuple[int, int]:
    v = _section(config, "vae")
    return len(_blocks(v, "encoder_blocks", "vae")), len(_blocks(v, "decoder_blocks", "vae"))


def components(config: dict) -> tuple[ComponentSpec, ...]:
    """How each diffusers component is cut out of a 2.3 file (the VAE rename needs the block counts)."""
    encoder_blocks, decoder_blocks = _vae_block_counts(config)
    return (
        ComponentSpec("transformer", is_transformer_key, rename_transformer),
        ComponentSpec("connectors", is_connector_key, rename_connectors),
        ComponentSpec(
            "vae",
            lambda k: k.startswith(VAE_PREFIX),
            lambda sd: rename_video_vae(sd, encoder_blocks, decoder_blocks),
        ),
        ComponentSpec("audio_vae", lambda k: k.startswith(AUDIO_VAE_PREFIX), rename_audio_vae),
        ComponentSpec("vocoder", lambda k: k.startswith(VOCODER_PREFIX), rename_vocoder),
    )


def component_configs(config: dict, shapes: dict[str, tuple[int, ...]]) -> dict[str, dict]:
    """Constructor arguments of every diffusers component of a 2.3 file."""
    return {
        "transformer": transformer_config(config),
        "connectors": connectors_config(config, shapes),
        "vae": video_vae_config(config),
        "audio_vae": audio_vae_config(config),
        "vocoder": vocoder_config(config),
    }
