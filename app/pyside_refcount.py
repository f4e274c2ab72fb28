"""Keep CPython 3.11's shared singletons alive under PySide6 6.11/6.12 (a refcount bug in the wheels).

The PySide6/shiboken6 abi3 wheels we can install (6.11.2 and 6.12.0) take one reference too few on the
objects CPython >= 3.12 treats as immortal: every Qt call that returns nothing costs ``None`` a reference,
every ``Signal.emit()`` costs ``True`` one. On 3.11, where those objects are ordinary, the count reaches
zero after a few thousand calls and the interpreter aborts with ``Fatal Python error: none_dealloc``
(or ``bool_dealloc``) -- within seconds of scrolling the timeline. ``tests/test_pyside_refcount.py``
reproduces it in a subprocess and checks this guard.

The guard does by hand what 3.12 does natively: it lifts the reference counts of those objects so far
(2**40) that no session can bring them down. It is a no-op on 3.12+ and on other interpreters, and it
changes nothing else: these objects are never freed in a running interpreter anyway.
Remove it once a PySide6 release without the bug is pinned.
"""

from __future__ import annotations

import ctypes
import sys

_LIFT = 1 << 40
_applied = False


def immortal_candidates() -> list[object]:
    """The objects CPython 3.12 made immortal that a C extension may return without a reference."""
    small_ints = [int(i) for i in range(-5, 257)]
    return [None, True, False, Ellipsis, NotImplemented, (), "", b"", *small_ints]


def keep_singletons_alive() -> bool:
    """Apply the guard once per process; returns whether it did anything."""
    global _applied
    if _applied or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    for obj in immortal_candidates():
        ctypes.c_ssize_t.from_address(id(obj)).value += _LIFT
    _applied = True
    return True
