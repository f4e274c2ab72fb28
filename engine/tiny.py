"""A tiny, randomly initialised LTX-2 of the real architecture, built in-process.

It exists for tests, demos and benchmarks of the plumbing: every component is the real diffusers class with
an official-layout config shrunk to a few million parameters, and the text encoder is a tiny Gemma-3 with a
sentencepiece vocabulary trained on a handful of sentences. Its weights are random, so it produces noise:
it proves loading, conditioning, audio, quantization, tiling and export paths, never visual quality.
"""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import torch

from engine import official_layout
from engine.components import MODEL_CLASSES, SCHEDULER_CONFIG, ModelComponents, build_random
from engine.text_encoder import TextEncoder, load_tokenizer

TINY_MAX_SEQUENCE = 128
_CORPUS = [
    "a cat on a beach at sunset",
    "a dog running through a field of flowers",
    "waves crash on the rocks",
    "a city street at night with neon lights",
    "a slow pan across a mountain lake",
    "rain on a window",
    "a person walking in the snow",
    "the camera follows a red car on a coastal road",
    "close up of hands playing a piano",
    "birds fly over the ocean while music plays",
]

TINY_HIDDEN = 32
TINY_TEXT_LAYERS = 2


def tiny_official_config() -> dict:
    """An official-layout config (the same schema as the released files), shrunk."""
    res = ["res_x", {"num_layers": 1}]
    return {
        "transformer": {
            "num_attention_heads": 2,
            "attention_head_dim": 16,
            "in_channels": 128,
            "out_channels": 128,
            "num_layers": 2,
            "cross_attention_dim": 32,
            "caption_channels": TINY_HIDDEN,
            "audio_num_attention_heads": 2,
            "audio_attention_head_dim": 8,
            "audio_in_channels": 128,
            "audio_out_channels": 128,
            "audio_cross_attention_dim": 16,
            "connector_num_attention_heads": 2,
            "connector_attention_head_dim": 16,
            "connector_num_layers": 1,
            "rope_type": "split",
            "attention_bias": True,
            "activation_fn": "gelu-approximate",
            "norm_elementwise_affine": False,
            "qk_norm": "rms_norm",
        },
        "vae": {
            "dims": 3,
            "in_channels": 3,
            "out_channels": 3,
            "latent_channels": 128,
            "patch_size": 4,
            "norm_layer": "pixel_norm",
            "latent_log_var": "uniform",
            "causal_decoder": False,
            "timestep_conditioning": False,
            "decoder_base_channels": 16,
            "encoder_blocks": [
                res,
                ["compress_space_res", {"multiplier": 1}],
                res,
                ["compress_time_res", {"multiplier": 1}],
                res,
                ["compress_all_res", {"multiplier": 1}],
                res,
                ["compress_all_res", {"multiplier": 1}],
                res,
            ],
            "decoder_blocks": [
                res,
                ["compress_all", {"residual": True, "multiplier": 2}],
                res,
                ["compress_all", {"residual": True, "multiplier": 2}],
                res,
                ["compress_all", {"residual": True, "multiplier": 2}],
                res,
            ],
        },
        "audio_vae": {
            "model": {
                "params": {
                    "sampling_rate": 16000,
                    "ddconfig": {
                        "ch": 32,
                        "out_ch": 2,
                        "ch_mult": [1, 1, 1],
                        "num_res_blocks": 1,
                        "attn_resolutions": [],
                        "resolution": 256,
                        "z_channels": 8,
                        "double_z": True,
                        "norm_type": "pixel",
                        "causality_axis": "height",
                        "mid_block_add_attention": False,
                        "in_channels": 2,
                        "mel_bins": 64,
                    },
                }
            },
            "preprocessing": {"stft": {"hop_length": 160, "filter_length": 1024, "causal": True}},
        },
        "vocoder": {
            "resblock": "1",
            "stereo": True,
            "upsample_initial_channel": 32,
            "resblock_kernel_sizes": [3],
            "resblock_dilation_sizes": [[1, 3, 5]],
            "upsample_rates": [6, 5, 2, 2, 2],
            "upsample_kernel_sizes": [16, 15, 8, 4, 4],
            "output_sampling_rate": 24000,
        },
    }


def tiny_components(seed: int = 0) -> ModelComponents:
    from diffusers import FlowMatchEulerDiscreteScheduler

    config = tiny_official_config()
    registers = TINY_MAX_SEQUENCE
    shapes = {
        "text_embedding_projection.aggregate_embed.weight": (
            TINY_HIDDEN,
            TINY_HIDDEN * (TINY_TEXT_LAYERS + 1),
        ),
        "model.diffusion_model.video_embeddings_connector.learnable_registers": (registers, TINY_HIDDEN),
        "model.diffusion_model.audio_embeddings_connector.learnable_registers": (registers, TINY_HIDDEN),
    }
    configs = official_layout.component_configs(config, shapes)
    modules = {
        name: build_random(name, configs[name], seed + index) for index, name in enumerate(MODEL_CLASSES)
    }
    audio_vae = modules["audio_vae"]
    # diffusers sizes these by base_channels; the real size is latent channels x latent mel bins.
    latent_width = configs["audio_vae"]["latent_channels"] * configs["audio_vae"]["mel_bins"] // 4
    audio_vae.register_buffer("latents_mean", torch.zeros(latent_width), persistent=True)
    audio_vae.register_buffer("latents_std", torch.ones(latent_width), persistent=True)
    return ModelComponents(
        **modules,
        scheduler=FlowMatchEulerDiscreteScheduler.from_config(SCHEDULER_CONFIG),
        identity=f"tiny-random-seed{seed}",
        source="tiny (random weights: produces noise)",
        configs=configs,
    )


def tiny_text_encoder(seed: int = 0) -> TextEncoder:
    """A tiny Gemma-3 (random weights) with a sentencepiece vocabulary trained here, in memory."""
    import sentencepiece
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration

    model_bytes = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(_CORPUS),
        model_writer=model_bytes,
        vocab_size=96,
        model_type="bpe",
        pad_id=0,
        eos_id=1,
        bos_id=2,
        unk_id=3,
        character_coverage=1.0,
        minloglevel=2,
        num_threads=1,
        hard_vocab_limit=False,
    )
    with tempfile.TemporaryDirectory(prefix="aiprod-tiny-tokenizer-") as folder:
        Path(folder, "tokenizer.model").write_bytes(model_bytes.getvalue())
        Path(folder, "tokenizer_config.json").write_text(
            json.dumps(
                {
                    "tokenizer_class": "GemmaTokenizer",
                    "bos_token": "<s>",
                    "eos_token": "</s>",
                    "pad_token": "<pad>",
                    "unk_token": "<unk>",
                    "add_bos_token": True,
                }
            )
        )
        tokenizer = load_tokenizer(Path(folder))
    torch.manual_seed(seed + 100)
    config = Gemma3Config(
        text_config={
            "hidden_size": TINY_HIDDEN,
            "intermediate_size": 64,
            "num_hidden_layers": TINY_TEXT_LAYERS,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "head_dim": 16,
            "vocab_size": 128,
            "max_position_embeddings": 1024,
            "sliding_window": 64,
            "layer_types": ["sliding_attention"] * TINY_TEXT_LAYERS,
        },
        vision_config={
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
            "vision_use_head": False,
        },
        mm_tokens_per_image=4,
    )
    model = Gemma3ForConditionalGeneration(config).eval().requires_grad_(False)
    return TextEncoder(model, tokenizer, "tiny (random weights)")
