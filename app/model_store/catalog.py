"""What each LTX version needs, as data: the Hugging Face repository, the files (glob patterns matched
against the repository's listing, so any release in the official layout fits), their role, whether they are
required, and which quality presets want them.

Where a file goes in a models folder: the studio's own layout keeps each version together in one folder as
Lightricks' instructions place it (``LTX-2.3/ltx-2.3-22b-dev.safetensors`` with the Gemma root and the
upscalers beside it; ``LTX-2.5/`` keeps the release's sub-folders), so ``engine.checkpoint_report`` finds
the companions. A ComfyUI ``models/`` tree is read (and written) in its own sub-folders instead
(``checkpoints/``, ``text_encoders/``, ``loras/``, ``latent_upscale_models/``, ...).

Checked against public sources (2026-12-07; no internet here, so never against the hub's own listing): every
repository id and every pattern below matches the file names Lightricks publishes in github.com/Lightricks/
LTX-2 (README.md and MODELS-LTX-2.3.md at commit 400fd31, 2026-08-16; LTX-2.0's names from README.md at
9ce438b, 2026-01-05). tests/app/test_model_store_catalog.py holds those names and checks each pattern against
them.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

# The quality presets of app.jobs.presets and what each recipe needs beyond the model and text encoder.
PRESET_NEEDS = {
    "Draft": ("distilled",),
    "Standard": ("distilled", "upscaler"),
    "High": ("distilled", "upscaler"),
    "Production": ("upscaler", "distilled"),
    "Full": (),
}


@dataclass(frozen=True)
class CatalogFile:
    """One file (or, with ``folder=True``, a whole repository as a folder) a version uses."""

    key: str  # stable id: "ltx23-dev", "gemma3", ...
    role: str  # what the user reads: "transformer (dev)", "text encoder", ...
    repo: str  # Hugging Face repository id
    pattern: str  # glob in the repository ("ltx-2.3-*-dev.safetensors"); "*" with folder=True
    comfy_dir: str  # the ComfyUI models/ sub-folder it lives in
    required: bool = True
    provides: tuple[str, ...] = ()  # "model", "text encoder", "distilled", "upscaler"
    folder: bool = False  # the whole repository becomes one folder (a Gemma root)
    folder_name: str = ""  # that folder's name (the repository's last part by default)
    gated: bool = False  # the user must accept its licence on the hub first

    @property
    def target_folder_name(self) -> str:
        return self.folder_name or self.repo.rsplit("/", 1)[-1]

    def matches(self, name: str) -> bool:
        """Whether a repository path (or a file name found on disk) is this entry's file."""
        return fnmatch.fnmatchcase(name, self.pattern) or fnmatch.fnmatchcase(
            name.rsplit("/", 1)[-1], self.pattern.rsplit("/", 1)[-1]
        )


@dataclass(frozen=True)
class VersionEntry:
    """An LTX version: its folder in the studio's layout and its files."""

    version: str  # "2.0", "2.3", "2.5"
    title: str
    folder: str  # the studio's own layout: <models>/<folder>/
    release_layout: bool  # True: the release's sub-folders are kept (2.5); False: one flat folder
    files: tuple[CatalogFile, ...]

    def needed_for(self, preset: str) -> tuple[CatalogFile, ...]:
        """The files preset ``preset`` needs: the required ones plus what its recipe adds."""
        wants = set(PRESET_NEEDS.get(preset, ())) | {"model", "text encoder"}
        chosen = [f for f in self.files if f.required]
        for need in sorted(wants - {"model", "text encoder"}):
            providers = [f for f in self.files if need in f.provides]
            if providers and not any(f in chosen for f in providers):
                chosen.append(providers[0])
        return tuple(chosen)


# Gemma 3 for LTX-2.0 and 2.3: "Gemma Text Encoder (download all assets from the repository)" in
# Lightricks/LTX-2's MODELS-LTX-2.3.md and its 2026-01 README. Gated on the hub (Google's licence).
GEMMA3 = CatalogFile(
    "gemma3",
    "text encoder (Gemma 3)",
    "google/gemma-3-12b-it-qat-q4_0-unquantized",
    "*",
    "text_encoders",
    provides=("text encoder",),
    folder=True,
    gated=True,
)

CATALOG: tuple[VersionEntry, ...] = (
    # LTX-2.3 (Lightricks/LTX-2, MODELS-LTX-2.3.md): ltx-2.3-22b-dev.safetensors,
    # ltx-2.3-spatial-upscaler-x2-1.1.safetensors (1.0 until 2026-04),
    # ltx-2.3-22b-distilled-lora-384-1.1.safetensors (ltx-2.3-22b-distilled-lora-384.safetensors until
    # 2026-04): both generations match; newest() takes the later.
    VersionEntry(
        "2.3",
        "LTX-2.3",
        "LTX-2.3",
        False,
        (
            CatalogFile(
                "ltx23-dev",
                "model (dev)",
                "Lightricks/LTX-2.3",
                "ltx-2.3-*-dev.safetensors",
                "checkpoints",
                provides=("model",),
            ),
            GEMMA3,
            CatalogFile(
                "ltx23-upscaler-x2",
                "spatial upscaler x2",
                "Lightricks/LTX-2.3",
                "ltx-2.3-spatial-upscaler-x2-*.safetensors",
                "latent_upscale_models",
                required=False,
                provides=("upscaler",),
            ),
            CatalogFile(
                "ltx23-distilled-lora",
                "distilled LoRA",
                "Lightricks/LTX-2.3",
                "ltx-2.3-*-distilled-lora-*.safetensors",
                "loras",
                required=False,
                provides=("distilled",),
            ),
        ),
    ),
    # LTX-2.5 (Lightricks/LTX-2, README.md "Download the models"), all .safetensors:
    # diffusion_models/ltx-2.5-22b-dev-transformer-bf16, text_encoders/gemma4-12b-with-proj-ltx-2.5-bf16,
    # vae/ltx-2.5-video-vae-conv-bf16 (the convolutional decoder; vae/ltx-2.5-video-vae-bf16 is the diffusion
    # decoder), vae/ltx-2.5-audio-vae-bf16, latent_upscale_models/ltx-2.5-latent-spatial-upscaler-x2-bf16-1.0,
    # loras/ltx-2.5-22b-distilled-lora-450-bf16, model_patches/ltx-2.5-duration-head-bf16.
    VersionEntry(
        "2.5",
        "LTX-2.5",
        "LTX-2.5",
        True,
        (
            CatalogFile(
                "ltx25-transformer",
                "transformer (dev)",
                "Lightricks/LTX-2.5",
                "diffusion_models/ltx-2.5-*-dev-transformer-*.safetensors",
                "diffusion_models",
                provides=("model",),
            ),
            CatalogFile(
                "ltx25-text-encoder",
                "text encoder (Gemma 4 + projection)",
                "Lightricks/LTX-2.5",
                "text_encoders/gemma4-*-with-proj-ltx-2.5-*.safetensors",
                "text_encoders",
                provides=("text encoder",),
            ),
            CatalogFile(
                "ltx25-video-vae",
                "video decoder (conv)",
                "Lightricks/LTX-2.5",
                "vae/ltx-2.5-video-vae-conv-*.safetensors",
                "vae",
            ),
            CatalogFile(
                "ltx25-audio-vae",
                "audio VAE and vocoder",
                "Lightricks/LTX-2.5",
                "vae/ltx-2.5-audio-vae-*.safetensors",
                "vae",
            ),
            CatalogFile(
                "ltx25-upscaler-x2",
                "latent upscaler x2",
                "Lightricks/LTX-2.5",
                "latent_upscale_models/ltx-2.5-latent-spatial-upscaler-x2-*.safetensors",
                "latent_upscale_models",
                required=False,
                provides=("upscaler",),
            ),
            CatalogFile(
                "ltx25-distilled-lora",
                "distilled LoRA",
                "Lightricks/LTX-2.5",
                "loras/ltx-2.5-*-distilled-lora-*.safetensors",
                "loras",
                required=False,
                provides=("distilled",),
            ),
            CatalogFile(
                "ltx25-duration-head",
                "duration head",
                "Lightricks/LTX-2.5",
                "model_patches/ltx-2.5-duration-head-*.safetensors",
                "model_patches",
                required=False,
            ),
        ),
    ),
    # LTX-2.0 (Lightricks/LTX-2, README.md of 2026-01-05): ltx-2-19b-dev.safetensors,
    # ltx-2-spatial-upscaler-x2-1.0.safetensors, ltx-2-19b-distilled-lora-384.safetensors.
    VersionEntry(
        "2.0",
        "LTX-2",
        "LTX-2",
        False,
        (
            CatalogFile(
                "ltx2-dev",
                "model (dev)",
                "Lightricks/LTX-2",
                "ltx-2-*-dev.safetensors",
                "checkpoints",
                provides=("model",),
            ),
            GEMMA3,
            CatalogFile(
                "ltx2-upscaler-x2",
                "spatial upscaler x2",
                "Lightricks/LTX-2",
                "ltx-2-spatial-upscaler-x2-*.safetensors",
                "latent_upscale_models",
                required=False,
                provides=("upscaler",),
            ),
            CatalogFile(
                "ltx2-distilled-lora",
                "distilled LoRA",
                "Lightricks/LTX-2",
                "ltx-2-*-distilled-lora-*.safetensors",
                "loras",
                required=False,
                provides=("distilled",),
            ),
        ),
    ),
)


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name.rsplit("/", 1)[-1]))


def newest(names: list[str]) -> str:
    """The latest release among file names one pattern matches: Lightricks publishes a new release beside the
    old one with a version suffix (``...-x2-1.0`` then ``...-x2-1.1``; ``...-lora-384`` then
    ``...-lora-384-1.1``), so the name whose numbers compare highest is the current one (plain sorting picked
    the 1.0 upscaler)."""
    return max(names, key=lambda name: (_version_key(name), name))


def version(name: str, catalog: tuple[VersionEntry, ...] = CATALOG) -> VersionEntry:
    for entry in catalog:
        if entry.version == name:
            return entry
    known = ", ".join(e.version for e in catalog)
    raise KeyError(f"Unknown LTX version {name!r}; the model manager knows {known}.")
