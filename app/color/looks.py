"""The shipped looks: ``luts/*.cube`` at the repository root, made by ``luts/make_looks.py``; installed as
package data (``app.luts``, see :mod:`app.package_data`).

Each file names itself: a ``TITLE "..."`` line and ``# `` comment lines before it that describe the look
(the first comment paragraph is the description). Nothing else lists the looks, so adding a .cube file to
``luts/`` adds a look.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from app.errors import ColorError
from app.package_data import shipped_luts_dir

LUTS_DIR = shipped_luts_dir()


@dataclass(frozen=True)
class Look:
    name: str  # file stem, what a Grade stores
    title: str
    path: Path
    description: str


def luts_dir() -> Path:
    """Where the looks live: the shipped ones, or ``$AIPROD_LUTS_DIR`` when set (an override)."""
    override = os.environ.get("AIPROD_LUTS_DIR")
    return Path(override) if override else LUTS_DIR


def available() -> list[Look]:
    """Every shipped look, sorted by name."""
    folder = luts_dir()
    if not folder.is_dir():
        return []
    return [_read_header(path) for path in sorted(folder.glob("*.cube"))]


def path(name: str) -> Path:
    """The .cube file of look ``name``; ColorError naming the looks there are when it is unknown."""
    candidate = luts_dir() / f"{name}.cube"
    if "/" in name or "\\" in name or not candidate.is_file():
        names = ", ".join(look.name for look in available()) or "none installed"
        raise ColorError(f"Unknown look '{name}'. The shipped looks are: {names}.")
    return candidate


def _read_header(file: Path) -> Look:
    title = file.stem.replace("_", " ").title()
    lines: list[str] = []
    with file.open(encoding="utf-8", errors="replace") as handle:
        for raw in handle:
            line = raw.strip()
            if line.startswith("#"):
                lines.append(line.lstrip("#").strip())
            elif line.startswith("TITLE"):
                title = line[len("TITLE") :].strip().strip('"') or title
            elif line:
                break  # the LUT data starts: the header is over
    description = " ".join(_first_paragraph(lines))
    return Look(name=file.stem, title=title, path=file, description=description)


def _first_paragraph(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if not line:
            if out:
                break
            continue
        out.append(line)
    return out
