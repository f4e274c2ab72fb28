"""Issue 16: the Hugging Face token remembered between sessions the way huggingface_hub stores it
($HF_HOME/token and stored_tokens, written by ``huggingface_hub.login``), forgotten with ``logout``, shown
only masked, and never written anywhere of ours. Every test has its own HF_HOME under tmp_path (the real home
is never touched) and talks to the local hub (tests/local_hub.py), never to huggingface.co.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hf_home import isolate_hf_home
from local_hub import LocalHub
from shared_fixtures import LTX23_FIXTURE, needs_ltx23_fixture

from app.model_store import credentials
from app.model_store import download as dl

TOKEN = "hf_StudioSecretToken0123456789abcdWXYZ"
NEW_TOKEN = "hf_AnotherSecretToken987654321zyxQRST"


def files_holding(root: Path, secret: str, skip: Path | None = None) -> list[Path]:
    """Every file under ``root`` (outside ``skip``) whose bytes contain ``secret``."""
    files = [p for p in root.rglob("*") if p.is_file() and not (skip and p.is_relative_to(skip))]
    return [p for p in files if secret.encode() in p.read_bytes()]


@pytest.fixture
def hf_home(monkeypatch, tmp_path) -> Path:
    home = tmp_path / "hf-home"
    isolate_hf_home(monkeypatch, home)
    monkeypatch.setenv("AIPROD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))  # logout asks git's helpers
    return home


@pytest.fixture
def hub(monkeypatch, hf_home):
    import huggingface_hub.constants as hf_constants
    from huggingface_hub import hf_api

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    repos = {"Lightricks/LTX-2.3": LTX23_FIXTURE} if LTX23_FIXTURE else {}
    with LocalHub(repos) as server:
        server.token = TOKEN
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.setattr(hf_api.api, "endpoint", server.url)  # login's whoami, in this process
        yield server


def test_a_remembered_token_is_where_huggingface_hub_and_the_hf_command_read_it(hub, hf_home):
    assert credentials.state().source == ""
    masked = credentials.remember(TOKEN)
    assert masked == "hf_\u2026WXYZ" and TOKEN not in masked
    assert ("GET", "/api/whoami-v2", None) in hub.requests  # checked with the (local) hub first
    assert (hf_home / "token").read_text() == TOKEN
    assert credentials.state().source == "stored"
    assert credentials.state().masked == masked and TOKEN not in credentials.state().describe()
    # another program (a new session, or the hf command) finds it through huggingface_hub alone
    code = "from huggingface_hub import get_token; print(get_token())"
    env = {k: v for k, v in os.environ.items() if k not in credentials.ENV_NAMES}
    other = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert other.stdout.strip() == TOKEN


def test_a_revoked_token_is_refused_with_401_and_the_stored_one_stays(hub, hf_home):
    credentials.remember(TOKEN)
    hub.token = NEW_TOKEN  # TOKEN's successor: any other token is now refused
    with pytest.raises(credentials.TokenError) as caught:
        credentials.remember("hf_RevokedToken00000000000000000000")
    assert caught.value.kind == "unauthorized"
    assert "401" in str(caught.value) and "settings/tokens" in str(caught.value)
    assert "hf_RevokedToken" not in str(caught.value)
    assert (hf_home / "token").read_text() == TOKEN  # nothing was lost


def test_a_token_folder_that_cannot_be_made_says_where_and_changes_nothing(hub, monkeypatch, tmp_path):
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    isolate_hf_home(monkeypatch, blocker / "hf")  # its folder cannot be made (ENOTDIR, even for root)
    with pytest.raises(credentials.TokenError) as caught:
        credentials.remember(TOKEN)
    assert caught.value.kind == "storage"
    assert str(blocker) in str(caught.value) and "still used for this session" in str(caught.value)
    assert TOKEN not in str(caught.value)
    assert blocker.read_text() == "not a folder"


def _read_only(folder: Path):
    """Make ``folder`` and its files read-only (root: the immutable attribute, as modes do not stop root); the
    undo. Skips where the file system cannot."""
    paths = [*folder.iterdir(), folder]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        if shutil.which("chattr") is None:
            pytest.skip("root ignores modes and chattr is missing")
        done = subprocess.run(["chattr", "+i", *map(str, paths)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"chattr +i is not supported here: {done.stderr.decode().strip()}")
        return lambda: subprocess.run(["chattr", "-i", *map(str, paths)], check=True)
    for path in paths:
        path.chmod(0o500 if path.is_dir() else 0o400)
    return lambda: [path.chmod(0o700 if path.is_dir() else 0o600) for path in paths]


def test_a_read_only_hf_home_keeps_the_token_stored_before(hub, hf_home):
    credentials.remember(TOKEN)
    before = {p.name: p.read_bytes() for p in hf_home.iterdir()}
    hub.token = NEW_TOKEN
    undo = _read_only(hf_home)
    try:
        with pytest.raises(credentials.TokenError) as caught:
            credentials.remember(NEW_TOKEN)
    finally:
        undo()
    assert caught.value.kind == "storage" and NEW_TOKEN not in str(caught.value)
    assert str(hf_home) in str(caught.value)
    assert {p.name: p.read_bytes() for p in hf_home.iterdir()} == before  # nothing lost, nothing half-written


def test_forget_deletes_only_the_stored_token_and_says_when_hf_token_still_applies(hub, hf_home, monkeypatch):
    from huggingface_hub.utils import get_stored_tokens

    credentials.remember(TOKEN)
    stored = get_stored_tokens()
    assert stored == {hub.token_name: TOKEN}
    stored_file = hf_home / "stored_tokens"
    stored_file.write_text(stored_file.read_text() + "\n[other]\nhf_token = hf_OtherNamedToken\n")
    after = credentials.forget()
    assert after.source == "" and not (hf_home / "token").exists()
    assert get_stored_tokens() == {"other": "hf_OtherNamedToken"}  # a token of another name stays
    # a token file without a named entry (an older hf login) is forgotten too
    (hf_home / "token").write_text(NEW_TOKEN)
    assert credentials.state().stored
    credentials.forget()
    assert not (hf_home / "token").exists()
    # $HF_TOKEN still provides one: deleted, and the message says which one is still used
    (hf_home / "token").write_text(TOKEN)
    monkeypatch.setenv("HF_TOKEN", NEW_TOKEN)
    assert credentials.state().source == "environment"
    with pytest.raises(credentials.TokenError) as caught:
        credentials.forget()
    assert caught.value.kind == "environment" and "$HF_TOKEN" in str(caught.value)
    assert not (hf_home / "token").exists() and NEW_TOKEN not in str(caught.value)


def test_mask_shows_no_more_than_the_last_four_characters():
    assert credentials.mask(TOKEN) == "hf_\u2026WXYZ"
    assert credentials.mask("short") == "\u2026"  # too short to show any of it
    assert credentials.mask("") == ""


def _child(args: list[str], token: str, hf_home: Path) -> tuple[subprocess.CompletedProcess, list[dict]]:
    env = dl.child_environment(token)
    env["HF_HOME"] = str(hf_home)
    result = subprocess.run([sys.executable, "-m", "app.model_store.download", *args], env=env,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    return result, [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


@needs_ltx23_fixture
def test_the_download_process_remembers_the_token_and_writes_it_nowhere_else(hub, hf_home, tmp_path):
    folder = tmp_path / "models"
    result, lines = _child(["--remember", "2.3", str(folder), "ltx23-upscaler-x2"], TOKEN, hf_home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert lines[0] == {"remembered": "hf_\u2026WXYZ"} and "done" in lines[-1]
    assert (hf_home / "token").read_text() == TOKEN
    assert TOKEN not in result.stdout + result.stderr
    assert files_holding(tmp_path, TOKEN, skip=hf_home) == []  # models, data folder, settings: no token
    assert {p.name for p in files_holding(hf_home, TOKEN)} == {"token", "stored_tokens"}


@needs_ltx23_fixture
def test_the_download_goes_on_when_the_token_cannot_be_stored(hub, tmp_path):
    blocker = tmp_path / "a file"
    blocker.write_text("x")
    folder = tmp_path / "models"
    result, lines = _child(["--remember", "2.3", str(folder), "ltx23-upscaler-x2"], TOKEN, blocker / "hf")
    assert result.returncode == 0, result.stdout + result.stderr
    (warning,) = [line["warning"] for line in lines if "warning" in line]
    assert str(blocker) in warning and TOKEN not in result.stdout + result.stderr
    assert "done" in lines[-1] and len(lines[-1]["done"]) == 1


@needs_ltx23_fixture
def test_the_download_process_refuses_a_revoked_token_before_storing_or_fetching(hub, hf_home, tmp_path):
    revoked = "hf_RevokedToken00000000000000000000"
    result, lines = _child(["--remember", "2.3", str(tmp_path / "models"), "ltx23-dev"], revoked, hf_home)
    assert result.returncode == 1
    assert lines[-1]["kind"] == "unauthorized" and "401" in lines[-1]["error"]
    assert not (hf_home / "token").exists() and not (tmp_path / "models").exists()
    assert revoked not in result.stdout + result.stderr
    assert not [r for r in hub.requests if "/resolve/" in r[1]]
