"""Keeping the garbage collector's full passes short in long-running services.

A full collection walks every tracked object, and right after start-up that is everything the imports made: a
pause of the event loop long enough to show in the tail latency of sends. Objects made at start-up (modules,
classes, the app, pools) live as long as the process, so they are moved out of the collector's reach once,
after start-up; the passes that follow walk only what the process made since (CPython's ``gc.freeze``; nothing
frozen is ever freed, which is the point for these objects).
"""

from __future__ import annotations

import gc

_frozen = False


def freeze_startup_heap() -> None:
    """Collect once, then exempt every object alive now from later collections. Call when start-up is done;
    only the first call in a process does anything (a process that starts several apps, as the tests do,
    does not keep freezing what later becomes garbage)."""
    global _frozen
    if _frozen:
        return
    _frozen = True
    gc.collect()
    gc.freeze()
