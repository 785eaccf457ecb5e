"""A run's batches each end further into the file than the one before: a batch's end offset is
its place (the lock the next batch waits on), so two batches must never share one."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from openmailer.core.imports.model import Batch
from openmailer.core.imports.rows import read_batches
from tests.unit.audience.fakes import FakeAddresses

pytestmark = pytest.mark.unit


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def batches_of(data: bytes, *, batch_size: int, skip_to_offset: int = 0) -> list[Batch]:
    return [
        batch
        async for batch in read_batches(
            _chunks(data, 7),
            delimiter=",",
            mapping={"email": "email"},
            addresses=FakeAddresses(),
            batch_size=batch_size,
            skip_to_offset=skip_to_offset,
        )
    ]


def rows(count: int, *, tail: str = "") -> bytes:
    return ("email\n" + "".join(f"r{n}@example.com\n" for n in range(count)) + tail).encode()


def assert_places_increase(batches: list[Batch]) -> None:
    assert [b.start_offset for b in batches[1:]] == [b.end_offset for b in batches[:-1]]
    assert all(b.end_offset > b.start_offset for b in batches)
    assert [b.last for b in batches].count(True) <= 1


async def test_a_file_the_batches_fill_exactly_ends_with_its_last_full_batch() -> None:
    data = rows(6)
    batches = await batches_of(data, batch_size=3)
    assert [len(b.contacts) for b in batches] == [3, 3]
    assert batches[-1].end_offset == len(data)
    assert_places_increase(batches)


async def test_what_follows_the_last_full_batch_is_a_batch_of_its_own() -> None:
    data = rows(6, tail="\n\n")
    batches = await batches_of(data, batch_size=3)
    assert [len(b.contacts) for b in batches] == [3, 3, 0]
    assert batches[-1].last and batches[-1].end_offset == len(data)
    assert_places_increase(batches)


async def test_a_resumed_run_starts_at_its_resume_point_and_keeps_the_same_places() -> None:
    data = rows(7)
    first = await batches_of(data, batch_size=3)
    resumed = await batches_of(data, batch_size=3, skip_to_offset=first[0].end_offset)
    assert [(b.start_offset, b.end_offset) for b in resumed] == [
        (b.start_offset, b.end_offset) for b in first[1:]
    ]
    assert resumed[-1].last and len(resumed[-1].contacts) == 1
    assert_places_increase(resumed)


async def test_a_header_alone_is_one_empty_last_batch() -> None:
    batches = await batches_of(b"email\n", batch_size=3)
    assert [(len(b.contacts), b.last, b.end_offset) for b in batches] == [(0, True, 6)]


async def test_a_run_resumed_at_the_end_of_the_file_has_nothing_to_commit() -> None:
    data = rows(6)
    assert await batches_of(data, batch_size=3, skip_to_offset=len(data)) == []
