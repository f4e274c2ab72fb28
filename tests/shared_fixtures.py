"""Where the shared test data lives: `$AIPROD_FIXTURES`, else `../shared/fixtures` beside the repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

LTX2_FIXTURE_NAME = "ltx2-tiny-official"
LTX2_CHECKPOINT = "ltx-2-tiny-a.safetensors"


def repo_root() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "engine").is_dir():
            return parent
    return here.parents[1]


def ltx2_fixture_dir() -> Path | None:
    """$AIPROD_FIXTURES (the fixtures folder or the tiny-official folder itself), else ../shared/fixtures."""
    candidates = []
    if os.environ.get("AIPROD_FIXTURES"):
        env = Path(os.environ["AIPROD_FIXTURES"])
        candidates += [env / LTX2_FIXTURE_NAME, env]
    candidates.append(repo_root() / ".." / "shared" / "fixtures" / LTX2_FIXTURE_NAME)
    for candidate in candidates:
        if (candidate / LTX2_CHECKPOINT).is_file():
            return candidate.resolve()
    return None


LTX2_FIXTURE = ltx2_fixture_dir()
needs_ltx2_fixture = pytest.mark.skipif(
    LTX2_FIXTURE is None,
    reason=f"the shared fixture {LTX2_FIXTURE_NAME}/ was not found "
    "(set AIPROD_FIXTURES or check out ../shared)",
)


LTX25_FIXTURE_NAME = "ltx25-tiny-official"


def ltx25_fixture_dir() -> Path | None:
    """The LTX-2.5 release-layout fixture: $AIPROD_FIXTURES (the fixtures folder or the fixture itself), else
    ../shared/fixtures. Any folder in the 2.5 release layout with a `reference_outputs.safetensors` works."""
    candidates = []
    if os.environ.get("AIPROD_FIXTURES"):
        env = Path(os.environ["AIPROD_FIXTURES"])
        candidates += [env / LTX25_FIXTURE_NAME, env]
    candidates.append(repo_root() / ".." / "shared" / "fixtures" / LTX25_FIXTURE_NAME)
    for candidate in candidates:
        references = candidate / "reference_outputs.safetensors"
        if (candidate / "diffusion_models").is_dir() and references.is_file():
            return candidate.resolve()
    return None


LTX25_FIXTURE = ltx25_fixture_dir()
needs_ltx25_fixture = pytest.mark.skipif(
    LTX25_FIXTURE is None,
    reason=f"the shared fixture {LTX25_FIXTURE_NAME}/ was not found "
    "(set AIPROD_FIXTURES or check out ../shared)",
)


# --- LTX-2.3 release layout -----------------------------------------------------------------------------
# Located by layout, not by file name, so the same tests run against other checkpoints in that layout (set
# AIPROD_LTX23_FIXTURE to a folder holding an `ltx-2.3-*.safetensors` monolith, its Gemma root, the upscaler,
# the distilled LoRA and `reference_outputs.safetensors`).
LTX23_FIXTURE_NAME = "ltx23-tiny-official"


def ltx23_monolith(folder: Path) -> Path | None:
    """The `ltx-2.3-*.safetensors` checkpoint of a folder (not its LoRA or upscaler)."""
    for path in sorted(folder.glob("ltx-2.3-*.safetensors")):
        if "lora" not in path.name and "upscaler" not in path.name:
            return path
    return None


def ltx23_fixture_dir() -> Path | None:
    candidates = []
    if os.environ.get("AIPROD_LTX23_FIXTURE"):
        candidates.append(Path(os.environ["AIPROD_LTX23_FIXTURE"]))
    if os.environ.get("AIPROD_FIXTURES"):
        env = Path(os.environ["AIPROD_FIXTURES"])
        candidates += [env / LTX23_FIXTURE_NAME, env]
    candidates.append(repo_root() / ".." / "shared" / "fixtures" / LTX23_FIXTURE_NAME)
    for candidate in candidates:
        references = candidate / "reference_outputs.safetensors"
        if candidate.is_dir() and ltx23_monolith(candidate) and references.is_file():
            return candidate.resolve()
    return None


LTX23_FIXTURE = ltx23_fixture_dir()
needs_ltx23_fixture = pytest.mark.skipif(
    LTX23_FIXTURE is None,
    reason=f"the shared fixture {LTX23_FIXTURE_NAME}/ was not found "
    "(set AIPROD_LTX23_FIXTURE or AIPROD_FIXTURES, or check out ../shared)",
)
