"""The layering rule (ui > app > engine) holds, and the checkers that enforce it would notice a breach."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from importlinter.api import read_configuration

REPO_ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = REPO_ROOT / "pyproject.toml"

# id -> name, exactly as in pyproject.toml. Removing or renaming a contract fails this suite.
CONTRACTS = {
    "layers": "Layers: ui above app above engine",
    "engine-pure": "engine is Qt-free and knows nothing of app or ui",
    "app-headless": "app does not import ui (QtWidgets is banned in app by ruff TID251)",
    "ui-through-app": "ui reaches the engine only through app",
    "app-core-qt-free": "app core is Qt-free: document, media, export, project",
}
# This contract names real modules of app/, which the miniature projects below do not have.
APP_CORE_CONTRACT = "app-core-qt-free"


def pyproject_without_app_core() -> str:
    text = PYPROJECT.read_text(encoding="utf-8")
    blocks = text.split("[[tool.importlinter.contracts]]")
    kept = [b for b in blocks if f'id = "{APP_CORE_CONTRACT}"' not in b]
    assert len(kept) == len(blocks) - 1
    return "[[tool.importlinter.contracts]]".join(kept)


def venv_tool(name: str) -> str:
    candidate = Path(sys.executable).with_name(name)
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; run `make venv`")
    return found


def lint_imports(cwd: Path) -> tuple[int, dict[str, str]]:
    """Run lint-imports in `cwd`; return its exit code and each contract's verdict (KEPT/BROKEN) by name."""
    result = subprocess.run(
        [venv_tool("lint-imports"), "--no-cache", "--no-logo"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    verdicts = {}
    for line in result.stdout.splitlines():
        for name in CONTRACTS.values():
            # "<name> KEPT", "<name> BROKEN", or "<name> KEPT (3 ignored imports)"
            rest = line.removeprefix(name + " ").split(" ", 1)[0] if line.startswith(name + " ") else ""
            if rest in {"KEPT", "BROKEN"}:
                verdicts[name] = rest
    assert verdicts, f"no contract verdicts in lint-imports output:\n{result.stdout}\n{result.stderr}"
    return result.returncode, verdicts


def test_contracts_are_configured():
    config = read_configuration(str(PYPROJECT))
    session = config["session_options"]
    assert sorted(session["root_packages"]) == ["app", "engine", "ui"]
    assert str(session["include_external_packages"]).lower() == "true"
    contracts = {c["id"]: c for c in config["contracts_options"]}
    assert {cid: c["name"] for cid, c in contracts.items()} == CONTRACTS
    assert contracts["layers"]["layers"] == ["ui", "app", "engine"]
    assert {"PySide6", "app", "ui"} <= set(contracts["engine-pure"]["forbidden_modules"])
    assert contracts["app-headless"]["forbidden_modules"] == ["ui"]
    assert contracts["ui-through-app"]["forbidden_modules"] == ["engine"]
    assert {"PySide6", "shiboken6"} == set(contracts[APP_CORE_CONTRACT]["forbidden_modules"])
    assert {"app.document.document", "app.media.reader", "app.project.store", "app.export", "app.cli"} <= set(
        contracts[APP_CORE_CONTRACT]["source_modules"]
    )


def test_all_contracts_are_kept():
    returncode, verdicts = lint_imports(REPO_ROOT)
    assert verdicts == dict.fromkeys(CONTRACTS.values(), "KEPT")
    assert returncode == 0


def _write(path: Path, text: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    ("module", "source", "broken"),
    [
        ("engine/bad.py", "from PySide6 import QtCore\n", {"engine-pure"}),
        ("engine/bad.py", "import app\n", {"engine-pure", "layers"}),
        ("app/bad.py", "from ui import window\n", {"app-headless", "layers"}),
        ("ui/bad.py", "from engine import model\n", {"ui-through-app"}),
    ],
)
def test_a_violation_is_caught(tmp_path, module, source, broken):
    """A miniature project under the real pyproject.toml: clean it passes, with one bad import it fails."""
    (tmp_path / "pyproject.toml").write_text(pyproject_without_app_core(), encoding="utf-8")
    _write(tmp_path / "engine/__init__.py")
    _write(tmp_path / "engine/model.py", "import torch\n")
    _write(tmp_path / "app/__init__.py")
    _write(tmp_path / "app/jobs.py", "from PySide6.QtCore import QObject\nfrom engine import model\n")
    _write(tmp_path / "ui/__init__.py")
    _write(tmp_path / "ui/window.py", "from PySide6.QtWidgets import QMainWindow\nfrom app import jobs\n")

    returncode, verdicts = lint_imports(tmp_path)
    assert returncode == 0 and set(verdicts.values()) == {"KEPT"}, verdicts

    _write(tmp_path / module, source)
    returncode, verdicts = lint_imports(tmp_path)
    assert returncode != 0
    broken_names = {name for name, verdict in verdicts.items() if verdict == "BROKEN"}
    assert broken_names == {CONTRACTS[contract_id] for contract_id in broken}


# import-linter cannot forbid a submodule of an external package, so ruff's banned-api (TID251) keeps
# widgets out of app/ and engine/; these tests prove the ban is configured and bites.
def ruff_banned_imports(filename: str, source: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [venv_tool("ruff"), "check", "--no-cache", "--select", "TID251", "--stdin-filename", filename, "-"],
        cwd=REPO_ROOT,
        input=source,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_app_and_engine_import_no_widgets():
    result = subprocess.run(
        [venv_tool("ruff"), "check", "--no-cache", "--select", "TID251", "app", "engine"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "source",
    [
        "from PySide6.QtWidgets import QWidget\n",
        "import PySide6.QtWidgets\n",
        "from PySide6 import (\n    QtCore,\n    QtWidgets,\n)\n",
        "from PySide6.QtOpenGLWidgets import QOpenGLWidget\n",
    ],
)
def test_widget_imports_are_banned_in_app_and_engine_only(source):
    for package in ("app", "engine"):
        result = ruff_banned_imports(f"{package}/probe.py", source)
        assert result.returncode == 1 and "TID251" in result.stdout, (package, result.stdout, result.stderr)
    allowed = ruff_banned_imports("ui/probe.py", source)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr


def test_headless_core_loads_no_qt():
    """The CLI path (load a project, resolve and composite the timeline) must run without Qt installed or a
    display; the import-linter contract checks the imports statically, this checks them at run time."""
    code = (
        "import sys\n"
        "import app.cli, app.document, app.export, app.media, app.media.compositor, app.media.importer\n"
        "import app.project, app.interchange, app.color, app.masks\n"
        "from app.project import load_project, save_project, find_recoverable\n"
        "qt = sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken6')))\n"
        "print(qt)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
