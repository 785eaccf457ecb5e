"""The run's memory of the addresses it has read: what it rules out without asking, and what it
asks the database about."""

from __future__ import annotations

import pytest

from openmailer.core.imports.model import StagedContact
from openmailer.core.imports.seen import AddressFilter, RunMemory

pytestmark = pytest.mark.unit


def contact(line: int, email: str) -> StagedContact:
    return StagedContact(line, email, None, None, {}, [])


class Database:
    """What committed batches remembered, by address; records what it was asked."""

    def __init__(self, remembered: dict[str, int] | None = None) -> None:
        self.remembered = dict(remembered or {})
        self.asked: list[list[str]] = []

    async def lines(self, contacts: list[StagedContact]) -> dict[int, int]:
        self.asked.append([c.email.lower() for c in contacts])
        return {
            c.line: self.remembered[c.email.lower()]
            for c in contacts
            if c.email.lower() in self.remembered
        }

    def commit(self, memory: RunMemory, end_offset: int, kept: list[StagedContact]) -> None:
        for c in kept:
            self.remembered.setdefault(c.email.lower(), c.line)
        memory.committed(end_offset, all_new=True)


def test_the_filter_holds_every_address_added_and_rules_out_nearly_all_others() -> None:
    held = AddressFilter(expected=1000)  # far fewer than added: it grows
    added = [f"person{n}@example.com" for n in range(300_000)]
    first_time = sum(held.add(address) for address in added)
    assert first_time < 0.03 * len(added), first_time  # only false positives
    assert all(held.add(address) for address in added)  # never a false negative
    others = [f"other{n}@example.org" for n in range(100_000)]
    false_positives = sum(held.add(address) for address in others)
    assert false_positives < 0.03 * len(others), false_positives


async def test_duplicates_inside_a_batch_and_of_a_batch_in_flight_need_no_lookup() -> None:
    memory, database = RunMemory(resumed=False), Database()
    kept, duplicates = await memory.first_occurrences(
        100, [contact(2, "a@x.com"), contact(3, "B@x.com"), contact(4, "A@X.com")], database.lines
    )
    assert [c.line for c in kept] == [2, 3]
    assert [(d.line, d.reason) for d in duplicates] == [(4, "duplicate of line 2 (same address)")]
    # the first batch is not committed yet: the second finds it in flight
    kept, duplicates = await memory.first_occurrences(
        200, [contact(5, "b@x.com"), contact(6, "c@x.com"), contact(7, "b@x.com")], database.lines
    )
    assert [c.line for c in kept] == [6]
    assert sorted((d.line, d.reason) for d in duplicates) == [
        (5, "duplicate of line 3 (same address)"),
        (7, "duplicate of line 3 (same address)"),
    ]
    assert database.asked == []


async def test_a_committed_batch_is_looked_up_only_for_addresses_the_filter_may_hold() -> None:
    memory, database = RunMemory(resumed=False), Database()
    first = [contact(line, f"p{line}@x.com") for line in range(2, 1002)]
    kept, _ = await memory.first_occurrences(1000, first, database.lines)
    database.commit(memory, 1000, kept)
    later = [
        contact(1002, "p5@x.com"),
        *(contact(line, f"q{line}@x.com") for line in range(1003, 2003)),
    ]
    kept, duplicates = await memory.first_occurrences(2000, later, database.lines)
    assert [(d.line, d.reason) for d in duplicates] == [
        (1002, "duplicate of line 5 (same address)")
    ]
    assert len(kept) == 1000
    asked = [address for batch in database.asked for address in batch]
    assert "p5@x.com" in asked
    assert len(asked) < 30  # the one duplicate and the filter's few false positives


async def test_a_resumed_run_asks_about_every_address() -> None:
    database = Database({"old@x.com": 2})  # a batch committed by an earlier run
    memory = RunMemory(resumed=True)
    kept, duplicates = await memory.first_occurrences(
        500, [contact(40, "new@x.com"), contact(41, "OLD@x.com")], database.lines
    )
    assert [c.line for c in kept] == [40]
    assert [(d.line, d.reason) for d in duplicates] == [(41, "duplicate of line 2 (same address)")]
    assert database.asked == [["new@x.com", "old@x.com"]]


async def test_a_false_positive_of_the_filter_is_kept() -> None:
    memory, database = RunMemory(resumed=False), Database()
    kept, _ = await memory.first_occurrences(10, [contact(2, "a@x.com")], database.lines)
    database.commit(memory, 10, kept)
    # the filter says "maybe" for an address the database does not remember: kept
    assert not memory.filter.add("b@x.com")
    kept, duplicates = await memory.first_occurrences(20, [contact(3, "b@x.com")], database.lines)
    assert [c.line for c in kept] == [3] and duplicates == []
    assert database.asked == [["b@x.com"]]


def test_a_run_expects_new_contacts_once_a_committed_batch_was_all_new_until_one_is_not() -> None:
    memory = RunMemory(resumed=False)
    assert not memory.likely_new  # nothing committed yet: nothing known of the account
    memory.committed(100, all_new=True)
    assert memory.likely_new
    memory.committed(200, all_new=False)
    assert not memory.likely_new
    memory.committed(300, all_new=True)
    assert not memory.likely_new  # an account that held one address may hold more
