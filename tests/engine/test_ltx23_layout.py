"""The 2.3 config mapping on its own (no fixture): the reference's defaults for absent keys, type errors, and
the VAE key renames for any depth."""

from __future__ import annotations

import pytest
import torch

from engine import ltx23_layout
from engine.errors import CheckpointError

V2 = dict(ltx23_layout.V2_TEXT_PROJECTION_CONFIG)


def _config(**transformer) -> dict:
    return {
        "transformer": {**V2, **transformer},
        "vae": {
            "encoder_blocks": [
                ["res_x", {"num_layers": 1}],
                ["compress_all_res", {"multiplier": 2}],
                ["res_x", {}],
            ],
            "decoder_blocks": [
                ["res_x", {"num_layers": 1}],
                ["compress_all", {"multiplier": 2}],
                ["res_x", {}],
            ],
        },
        "audio_vae": {},
        "vocoder": {
            "vocoder": {},
            "bwe": {
                "input_sampling_rate": 16000,
                "output_sampling_rate": 48000,
                "n_fft": 512,
                "hop_length": 80,
                "num_mels": 64,
            },
        },
    }


SHAPES = {
    "text_embedding_projection.video_aggregate_embed.weight": (4096, 3840 * 49),
    "text_embedding_projection.video_aggregate_embed.bias": (4096,),
    "text_embedding_projection.audio_aggregate_embed.weight": (2048, 3840 * 49),
    "text_embedding_projection.audio_aggregate_embed.bias": (2048,),
    "model.diffusion_model.video_embeddings_connector.learnable_registers": (128, 4096),
    "model.diffusion_model.audio_embeddings_connector.learnable_registers": (128, 2048),
}


def test_absent_keys_take_the_reference_defaults_not_diffusers():
    config = _config()
    t = ltx23_layout.transformer_config(config)
    assert t["rope_type"] == "split"  # diffusers: interleaved
    assert t["cross_attn_timestep_scale_multiplier"] == 1  # ltx-core av_ca default 1; diffusers: 1000
    assert t["rope_double_precision"] is False  # only when frequencies_precision says float64
    assert (t["num_layers"], t["num_attention_heads"], t["attention_head_dim"]) == (48, 32, 128)
    assert t["gated_attn"] is False and t["cross_attn_mod"] is False
    c = ltx23_layout.connectors_config(config, SHAPES)
    assert c["connector_rope_base_seq_len"] == 1  # ltx-core [1]; diffusers: 4096
    assert c["rope_theta"] == 10000.0 and c["video_gated_attn"] is False
    assert (c["video_connector_num_attention_heads"], c["video_connector_num_layers"]) == (30, 2)
    assert c["audio_connector_num_attention_heads"] == 30  # falls back to the video connector's
    assert (c["video_hidden_dim"], c["audio_hidden_dim"], c["text_proj_in_factor"]) == (4096, 2048, 49)
    v = ltx23_layout.video_vae_config(config)
    assert v["decoder_spatial_padding_mode"] == "reflect" and v["encoder_spatial_padding_mode"] == "zeros"
    assert v["timestep_conditioning"] is True  # ltx-core ConvVideoDecoder default
    a = ltx23_layout.audio_vae_config(config)
    assert a["mid_block_add_attention"] is True and a["attn_resolutions"] == (8, 16, 32)
    voc = ltx23_layout.vocoder_config(config)
    assert voc["final_act_fn"] == "tanh" and voc["bwe_final_act_fn"] is None
    assert voc["hidden_channels"] == 1024 and voc["filter_length"] == voc["window_length"] == 512


def test_values_present_are_read():
    config = _config(
        rope_type="interleaved",
        av_ca_timestep_scale_multiplier=1000,
        frequencies_precision="float64",
        connector_positional_embedding_max_pos=[4096],
        apply_gated_attention=True,
        cross_attention_adaln=True,
        connector_apply_gated_attention=True,
    )
    config["vae"]["spatial_padding_mode"] = "zeros"
    config["vocoder"]["vocoder"]["use_tanh_at_final"] = False
    t = ltx23_layout.transformer_config(config)
    assert t["rope_type"] == "interleaved" and t["cross_attn_timestep_scale_multiplier"] == 1000
    assert t["rope_double_precision"] and t["gated_attn"] and t["audio_cross_attn_mod"]
    c = ltx23_layout.connectors_config(config, SHAPES)
    assert c["connector_rope_base_seq_len"] == 4096 and c["rope_double_precision"] and c["audio_gated_attn"]
    v = ltx23_layout.video_vae_config(config)
    assert v["decoder_spatial_padding_mode"] == v["encoder_spatial_padding_mode"] == "zeros"
    assert ltx23_layout.vocoder_config(config)["final_act_fn"] == "clamp"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("num_layers", "48"),
        ("num_layers", True),
        ("rope_type", 3),
        ("positional_embedding_max_pos", [20, 2048]),
    ],
)
def test_wrong_types_name_the_key(key, value):
    with pytest.raises(CheckpointError, match=key):
        ltx23_layout.transformer_config(_config(**{key: value}))


def test_unequal_video_and_audio_heads_are_refused_as_the_reference_does():
    with pytest.raises(CheckpointError, match="audio_num_attention_heads"):
        ltx23_layout.transformer_config(_config(num_attention_heads=32, audio_num_attention_heads=16))


def test_a_partial_text_projection_config_is_refused():
    config = _config()
    del config["transformer"]["caption_proj_input_norm"]
    with pytest.raises(CheckpointError, match="caption_proj_input_norm"):
        ltx23_layout.connectors_config(config, SHAPES)


def test_version_detection():
    assert ltx23_layout.parse_model_version("2.3.0") == (2, 3, 0)
    assert ltx23_layout.parse_model_version("v2.5") == (2, 5)
    assert ltx23_layout.parse_model_version(None) is None
    assert ltx23_layout.is_ltx23_config({}, {"model_version": "2.3.0"})
    assert not ltx23_layout.is_ltx23_config(_config(), {"model_version": "2.0.1"})
    assert ltx23_layout.is_ltx23_config(_config())  # caption_proj_before_connector
    assert not ltx23_layout.is_ltx23_config({"transformer": {}, "vocoder": {"upsample_rates": [6]}})


@pytest.mark.parametrize("res_blocks", [3, 5, 9, 11])
def test_vae_block_renames_for_any_depth(res_blocks):
    blocks = 2 * res_blocks - 1
    state = {f"vae.decoder.up_blocks.{i}.conv.weight": i for i in range(blocks)}
    state |= {f"vae.encoder.down_blocks.{i}.conv.weight": i for i in range(blocks)}
    renamed = ltx23_layout.rename_video_vae(state, blocks, blocks)
    assert renamed["decoder.mid_block.conv.weight"] == 0
    assert renamed["encoder.mid_block.conv.weight"] == blocks - 1
    for k in range(res_blocks - 1):
        assert renamed[f"decoder.up_blocks.{k}.upsamplers.0.conv.weight"] == 2 * k + 1
        assert renamed[f"decoder.up_blocks.{k}.conv.weight"] == 2 * k + 2
        assert renamed[f"encoder.down_blocks.{k}.conv.weight"] == 2 * k
        assert renamed[f"encoder.down_blocks.{k}.downsamplers.0.conv.weight"] == 2 * k + 1
    assert len(renamed) == len(state)


def test_decoder_channels_follow_asymmetric_multipliers():
    config = _config()
    config["vae"]["decoder_base_channels"] = 8
    config["vae"]["decoder_blocks"] = [
        ["res_x", {}],
        ["compress_space", {"multiplier": 2}],
        ["res_x", {}],
        ["compress_time", {"multiplier": 1}],
        ["res_x", {}],
        ["compress_all", {"multiplier": 2}],
        ["res_x", {"num_layers": 3}],
    ]
    v = ltx23_layout.video_vae_config(config)
    # channels entering each upsampler, listed from the output side: 8*2, 16*1, 16*2
    assert v["decoder_block_out_channels"] == (16, 16, 32)
    assert v["upsample_factor"] == (2, 1, 2)
    assert v["upsample_type"] == ("spatiotemporal", "temporal", "spatial")  # application order
    assert v["decoder_layers_per_block"] == (1, 1, 1, 3)  # diffusers reverses: the mid block gets 3


def test_asymmetric_decoder_config_builds_and_decodes():
    from diffusers import AutoencoderKLLTX2Video

    config = _config()
    config["vae"].update(latent_channels=8, decoder_base_channels=8, timestep_conditioning=False)
    config["vae"]["encoder_blocks"] = [
        ["res_x", {"num_layers": 0}],
        ["compress_all_res", {"multiplier": 1}],
        ["res_x", {"num_layers": 0}],
    ]
    config["vae"]["decoder_blocks"] = [
        ["res_x", {"num_layers": 1}],
        ["compress_space", {"multiplier": 2}],
        ["res_x", {"num_layers": 1}],
        ["compress_time", {"multiplier": 1}],
        ["res_x", {"num_layers": 1}],
    ]
    vae = AutoencoderKLLTX2Video.from_config(ltx23_layout.video_vae_config(config)).eval()
    with torch.inference_mode():
        out = vae.decode(torch.zeros(1, 8, 2, 2, 2), return_dict=False)[0]
    assert out.shape[:3] == (1, 3, 3) and out.shape[3] == out.shape[4] == 2 * 2 * 4
