"""Issue 16: installers/linux/install.sh. Its choices are tested in --dry-run (which prints the pip commands
and changes nothing) with a fake `nvidia-smi` on PATH; a full run goes through with a stand-in Python whose
venv records the pip commands instead of downloading, so the desktop entry and the uninstaller are real and
the uninstaller's questions are answered on its stdin. No PyTorch is downloaded here; the real pip path is
the same commands the dry run prints.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "installers" / "linux" / "install.sh"
TOOLS = ("bash", "sh", "sed", "head", "tail", "ls", "sort", "mktemp", "rm", "mkdir", "dirname", "cat",
         "chmod", "ln", "du", "cut", "find", "rmdir", "env", "basename")  # fmt: skip
pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def _bin(tmp_path: Path) -> Path:
    """A PATH with only the tools the script uses (so a real nvidia-smi elsewhere cannot leak in)."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    for tool in TOOLS:
        found = shutil.which(tool)
        if found and not (folder / tool).exists():
            (folder / tool).symlink_to(found)
    return folder


def _fake_nvidia_smi(folder: Path, header: str, gpu: str = "NVIDIA GeForce RTX 4090", code: int = 0) -> None:
    script = folder / "nvidia-smi"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "--query-gpu=name" ]; then echo "{gpu}"; exit 0; fi\n'
        f"cat <<'EOF'\n{header}\nEOF\nexit {code}\n"
    )
    script.chmod(0o755)


def _install(tmp_path: Path, *args: str, python: str | None = None, **env_extra: str):
    env = {
        "PATH": str(_bin(tmp_path)),
        "HOME": str(tmp_path / "home"),
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
        "PYTHON": python or getattr(sys, "_base_executable", sys.executable),
        **env_extra,
    }
    return subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60)


def _dry(tmp_path: Path, **env_extra: str) -> subprocess.CompletedProcess:
    wheel = tmp_path / "aiprod_studio-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"")
    prefix = str(tmp_path / "p")
    result = _install(tmp_path, "--dry-run", "--wheel", str(wheel), "--prefix", prefix, **env_extra)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "p").exists()  # a dry run changes nothing
    return result


def _torch_line(out: str) -> str:
    return next(line for line in out.splitlines() if "torch==2.13.0" in line and "pip install" in line)


def test_without_nvidia_smi_the_cpu_build_is_chosen(tmp_path):
    result = _dry(tmp_path)
    assert "no NVIDIA GPU found" in result.stdout
    assert "--index-url https://download.pytorch.org/whl/cpu torch==2.13.0" in _torch_line(result.stdout)
    assert any(line.endswith("aiprod_studio-0.1.0-py3-none-any.whl") for line in result.stdout.splitlines())


@pytest.mark.parametrize(
    ("cuda", "tag"),
    [("12.8", "cu126"), ("12.9", "cu126"), ("13.0", "cu130"), ("13.2", "cu130"), ("12.6", "cu126")],
)
def test_the_cuda_build_follows_the_drivers_cuda_version(tmp_path, cuda, tag):
    header = f"| NVIDIA-SMI 570.86   Driver Version: 570.86   CUDA Version: {cuda}   |"
    _fake_nvidia_smi(_bin(tmp_path), header)
    result = _dry(tmp_path)
    assert f"--index-url https://download.pytorch.org/whl/{tag} torch==2.13.0" in _torch_line(result.stdout)
    assert "NVIDIA GeForce RTX 4090" in result.stdout and f"driver supports CUDA {cuda}" in result.stdout


def test_an_old_driver_gets_the_cpu_build_and_advice(tmp_path):
    _fake_nvidia_smi(_bin(tmp_path), "| NVIDIA-SMI 525.60   Driver Version: 525.60   CUDA Version: 12.0   |")
    result = _dry(tmp_path)
    assert "whl/cpu torch" in _torch_line(result.stdout)
    assert "update the NVIDIA driver" in result.stdout


def test_a_failing_nvidia_smi_gets_the_cpu_build_and_says_why(tmp_path):
    _fake_nvidia_smi(_bin(tmp_path), "NVIDIA-SMI has failed because it couldn't communicate with the driver",
                     code=9)  # fmt: skip
    result = _dry(tmp_path)
    assert "whl/cpu torch" in _torch_line(result.stdout)
    assert "nvidia-smi failed" in result.stdout and "couldn't communicate" in result.stdout


def test_cpu_flag_and_torch_index_url_override_the_detection(tmp_path):
    _fake_nvidia_smi(_bin(tmp_path), "CUDA Version: 12.8")
    forced = _install(tmp_path, "--dry-run", "--cpu", "--wheel", "x.whl", "--prefix", str(tmp_path / "p"))
    assert "whl/cpu torch" in _torch_line(forced.stdout)
    mine = _dry(tmp_path, TORCH_INDEX_URL="https://mirror.example/torch")
    assert "--index-url https://mirror.example/torch torch==2.13.0" in _torch_line(mine.stdout)


def test_a_python_that_is_not_311_or_312_is_refused(tmp_path):
    fake = tmp_path / "python3.10"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    result = _install(tmp_path, "--dry-run", "--wheel", "x.whl", python=str(fake))
    assert result.returncode != 0 and "is not Python 3.11 or 3.12" in result.stderr


# ------------------------------------------------------------------------------- a full run, faked pip
FAKE_PYTHON = r"""#!/bin/sh
# stands in for python3.11: venv creation makes a venv whose python records pip and answers the uninstaller
if [ "$1" = "-c" ]; then exit 0; fi
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  mkdir -p "$3/bin"
  cat > "$3/bin/python" <<'VENVPY'
#!/bin/sh
echo "$*" >> "$FAKE_LOG"
if [ "$1 $2" = "-m app.model_store.folder" ]; then printf '%s\n%s\n' "$FAKE_MODELS" owned; exit 0; fi
case "$2" in *data_root*) echo "$FAKE_DATA"; exit 0;; esac
exit 0
VENVPY
  chmod +x "$3/bin/python"
  touch "$3/bin/aiprod-studio" "$3/bin/aiprod-cli"
  exit 0
fi
exit 0
"""


def test_a_full_install_writes_the_entry_and_an_uninstaller_that_asks(tmp_path):
    python = tmp_path / "fake-python"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    data = tmp_path / "data"
    models = data / "models"
    (models / "LTX-2.3").mkdir(parents=True)
    (models / "LTX-2.3" / "model.safetensors").write_bytes(b"weights")
    (data / "recovery").mkdir()
    log = tmp_path / "pip.log"
    env = {"FAKE_LOG": str(log), "FAKE_MODELS": str(models), "FAKE_DATA": str(data)}
    prefix = tmp_path / "prefix"
    wheel = tmp_path / "aiprod_studio-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"")
    result = _install(tmp_path, "--prefix", str(prefix), "--wheel", str(wheel), python=str(python), **env)
    assert result.returncode == 0, result.stderr
    pip_calls = log.read_text().splitlines()
    assert "torch==2.13.0" in pip_calls[0] and "whl/cpu" in pip_calls[0]  # torch first, alone
    assert pip_calls[1].endswith(str(wheel))
    desktop = tmp_path / "xdg" / "applications" / "aiprod-studio.desktop"
    assert f'Exec="{prefix}/bin/aiprod-studio"' in desktop.read_text()
    uninstall = prefix / "uninstall.sh"
    assert os.access(uninstall, os.X_OK)

    # "no" to the models, "yes" to the data: the models stay, the rest of the data folder goes
    env_run = {"PATH": str(_bin(tmp_path)), **env}
    answer = subprocess.run(["bash", str(uninstall)], input="n\ny\n", env=env_run, capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert answer.returncode == 0, answer.stderr
    assert "Delete the model weights" in answer.stdout
    assert (models / "LTX-2.3" / "model.safetensors").is_file()
    assert not (data / "recovery").exists()
    assert not desktop.exists() and not (prefix / "venv").exists()

    # a second install and "yes" to both: the models go too
    assert _install(tmp_path, "--prefix", str(prefix), "--wheel", str(wheel), python=str(python),
                    **env).returncode == 0  # fmt: skip
    subprocess.run(["bash", str(uninstall), "--yes-models", "--yes-data"], env=env_run, check=True,
                   capture_output=True, timeout=60)  # fmt: skip
    assert not models.exists() and not data.exists()


def test_without_a_wheel_it_builds_one_from_the_source_tree_with_the_venvs_pip(tmp_path):
    prefix = tmp_path / "p"
    result = _install(tmp_path, "--dry-run", "--prefix", str(prefix))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    build = next(line for line in lines if " pip wheel " in line)
    assert build.startswith(f"+ {prefix}/venv/bin/python -m pip wheel") and build.endswith(str(REPO))
    assert lines.index(build) < lines.index(next(line for line in lines if "torch==2.13.0" in line))
