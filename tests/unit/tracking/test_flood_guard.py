"""The tracking endpoints' per-address budget: a flood is refused, everyone else is not."""

from __future__ import annotations

import pytest

from openmailer.adapters.http.tracking.flood import FloodGuard

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_one_address_over_its_budget_waits_for_the_next_window_and_others_go_on() -> None:
    clock = Clock()
    guard = FloodGuard(limit=3, window_seconds=10, clock=clock)
    assert [guard.admit("198.51.100.1") for _ in range(3)] == [None, None, None]
    clock.now = 104.5
    assert guard.admit("198.51.100.1") == 5
    assert guard.admit("203.0.113.9") is None
    clock.now = 110.0
    assert guard.admit("198.51.100.1") is None
