"""Keep the studio's start-up objects out of the cyclic garbage collector's full collections, and free each
replaced project's document at the next load instead of letting them pile up.

Once the main window is up, the process holds about 210,000 objects the collector tracks (modules, Qt
wrappers, the theme, the engine registry...) that live until the studio quits. A project replaced by the
next open is cyclic garbage (its document, session and views refer to each other) that only a full
(generation 2) collection frees. Left alone, such a collection comes on its own every 4 to 10 opens, walks
the whole heap and frees every document dropped since: 0.15-0.6 s with the GIL held, a visible stall.

``freeze_long_lived`` (called once by ``ui/main.py`` when the window is shown) moves start-up's objects to the
collector's permanent generation, which no collection walks. On its own that halves the stall but does not
remove it: the collection still comes about every 9 opens and freeing 8 documents at once takes 0.2-0.3 s.
So, once frozen, every project load begins with ``collect_if_frozen``: a full collection that now walks only
what is not frozen (the open project and the one document dropped since the last load) and takes about
20 ms, so no document is left to pile up (``benchmarks/project_load.py --gc-ab`` measures all three).

Frozen objects are never collected (until ``gc.unfreeze()``), so the freeze runs once, before any project is
opened: a project's document becomes garbage when another one replaces it and must stay collectable. What
start-up made and dropped is collected first. The empty untitled project the window starts with is frozen
with it (a few hundred objects, kept until the studio quits).
"""

from __future__ import annotations

import gc

_frozen = False  # set by freeze_long_lived: full collections are cheap from then on


def freeze_long_lived() -> int:
    """Collect start-up's garbage, then freeze everything that survives; returns how many objects are frozen.

    From then on ``collect_if_frozen`` (each project load) runs a full collection."""
    global _frozen
    gc.collect()
    gc.freeze()
    _frozen = True
    return gc.get_freeze_count()


def collect_if_frozen() -> int:
    """A full collection if the start-up objects were frozen (then it walks only the rest: milliseconds, not
    tenths of a second); nothing otherwise (the command line tools, the tests). Returns what was collected."""
    return gc.collect() if _frozen and gc.get_freeze_count() else 0
