"""What a user pointed at: version, variant and companion files, without loading any weights.

`describe_checkpoint(path)` reads only safetensors headers, config files and folder listings, so the CLI and
the studio's settings can say at once "LTX-2.3 dev, Gemma 3 root OK, spatial upscaler x2 found, no LoRAs" and
name every companion file that is missing, before minutes are spent loading.

Companions of a single file (2.0 / 2.3) are looked for beside it, as Lightricks' download instructions place
them: the Gemma root folder (`gemma-3-*`), the spatial upscaler and any LoRAs; a Gemma root passed explicitly
(`--text-encoder`) wins.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from engine.checkpoint import CheckpointLayout, SafetensorsFile, detect_layout, read_official_config
from engine.errors import CheckpointError

# What Lightricks calls each companion in its release notes (the names a user searches for).
GEMMA_RELEASE = "google/gemma-3-12b-it-qat-q4_0-unquantized"
UPSCALER_NAMES = {
    "2.0": "ltx-2-spatial-upscaler-x2-1.0.safetensors",
    "2.3": "ltx-2.3-spatial-upscaler-x2-1.1.safetensors",
    "2.5": "latent_upscale_models/ltx-2.5-latent-spatial-upscaler-x2-bf16-1.0.safetensors",
}
DISTILLED_LORA_NAMES = {
    "2.0": "ltx-2-19b-distilled-lora-384.safetensors",
    "2.3": "ltx-2.3-22b-distilled-lora-384-1.1.safetensors",
    "2.5": "loras/ltx-2.5-22b-distilled-lora-*.safetensors",
}


@dataclass(frozen=True)
class MissingCompanion:
    """A file or folder the model needs (or a recipe wants) that was not found."""

    role: str  # "text encoder", "spatial upscaler", "distilled LoRA", "transformer", ...
    expected: str  # the file or folder to get, as the release names it
    required: bool  # False: only some recipes need it
    detail: str = ""

    def __str__(self) -> str:
        need = "needed" if self.required else "optional"
        extra = f" ({self.detail})" if self.detail else ""
        return f"{self.role}: {self.expected} [{need}]{extra}"


@dataclass(frozen=True)
class CheckpointReport:
    """What `describe_checkpoint` found."""

    path: Path
    layout: CheckpointLayout
    version: str | None  # "2.0", "2.3", "2.5"; None when unknown
    variant: str | None  # "dev", "distilled"; None when the file does not say
    text_encoder: Path | None = None
    text_encoder_ok: bool = False
    text_encoder_problem: str = ""
    upscalers: tuple[Path, ...] = ()
    loras: tuple[Path, ...] = ()
    missing: tuple[MissingCompanion, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def ready(self) -> bool:
        """Everything needed to generate is present."""
        return not any(item.required for item in self.missing)

    @property
    def model_name(self) -> str:
        name = f"LTX-{self.version}" if self.version else "LTX-2 (version unknown)"
        return f"{name} {self.variant}" if self.variant else name

    def summary(self) -> str:
        """One line: "LTX-2.3 dev, Gemma 3 root OK, spatial upscaler x2 found, no LoRAs"."""
        parts = [self.model_name]
        gemma = "Gemma 4 text encoder" if self.version == "2.5" else "Gemma 3 root"
        if self.text_encoder_ok:
            parts.append(f"{gemma} OK")
        elif self.text_encoder is not None:
            parts.append(f"{gemma} unusable")
        else:
            parts.append(f"{gemma} missing")
        parts.append("spatial upscaler x2 found" if self.upscalers else "no spatial upscaler")
        if not self.loras:
            parts.append("no LoRAs")
        else:
            parts.append(f"{len(self.loras)} LoRA{'s' if len(self.loras) > 1 else ''} found")
        return ", ".join(parts)

    def lines(self) -> list[str]:
        """The summary, then one line per problem or missing companion (CLI, settings dialog)."""
        out = [self.summary()]
        if self.text_encoder_problem:
            out.append(f"text encoder: {self.text_encoder_problem}")
        out.extend(f"missing {item}" for item in self.missing)
        out.extend(self.notes)
        return out


def describe_checkpoint(path: str | Path, text_encoder: str | Path | None = None) -> CheckpointReport:
    """Describe a 2.0 / 2.3 single file, a diffusers folder or a 2.5 release folder (no weights read).

    Raises `CheckpointError` (naming the file) only when `path` itself is unusable; missing companions are
    reported, not raised.
    """
    path = Path(path).expanduser()
    layout = detect_layout(path)
    if layout is CheckpointLayout.RELEASE_FOLDER:
        return _describe_release_folder(path)
    if layout is CheckpointLayout.DIFFUSERS_FOLDER:
        return _describe_diffusers_folder(path, text_encoder)
    return _describe_single_file(path, layout, text_encoder)


# --- single files -------------------------------------------------------------------------------------------


def _variant(name: str) -> str | None:
    lowered = name.lower()
    if "distilled" in lowered:
        return "distilled"
    if "dev" in lowered:
        return "dev"
    return None


def _safetensors_in(folders: list[Path], *patterns: str) -> tuple[Path, ...]:
    found: dict[Path, None] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        for pattern in patterns:
            for item in sorted(folder.glob(pattern)):
                if item.is_file() and item.suffix == ".safetensors":
                    found[item] = None
    return tuple(found)


# A ComfyUI `models/` tree keeps each kind of file in its own sibling folder: a checkpoint in
# `checkpoints/` (or `diffusion_models/`) finds its upscalers, LoRAs and text encoder next door.
COMFY_CHECKPOINT_DIRS = ("checkpoints", "diffusion_models", "unet")


def companion_folders(folder: Path, kind: str) -> list[Path]:
    """Where a single-file checkpoint in `folder` may have its companions of `kind` ("latent_upscale_models",
    "loras" or "text_encoders"): the folder itself, its `kind` subfolder, and in a ComfyUI models tree the
    sibling `kind` folder."""
    folders = [folder, folder / kind]
    if folder.name.lower() in COMFY_CHECKPOINT_DIRS:
        folders.append(folder.parent / kind)
    return folders


def _gemma_candidates(folder: Path) -> list[Path]:
    found: list[Path] = []
    for where in companion_folders(folder, "text_encoders"):
        if where.is_dir():
            found += sorted(d for d in where.iterdir() if d.is_dir() and d.name.lower().startswith("gemma"))
    return found


def _gemma_text_config(root: Path) -> dict:
    config = json.loads((root / "config.json").read_text())
    if not isinstance(config, dict):
        raise ValueError("config.json is not an object")
    text = config.get("text_config", config)
    return text if isinstance(text, dict) else {}


def _check_gemma_root(root: Path, version: str, projection_shape: tuple[int, ...] | None) -> str:
    """Empty when `root` is a usable Gemma 3 root for this checkpoint, else what is wrong."""
    from engine.text_encoder import LTX23_ROOT_FILES

    if not root.is_dir():
        return f"{root} is not a folder"
    needed = LTX23_ROOT_FILES if version == "2.3" else ("config.json",)
    missing = [name for name in needed if not (root / name).is_file()]
    if version != "2.3" and not any((root / n).is_file() for n in ("tokenizer.json", "tokenizer.model")):
        missing.append("tokenizer.json or tokenizer.model")
    if not any(root.glob("*.safetensors")):
        missing.append("model-*.safetensors weights")
    if missing:
        return f"{root} lacks {', '.join(missing)}"
    try:
        text = _gemma_text_config(root)
        model_type = json.loads((root / "config.json").read_text()).get("model_type")
    except (OSError, ValueError, AttributeError) as exc:
        return f"{root / 'config.json'} is not a readable model config ({exc})"
    if model_type not in ("gemma3", "gemma3_text"):
        return f"{root} holds a '{model_type}' model; LTX-{version} needs Gemma 3 ({GEMMA_RELEASE})"
    if projection_shape is not None:
        hidden, layers = text.get("hidden_size"), text.get("num_hidden_layers")
        if (
            isinstance(hidden, int)
            and isinstance(layers, int)
            and hidden * (layers + 1) != projection_shape[-1]
        ):
            return (
                f"{root} is a Gemma 3 with {layers} layers of width {hidden}, but the checkpoint's text "
                f"projection reads {projection_shape[-1]} features; it needs the Gemma release it was "
                f"trained with ({GEMMA_RELEASE})"
            )
    return ""


def _projection_shape(checkpoint: SafetensorsFile) -> tuple[int, ...] | None:
    for key in (
        "text_embedding_projection.video_aggregate_embed.weight",
        "text_embedding_projection.aggregate_embed.weight",
    ):
        if key in checkpoint.tensors:
            return checkpoint.shape(key)
    return None


def _describe_single_file(
    path: Path, layout: CheckpointLayout, text_encoder: str | Path | None
) -> CheckpointReport:
    checkpoint = SafetensorsFile.open(path)
    read_official_config(checkpoint)  # a single file without its config cannot be loaded: say so now
    version = "2.3" if layout is CheckpointLayout.LTX23_SINGLE_FILE else "2.0"
    folder = path.parent
    missing: list[MissingCompanion] = []
    notes: list[str] = []

    roots = [Path(text_encoder).expanduser()] if text_encoder else _gemma_candidates(folder)
    root, problem = None, ""
    for candidate in roots:
        problem = _check_gemma_root(candidate, version, _projection_shape(checkpoint))
        root = candidate
        if not problem:
            break
    if root is None:
        missing.append(
            MissingCompanion(
                "text encoder",
                f"the Gemma 3 root folder ({GEMMA_RELEASE}), beside the checkpoint or via --text-encoder",
                True,
                "config.json, tokenizer.json, tokenizer_config.json, processor_config.json, "
                "model-*.safetensors weights"
                if version == "2.3"
                else "config.json, tokenizer, model-*.safetensors",
            )
        )

    prefix = "ltx-2.3" if version == "2.3" else "ltx-2-"
    upscalers = _safetensors_in(
        companion_folders(folder, "latent_upscale_models"), "*spatial-upscaler*x2*", "*upscaler*"
    )
    matching = tuple(p for p in upscalers if p.name.lower().startswith(prefix))
    if upscalers and not matching:
        notes.append(
            f"the spatial upscaler found ({upscalers[0].name}) is not named for LTX-{version}; "
            f"the two-stage recipe expects {UPSCALER_NAMES[version]}"
        )
    if not upscalers:
        missing.append(
            MissingCompanion(
                "spatial upscaler", UPSCALER_NAMES[version], False, "the two-stage (upscaled) recipes need it"
            )
        )
    loras = tuple(
        p
        for p in _safetensors_in(companion_folders(folder, "loras"), "*lora*")
        if p.resolve() != path.resolve()
    )
    variant = _variant(path.name)
    if variant == "dev" and not any("distilled" in p.name.lower() for p in loras):
        missing.append(
            MissingCompanion(
                "distilled LoRA",
                DISTILLED_LORA_NAMES[version],
                False,
                "the fast distilled recipe with the dev model uses it",
            )
        )
    return CheckpointReport(
        path=path,
        layout=layout,
        version=version,
        variant=variant,
        text_encoder=root,
        text_encoder_ok=root is not None and not problem,
        text_encoder_problem=problem,
        upscalers=matching or upscalers,
        loras=loras,
        missing=tuple(missing),
        notes=tuple(notes),
    )


# --- folders ------------------------------------------------------------------------------------------------


def _describe_diffusers_folder(path: Path, text_encoder: str | Path | None) -> CheckpointReport:
    from engine import models

    missing = [
        MissingCompanion(name, f"{name}/ (config.json + *.safetensors)", True)
        for name in ("transformer", "connectors", "vae", "audio_vae", "vocoder")
        if not (path / name / "config.json").is_file()
    ]
    version = None
    try:
        config = json.loads((path / "transformer" / "config.json").read_text())
        if isinstance(config, dict):
            gated = config.get("gated_attn") or config.get("cross_attn_mod")
            spec = (
                models.LTX_2_5
                if config.get("ff_bias") is False
                else models.LTX_2_3
                if gated
                else models.LTX_2_0
            )
            version = spec.version
    except (OSError, ValueError):
        pass
    root = Path(text_encoder).expanduser() if text_encoder else path / "text_encoder"
    ok = (root / "config.json").is_file() and any(root.glob("*.safetensors"))
    if not ok:
        missing.append(
            MissingCompanion("text encoder", f"{root} (a Gemma root or text_encoder/ folder)", True)
        )
    upscalers = tuple(p for p in (path / "latent_upsampler",) if (p / "config.json").is_file())
    loras = _safetensors_in([path / "loras"], "*.safetensors")
    return CheckpointReport(
        path=path,
        layout=CheckpointLayout.DIFFUSERS_FOLDER,
        version=version,
        variant=_variant(path.name),
        text_encoder=root if root.is_dir() else None,
        text_encoder_ok=ok,
        upscalers=upscalers,
        loras=loras,
        missing=tuple(missing),
    )


# The files of an LTX-2.5 release folder, by role: (folder, patterns, the release's file name, required).
_RELEASE_ROLES = (
    (
        "transformer",
        "diffusion_models",
        ("*transformer*",),
        "ltx-2.5-22b-dev-transformer-bf16.safetensors",
        True,
    ),
    (
        "text encoder",
        "text_encoders",
        ("*gemma*", "*"),
        "gemma4-12b-with-proj-ltx-2.5-bf16.safetensors",
        True,
    ),
    ("conv video VAE", "vae", ("*video-vae-conv*",), "ltx-2.5-video-vae-conv-bf16.safetensors", True),
    ("audio VAE + vocoder", "vae", ("*audio-vae*",), "ltx-2.5-audio-vae-bf16.safetensors", True),
    (
        "diffusion video decoder",
        "vae",
        ("*video-vae-bf16*", "*video-vae-*"),
        "ltx-2.5-video-vae-bf16.safetensors",
        False,
    ),
    ("duration head", "model_patches", ("*duration-head*",), "ltx-2.5-duration-head-bf16.safetensors", False),
)


def _describe_release_folder(path: Path) -> CheckpointReport:
    found: dict[str, tuple[Path, ...]] = {}
    missing = []
    for role, sub, patterns, expected, required in _RELEASE_ROLES:
        files = _safetensors_in([path / sub], *patterns)
        if role == "diffusion video decoder":
            files = tuple(p for p in files if "conv" not in p.name)
        found[role] = files
        if not files:
            missing.append(MissingCompanion(role, f"{sub}/{expected}", required))
    transformer = found["transformer"][0] if found["transformer"] else None
    version, notes = "2.5", []
    if transformer is not None:
        try:
            metadata = SafetensorsFile.open(transformer).metadata
            version = _short_version(metadata.get("model_version")) or version
        except CheckpointError as exc:
            notes.append(str(exc))
    text = found["text encoder"][0] if found["text encoder"] else None
    problem = ""
    if text is not None:
        try:
            if "gemma_config" not in SafetensorsFile.open(text).metadata:
                problem = f"{text.name} is not a packed Gemma 4 text encoder (no 'gemma_config' metadata)"
            elif transformer is not None:
                problem = _gemma_version_problem(transformer, text)
        except CheckpointError as exc:
            problem = str(exc)
    upscalers = _safetensors_in([path / "latent_upscale_models"], "*.safetensors")
    if not upscalers:
        missing.append(MissingCompanion("spatial upscaler", UPSCALER_NAMES["2.5"], False))
    return CheckpointReport(
        path=path,
        layout=CheckpointLayout.RELEASE_FOLDER,
        version=version,
        variant=_variant(transformer.name) if transformer else None,
        text_encoder=text,
        text_encoder_ok=text is not None and not problem,
        text_encoder_problem=problem,
        upscalers=upscalers,
        loras=_safetensors_in([path / "loras"], "*.safetensors"),
        missing=tuple(missing),
        notes=tuple(notes),
    )


def _gemma_version_problem(transformer: Path, text: Path) -> str:
    """'' when the text encoder is the Gemma fine-tune the transformer was trained with (ltx-core's check)."""
    from engine.gemma4_encoder import read_gemma_config
    from engine.ltx25_layout import gemma_source_version

    expected = gemma_source_version(SafetensorsFile.open(transformer))
    actual = read_gemma_config(SafetensorsFile.open(text)).get("gemma_version")
    if expected is None or expected == actual:
        return ""
    return (
        f"{text.name} is gemma_version '{actual}' but {transformer.name} was trained with '{expected}'; "
        "use the text encoder of the same LTX release"
    )


def _short_version(text: object) -> str | None:
    from engine.ltx23_layout import parse_model_version

    parsed = parse_model_version(text)
    return ".".join(str(p) for p in parsed[:2]) if parsed else None
