"""The one-click unsubscribe's per-process, per-address budget."""

from __future__ import annotations

from openmailer.core.recipients.process_limit import ProcessWindowLimit


def test_an_address_is_refused_past_its_budget_until_the_window_ends() -> None:
    limit = ProcessWindowLimit(3, 60)
    assert [limit.hit("192.0.2.1", 120.0 + n) for n in range(3)] == [None, None, None]
    assert limit.hit("192.0.2.1", 130.5) == 50  # seconds left in the window [120, 180)
    assert limit.hit("192.0.2.2", 130.5) is None  # another address has its own budget
    assert limit.hit("192.0.2.1", 179.9) == 1
    assert limit.hit("192.0.2.1", 180.0) is None  # a new window


def test_past_the_addresses_it_keeps_a_new_one_is_admitted_uncounted() -> None:
    limit = ProcessWindowLimit(1, 60, max_addresses=2)
    assert limit.hit("a", 0) is None and limit.hit("b", 0) is None
    assert [limit.hit("c", 1) for _ in range(5)] == [None] * 5  # not tracked: never refused
    assert limit.hit("a", 2) == 58  # the tracked ones still are
