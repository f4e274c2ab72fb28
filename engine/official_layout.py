"""Lightricks' official single-file layout -> diffusers components.

The official file stores every component under a key prefix and the model config as JSON metadata. Here we
translate that config into the constructor arguments of diffusers' LTX-2 classes and rename the keys. Key
renames for the transformer and both VAEs come from diffusers' own single-file converters; the connectors,
text projection and vocoder (which diffusers' single-file path does not cover) are renamed here.

Nothing is hard-coded to one model size: every dimension comes from the config or from tensor shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from diffusers.loaders.single_file_utils import (
    convert_ltx2_audio_vae_to_diffusers,
    convert_ltx2_transformer_to_diffusers,
    convert_ltx2_vae_to_diffusers,
)

from engine.errors import CheckpointError

TRANSFORMER_PREFIX = "model.diffusion_model."
CONNECTOR_PREFIXES = (
    "model.diffusion_model.video_embeddings_connector.",
    "model.diffusion_model.audio_embeddings_connector.",
    "text_embedding_projection.",
)
VAE_PREFIX = "vae."
AUDIO_VAE_PREFIX = "audio_vae."
VOCODER_PREFIX = "vocoder."


@dataclass(frozen=True)
class ComponentSpec:
    """How one diffusers component is cut out of the official file."""

    name: str
    select: Callable[[str], bool]
    rename: Callable[[dict], dict]


def _is_transformer_key(key: str) -> bool:
    return key.startswith(TRANSFORMER_PREFIX) and not key.startswith(CONNECTOR_PREFIXES)


def _is_connector_key(key: str) -> bool:
    return key.startswith(CONNECTOR_PREFIXES)


def rename_connector_keys(state: dict, projections: dict[str, str]) -> dict:
    """Official connector (and text projection) keys -> diffusers' `LTX2TextConnectors` names; the
    projections differ per version (2.0: one `aggregate_embed`; 2.3 on: one per modality)."""
    out = {}
    for key, value in state.items():
        new = key.removeprefix(TRANSFORMER_PREFIX)
        for official, renamed in projections.items():
            new = new.replace(official, renamed)
        new = new.replace("video_embeddings_connector.", "video_connector.")
        new = new.replace("audio_embeddings_connector.", "audio_connector.")
        new = new.replace(".transformer_1d_blocks.", ".transformer_blocks.")
        new = new.replace(".q_norm.", ".norm_q.").replace(".k_norm.", ".norm_k.")
        out[new] = value
    return out


def _rename_connectors(state: dict) -> dict:
    return rename_connector_keys(state, {"text_embedding_projection.aggregate_embed": "text_proj_in"})


def _rename_vocoder(state: dict) -> dict:
    out = {}
    for key, value in state.items():
        new = key[len(VOCODER_PREFIX) :]
        new = new.replace("conv_pre", "conv_in").replace("conv_post", "conv_out")
        new = new.replace("ups.", "upsamplers.").replace("resblocks.", "resnets.")
        out[new] = value
    return out


COMPONENTS = (
    ComponentSpec("transformer", _is_transformer_key, lambda sd: convert_ltx2_transformer_to_diffusers(sd)),
    ComponentSpec("connectors", _is_connector_key, _rename_connectors),
    ComponentSpec("vae", lambda k: k.startswith(VAE_PREFIX), lambda sd: convert_ltx2_vae_to_diffusers(sd)),
    ComponentSpec(
        "audio_vae",
        lambda k: k.startswith(AUDIO_VAE_PREFIX),
        lambda sd: convert_ltx2_audio_vae_to_diffusers(sd),
    ),
    ComponentSpec("vocoder", lambda k: k.startswith(VOCODER_PREFIX), _rename_vocoder),
)


def _section(config: dict, name: str) -> dict:
    section = config.get(name)
    if not isinstance(section, dict):
        raise CheckpointError(f"the model config has no '{name}' section", component=name)
    return section


def _need(section: dict, key: str, component: str) -> Any:
    if key not in section:
        raise CheckpointError(f"the model config lacks '{key}'", component=component)
    return section[key]


def component_configs(config: dict, shapes: dict[str, tuple[int, ...]]) -> dict[str, dict]:
    """Constructor arguments of every diffusers component, from the official config and tensor shapes."""
    return {
        "transformer": transformer_config(config),
        "connectors": connectors_config(config, shapes),
        "vae": video_vae_config(config),
        "audio_vae": audio_vae_config(config),
        "vocoder": vocoder_config(config),
    }


# --- transformer -------------------------------------------------------------------------------------------


def transformer_config(config: dict) -> dict:
    """Constructor arguments for `LTX2VideoTransformer3DModel` from the official `transformer` section."""
    t = _section(config, "transformer")
    c = "transformer"
    qk_norm = t.get("qk_norm", "rms_norm")
    if qk_norm not in ("rms_norm", "rms_norm_across_heads"):
        raise CheckpointError(f"unsupported qk_norm '{qk_norm}'", component=c)
    max_pos = t.get("positional_embedding_max_pos", [20, 2048, 2048])
    audio_max_pos = t.get("audio_positional_embedding_max_pos", [20])
    vae_scale = config.get("vae", {})
    return {
        "in_channels": _need(t, "in_channels", c),
        "out_channels": t.get("out_channels", t["in_channels"]),
        "patch_size": 1,
        "patch_size_t": 1,
        "num_attention_heads": _need(t, "num_attention_heads", c),
        "attention_head_dim": _need(t, "attention_head_dim", c),
        "cross_attention_dim": _need(t, "cross_attention_dim", c),
        "vae_scale_factors": (
            _temporal_ratio(vae_scale),
            _spatial_ratio(vae_scale),
            _spatial_ratio(vae_scale),
        ),
        "pos_embed_max_pos": int(max_pos[0]),
        "base_height": int(max_pos[1]),
        "base_width": int(max_pos[2]),
        "audio_in_channels": _need(t, "audio_in_channels", c),
        "audio_out_channels": t.get("audio_out_channels", t["audio_in_channels"]),
        "audio_num_attention_heads": _need(t, "audio_num_attention_heads", c),
        "audio_attention_head_dim": _need(t, "audio_attention_head_dim", c),
        "audio_cross_attention_dim": _need(t, "audio_cross_attention_dim", c),
        "audio_pos_embed_max_pos": int(audio_max_pos[0]),
        "audio_sampling_rate": _audio_sample_rate(config),
        "audio_hop_length": _audio_hop_length(config),
        "num_layers": _need(t, "num_layers", c),
        "activation_fn": t.get("activation_fn", "gelu-approximate"),
        "qk_norm": "rms_norm_across_heads",
        "norm_elementwise_affine": bool(t.get("norm_elementwise_affine", False)),
        "norm_eps": float(t.get("norm_eps", 1e-6)),
        "caption_channels": _need(t, "caption_channels", c),
        "attention_bias": bool(t.get("attention_bias", True)),
        "attention_out_bias": bool(t.get("attention_out_bias", t.get("attention_bias", True))),
        "rope_theta": float(t.get("positional_embedding_theta", 10000.0)),
        "rope_type": t.get("rope_type", "interleaved"),
        "rope_double_precision": _double_precision_rope(t),
        "timestep_scale_multiplier": int(t.get("timestep_scale_multiplier", 1000)),
        # The audio-video cross-attention gate AdaLN sees sigma x this (ltx-core's default 1, not 1000).
        "cross_attn_timestep_scale_multiplier": int(t.get("av_ca_timestep_scale_multiplier", 1)),
    }


def _double_precision_rope(t: dict) -> bool:
    """ltx-core builds the RoPE frequency grid in float64 only when `frequencies_precision` says so."""
    return t.get("frequencies_precision", False) == "float64"


def _connector_max_pos(t: dict) -> int:
    """Connector RoPE positions are token index / this (ltx-core default [1], not diffusers' 4096)."""
    max_pos = t.get("connector_positional_embedding_max_pos", [1])
    value = max_pos[0] if isinstance(max_pos, (list, tuple)) else max_pos
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        raise CheckpointError(
            f"connector_positional_embedding_max_pos {max_pos!r} must be a positive number",
            component="connectors",
        )
    return value


# --- text connectors + projection ---------------------------------------------------------------------------


def connectors_config(config: dict, shapes: dict[str, tuple[int, ...]]) -> dict:
    """Constructor arguments for `LTX2TextConnectors`; heads from the config, sizes from tensor shapes."""
    t = _section(config, "transformer")
    c = "connectors"
    proj = shapes.get("text_embedding_projection.aggregate_embed.weight")
    if proj is None:
        raise CheckpointError(
            "the checkpoint has no text_embedding_projection.aggregate_embed.weight", component=c
        )
    caption_channels, projected_in = proj
    if projected_in % caption_channels:
        raise CheckpointError(
            f"text projection input {projected_in} is not a multiple of caption_channels {caption_channels}",
            component=c,
        )

    def registers(prefix: str) -> int | None:
        shape = shapes.get(f"model.diffusion_model.{prefix}.learnable_registers")
        return shape[0] if shape else None

    heads = _need(t, "connector_num_attention_heads", c)
    head_dim = _need(t, "connector_attention_head_dim", c)
    layers = _need(t, "connector_num_layers", c)
    return {
        "caption_channels": caption_channels,
        "text_proj_in_factor": projected_in // caption_channels,
        "video_connector_num_attention_heads": heads,
        "video_connector_attention_head_dim": head_dim,
        "video_connector_num_layers": layers,
        "video_connector_num_learnable_registers": registers("video_embeddings_connector"),
        "audio_connector_num_attention_heads": t.get("audio_connector_num_attention_heads", heads),
        "audio_connector_attention_head_dim": t.get("audio_connector_attention_head_dim", head_dim),
        "audio_connector_num_layers": t.get("audio_connector_num_layers", layers),
        "audio_connector_num_learnable_registers": registers("audio_embeddings_connector"),
        "rope_theta": float(t.get("positional_embedding_theta", 10000.0)),
        "rope_type": t.get("rope_type", "interleaved"),
        "rope_double_precision": _double_precision_rope(t),
        "connector_rope_base_seq_len": _connector_max_pos(t),
        "proj_bias": "text_embedding_projection.aggregate_embed.bias" in shapes,
    }


# --- video VAE ----------------------------------------------------------------------------------------------

_DOWNSAMPLE = {
    "compress_space_res": "spatial",
    "compress_time_res": "temporal",
    "compress_all_res": "spatiotemporal",
}
_UPSAMPLE = {"compress_space": "spatial", "compress_time": "temporal", "compress_all": "spatiotemporal"}


def _blocks(section: dict, key: str, component: str) -> list[tuple[str, dict]]:
    blocks = _need(section, key, component)
    try:
        return [(str(name), dict(args or {})) for name, args in blocks]
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"'{key}' is not a list of [name, options] pairs", component=component) from exc


def _split_res_and_scaling(blocks: list[tuple[str, dict]], kinds: dict[str, str], key: str, component: str):
    """Official block lists alternate res_x and a scaling block and end with res_x (the mid block)."""
    res_layers: list[int] = []
    scalers: list[tuple[str, dict]] = []
    expect_res = True
    for name, args in blocks:
        if expect_res:
            if name != "res_x":
                raise CheckpointError(
                    f"unsupported '{key}' layout: expected res_x, found {name}", component=component
                )
            res_layers.append(int(args.get("num_layers", 1)))
        else:
            if name not in kinds:
                raise CheckpointError(
                    f"unsupported '{key}' block type '{name}' (supported: {sorted(kinds)})",
                    component=component,
                )
            scalers.append((kinds[name], args))
        expect_res = not expect_res
    if expect_res or not res_layers:
        raise CheckpointError(
            f"unsupported '{key}' layout: it must end with a res_x block", component=component
        )
    return res_layers, scalers


def _spatial_ratio(vae: dict) -> int:
    ratio = int(vae.get("patch_size", 4))
    for name, _ in vae.get("encoder_blocks", []):
        if name in ("compress_space_res", "compress_all_res"):
            ratio *= 2
    return ratio


def _temporal_ratio(vae: dict) -> int:
    ratio = 1
    for name, _ in vae.get("encoder_blocks", []):
        if name in ("compress_time_res", "compress_all_res"):
            ratio *= 2
    return ratio


def video_vae_config(config: dict) -> dict:
    """Constructor arguments for `AutoencoderKLLTX2Video` from the official `vae` section."""
    v = _section(config, "vae")
    c = "vae"
    if v.get("dims", 3) != 3:
        raise CheckpointError("only 3D (video) VAEs are supported", component=c)
    if v.get("norm_layer", "pixel_norm") != "pixel_norm":
        raise CheckpointError(f"unsupported norm_layer '{v.get('norm_layer')}'", component=c)
    if v.get("latent_log_var", "uniform") != "uniform":
        raise CheckpointError(f"unsupported latent_log_var '{v.get('latent_log_var')}'", component=c)
    latent = int(_need(v, "latent_channels", c))

    enc_layers, enc_scalers = _split_res_and_scaling(
        _blocks(v, "encoder_blocks", c), _DOWNSAMPLE, "encoder_blocks", c
    )
    # The encoder's conv_in outputs `latent` channels; each downsampler multiplies by its multiplier.
    channels, block_out = latent, []
    for _, args in enc_scalers:
        channels *= int(args.get("multiplier", 2))
        block_out.append(channels)

    dec_layers, dec_scalers = _split_res_and_scaling(
        _blocks(v, "decoder_blocks", c), _UPSAMPLE, "decoder_blocks", c
    )
    # Decoder channels shrink by each upsampler's multiplier down to decoder_base_channels at the output.
    base = int(v.get("decoder_base_channels", 128))
    multipliers = [int(args.get("multiplier", 1)) for _, args in dec_scalers]
    channels = base
    for m in multipliers:
        channels *= m
    entering = []
    for m in multipliers:
        entering.append(channels)
        channels //= m
    inject = [
        bool(args.get("inject_noise", False))
        for name, args in _blocks(v, "decoder_blocks", c)
        if name == "res_x"
    ]
    return {
        "in_channels": int(v.get("in_channels", 3)),
        "out_channels": int(v.get("out_channels", 3)),
        "latent_channels": latent,
        "block_out_channels": tuple(block_out),
        "down_block_types": ("LTX2VideoDownBlock3D",) * len(block_out),
        "layers_per_block": tuple(enc_layers),
        "spatio_temporal_scaling": (True,) * len(block_out),
        "downsample_type": tuple(kind for kind, _ in enc_scalers),
        "decoder_block_out_channels": tuple(reversed(entering)),
        "decoder_layers_per_block": tuple(reversed(dec_layers)),
        "decoder_spatio_temporal_scaling": (True,) * len(dec_scalers),
        "decoder_inject_noise": tuple(reversed(inject)),
        "upsample_type": tuple(reversed([kind for kind, _ in dec_scalers])),
        "upsample_residual": tuple(reversed([bool(a.get("residual", False)) for _, a in dec_scalers])),
        "upsample_factor": tuple(reversed(multipliers)),
        "timestep_conditioning": bool(v.get("timestep_conditioning", False)),
        "patch_size": int(v.get("patch_size", 4)),
        "patch_size_t": 1,
        "encoder_causal": bool(v.get("causal_encoder", True)),
        "decoder_causal": bool(v.get("causal_decoder", False)),
        "encoder_spatial_padding_mode": v.get(
            "encoder_spatial_padding_mode", v.get("spatial_padding_mode", "zeros")
        ),
        "decoder_spatial_padding_mode": v.get("decoder_spatial_padding_mode", "reflect"),
        "spatial_compression_ratio": _spatial_ratio(v),
        "temporal_compression_ratio": _temporal_ratio(v),
    }


# --- audio VAE + vocoder ------------------------------------------------------------------------------------


def _audio_params(config: dict) -> dict:
    a = _section(config, "audio_vae")
    try:
        return a["model"]["params"]
    except (KeyError, TypeError) as exc:
        raise CheckpointError("the audio_vae config lacks model.params", component="audio_vae") from exc


def _audio_sample_rate(config: dict) -> int:
    if not isinstance(config.get("audio_vae"), dict):
        return 16000
    return int(_audio_params(config).get("sampling_rate", 16000))


def _audio_hop_length(config: dict) -> int:
    a = config.get("audio_vae")
    if not isinstance(a, dict):
        return 160
    return int(a.get("preprocessing", {}).get("stft", {}).get("hop_length", 160))


def audio_vae_config(config: dict) -> dict:
    """Constructor arguments for `AutoencoderKLLTX2Audio` from the official `audio_vae` section."""
    params = _audio_params(config)
    c = "audio_vae"
    dd = params.get("ddconfig")
    if not isinstance(dd, dict):
        raise CheckpointError("the audio_vae config lacks ddconfig", component=c)
    stft = _section(config, "audio_vae").get("preprocessing", {}).get("stft", {})
    return {
        "base_channels": int(_need(dd, "ch", c)),
        "output_channels": int(dd.get("out_ch", 2)),
        "ch_mult": tuple(dd.get("ch_mult", (1, 2, 4))),
        "num_res_blocks": int(dd.get("num_res_blocks", 2)),
        "attn_resolutions": tuple(dd.get("attn_resolutions", ())) or None,
        "in_channels": int(dd.get("in_channels", 2)),
        "resolution": int(dd.get("resolution", 256)),
        "latent_channels": int(_need(dd, "z_channels", c)),
        "norm_type": dd.get("norm_type", "pixel"),
        "causality_axis": dd.get("causality_axis", "height"),
        "mid_block_add_attention": bool(dd.get("mid_block_add_attention", False)),
        "sample_rate": int(params.get("sampling_rate", 16000)),
        "mel_hop_length": int(stft.get("hop_length", 160)),
        "is_causal": bool(stft.get("causal", True)),
        "mel_bins": int(dd.get("mel_bins", 64)),
        "double_z": bool(dd.get("double_z", True)),
    }


def vocoder_config(config: dict) -> dict:
    """Constructor arguments for `LTX2Vocoder` (HiFi-GAN style) from the official `vocoder` section."""
    v = _section(config, "vocoder")
    c = "vocoder"
    if str(v.get("resblock", "1")) != "1":
        raise CheckpointError(f"unsupported vocoder resblock type '{v.get('resblock')}'", component=c)
    stereo = bool(v.get("stereo", True))
    mel_bins = int(_audio_params(config).get("ddconfig", {}).get("mel_bins", 64))
    return {
        "in_channels": mel_bins * (2 if stereo else 1),
        "hidden_channels": int(_need(v, "upsample_initial_channel", c)),
        "out_channels": 2 if stereo else 1,
        "upsample_kernel_sizes": list(_need(v, "upsample_kernel_sizes", c)),
        "upsample_factors": list(_need(v, "upsample_rates", c)),
        "resnet_kernel_sizes": list(_need(v, "resblock_kernel_sizes", c)),
        "resnet_dilations": [list(d) for d in _need(v, "resblock_dilation_sizes", c)],
        "output_sampling_rate": int(v.get("output_sampling_rate", 24000)),
    }
