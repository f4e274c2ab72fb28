"""The LTX-2.5 text encoder: a fine-tuned Gemma 4 packed into one safetensors file.

Lightricks ship it as `text_encoders/gemma4-*-with-proj-*.safetensors`, written by ltx-core's
`build_text_encoder_tensors_from_gemma_root`:

* the Hugging Face config as JSON in the `gemma_config` metadata (with the LTX `gemma_version` stamp);
* the language model under ComfyUI's flat names (`model.layers.N.*`, `model.embed_tokens.*`, `model.norm.*`),
  the vision / audio embedders under `vision_model.*`, `multi_modal_projector.*`, `audio_projector.*`;
* the tokenizer as raw bytes (`tokenizer_json`) and the other Hugging Face files as `hf_asset__<name>` bytes;
* the LTX text projection (`text_embedding_projection.*`), which belongs to the embeddings processor, not to
  Gemma: it is handed back separately.

Nothing is fetched from a hub and no processor is built (that would need torchvision; text encoding does not).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from engine.checkpoint import SafetensorsFile
from engine.errors import CheckpointError
from engine.text_encoder import TextEncoder

GEMMA_CONFIG_KEY = "gemma_config"
TOKENIZER_KEY = "tokenizer_json"
ASSET_PREFIX = "hf_asset__"
PROJECTION_PREFIX = "text_embedding_projection."
# ltx-core pads every prompt to this many tokens (left padding, leading <bos>).
MAX_SEQUENCE_LENGTH = 1024
SUPPORTED_MODEL_TYPES = ("gemma4_unified",)
# Tokenizer-config entries that describe files or classes, not tokenizer behaviour.
_TOKENIZER_CONFIG_SKIP = frozenset(
    {"tokenizer_class", "processor_class", "auto_map", "model_max_length", "tokenizer_file", "name_or_path"}
)


def unflatten_key(key: str) -> str:
    """ComfyUI-flat name in the packed file -> `Gemma4UnifiedForConditionalGeneration` state-dict name."""
    if key.startswith(("model.layers.", "model.embed_tokens.", "model.norm.")):
        return "model.language_model." + key.removeprefix("model.")
    if key.startswith("vision_model."):
        return "model.embed_vision." + key.removeprefix("vision_model.")
    if key.startswith("multi_modal_projector."):
        return "model.embed_vision.multimodal_embedder." + key.removeprefix("multi_modal_projector.")
    if key.startswith("audio_projector."):
        return "model.embed_audio." + key.removeprefix("audio_projector.")
    # Packs that flattened only the language model keep the Hugging Face tower names.
    if key.startswith("model.vision_embedder."):
        return "model.embed_vision." + key.removeprefix("model.vision_embedder.")
    if key.startswith("model.embed_vision.embedding_projection."):
        return "model.embed_vision.multimodal_embedder." + key.removeprefix("model.embed_vision.")
    return key


@dataclass
class PackedGemma4:
    """What the packed file holds: the Gemma encoder, the LTX text projection and the version stamp."""

    encoder: TextEncoder
    projection: dict[str, torch.Tensor] = field(repr=False)
    gemma_version: str | None
    config: dict = field(repr=False)


def read_gemma_config(checkpoint: SafetensorsFile) -> dict:
    raw = checkpoint.metadata.get(GEMMA_CONFIG_KEY)
    if raw is None:
        raise CheckpointError(
            f"has no '{GEMMA_CONFIG_KEY}' metadata, so it is not an LTX-2.5 packed text encoder "
            "(expected text_encoders/gemma4-*-with-proj-*.safetensors from the LTX-2.5 release)",
            path=checkpoint.path,
            component="text_encoder",
        )
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CheckpointError(
            f"has '{GEMMA_CONFIG_KEY}' metadata that is not valid JSON ({exc})",
            path=checkpoint.path,
            component="text_encoder",
        ) from exc
    if not isinstance(config, dict):
        raise CheckpointError(
            f"has '{GEMMA_CONFIG_KEY}' metadata that is not a JSON object",
            path=checkpoint.path,
            component="text_encoder",
        )
    model_type = config.get("model_type")
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise CheckpointError(
            f"holds a '{model_type}' text encoder; LTX-2.5 needs Gemma 4 "
            f"({', '.join(SUPPORTED_MODEL_TYPES)})",
            path=checkpoint.path,
            component="text_encoder",
        )
    return config


def _bytes(tensor: torch.Tensor) -> bytes:
    return tensor.to(torch.uint8).numpy().tobytes()


def build_tokenizer(tokenizer_json: bytes, tokenizer_config: dict, max_length: int = MAX_SEQUENCE_LENGTH):
    """A fast tokenizer from the packed bytes that always starts with `<bos>` and pads on the left.

    Gemma 4's tokenizer does not emit `<bos>`; ltx-core prepends it. A `<bos> $A` post-processor does the
    same for every caller of the tokenizer (the diffusers pipelines included).
    """
    from tokenizers import Tokenizer
    from tokenizers.processors import TemplateProcessing
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer.from_buffer(tokenizer_json)
    kwargs = {k: v for k, v in tokenizer_config.items() if k not in _TOKENIZER_CONFIG_SKIP}
    kwargs.pop("add_bos_token", None)
    kwargs.pop("add_eos_token", None)
    bos = kwargs.get("bos_token", "<bos>")
    bos = bos.get("content") if isinstance(bos, dict) else bos
    bos_id = backend.token_to_id(bos)
    if bos_id is None:
        raise ValueError(f"the tokenizer has no '{bos}' token")
    backend.post_processor = TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A $B", special_tokens=[(bos, bos_id)]
    )
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, model_max_length=max_length, **kwargs)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_packed_gemma4(path: str | Path, dtype: torch.dtype = torch.float32) -> PackedGemma4:
    """Build `Gemma4UnifiedForConditionalGeneration` + tokenizer + LTX projection from the packed file."""
    from accelerate import init_empty_weights
    from transformers import Gemma4UnifiedConfig, Gemma4UnifiedForConditionalGeneration

    checkpoint = SafetensorsFile.open(path, component="text_encoder")
    config_dict = read_gemma_config(checkpoint)
    keys = checkpoint.keys()
    if TOKENIZER_KEY not in keys:
        raise CheckpointError(
            f"has no '{TOKENIZER_KEY}' tensor (the packed tokenizer)",
            path=checkpoint.path,
            component="text_encoder",
        )
    asset_keys = [k for k in keys if k.startswith(ASSET_PREFIX)]
    projection_keys = [k for k in keys if k.startswith(PROJECTION_PREFIX)]
    if not projection_keys:
        raise CheckpointError(
            "has no text_embedding_projection.* weights (the LTX-2.5 text projection lives in this file)",
            path=checkpoint.path,
            component="text_encoder",
        )
    weight_keys = [k for k in keys if k not in asset_keys and k != TOKENIZER_KEY and k not in projection_keys]

    raw = checkpoint.load([TOKENIZER_KEY, *asset_keys])
    assets = {k.removeprefix(ASSET_PREFIX): _bytes(v) for k, v in raw.items() if k != TOKENIZER_KEY}
    try:
        tokenizer_config = json.loads(assets.get("tokenizer_config.json", b"{}"))
        tokenizer = build_tokenizer(_bytes(raw[TOKENIZER_KEY]), tokenizer_config)
    except Exception as exc:  # tokenizers / transformers raise many types for bad bytes
        raise CheckpointError(
            f"has a packed tokenizer that cannot be built ({exc})",
            path=checkpoint.path,
            component="text_encoder",
        ) from exc

    try:
        config = Gemma4UnifiedConfig.from_dict(dict(config_dict))
        with init_empty_weights():
            model = Gemma4UnifiedForConditionalGeneration(config)
    # transformers' configs validate through huggingface_hub's strict dataclasses, whose errors derive from
    # Exception only; any failure here means the metadata does not describe a model we can build.
    except Exception as exc:
        raise CheckpointError(
            f"has a '{GEMMA_CONFIG_KEY}' that does not describe a valid Gemma 4 model ({exc})",
            path=checkpoint.path,
            component="text_encoder",
        ) from exc
    state = {unflatten_key(k): v for k, v in checkpoint.load(weight_keys, dtype=dtype).items()}
    expected = model.state_dict()
    tied = {"lm_head.weight"} if getattr(config, "tie_word_embeddings", True) else set()
    missing = sorted(set(expected) - set(state) - tied)
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"does not match its gemma_config: {len(missing)} missing (e.g. {missing[:3]}), "
            f"{len(unexpected)} unexpected (e.g. {unexpected[:3]}) weights",
            path=checkpoint.path,
            component="text_encoder",
        )
    for key, tensor in state.items():
        if tuple(expected[key].shape) != tuple(tensor.shape):
            raise CheckpointError(
                f"weight '{key}' has shape {tuple(tensor.shape)} but gemma_config needs "
                f"{tuple(expected[key].shape)}",
                path=checkpoint.path,
                component="text_encoder",
            )
    model.load_state_dict(state, strict=False, assign=True)
    if tied:
        model.tie_weights()
    # Non-persistent buffers (RoPE frequencies, embed scale) were built on CPU in float32; keep them so.
    model = model.eval().requires_grad_(False)
    vocab = config.text_config.vocab_size
    probe = tokenizer("probe").input_ids
    if max(probe) >= vocab:
        raise CheckpointError(
            f"has a tokenizer producing ids beyond the model's vocabulary ({max(probe)} >= {vocab})",
            path=checkpoint.path,
            component="text_encoder",
        )
    projection = checkpoint.load(projection_keys, dtype=dtype)
    return PackedGemma4(
        encoder=TextEncoder(model, tokenizer, str(checkpoint.path)),
        projection=projection,
        gemma_version=config_dict.get("gemma_version"),
        config=config_dict,
    )


def check_gemma_version(
    expected: str | None, actual: str | None, *, transformer: Path, encoder: Path
) -> None:
    """Refuse a transformer trained with another `gemma_version` than the encoder's, as ltx-core does."""
    if expected is None:
        return
    if expected != actual:
        raise CheckpointError(
            f"was trained with text encoder gemma_version '{expected}', but {encoder.name} is "
            f"'{actual}'. Use the text encoder from the same LTX release as the transformer.",
            path=transformer,
            component="text_encoder",
        )
