"""The cyclic garbage collector, paused around work that builds many objects and keeps them.

A scoring step, a period's scores or a range's counts allocate hundreds of thousands of small
objects (states, contributions, deltas, ratios), none of them in a reference cycle: reference
counting frees all they drop. Left running, the collector is set off by the allocations alone
and walks the whole heap each time the objects kept grow by a quarter: in the replay bench more
than half of a step's time, and three times a range's own computation, for no garbage. It runs
again as usual once the work is done.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Paused for the block; left as it was if an enclosing block already paused it."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
