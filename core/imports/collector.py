"""The cyclic garbage collector's youngest generation enlarged while imports run.

A run allocates a few container objects per row (the parsed record, the staged contact, its
tags) that live until their batch commits, tens of thousands at a time. At the default
threshold (a collection every 700 net allocations) the collector walks those survivors again
and again: a quarter of the importing process's CPU in a profile of the import benchmark, CPU
taken from the database on the same two cores. A young generation of 50,000 objects makes the
passes rare; the rows hold no reference cycles, so nothing waits longer to be freed.

The threshold is the process's, shared by every thread: the first run to start raises it, the
last to finish restores what it was.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

RUN_THRESHOLD = 50_000


class _Runs:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._saved: tuple[int, int, int] | None = None

    def enter(self) -> None:
        with self._lock:
            if self._count == 0:
                self._saved = gc.get_threshold()
                youngest, *older = self._saved
                # 0 is a collector turned off on purpose: left so
                if 0 < youngest < RUN_THRESHOLD:
                    gc.set_threshold(RUN_THRESHOLD, *older)
            self._count += 1

    def leave(self) -> None:
        with self._lock:
            self._count -= 1
            if self._count == 0 and self._saved is not None:
                gc.set_threshold(*self._saved)
                self._saved = None


_runs = _Runs()


@contextmanager
def fewer_collections() -> Iterator[None]:
    _runs.enter()
    try:
        yield
    finally:
        _runs.leave()
