"""Issue 16: the studio is a normal wheel. Build it from a copy of the tracked layout, install it into a fresh
virtual environment outside the checkout, and from a folder outside the checkout run aiprod-cli's tiny
generation and a render graded with a shipped look (resources/ and luts/ come from the wheel's package data,
never from the checkout). $AIPROD_LUTS_DIR still overrides the looks.

The fresh environment does not download anything: its site-packages holds links to the running
environment's packages (torch, PySide6, ...) except this project's own install, and the wheel goes in with
``pip install --no-deps --no-index``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from wheel_build import build_wheel

REPO = Path(__file__).resolve().parents[1]
TINY = ["--model", "tiny", "--prompt", "a lighthouse", "--width", "64", "--height", "64", "--frames", "9",
        "--steps", "2", "--seed", "3", "--quiet"]  # fmt: skip


def _site_packages(venv: Path) -> Path:
    return Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))


def _linked_venv(venv: Path) -> Path:
    """A venv whose site-packages links to every package of the running environment but this project."""
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    target = _site_packages(venv)
    target.mkdir(parents=True, exist_ok=True)
    source = Path(sysconfig.get_paths()["purelib"])
    for entry in source.iterdir():
        name = entry.name
        if name.startswith(("aiprod_studio", "__editable__")) or name.endswith(".pth"):
            continue
        if name in {"app", "engine", "ui", "__pycache__"}:
            continue
        (target / name).symlink_to(entry)
    return venv / "bin"


def _clean_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "AIPROD_LUTS_DIR", "VIRTUAL_ENV"}}
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["HOME"] = str(tmp / "home")  # nothing read from or written to the real home
    return env


def _run(argv: list[str], cwd: Path, env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{argv[0]} {argv[1:3]} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built without build isolation (no download) from a copy of the sources."""
    return build_wheel(tmp_path_factory.mktemp("wheel"))


def test_the_wheel_carries_the_looks_presets_and_style_sheet(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for cube in (REPO / "luts").glob("*.cube"):
        assert f"app/luts/{cube.name}" in names
    presets = REPO / "resources"
    for preset in presets.rglob("*.json"):  # sub-folders too (hardware/)
        assert f"app/resources/{preset.relative_to(presets).as_posix()}" in names
    assert "app/resources/style/dark.qss" in names
    assert "app/package_data.py" in names and "ui/main.py" in names and "engine/__init__.py" in names
    # nothing of the checkout's tooling: tests are not installed
    assert not any(name.startswith("tests/") for name in names)


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> tuple[Path, dict[str, str], Path]:
    tmp = tmp_path_factory.mktemp("installed")
    (tmp / "home").mkdir()
    bin_dir = _linked_venv(tmp / "venv")
    env = _clean_env(tmp)
    _run([str(bin_dir / "python"), "-m", "pip", "install", "--no-deps", "--no-index", "-q",
          "--disable-pip-version-check", str(wheel)], cwd=tmp, env=env)  # fmt: skip
    work = tmp / "elsewhere"
    work.mkdir()
    return bin_dir, env, work


def test_the_installed_cli_generates_and_renders_with_a_shipped_look(installed):
    bin_dir, env, work = installed
    clip = work / "clip.mov"
    _run([str(bin_dir / "aiprod-cli"), "generate", *TINY, "--out", str(clip)], cwd=work, env=env)
    assert clip.stat().st_size > 0
    project = work / "Film.aiprod"
    _run([str(bin_dir / "aiprod-cli"), "new-project", str(project), "--size", "64x64", "--fps", "24"],
         cwd=work, env=env)  # fmt: skip
    _run([str(bin_dir / "aiprod-cli"), "add", str(project), str(clip)], cwd=work, env=env)
    # Grade the clip with a shipped look, and say where the installed app reads its data from.
    script = (
        "import sys\n"
        "from app.color import looks\n"
        "from app.color.grade import Grade\n"
        "from app.document.model import TrackKind\n"
        "from app.export import presets\n"
        "from app.project.store import load_project, save_project\n"
        "doc = load_project(sys.argv[1]).doc\n"
        "clip = doc.clips(doc.tracks(TrackKind.VIDEO)[0].id)[0]\n"
        "doc.set_clip_grade(clip.id, Grade(look='teal_orange').to_dict())\n"
        "save_project(doc, sys.argv[1])\n"
        "print(looks.path('teal_orange'))\n"
        "print(presets.PRESET_DIR)\n"
        "print(' '.join(look.name for look in looks.available()))\n"
    )
    result = _run([str(bin_dir / "python"), "-c", script, str(project)], cwd=work, env=env)
    look_path, preset_dir, names = result.stdout.strip().splitlines()[-3:]
    site = _site_packages(bin_dir.parent).resolve()
    assert Path(look_path).resolve().is_relative_to(site / "app" / "luts")
    assert Path(preset_dir).resolve().is_relative_to(site / "app" / "resources")
    assert sorted(names.split()) == sorted(p.stem for p in (REPO / "luts").glob("*.cube"))
    graded = work / "graded.mp4"
    _run([str(bin_dir / "aiprod-cli"), "render", str(project), "--preset", "h264_high", "--out", str(graded),
          "--quiet"], cwd=work, env=env)  # fmt: skip
    assert graded.stat().st_size > 0


def test_the_luts_override_still_wins_in_an_installed_studio(installed, tmp_path):
    bin_dir, env, work = installed
    mine = tmp_path / "my looks"
    mine.mkdir()
    shutil.copy2(REPO / "luts" / "warm.cube", mine / "my_warm.cube")
    script = "from app.color import looks; print(' '.join(look.name for look in looks.available()))"
    env = {**env, "AIPROD_LUTS_DIR": str(mine)}
    result = _run([str(bin_dir / "python"), "-c", script], cwd=work, env=env)
    assert result.stdout.split() == ["my_warm"]


def test_the_installed_studio_imports_headless_with_its_style_sheet(installed):
    bin_dir, env, work = installed
    script = (
        "from PySide6.QtWidgets import QApplication\n"
        "from ui import main, main_window, model_manager, theme\n"
        "app = QApplication([])\n"
        "theme.apply_dark_theme(app)\n"
        "print(theme.STYLE_SHEET)\n"
        "print(len(app.styleSheet()))\n"
    )
    result = _run([str(bin_dir / "python"), "-c", script], cwd=work, env=env)
    sheet, length = result.stdout.strip().splitlines()[-2:]
    site = _site_packages(bin_dir.parent).resolve()
    assert Path(sheet).resolve().is_relative_to(site / "app" / "resources")
    assert int(length) == len((REPO / "resources" / "style" / "dark.qss").read_text(encoding="utf-8"))
    assert (bin_dir / "aiprod-studio").is_file()
