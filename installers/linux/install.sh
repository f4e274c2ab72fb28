#!/usr/bin/env bash
# Install AIPROD Studio for the current user from its wheel: a virtual environment in PREFIX, the PyTorch
# 2.13.0 build that suits the GPU found (nvidia-smi's CUDA version; the CPU build without an NVIDIA GPU),
# the studio's wheel, a desktop entry and an uninstaller. Model weights are not installed: the studio's
# model manager (first run, or Settings > Model manager...) downloads them when you ask.
#
#   installers/linux/install.sh [--prefix DIR] [--wheel FILE] [--cpu] [--dry-run]
#
#   --prefix DIR   where to install (default: ~/.local/share/aiprod-studio)
#   --wheel FILE   the studio's wheel; default: an aiprod_studio-*.whl beside this script, else one built
#                  from the source tree this script sits in
#   --cpu          the CPU build of PyTorch even when an NVIDIA GPU is present
#   --dry-run      print what would be run (pip commands included) and change nothing
#
# Environment: PYTHON (a Python 3.11 or 3.12; default: python3.11, else python3.12),
#              TORCH_INDEX_URL (a PyTorch wheel index of your choice; overrides the GPU detection).
#              pip's own settings reach both pip commands; offline, from a folder of wheels (torch's too):
#              PIP_NO_INDEX=1 PIP_FIND_LINKS=/path/to/wheels (pip then ignores the PyTorch index).
set -euo pipefail

TORCH_SPEC="torch==2.13.0"
TORCH_INDEX="https://download.pytorch.org/whl"
# PyTorch's CUDA builds, newest first: "CUDA version the driver must support:index tag". The driver's
# CUDA version is the one nvidia-smi prints; the newest build it can run is taken. PyTorch 2.13's stable
# CUDA builds are 12.6 and 13.0 (pytorch/pytorch RELEASE.md, PR #187075; 12.8 builds ended before 2.12).
CUDA_BUILDS=("13.0:cu130" "12.6:cu126")

say() { printf 'aiprod-studio install: %s\n' "$*"; }
die() { printf 'aiprod-studio install: %s\n' "$*" >&2; exit 1; }

PREFIX="${XDG_DATA_HOME:-$HOME/.local/share}/aiprod-studio"
WHEEL=""
FORCE_CPU=0
DRY_RUN=0
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX="${2:?--prefix needs a folder}"; shift 2 ;;
    --wheel) WHEEL="${2:?--wheel needs a file}"; shift 2 ;;
    --cpu) FORCE_CPU=1; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0 ;;  # the comment at the top
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

# Each command that changes something goes through run: printed, and in a dry run only printed.
run() {
  printf '+'; printf ' %q' "$@"; printf '\n'
  [ "$DRY_RUN" = 1 ] || "$@"
}

# --- Python 3.11 or 3.12 ------------------------------------------------------------------------------
supported='import sys; sys.exit(sys.version_info[:2] not in ((3, 11), (3, 12)))'
if [ -z "${PYTHON:-}" ]; then
  for candidate in python3.11 python3.12 python3; do
    if "$candidate" -c "$supported" 2>/dev/null; then PYTHON="$candidate"; break; fi
  done
fi
[ -n "${PYTHON:-}" ] || die "Python 3.11 or 3.12 not found; install one (e.g. sudo apt install python3.11-venv) or set PYTHON=/path/to/python3.12"
"$PYTHON" -c "$supported" 2>/dev/null || die "$PYTHON is not Python 3.11 or 3.12"
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null \
  || die "$PYTHON cannot make virtual environments; install its venv module (Debian/Ubuntu: python3-venv)"

# --- PyTorch build: from the GPU nvidia-smi reports ------------------------------------------------------
# "12.8" >= "12.6"? (major.minor compared as numbers)
version_at_least() {
  local have="$1" need="$2"
  [ "${have%%.*}" -gt "${need%%.*}" ] && return 0
  [ "${have%%.*}" -eq "${need%%.*}" ] && [ "${have#*.}" -ge "${need#*.}" ]
}

torch_choice() {
  if [ -n "${TORCH_INDEX_URL:-}" ]; then
    echo "$TORCH_INDEX_URL|the index set in TORCH_INDEX_URL"
    return
  fi
  if [ "$FORCE_CPU" = 1 ]; then
    echo "$TORCH_INDEX/cpu|the CPU build (--cpu)"
    return
  fi
  if ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "$TORCH_INDEX/cpu|the CPU build (no NVIDIA GPU found: nvidia-smi is not installed)"
    return
  fi
  local smi cuda gpu
  if ! smi="$(nvidia-smi 2>&1)"; then
    echo "$TORCH_INDEX/cpu|the CPU build (nvidia-smi failed: ${smi%%$'\n'*}; is the NVIDIA driver loaded?)"
    return
  fi
  cuda="$(sed -n 's/.*CUDA Version: *\([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p' <<<"$smi" | head -n 1)"
  gpu="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1 || true)"
  if [ -z "$cuda" ]; then
    echo "$TORCH_INDEX/cpu|the CPU build (nvidia-smi does not report a CUDA version)"
    return
  fi
  local build
  for build in "${CUDA_BUILDS[@]}"; do
    if version_at_least "$cuda" "${build%%:*}"; then
      echo "$TORCH_INDEX/${build#*:}|the CUDA ${build%%:*} build (${gpu:-NVIDIA GPU}, driver supports CUDA $cuda)"
      return
    fi
  done
  echo "$TORCH_INDEX/cpu|the CPU build (the driver supports CUDA $cuda, older than PyTorch's oldest CUDA build ${CUDA_BUILDS[-1]%%:*}; update the NVIDIA driver and run this again)"
}

choice="$(torch_choice)"
TORCH_URL="${choice%%|*}"
say "PyTorch: ${choice#*|}"

# --- the wheel --------------------------------------------------------------------------------------------
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SOURCE="$(cd "$HERE/../.." && pwd)"
if [ -z "$WHEEL" ]; then
  WHEEL="$(ls -1 "$HERE"/aiprod_studio-*.whl 2>/dev/null | sort -V | tail -n 1 || true)"
fi
if [ -z "$WHEEL" ]; then
  [ -f "$SOURCE/pyproject.toml" ] && [ -f "$SOURCE/setup.py" ] \
    || die "no wheel: pass --wheel FILE, or run this script from an AIPROD Studio source tree"
else
  [ "$DRY_RUN" = 1 ] || [ -f "$WHEEL" ] || die "the wheel $WHEEL does not exist"
fi

# --- install ----------------------------------------------------------------------------------------------
[ "$DRY_RUN" = 1 ] || mkdir -p "$PREFIX"
VENV="$PREFIX/venv"
if [ ! -x "$VENV/bin/python" ]; then
  say "creating a virtual environment in $VENV"
  run "$PYTHON" -m venv "$VENV"
fi
pip=("$VENV/bin/python" -m pip install --disable-pip-version-check)
if [ -z "$WHEEL" ]; then
  # built with the new venv's pip (a system Python may have none)
  BUILD_DIR="$(mktemp -d)"
  trap 'rm -rf "$BUILD_DIR"' EXIT
  say "building the studio's wheel from $SOURCE"
  run "$VENV/bin/python" -m pip wheel --quiet --no-deps --disable-pip-version-check -w "$BUILD_DIR" "$SOURCE"
  WHEEL="$BUILD_DIR/aiprod_studio.whl"
  if [ "$DRY_RUN" = 0 ]; then
    WHEEL="$(ls -1 "$BUILD_DIR"/aiprod_studio-*.whl | head -n 1)"
  fi
fi
# torch first and alone, from the index that has the build chosen above; the studio's pin (torch==2.13.0)
# is then satisfied and pip leaves it alone. A re-run (an update) keeps what is already right.
run "${pip[@]}" --index-url "$TORCH_URL" "$TORCH_SPEC"
run "${pip[@]}" --upgrade "$WHEEL"

run mkdir -p "$PREFIX/bin"
run ln -sf "$VENV/bin/aiprod-studio" "$PREFIX/bin/aiprod-studio"
run ln -sf "$VENV/bin/aiprod-cli" "$PREFIX/bin/aiprod-cli"

APPLICATIONS="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
DESKTOP="$APPLICATIONS/aiprod-studio.desktop"
UNINSTALL="$PREFIX/uninstall.sh"
if [ "$DRY_RUN" = 1 ]; then
  say "would write $DESKTOP and $UNINSTALL"
  say "dry run: nothing was changed"
  exit 0
fi

mkdir -p "$APPLICATIONS"
cat > "$DESKTOP" <<DESKTOP
[Desktop Entry]
Type=Application
Name=AIPROD Studio
Comment=Local AI video generation, editing, grading and delivery
Exec="$PREFIX/bin/aiprod-studio" %f
Icon=applications-multimedia
Terminal=false
Categories=AudioVideo;Video;AudioVideoEditing;
DESKTOP
command -v update-desktop-database >/dev/null && update-desktop-database "$APPLICATIONS" 2>/dev/null || true

# The uninstaller asks the installed studio where its models and data are before removing it, and deletes
# those only when the user says yes to each.
cat > "$UNINSTALL" <<UNINSTALL
#!/usr/bin/env bash
# Remove AIPROD Studio installed in $PREFIX. Asks before deleting the model weights and the studio's data
# (recovery files and the media of never-saved projects). Projects you saved (*.aiprod folders) stay.
#   $UNINSTALL [--yes-models] [--yes-data]   (answers for scripts; without them it asks)
set -euo pipefail
PREFIX="$PREFIX"
DESKTOP="$DESKTOP"
UNINSTALL
cat >> "$UNINSTALL" <<'UNINSTALL'
yes_models=0; yes_data=0
for arg in "$@"; do
  case "$arg" in
    --yes-models) yes_models=1 ;;
    --yes-data) yes_data=1 ;;
    *) echo "uninstall: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done
ask() {  # ask QUESTION PRESET: 0 for yes
  [ "$2" = 1 ] && return 0
  local answer
  printf '%s [y/N] ' "$1"
  read -r answer || answer=""
  echo
  [[ "$answer" =~ ^[Yy] ]]
}
size_of() { du -sh "$1" 2>/dev/null | cut -f1; }
models=() data=""
if [ -x "$PREFIX/venv/bin/python" ]; then
  # line 1: the models folder; line 2: "owned" (the studio made it) or "shared" (e.g. a ComfyUI tree);
  # then, for a shared folder, the files the studio downloaded into it
  mapfile -t models < <("$PREFIX/venv/bin/python" -m app.model_store.folder 2>/dev/null || true)
  data="$("$PREFIX/venv/bin/python" -c 'from app.project.paths import data_root; print(data_root())' 2>/dev/null || true)"
fi
if [ "${#models[@]}" -ge 2 ] && [ -d "${models[0]}" ]; then
  folder="${models[0]}"
  if [ "${models[1]}" = owned ]; then
    if ask "Delete the model weights in $folder ($(size_of "$folder"))?" "$yes_models"; then
      rm -rf -- "$folder"
    else
      echo "uninstall: kept $folder"
    fi
  elif [ "${#models[@]}" -gt 2 ]; then
    if ask "Delete the $(( ${#models[@]} - 2 )) model files the studio downloaded into $folder (a folder it shares with other programs; the rest stays)?" "$yes_models"; then
      for file in "${models[@]:2}"; do rm -rf -- "$file"; done
    else
      echo "uninstall: kept the downloaded models in $folder"
    fi
  fi
fi
if [ -n "$data" ] && [ -d "$data" ]; then
  if ask "Delete the studio's data in $data ($(size_of "$data")): crash-recovery files and the media of projects never saved?" "$yes_data"; then
    if [ -n "${folder:-}" ] && [ -d "$folder" ] && [[ "$folder" == "$data"/* ]]; then
      # the kept models folder lives inside the data folder: remove everything else
      rel="${folder#"$data"/}"
      find "$data" -mindepth 1 -maxdepth 1 ! -path "$data/${rel%%/*}" -exec rm -rf -- {} +
    else
      rm -rf -- "$data"
    fi
  else
    echo "uninstall: kept $data"
  fi
fi
rm -f -- "$DESKTOP"
rm -rf -- "$PREFIX/venv" "$PREFIX/bin"
rm -f -- "$PREFIX/uninstall.sh"
rmdir -- "$PREFIX" 2>/dev/null || true
echo "uninstall: AIPROD Studio removed; projects you saved (*.aiprod folders) are where you left them"
UNINSTALL
chmod +x "$UNINSTALL"

say "done: run $PREFIX/bin/aiprod-studio (or find AIPROD Studio in your applications menu)"
say "first run: the studio's model manager offers the model downloads; $PREFIX/bin/aiprod-studio --check says what it sees"
say "to remove it: $UNINSTALL"
