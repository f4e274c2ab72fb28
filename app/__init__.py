"""AIPROD Studio application layer (Qt-free services shared by the CLI and the UI)."""

from app.pyside_refcount import keep_singletons_alive

__version__ = "0.1.0"

# Before any Qt object exists: PySide6 6.11/6.12 under CPython 3.11 under-counts references to None and
# True (see app/pyside_refcount.py). Every Qt-using module imports app first, so this runs in time.
keep_singletons_alive()
