"""Python's cyclic garbage collector, paused while a large write builds its rows.

A push of 10,000 records builds some 100,000 containers that live until it commits (records, cleaned
values, planned rows). Each time enough of them survive, the collector walks all of them in a full
collection, and finds nothing: they hold no reference cycles and are freed by their reference counts
when the push ends. Those walks were about a tenth of such a push (bench/sync.py). Paused, nothing is
lost: cyclic garbage made meanwhile waits for the next collection after the pause.

The collector is one per process, and a threaded web worker may run several pushes at once: it is
enabled again when the last of them ends, and only if it was enabled before the first began.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()
