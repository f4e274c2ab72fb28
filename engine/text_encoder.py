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
