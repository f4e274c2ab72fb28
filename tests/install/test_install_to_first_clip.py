"""Issue 16's "done when", chained: a new user on Linux goes from the installer to a first generated clip.

1. The studio's wheel is built from a copy of the tracked sources (as `make wheel` does, no download).
2. The real ``installers/linux/install.sh`` (not a dry run) installs it into a temporary prefix, with a fresh
   HOME and XDG folders. No network: ``PIP_NO_INDEX=1`` (pip's own setting, passed through the script) makes
   any download fail, and the interpreter the script is given (``PYTHON``) is the real one, wrapped so that
   right after it makes the venv the venv's site-packages gets links to this environment's packages (torch,
   PySide6, ...; not this project's own install): pip then finds the dependencies installed, as it would after
   downloading them, and installs only the wheel.
3. The installed studio starts under ``xvfb-run`` as its own process, from the installed venv's python, with
   the fresh HOME/XDG folders and ``HF_ENDPOINT`` at a local stand-in hub (tests/local_hub.py) serving the
   shared LTX-2.3 tiny fixture. tests/install/first_clip_driver.py starts the installed ``ui.main.main()``
   and clicks through the studio's own screens: the first-run model manager, "Choose folder..." in the folder
   dialog, sizes, download, "Use this model", Generate with the tiny-test size, the clip on the timeline.
   Screenshots of the X screen at each step go to artifacts/screenshots/install_*.png.
4. The installed launcher (``PREFIX/bin/aiprod-studio --check``, what the desktop entry runs) sees the model
   the user chose, and the installed uninstaller removes the studio and keeps the models when told so.

What this does not prove: real weights (the fixture's random weights make noise), the real hub (a local
stand-in, no gated Gemma, no token), PyTorch's CUDA wheels (the dependencies are this environment's CPU
build, linked), the desktop's native folder dialog (Xvfb has no desktop: Qt's own dialog).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from local_hub import LocalHub
from shared_fixtures import LTX23_FIXTURE, needs_ltx23_fixture
from wheel_build import build_wheel

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "installers" / "linux" / "install.sh"
DRIVER = Path(__file__).with_name("first_clip_driver.py")
SCREENSHOTS = REPO / "artifacts" / "screenshots"
# What a wheel is built from (the rest is tests, docs and tooling); as in tests/test_wheel_install.py.
LTX23_REPO = "Lightricks/LTX-2.3"
SCREEN = (1920, 1080)  # a common desktop (tests/ui/test_small_screen.py covers 1366x768 laptops)
BASE_PYTHON = getattr(sys, "_base_executable", sys.executable)

needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash (install.sh)")
needs_xvfb = pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="no xvfb-run (.ci/run installs it)")

# PYTHON for install.sh: the real interpreter; after ``-m venv DIR`` it links this environment's packages
# into the new venv (what pip would otherwise download), then install.sh's pip runs for real.
WRAPPER = """#!/bin/sh
"{python}" "$@" || exit $?
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  exec "$3/bin/python" -c '{link}' "{site}"
fi
"""
# The venv keeps its own pip (the one install.sh runs); a package both have (setuptools, which torch needs
# newer than the venv's) is this environment's.
LINK = """
import shutil, sys, sysconfig
from pathlib import Path
source, target = Path(sys.argv[1]), Path(sysconfig.get_path("purelib"))  # the new venv: its site-packages
project = lambda path: path.name.split("-")[0].lower()
linked = [e for e in source.iterdir() if not e.name.startswith(("aiprod_studio", "__editable__"))
          and not e.name.endswith(".pth") and e.name not in {"app", "engine", "ui", "__pycache__"}
          and project(e) != "pip"]
names = {project(e) for e in linked}
for old in target.iterdir():
    if project(old) in names:
        shutil.rmtree(old) if old.is_dir() else old.unlink()
for entry in linked:
    (target / entry.name).symlink_to(entry)
"""


def _clean_env(home: Path, **extra: str) -> dict[str, str]:
    """A new user's environment: a fresh home and XDG folders, nothing of this test run's settings."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
    }
    env.update(extra)
    return env


def _run(argv: list[str], env: dict[str, str], cwd: Path, timeout: int, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, **kw)


def _run_group(argv: list[str], env: dict[str, str], cwd: Path, timeout: int) -> subprocess.CompletedProcess:
    """As _run, in a process group of its own that is killed whole on a timeout (xvfb-run, Xvfb, the studio
    and its download process)."""
    pipe = subprocess.PIPE
    child = subprocess.Popen(argv, env=env, cwd=cwd, stdout=pipe, stderr=pipe, text=True,
                             start_new_session=True)  # fmt: skip
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        out, err = child.communicate()
        err += f"\n(killed after {timeout} s)"
    return subprocess.CompletedProcess(argv, child.returncode, out, err)


def _python_wrapper(tmp: Path) -> Path:
    if _run([BASE_PYTHON, "-c", "import venv, ensurepip"], os.environ.copy(), tmp, 60).returncode != 0:
        pytest.skip(f"{BASE_PYTHON} cannot make venvs with pip (python3.11-venv is missing)")
    site = sysconfig.get_paths()["purelib"]
    wrapper = tmp / "python3.11"
    wrapper.write_text(WRAPPER.format(python=BASE_PYTHON, link=LINK.strip().replace("'", '"'), site=site))
    wrapper.chmod(0o755)
    return wrapper


@needs_bash
def test_the_help_says_how_to_install_offline():
    shown = subprocess.run(["bash", str(SCRIPT), "--help"], capture_output=True, text=True, timeout=30)
    assert shown.returncode == 0
    assert "PIP_NO_INDEX=1 PIP_FIND_LINKS=" in shown.stdout and "--dry-run" in shown.stdout
    assert "set -euo" not in shown.stdout  # the comment at the top, not the code under it


@pytest.mark.slow
@needs_ltx23_fixture
@needs_bash
@needs_xvfb
def test_from_the_installer_to_a_first_clip(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    prefix = home / ".local" / "share" / "aiprod-studio"
    wheel = build_wheel(tmp_path)
    python = _python_wrapper(tmp_path)

    # --- the installer, for real, offline ---------------------------------------------------------------
    env = _clean_env(home, PYTHON=str(python), PIP_NO_INDEX="1")
    installed = _run(["bash", str(SCRIPT), "--wheel", str(wheel), "--cpu"], env, home, 600)
    assert installed.returncode == 0, installed.stdout[-4000:] + installed.stderr[-4000:]
    assert "Successfully installed aiprod-studio" in installed.stdout  # the wheel itself went in, with pip
    assert "first run: the studio's model manager" in installed.stdout
    venv_python = prefix / "venv" / "bin" / "python"
    launcher = prefix / "bin" / "aiprod-studio"
    assert launcher.resolve() == (prefix / "venv" / "bin" / "aiprod-studio").resolve()
    desktop = home / ".local" / "share" / "applications" / "aiprod-studio.desktop"
    assert f'Exec="{launcher}" %f' in desktop.read_text()
    uninstaller = prefix / "uninstall.sh"
    assert os.access(uninstaller, os.X_OK)

    # --- the installed studio under Xvfb, a new user's first start --------------------------------------
    models = home / "Videos" / "AI models"
    models.mkdir(parents=True)  # the folder the user picks in the folder dialog
    result_file = tmp_path / "driver.json"
    gemma = next(p for p in LTX23_FIXTURE.iterdir() if p.is_dir() and p.name.startswith("gemma-3"))
    from app.model_store.catalog import GEMMA3

    work = home / "Desktop"
    work.mkdir()
    with LocalHub({LTX23_REPO: LTX23_FIXTURE, GEMMA3.repo: gemma}) as hub:
        child_env = _clean_env(
            home, HF_ENDPOINT=hub.url, QT_QPA_PLATFORM="xcb", DRIVER_RESULT=str(result_file),
            DRIVER_SCREENSHOTS=str(SCREENSHOTS), DRIVER_MODELS_FOLDER=str(models),
        )  # fmt: skip
        screen = f"-screen 0 {SCREEN[0]}x{SCREEN[1]}x24"
        studio = ["xvfb-run", "-a", "-s", screen, str(venv_python), str(DRIVER)]
        driven = _run_group(studio, child_env, work, 400)
        asked = sorted({path for method, path, _range in hub.requests if method == "GET"})
    seen = json.loads(result_file.read_text()) if result_file.is_file() else {}
    report = (f"driver exit {driven.returncode}; steps {seen.get('steps')}; error {seen.get('error')}\n"
              f"{seen.get('traceback', '')}\n{driven.stdout[-3000:]}\n{driven.stderr[-3000:]}")  # fmt: skip
    assert driven.returncode == 0 and "error" not in seen, report

    # the INSTALLED studio ran, not the checkout
    asked_site = [str(venv_python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]
    site = Path(_run(asked_site, _clean_env(home), work, 60).stdout.strip())
    assert site.is_dir() and site.resolve().is_relative_to(prefix.resolve())
    assert Path(seen["app_file"]).resolve().is_relative_to(site.resolve()), seen["app_file"]
    assert not Path(seen["app_file"]).resolve().is_relative_to(REPO)
    # a new user's first start: the model manager over a main window that cannot generate yet
    assert seen["generate_enabled_before"] is False
    assert seen["window_size"][0] <= SCREEN[0] and seen["window_size"][1] <= SCREEN[1]  # all of it on screen
    assert "Welcome" in seen["manager_title"]
    assert seen["folder_shown"] == str(models.resolve())
    assert "To fetch:" in seen["sizes_text"]
    # the files came from the hub (the stand-in) into the folder the user chose
    assert any(path.startswith(f"/{LTX23_REPO}/resolve/") for path in asked)
    assert Path(seen["checkpoint"]).resolve().is_relative_to(models.resolve())
    assert Path(seen["checkpoint"]).is_file()
    assert seen["settings_problems"] == []
    # the first clip: generated with the downloaded model, on the timeline
    assert seen["clips_on_timeline"] == 1
    assert seen["clip_kind"] == "generated" and seen["clip_prompt"].startswith("a lighthouse")
    assert seen["clip_checkpoint_identity"] not in ("", "tiny-random")
    assert seen["clip_bytes"] > 0
    assert not Path(seen["clip_media"]).resolve().is_relative_to(REPO)
    assert len(seen["screenshots"]) >= 6
    # and the user quits: asked about the unsaved project ("Discard"), the studio ends cleanly
    assert "Save changes" in seen["quit_prompt"] and seen["exit_code"] == 0

    # --- the launcher the desktop entry runs sees the model the user chose --------------------------------
    check = _run([str(launcher), "--check"], _clean_env(home), work, 120)
    assert "No LTX-2 checkpoint is set" not in check.stdout, check.stdout
    assert str(models.resolve()) in check.stdout, check.stdout

    # --- the uninstaller: "no" to deleting the models, the rest goes ------------------------------------
    removed = _run(["bash", str(uninstaller), "--yes-data"], _clean_env(home), work, 120, input="n\n")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    # the chosen folder existed before: the studio shares it, so only its downloads are offered for deletion
    assert f"model files the studio downloaded into {models.resolve()}" in removed.stdout
    assert Path(seen["checkpoint"]).is_file()  # kept, as answered
    assert not desktop.exists() and not (prefix / "venv").exists() and not launcher.exists()
