"""A per-process, per-address fixed-window count: the one-click unsubscribe's flood guard.

The RFC 8058 POST comes from mailbox providers' few servers on behalf of many recipients, at
rates where a Redis round trip per request is a large share of its cost. So its budget is
counted in the process (each API process grants it: N processes, N times the budget per
address), in windows of the wall clock's minutes. Only the current window's addresses are kept,
at most `max_addresses` of them; beyond that an address not yet seen is admitted uncounted
rather than refused (a flood from that many addresses is not one a per-address limit stops).
"""

from __future__ import annotations


class ProcessWindowLimit:
    def __init__(self, limit: int, window_seconds: int, *, max_addresses: int = 100_000) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self._max_addresses = max_addresses
        self._window = -1
        self._counts: dict[str, int] = {}

    def hit(self, address: str, now: float) -> int | None:
        """Counts one request; None when admitted, else the seconds until the window ends."""
        window = int(now) // self.window_seconds
        if window != self._window:
            self._window = window
            self._counts = {}
        count = self._counts.get(address, 0) + 1
        if count == 1 and len(self._counts) >= self._max_addresses:
            return None
        self._counts[address] = count
        if count <= self.limit:
            return None
        return max((window + 1) * self.window_seconds - int(now), 1)
