"""Where the data files that ship with the studio are: ``resources/`` (style sheet, export presets, fonts)
and ``luts/`` (the shipped looks).

In the repository both folders sit at the top, beside the packages (the client's layout). ``setup.py`` maps
them into the ``app`` package, so a wheel carries them as the packages ``app.resources`` and ``app.luts``
and an editable install (``make venv``) maps them the same way; :mod:`importlib.resources` finds them in
both. A checkout run without any install (``PYTHONPATH=.``) falls back to the folders beside ``app/``.
Qt-free.
"""

from __future__ import annotations

from importlib import resources as _resources
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent


def _folder(package: str, checkout_name: str) -> Path:
    try:
        root = _resources.files(package)
    except ModuleNotFoundError:
        root = None
    if isinstance(root, Path) and root.is_dir():
        return root
    fallback = _CHECKOUT / checkout_name
    if fallback.is_dir():
        return fallback
    raise RuntimeError(
        f"AIPROD Studio's data files ({checkout_name}/) are missing: {package} is not installed as a folder "
        "and no source checkout holds them. Reinstall the studio (make venv, or the installer)."
    )


def resources_dir() -> Path:
    """The shipped ``resources/`` folder."""
    return _folder("app.resources", "resources")


def shipped_luts_dir() -> Path:
    """The shipped ``luts/`` folder (``$AIPROD_LUTS_DIR`` overrides it: :func:`app.color.looks.luts_dir`)."""
    return _folder("app.luts", "luts")
