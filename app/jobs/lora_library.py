"""The user's LoRA library: the .safetensors LoRAs in a chosen folder (and those beside the model), each with
a name and trigger words read from the file's safetensors metadata where the trainer wrote them. Qt-free;
reads file headers only (never the weights)."""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

# Where trainers put a LoRA's name and trigger words (ltx-trainer / kohya / ComfyUI / modelspec).
NAME_KEYS = ("modelspec.title", "ss_output_name", "name", "title")
TRIGGER_KEYS = ("trigger_words", "trigger_word", "modelspec.trigger_phrase", "activation_text", "trigger")
TAG_FREQUENCY_KEY = "ss_tag_frequency"


@dataclass(frozen=True)
class LoraEntry:
    path: Path
    name: str
    trigger_words: tuple[str, ...] = ()
    problem: str = ""  # why the file cannot be used (shown, not hidden)

    @property
    def usable(self) -> bool:
        return not self.problem


def read_entry(path: str | Path) -> LoraEntry:
    """Name and trigger words of one LoRA file, from its header; a file that is not a LoRA says why."""
    from safetensors import safe_open

    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            keys = list(handle.keys())
    except Exception as exc:  # noqa: BLE001 -- any unreadable header is reported on the entry
        return LoraEntry(path, path.stem, (), f"not a readable .safetensors file ({exc})")
    if not any(key.endswith((".lora_A.weight", ".lora_B.weight")) for key in keys):
        return LoraEntry(path, path.stem, (), "holds no LoRA factors (lora_A / lora_B)")
    name = next((str(metadata[k]).strip() for k in NAME_KEYS if str(metadata.get(k, "")).strip()), path.stem)
    return LoraEntry(path, name, trigger_words(metadata))


def trigger_words(metadata: dict[str, str]) -> tuple[str, ...]:
    for key in TRIGGER_KEYS:
        value = metadata.get(key)
        if not value:
            continue
        try:
            parsed = json.loads(value)
        except (TypeError, ValueError):
            parsed = value
        words = parsed if isinstance(parsed, list) else str(parsed).split(",")
        out = tuple(dict.fromkeys(str(w).strip() for w in words if str(w).strip()))
        if out:
            return out
    if metadata.get(TAG_FREQUENCY_KEY):  # kohya: {folder: {tag: count}}, the most frequent tags
        try:
            frequencies = json.loads(metadata[TAG_FREQUENCY_KEY])
            counts: Counter = Counter()
            for tags in frequencies.values():
                counts.update({str(tag).strip(): int(n) for tag, n in tags.items()})
            return tuple(tag for tag, _ in counts.most_common(3) if tag)
        except (TypeError, ValueError, AttributeError):
            return ()
    return ()


def scan(folders: list[str | Path]) -> list[LoraEntry]:
    """Every .safetensors in the folders and their subfolders (one level), sorted by name, each file once."""
    seen: set[Path] = set()
    entries = []
    for folder in folders:
        if not folder:
            continue
        root = Path(folder).expanduser()
        if not root.is_dir():
            continue
        for path in sorted([*root.glob("*.safetensors"), *root.glob("*/*.safetensors")]):
            resolved = path.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            entries.append(read_entry(path))
    return sorted(entries, key=lambda e: e.name.lower())


def library_for(settings) -> list[LoraEntry]:
    """The LoRA library of the studio's settings: the chosen folder's files and the LoRAs the checkpoint
    report finds beside the model (the release's distilled LoRA), each file once, sorted by name."""
    entries = scan([settings.lora_folder] if getattr(settings, "lora_folder", "") else [])
    seen = {entry.path.resolve() for entry in entries}
    if getattr(settings, "checkpoint", "").strip():
        try:
            beside = [Path(p) for p in settings.report().loras]
        except Exception as exc:  # noqa: BLE001 -- an unreadable checkpoint is reported elsewhere
            log.debug("no LoRAs beside the checkpoint: %s", exc)
            beside = []
        entries += [read_entry(p) for p in beside if p.resolve() not in seen]
    return sorted(entries, key=lambda e: e.name.lower())
