"""A per-address request budget kept in the API process itself.

The tracking endpoints are the hottest public routes: a Redis round trip per hit only to count
it would cost as much as recording the hit. Each process counts for itself in fixed windows, so
with N API processes an address gets up to N budgets (the limit is about floods, not quotas).
"""

from __future__ import annotations

import time
from collections.abc import Callable

REQUESTS_PER_WINDOW = 1000
WINDOW_SECONDS = 10
# A window with more distinct addresses than this starts over (memory stays bounded).
MAX_ADDRESSES = 200_000


class FloodGuard:
    def __init__(
        self,
        *,
        limit: int = REQUESTS_PER_WINDOW,
        window_seconds: int = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._window = -1
        self._counts: dict[str, int] = {}

    def admit(self, address: str) -> int | None:
        """None when admitted, else the seconds until the address may try again."""
        now = self._clock()
        window = int(now // self.window_seconds)
        if window != self._window or len(self._counts) >= MAX_ADDRESSES:
            self._window = window
            self._counts = {}
        count = self._counts.get(address, 0) + 1
        self._counts[address] = count
        if count <= self.limit:
            return None
        return max(int((window + 1) * self.window_seconds - now), 1)
