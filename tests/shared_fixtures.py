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
