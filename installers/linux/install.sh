#!/usr/bin/env bash
# Install AIPROD Studio for the current user: a virtual environment in PREFIX, PyTorch 2.13.0 (CUDA build
# when TORCH_INDEX_URL names PyTorch's CUDA wheel index), the studio itself, and a desktop entry.
#
#   installers/linux/install.sh [PREFIX]        default PREFIX: ~/.local/share/aiprod-studio
#   TORCH_INDEX_URL=<PyTorch's CUDA wheel index for your CUDA version> installers/linux/install.sh
#   PYTHON=/path/to/python3.11 installers/linux/install.sh
set -euo pipefail

TORCH_SPEC="torch==2.13.0"
PYTHON="${PYTHON:-python3.11}"
PREFIX="${1:-${XDG_DATA_HOME:-$HOME/.local/share}/aiprod-studio}"
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
APPLICATIONS="${XDG_DATA_HOME:-$HOME/.local/share}/applications"

say() { printf 'aiprod-studio install: %s\n' "$*"; }
die() { printf 'aiprod-studio install: %s\n' "$*" >&2; exit 1; }

command -v "$PYTHON" >/dev/null || die "$PYTHON not found; install Python 3.11 or set PYTHON=/path/to/python3.11"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || die "$PYTHON is not Python 3.11"
[ -f "$SOURCE/pyproject.toml" ] || die "run this script from an AIPROD Studio source tree"

mkdir -p "$PREFIX"
PREFIX="$(cd "$PREFIX" && pwd)"

# The studio reads resources/ and luts/ from beside its packages, so the tree is copied whole and
# installed in editable mode. A re-run replaces the copy (an update) and keeps the environment.
say "copying the application to $PREFIX/src"
rm -rf "$PREFIX/src.new"
mkdir -p "$PREFIX/src.new"
tar -C "$SOURCE" --exclude='__pycache__' --exclude='*.pyc' \
  -cf - app engine ui resources luts pyproject.toml README.md NOTICE | tar -C "$PREFIX/src.new" -xf -
rm -rf "$PREFIX/src"
mv "$PREFIX/src.new" "$PREFIX/src"

if [ ! -x "$PREFIX/venv/bin/python" ]; then
  say "creating a virtual environment in $PREFIX/venv"
  "$PYTHON" -m venv "$PREFIX/venv"
fi
pip=("$PREFIX/venv/bin/python" -m pip install --disable-pip-version-check)

# torch first and alone, so that its CUDA build can come from its own index; the studio's pin
# (torch==2.13.0) is then already satisfied and pip leaves it alone.
if [ -n "${TORCH_INDEX_URL:-}" ]; then
  say "installing $TORCH_SPEC from $TORCH_INDEX_URL"
  "${pip[@]}" --index-url "$TORCH_INDEX_URL" "$TORCH_SPEC"
else
  say "installing $TORCH_SPEC (default build; set TORCH_INDEX_URL for CUDA)"
  "${pip[@]}" "$TORCH_SPEC"
fi

say "installing AIPROD Studio"
"${pip[@]}" -e "$PREFIX/src"

mkdir -p "$PREFIX/bin"
ln -sf "$PREFIX/venv/bin/aiprod-studio" "$PREFIX/bin/aiprod-studio"
ln -sf "$PREFIX/venv/bin/aiprod-cli" "$PREFIX/bin/aiprod-cli"

mkdir -p "$APPLICATIONS"
cat > "$APPLICATIONS/aiprod-studio.desktop" <<DESKTOP
[Desktop Entry]
Type=Application
Name=AIPROD Studio
Comment=Local AI video generation, editing, grading and delivery
Exec="$PREFIX/bin/aiprod-studio"
Icon=applications-multimedia
Terminal=false
Categories=AudioVideo;Video;AudioVideoEditing;
DESKTOP
command -v update-desktop-database >/dev/null && update-desktop-database "$APPLICATIONS" 2>/dev/null || true

say "done: run $PREFIX/bin/aiprod-studio (or find AIPROD Studio in your applications menu)"
say "model weights are not included; see $PREFIX/src/README.md, \"Model weights\""
