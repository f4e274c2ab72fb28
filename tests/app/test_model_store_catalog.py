"""Issue 16: the model manager's catalog against the file names Lightricks publishes (no internet here, so
the names come from public sources, copied below with where each was read): every repository's listing as
those sources give it, and the file each catalog entry picks from it. Runs offline, no fixture needed.

Sources: github.com/Lightricks/LTX-2 README.md and MODELS-LTX-2.3.md at commit 400fd31 (2026-08-16); the
LTX-2.0 and LTX-2.3 names of before 2026-04 from README.md at 9ce438b (2026-01-05) and d230aec (2026-03-05).
"""

from __future__ import annotations

import fnmatch

import pytest

from app.model_store import download as dl
from app.model_store import folder as mf
from app.model_store.catalog import CATALOG, GEMMA3, newest, version

# What each repository holds, as far as the sources name it (a release keeps its old files beside new ones).
PUBLISHED = {
    "Lightricks/LTX-2": [
        "ltx-2-19b-dev-fp8.safetensors",
        "ltx-2-19b-dev.safetensors",
        "ltx-2-19b-distilled.safetensors",
        "ltx-2-19b-distilled-fp8.safetensors",
        "ltx-2-spatial-upscaler-x2-1.0.safetensors",
        "ltx-2-temporal-upscaler-x2-1.0.safetensors",
        "ltx-2-19b-distilled-lora-384.safetensors",
    ],
    "Lightricks/LTX-2.3": [
        "ltx-2.3-22b-dev.safetensors",
        "ltx-2.3-22b-distilled.safetensors",
        "ltx-2.3-22b-distilled-1.1.safetensors",
        "ltx-2.3-spatial-upscaler-x2-1.0.safetensors",
        "ltx-2.3-spatial-upscaler-x2-1.1.safetensors",
        "ltx-2.3-spatial-upscaler-x1.5-1.0.safetensors",
        "ltx-2.3-temporal-upscaler-x2-1.0.safetensors",
        "ltx-2.3-22b-distilled-lora-384.safetensors",
        "ltx-2.3-22b-distilled-lora-384-1.1.safetensors",
    ],
    "Lightricks/LTX-2.5": [
        "diffusion_models/ltx-2.5-22b-dev-transformer-bf16.safetensors",
        "diffusion_models/ltx-2.5-22b-distilled-transformer-bf16.safetensors",
        "text_encoders/gemma4-12b-with-proj-ltx-2.5-bf16.safetensors",
        "vae/ltx-2.5-video-vae-bf16.safetensors",
        "vae/ltx-2.5-video-vae-conv-bf16.safetensors",
        "vae/ltx-2.5-audio-vae-bf16.safetensors",
        "latent_upscale_models/ltx-2.5-latent-spatial-upscaler-x2-bf16-1.0.safetensors",
        "latent_upscale_models/ltx-2.5-latent-temporal-upscaler-x2-bf16-1.0.safetensors",
        "loras/ltx-2.5-22b-distilled-lora-450-bf16.safetensors",
        "model_patches/ltx-2.5-duration-head-bf16.safetensors",
    ],
}
# The file the current instructions name for each entry (the dev model, the x2 upscaler, the distilled LoRA).
EXPECTED = {
    "ltx2-dev": "ltx-2-19b-dev.safetensors",
    "ltx2-upscaler-x2": "ltx-2-spatial-upscaler-x2-1.0.safetensors",
    "ltx2-distilled-lora": "ltx-2-19b-distilled-lora-384.safetensors",
    "ltx23-dev": "ltx-2.3-22b-dev.safetensors",
    "ltx23-upscaler-x2": "ltx-2.3-spatial-upscaler-x2-1.1.safetensors",
    "ltx23-distilled-lora": "ltx-2.3-22b-distilled-lora-384-1.1.safetensors",
    "ltx25-transformer": "diffusion_models/ltx-2.5-22b-dev-transformer-bf16.safetensors",
    "ltx25-text-encoder": "text_encoders/gemma4-12b-with-proj-ltx-2.5-bf16.safetensors",
    "ltx25-video-vae": "vae/ltx-2.5-video-vae-conv-bf16.safetensors",
    "ltx25-audio-vae": "vae/ltx-2.5-audio-vae-bf16.safetensors",
    "ltx25-upscaler-x2": "latent_upscale_models/ltx-2.5-latent-spatial-upscaler-x2-bf16-1.0.safetensors",
    "ltx25-distilled-lora": "loras/ltx-2.5-22b-distilled-lora-450-bf16.safetensors",
    "ltx25-duration-head": "model_patches/ltx-2.5-duration-head-bf16.safetensors",
}
UPSCALERS_23 = ("ltx-2.3-spatial-upscaler-x2-1.0.safetensors", "ltx-2.3-spatial-upscaler-x2-1.1.safetensors")


def _listing(repo: str) -> list[tuple[str, int, str | None]]:
    return [(name, 1, None) for name in PUBLISHED[repo]]


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_each_entry_picks_the_file_lightricks_names_from_the_published_listing(key):
    entry = next(e for e in CATALOG for f in e.files if f.key == key)
    item = next(f for f in entry.files if f.key == key)
    assert item.repo in PUBLISHED
    assert [name for name, _size, _sha in dl._pick(item, _listing(item.repo))] == [EXPECTED[key]]


def test_every_single_file_entry_is_checked_and_gemma_is_the_published_repository():
    single = {f.key for e in CATALOG for f in e.files if not f.folder}
    assert single == set(EXPECTED)
    assert GEMMA3.repo == "google/gemma-3-12b-it-qat-q4_0-unquantized" and GEMMA3.gated
    assert {f.key for e in CATALOG for f in e.files if f.folder} == {GEMMA3.key}


def test_no_entry_of_one_version_takes_a_file_of_another():
    for entry in CATALOG:
        for item in entry.files:
            if item.folder:
                continue
            others = [n for repo, names in PUBLISHED.items() if repo != item.repo for n in names]
            assert not [n for n in others if fnmatch.fnmatchcase(n, item.pattern)], item.key


def test_newest_takes_the_later_release_whatever_the_listing_order():
    older, later = UPSCALERS_23
    assert newest([later, older]) == newest([older, later]) == later
    lora = ["ltx-2.3-22b-distilled-lora-384-1.1.safetensors", "ltx-2.3-22b-distilled-lora-384.safetensors"]
    assert newest(lora) == newest(lora[::-1]) == lora[0]


def test_a_folder_holding_both_releases_reports_the_later_one(tmp_path):
    entry = version("2.3")
    root = tmp_path / "models"
    (root / entry.folder).mkdir(parents=True)
    (root / mf.MARKER).write_text("")
    for name in UPSCALERS_23:
        (root / entry.folder / name).write_bytes(b"x")
    found = mf.scan(root, describe=False).version("2.3").file("ltx23-upscaler-x2")
    assert found.path.name == "ltx-2.3-spatial-upscaler-x2-1.1.safetensors"
