"""Python's cycle collector held off while a result or a report builds many objects.

Judging a 10,000-level column builds hundreds of thousands of lists, and its
JSON report as many dicts; none of them forms a cycle, but every 700 new
containers sets off a collection that walks them again. Held off, judging took
0.09 s instead of 0.21 s and the JSON 0.25 s instead of 0.35 s. Collection is
held off only for the block, and resumes as before once it ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def held_off() -> Iterator[None]:
    """Run the block without automatic collection (left off if it was off)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
