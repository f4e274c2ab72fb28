"""A Hugging Face home of the test's own. huggingface_hub read its token paths when it was imported, and the
download child process reads ``HF_HOME``, so both are pointed at ``home``; the tokens of the real home and of
the environment never apply."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.model_store import credentials


def isolate_hf_home(monkeypatch: pytest.MonkeyPatch, home: Path) -> Path:
    import huggingface_hub.constants as hf_constants

    monkeypatch.setenv("HF_HOME", str(home))  # child processes
    monkeypatch.setattr(hf_constants, "HF_HOME", str(home))  # this process
    monkeypatch.setattr(hf_constants, "HF_TOKEN_PATH", str(home / "token"))
    monkeypatch.setattr(hf_constants, "HF_STORED_TOKENS_PATH", str(home / "stored_tokens"))
    for name in credentials.ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    return home
