"""The Gemma-3 text encoder, loaded from a local Hugging Face folder and never from a hub."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from engine.checkpoint import refuse_pickle
from engine.errors import TextEncoderError

log = logging.getLogger(__name__)

REQUIRED_FILES = ("config.json",)
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model")


@dataclass
class TextEncoder:
    model: torch.nn.Module
    tokenizer: object
    source: str

    @property
    def hidden_size(self) -> int:
        config = self.model.config
        return getattr(config, "text_config", config).hidden_size

    @property
    def num_hidden_layers(self) -> int:
        config = self.model.config
        return getattr(config, "text_config", config).num_hidden_layers

    @property
    def vocab_size(self) -> int:
        config = self.model.config
        return getattr(config, "text_config", config).vocab_size


def check_root(root: str | Path) -> Path:
    """Fail early, with what is missing, when `root` is not a usable Gemma folder."""
    if root is None:
        raise TextEncoderError(
            "no text encoder given: LTX-2 needs a local Gemma-3 folder (config.json, *.safetensors, "
            "tokenizer); pass --text-encoder DIR (see README, 'Model weights')"
        )
    root = Path(root)
    if not root.is_dir():
        raise TextEncoderError(f"text encoder folder {root} does not exist")
    missing = [name for name in REQUIRED_FILES if not (root / name).is_file()]
    if not any((root / name).is_file() for name in TOKENIZER_FILES):
        missing.append("tokenizer.json or tokenizer.model")
    weights = sorted(root.glob("*.safetensors"))
    if not weights:
        pickles = [p for p in root.iterdir() if p.suffix in (".bin", ".pt", ".pth", ".ckpt")]
        if pickles:
            refuse_pickle(pickles[0])
        missing.append("*.safetensors weights")
    if missing:
        raise TextEncoderError(f"text encoder folder {root} is incomplete: missing {', '.join(missing)}")
    return root


def _special_token_overrides(root: Path) -> dict[str, str]:
    """Map special tokens the config names but the sentencepiece model lacks onto the model's own pieces.

    Some exported tokenizers name `<bos>`/`<eos>` while their sentencepiece model uses `<s>`/`</s>`; left
    alone, transformers appends new ids past the encoder's vocabulary and the embedding lookup fails.
    """
    spm_path = root / "tokenizer.model"
    config_path = root / "tokenizer_config.json"
    if (root / "tokenizer.json").is_file() or not spm_path.is_file() or not config_path.is_file():
        return {}
    import sentencepiece

    processor = sentencepiece.SentencePieceProcessor(model_file=str(spm_path))
    pieces = {processor.id_to_piece(i) for i in range(processor.get_piece_size())}
    config = json.loads(config_path.read_text())
    roles = {
        "bos_token": processor.bos_id(),
        "eos_token": processor.eos_id(),
        "unk_token": processor.unk_id(),
        "pad_token": processor.pad_id(),
    }
    overrides = {}
    for role, piece_id in roles.items():
        named = config.get(role)
        if isinstance(named, str) and named not in pieces and piece_id >= 0:
            overrides[role] = processor.id_to_piece(piece_id)
    if overrides:
        log.info("tokenizer at %s: using the sentencepiece model's own special tokens %s", root, overrides)
    return overrides


def load_tokenizer(root: Path):
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(
            str(root), local_files_only=True, **_special_token_overrides(root)
        )
    except Exception as exc:  # transformers raises many types for a bad tokenizer folder
        raise TextEncoderError(f"the tokenizer in {root} could not be loaded ({exc})") from exc
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_text_encoder(root: str | Path, dtype: torch.dtype) -> TextEncoder:
    """Load a Gemma-3 root in the Hugging Face layout (sharded safetensors + index are fine)."""
    from transformers import AutoConfig, Gemma3ForConditionalGeneration

    root = check_root(root)
    try:
        config = AutoConfig.from_pretrained(str(root), local_files_only=True)
    except Exception as exc:
        raise TextEncoderError(f"config.json in {root} is not a valid model config ({exc})") from exc
    if getattr(config, "model_type", None) not in ("gemma3", "gemma3_text"):
        raise TextEncoderError(f"{root} holds a '{config.model_type}' model; LTX-2 needs Gemma-3")
    try:
        if config.model_type == "gemma3":
            model = Gemma3ForConditionalGeneration.from_pretrained(
                str(root), local_files_only=True, dtype=dtype, use_safetensors=True
            )
        else:
            from transformers import Gemma3ForCausalLM

            model = Gemma3ForCausalLM.from_pretrained(
                str(root), local_files_only=True, dtype=dtype, use_safetensors=True
            )
    except Exception as exc:
        raise TextEncoderError(f"the Gemma weights in {root} could not be loaded ({exc})") from exc
    tokenizer = load_tokenizer(root)
    encoder = TextEncoder(model.eval().requires_grad_(False), tokenizer, str(root))
    probe = tokenizer("probe", add_special_tokens=True).input_ids
    if max(probe) >= encoder.vocab_size:
        raise TextEncoderError(
            f"the tokenizer in {root} produces ids beyond the model's vocabulary "
            f"({max(probe)} >= {encoder.vocab_size}); tokenizer and weights do not match"
        )
    return encoder


def text_encoder_identity(root: str | Path) -> str:
    """Identity of a Gemma folder's weights (headers, sizes, times), for the quantization cache key."""
    from engine.checkpoint import SafetensorsFile, file_identity

    files = [
        SafetensorsFile.open(path, component="text_encoder")
        for path in sorted(Path(root).glob("*.safetensors"))
    ]
    return "gemma-" + file_identity(files)


def text_encoder_skeleton(root: str | Path, dtype: torch.dtype) -> torch.nn.Module:
    """The Gemma model of `root`'s config with no weights allocated (filled from the quantization cache)."""
    from accelerate import init_empty_weights
    from transformers import AutoConfig, Gemma3ForCausalLM, Gemma3ForConditionalGeneration

    config = AutoConfig.from_pretrained(str(check_root(root)), local_files_only=True)
    cls = Gemma3ForConditionalGeneration if config.model_type == "gemma3" else Gemma3ForCausalLM
    with init_empty_weights():
        model = cls._from_config(config, dtype=dtype)
    return model.eval().requires_grad_(False)


# --- LTX-2.3: Lightricks' tokenisation and the per-modality text projection ---------------------------------

# ltx-core 1.2.0 builds its tokenizer and processor from these files of the Gemma root (the 2.3 release notes
# name the same set), and pads every prompt to 1024 tokens.
LTX23_ROOT_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "processor_config.json")
LTX23_MAX_TOKENS = 1024


@dataclass
class PromptEmbeddings:
    """One prompt through the 2.3 text path: the projected features and the connectors' contexts."""

    video_features: torch.Tensor  # [B, T, video inner dim], before the connectors
    audio_features: torch.Tensor  # [B, T, audio inner dim]
    video_context: torch.Tensor  # the transformer's video cross-attention context
    audio_context: torch.Tensor
    context_mask: torch.Tensor  # [B, T], all ones when the connectors replace padding by registers


def missing_ltx23_root_files(root: str | Path) -> list[str]:
    """What a Gemma root lacks for LTX-2.3 (empty when complete); never raises."""
    root = Path(root)
    if not root.is_dir():
        return [str(root)]
    missing = [name for name in LTX23_ROOT_FILES if not (root / name).is_file()]
    if not any(root.glob("*.safetensors")):
        missing.append("*.safetensors weights")
    return missing


def tokenize_ltx(
    tokenizer, prompt: str, max_length: int = LTX23_MAX_TOKENS
) -> tuple[torch.Tensor, torch.Tensor]:
    """ltx-core's `LTXGemmaTokenizer`: strip, truncate, ensure a leading <bos>, left-pad to `max_length`."""
    bos = tokenizer.bos_token_id
    if bos is None:
        raise TextEncoderError("the Gemma tokenizer has no <bos> token; LTX-2 prompts must start with one")
    ids = tokenizer(prompt.strip(), padding=False, truncation=True, max_length=max_length).input_ids
    if not ids or ids[0] != bos:
        ids = [bos, *ids][:max_length]
    padding_side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        padded = tokenizer.pad(
            {"input_ids": [ids]},
            padding="max_length",
            max_length=max_length,
            return_tensors="pt",
            return_attention_mask=True,
        )
    finally:
        tokenizer.padding_side = padding_side
    return padded.input_ids, padded.attention_mask


def gemma_hidden_states(
    encoder: TextEncoder, input_ids: torch.Tensor, attention_mask: torch.Tensor
) -> torch.Tensor:
    """Every Gemma hidden state (embeddings + each layer) as [L + 1, B, T, hidden], as ltx-core has them."""
    model = encoder.model
    inner = getattr(model, "model", model)  # skip the LM head, as the reference does
    device = next(model.parameters()).device
    with torch.inference_mode():
        out = inner(
            input_ids=input_ids.to(device),
            attention_mask=attention_mask.to(device),
            output_hidden_states=True,
        )
    return torch.stack(out.hidden_states)


def per_modality_features(
    connectors: torch.nn.Module, hidden_states: torch.Tensor, attention_mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """ltx-core's FeatureExtractorV2 with the connectors' 2.3 projections.

    Each hidden state is RMS-normed per token, all are concatenated (hidden-major, layer-minor), padding is
    zeroed, and the result is scaled by sqrt(out_dim / hidden) before each modality's projection.
    """
    stacked = hidden_states.permute(1, 2, 3, 0)  # [B, T, hidden, L + 1]
    batch, tokens, hidden, layers = stacked.shape
    variance = stacked.pow(2).mean(dim=2, keepdim=True)
    normed = (stacked * torch.rsqrt(variance + 1e-6)).reshape(batch, tokens, hidden * layers)
    keep = attention_mask.to(normed.device).bool().unsqueeze(-1)
    normed = torch.where(keep, normed, torch.zeros_like(normed))
    features = []
    for projection in (connectors.video_text_proj_in, connectors.audio_text_proj_in):
        scale = (projection.out_features / hidden) ** 0.5
        weight = projection.weight
        with torch.inference_mode():
            features.append(projection((normed * scale).to(weight.dtype)))
    return features[0], features[1]


def encode_prompt_ltx23(
    encoder: TextEncoder,
    connectors: torch.nn.Module,
    prompt: str,
    max_length: int = LTX23_MAX_TOKENS,
) -> PromptEmbeddings:
    """The whole 2.3 text path for one prompt: tokens -> Gemma -> per-modality features -> connectors."""
    if not getattr(connectors.config, "per_modality_projections", False):
        raise TextEncoderError("these connectors have no per-modality text projection (not an LTX-2.3 model)")
    expected = connectors.config.caption_channels * connectors.config.text_proj_in_factor
    found = encoder.hidden_size * (encoder.num_hidden_layers + 1)
    if expected != found:
        raise TextEncoderError(
            f"the Gemma model in {encoder.source} has {encoder.num_hidden_layers} layers of width "
            f"{encoder.hidden_size}, but the checkpoint's text projection expects "
            f"{connectors.config.text_proj_in_factor - 1} layers of width "
            f"{connectors.config.caption_channels}; "
            "use the Gemma 3 root that belongs to this checkpoint"
        )
    input_ids, attention_mask = tokenize_ltx(encoder.tokenizer, prompt, max_length)
    hidden = gemma_hidden_states(encoder, input_ids, attention_mask)
    weight = next(connectors.parameters())
    hidden = hidden.to(device=weight.device, dtype=weight.dtype)
    video_features, audio_features = per_modality_features(connectors, hidden, attention_mask)
    with torch.inference_mode():
        video, audio, mask = connectors(hidden.permute(1, 2, 3, 0), attention_mask.to(weight.device))
    return PromptEmbeddings(video_features, audio_features, video, audio, mask)
