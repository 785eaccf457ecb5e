"""The drain: stale entries taken over first, a batch acknowledged only after it was applied,
handlers run in their order; with fakes for the stream and the store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from openmailer.core.registry import Registry
from openmailer.core.tracking.model import BufferedHit, Event, EventKind, Hit, TrackingHandler
from openmailer.core.tracking.service import DrainPorts, drain, ordered_handlers

pytestmark = pytest.mark.unit


def hit(event_id: str) -> BufferedHit:
    return BufferedHit(event_id, Hit(EventKind.OPEN, "t" * 32, datetime(2026, 1, 1, tzinfo=UTC)))


class Stream:
    def __init__(self, stale: list[BufferedHit], new: list[BufferedHit]) -> None:
        self.stale, self.new = stale, new
        self.log: list[str] = []

    async def claim_stale(self, count: int) -> list[BufferedHit]:
        taken, self.stale = self.stale[:count], self.stale[count:]
        return taken

    async def read(self, count: int) -> list[BufferedHit]:
        taken, self.new = self.new[:count], self.new[count:]
        return taken

    async def acknowledge(self, event_ids: Sequence[str]) -> None:
        self.log.append("ack " + ",".join(event_ids))


class Store:
    def __init__(self, stream: Stream, *, fail_on: str | None = None) -> None:
        self.stream, self.fail_on = stream, fail_on

    async def apply(self, hits: Sequence[BufferedHit], handlers: Sequence[TrackingHandler]) -> int:
        ids = [h.event_id for h in hits]
        if self.fail_on in ids:
            raise RuntimeError("database gone")
        self.stream.log.append("apply " + ",".join(ids))
        return len(hits)


async def test_stale_entries_first_and_each_batch_acknowledged_after_it_is_applied() -> None:
    stream = Stream([hit("1-0")], [hit("2-0"), hit("3-0"), hit("4-0")])
    applied = await drain(DrainPorts(stream, Store(stream), Registry("h")), batch_size=2)
    assert applied == 4
    assert stream.log == [
        "apply 1-0",
        "ack 1-0",
        "apply 2-0,3-0",
        "ack 2-0,3-0",
        "apply 4-0",
        "ack 4-0",
    ]


async def test_a_batch_that_fails_to_apply_is_never_acknowledged() -> None:
    stream = Stream([], [hit("1-0"), hit("2-0")])
    with pytest.raises(RuntimeError):
        await drain(DrainPorts(stream, Store(stream, fail_on="2-0"), Registry("h")), batch_size=1)
    assert stream.log == ["apply 1-0", "ack 1-0"]


def test_handlers_run_in_order_then_registration_order() -> None:
    async def nothing(conn: Any, events: Sequence[Event]) -> None:
        return None

    registry: Registry[TrackingHandler] = Registry("tracking handler")
    registrar = registry.registrar("test")
    registrar.add("late", TrackingHandler(nothing, "late", order=200))
    registrar.add("first", TrackingHandler(nothing, "first", order=10))
    registrar.add("second", TrackingHandler(nothing, "second", order=10))
    assert [h.description for h in ordered_handlers(registry)] == ["first", "second", "late"]


def test_the_built_in_handlers_are_registered_through_the_hook() -> None:
    from openmailer.plugins import tracking_handlers
    from openmailer.plugins.manager import load_areas

    areas = load_areas(extra=[tracking_handlers], entry_points=False)
    assert list(areas.tracking_handlers) == ["recipients", "clicks", "links", "campaign-rates"]
    assert areas.tracking_handlers.plugin_of("clicks") == tracking_handlers.__name__
