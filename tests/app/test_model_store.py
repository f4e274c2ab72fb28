"""Issue 16, the model manager's core without the internet: a local hub on 127.0.0.1 (tests/local_hub.py)
serves the shared LTX-2.3 tiny fixture as Lightricks/LTX-2.3 and its Gemma root as Google's repository, and
huggingface_hub is pointed at it with $HF_ENDPOINT. Covered: a complete download, a cancelled one that
resumes with a Range request, a dropped connection, a file corrupted in transit and one corrupted on disk,
a disk too small (checked before starting) and one that fills up mid-file (ENOSPC), a refused token (401)
and a gated repository (403), a ComfyUI tree reused in place, and the child process the studio runs.
"""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from pathlib import Path

import pytest
from local_hub import LocalHub
from shared_fixtures import LTX23_FIXTURE, needs_ltx23_fixture

from app.model_store import download as dl
from app.model_store import folder as mf
from app.model_store.catalog import GEMMA3, version

pytestmark = needs_ltx23_fixture
LTX23 = version("2.3")


def _gemma_fixture() -> Path:
    return next(p for p in LTX23_FIXTURE.iterdir() if p.is_dir() and p.name.startswith("gemma-3"))


def _dev_file() -> Path:
    return next(p for p in LTX23_FIXTURE.glob("ltx-2.3-*.safetensors") if "lora" not in p.name
                and "upscaler" not in p.name)  # fmt: skip


@pytest.fixture
def hub(monkeypatch, tmp_path):
    import huggingface_hub.constants as hf_constants

    monkeypatch.setenv("AIPROD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hf_constants, "DOWNLOAD_CHUNK_SIZE", 4096)  # many chunks even from tiny files
    # no token of the real home or environment reaches the local hub (this process and the child processes)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setattr(hf_constants, "HF_TOKEN_PATH", str(tmp_path / "hf-home" / "token"))
    monkeypatch.setattr(hf_constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "hf-home" / "stored_tokens"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    with LocalHub({"Lightricks/LTX-2.3": LTX23_FIXTURE, GEMMA3.repo: _gemma_fixture()}) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server


def _fetch(folder: Path, items=None, token=None, **kwargs):
    files = dl.plan(LTX23, items or LTX23.files, folder, token)
    return files, dl.download(files, folder, token, **kwargs)


def _same_bytes(a: Path, b: Path) -> bool:
    return a.read_bytes() == b.read_bytes()


def test_a_complete_download_makes_the_version_ready_and_verified(hub, tmp_path):
    folder = tmp_path / "models"
    seen = []
    files, written = _fetch(folder, progress=seen.append)
    assert {Path(f.dest).name for f in files} >= {_dev_file().name, "config.json"}
    dev = folder / "LTX-2.3" / _dev_file().name
    assert _same_bytes(dev, _dev_file())
    for source in _gemma_fixture().iterdir():
        assert _same_bytes(folder / "LTX-2.3" / GEMMA3.target_folder_name / source.name, source)
    assert not list(folder.rglob(f"*{mf.PARTIAL_SUFFIX}"))
    assert seen[-1].done == seen[-1].total == sum(f.size for f in files)
    report = mf.scan(folder)
    status = report.version("2.3")
    assert status.ready and not status.missing("Production")
    assert status.summary.startswith("LTX-2.3")  # engine.checkpoint_report read the downloaded files
    assert dl.plan(LTX23, LTX23.files, folder) == []  # nothing left to fetch
    assert mf.uninstall_lines(folder) == [str(folder), "owned"]  # the studio made it


def test_a_cancelled_download_resumes_where_it_stopped(hub, tmp_path):
    folder = tmp_path / "models"
    dev_item = next(i for i in LTX23.files if i.key == "ltx23-dev")
    size = _dev_file().stat().st_size
    done = {"n": 0}

    def count(p):
        done["n"] = p.file_done

    with pytest.raises(dl.DownloadError) as caught:
        _fetch(folder, [dev_item], progress=count, cancelled=lambda: done["n"] > size // 3)
    assert caught.value.kind == "cancelled"
    partial = folder / "LTX-2.3" / (_dev_file().name + mf.PARTIAL_SUFFIX)
    kept = partial.stat().st_size
    assert 0 < kept < size
    assert mf.scan(folder, describe=False).version("2.3").file("ltx23-dev").partial == kept
    hub.requests.clear()
    _fetch(folder, [dev_item])
    ranges = [r for method, path, r in hub.requests if method == "GET" and path.endswith(_dev_file().name)]
    assert ranges == [f"bytes={kept}-"]
    assert _same_bytes(folder / "LTX-2.3" / _dev_file().name, _dev_file())


def test_a_dropped_connection_is_resumed_within_the_download(hub, tmp_path):
    folder = tmp_path / "models"
    hub.cut_after = 4096
    _fetch(folder, [next(i for i in LTX23.files if i.key == "ltx23-dev")])
    assert any(r and r.startswith("bytes=4096") for _m, _p, r in hub.requests)
    assert _same_bytes(folder / "LTX-2.3" / _dev_file().name, _dev_file())


def test_a_file_corrupted_in_transit_is_fetched_again(hub, tmp_path):
    folder = tmp_path / "models"
    hub.corrupt_once.add(_dev_file().name)
    messages = []
    _fetch(folder, [next(i for i in LTX23.files if i.key == "ltx23-dev")],
           progress=lambda p: messages.append(p.message) if p.message else None)  # fmt: skip
    assert any("corrupted" in m for m in messages)
    assert _same_bytes(folder / "LTX-2.3" / _dev_file().name, _dev_file())


def test_a_file_corrupted_on_disk_is_found_by_verify_and_replaced(hub, tmp_path):
    folder = tmp_path / "models"
    _fetch(folder)
    dev = folder / "LTX-2.3" / _dev_file().name
    data = bytearray(dev.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size: only the hash tells
    dev.write_bytes(bytes(data))
    assert dl.plan(LTX23, LTX23.files, folder) == []
    again = dl.plan(LTX23, LTX23.files, folder, verify=True)
    assert [(Path(f.dest).name, f.replaces_bad_copy) for f in again] == [(dev.name, True)]
    dl.download(again, folder)
    assert _same_bytes(dev, _dev_file())


def test_a_disk_too_small_is_refused_before_anything_is_fetched(hub, tmp_path, monkeypatch):
    folder = tmp_path / "models"
    monkeypatch.setattr(dl, "free_bytes", lambda path: 1000)
    with pytest.raises(dl.DownloadError) as caught:
        _fetch(folder)
    assert caught.value.kind == "disk_full"
    assert "Not enough free disk space" in str(caught.value)
    assert f"has {mf.human_size(1000)} free" in str(caught.value)
    assert not [r for r in hub.requests if "/resolve/" in r[1]]


def test_a_disk_that_fills_up_mid_file_keeps_the_partial_and_resumes(hub, tmp_path, monkeypatch):
    folder = tmp_path / "models"
    real_open = dl.open_partial

    class FillsUp:
        def __init__(self, path):
            self.handle = real_open(path)
            self.left = 5000

        def write(self, chunk):
            if len(chunk) > self.left:
                self.handle.write(chunk[: self.left])
                self.left = 0
                raise OSError(errno.ENOSPC, "No space left on device")
            self.left -= len(chunk)
            return self.handle.write(chunk)

        def __getattr__(self, name):
            return getattr(self.handle, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

    monkeypatch.setattr(dl, "open_partial", FillsUp)
    dev_item = next(i for i in LTX23.files if i.key == "ltx23-dev")
    with pytest.raises(dl.DownloadError) as caught:
        _fetch(folder, [dev_item])
    assert caught.value.kind == "disk_full" and "resumes where it stopped" in str(caught.value)
    partial = folder / "LTX-2.3" / (_dev_file().name + mf.PARTIAL_SUFFIX)
    assert partial.stat().st_size == 5000
    monkeypatch.setattr(dl, "open_partial", real_open)
    _fetch(folder, [dev_item])
    assert _same_bytes(folder / "LTX-2.3" / _dev_file().name, _dev_file())


def test_a_revoked_token_says_401_and_where_to_make_a_new_one(hub, tmp_path):
    hub.token = "hf_current"
    with pytest.raises(dl.DownloadError) as caught:
        _fetch(tmp_path / "models", token="hf_revoked")
    assert caught.value.kind == "unauthorized"
    assert "401" in str(caught.value) and "settings/tokens" in str(caught.value)
    files, _written = _fetch(tmp_path / "models", token="hf_current")  # the right token works
    assert files


def test_a_gated_repository_says_to_accept_its_licence(hub, tmp_path):
    hub.gated.add(GEMMA3.repo)
    with pytest.raises(dl.DownloadError) as caught:
        _fetch(tmp_path / "models", [GEMMA3])
    assert caught.value.kind == "gated"
    assert "403" in str(caught.value) and f"{hub.url}/{GEMMA3.repo}" in str(caught.value)


def test_a_comfyui_tree_is_reused_in_place(hub, tmp_path):
    comfy = tmp_path / "ComfyUI" / "models"
    (comfy / "checkpoints").mkdir(parents=True)
    (comfy / "loras").mkdir()
    (comfy / "checkpoints" / _dev_file().name).write_bytes(_dev_file().read_bytes())
    before = mf.scan(comfy, describe=False)
    assert before.comfy
    status = before.version("2.3")
    assert status.file("ltx23-dev").path == comfy / "checkpoints" / _dev_file().name
    assert {i.key for i in status.missing()} == {"gemma3", "ltx23-upscaler-x2", "ltx23-distilled-lora"}
    files, written = _fetch(comfy, status.missing())
    assert comfy / "checkpoints" / _dev_file().name not in written  # already there: not fetched again
    assert all(Path(f.dest).is_relative_to(comfy) for f in files)
    upscaler = next(p for p in written if "upscaler" in p.name)
    assert upscaler.parent == comfy / "latent_upscale_models"
    assert (comfy / "text_encoders" / GEMMA3.target_folder_name / "config.json").is_file()
    assert mf.scan(comfy, describe=False).version("2.3").ready
    lines = mf.uninstall_lines(comfy)
    assert lines[:2] == [str(comfy), "shared"]  # the uninstaller removes only what the studio added
    assert str(upscaler) in lines[2:] and str(comfy / "checkpoints" / _dev_file().name) not in lines


def test_the_models_folder_choice_is_kept_and_a_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("AIPROD_DATA_DIR", str(tmp_path / "data"))
    assert mf.models_folder() == tmp_path / "data" / "models"
    chosen = mf.set_models_folder(tmp_path / "big disk" / "models")
    assert mf.models_folder() == chosen and (chosen / mf.MARKER).is_file()
    (tmp_path / "a file").write_text("x")
    with pytest.raises(mf.ModelFolderError, match="is a file, not a folder"):
        mf.set_models_folder(tmp_path / "a file")
    assert mf.models_folder() == chosen


def test_the_child_process_reports_progress_and_the_files(hub, tmp_path):
    folder = tmp_path / "models"
    env = dl.child_environment()
    result = subprocess.run(
        [sys.executable, "-m", "app.model_store.download", "2.3", str(folder), "ltx23-upscaler-x2"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 0, result.stdout + result.stderr
    assert "plan" in lines[0] and any("progress" in line for line in lines)
    (written,) = lines[-1]["done"]
    assert Path(written).parent == folder / "LTX-2.3" and "upscaler-x2" in Path(written).name
