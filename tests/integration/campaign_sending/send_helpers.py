"""Helpers of the send-path tests: an audience of subscribed contacts in a list, a template with
tracked links, the send service on the app's resources with an in-memory queue, and a driver
that runs the queued work in-process (the worker subprocess tests run the real queue)."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.bootstrap.campaign_sending import build_campaign_sending
from openmailer.adapters.db.tables import EmailTemplate
from openmailer.core.accounts.model import User
from openmailer.core.campaigns.sending_service import CampaignSendingService
from openmailer.core.ports.campaign_sending import Lane
from tests.integration.segments.segment_helpers import add_list

_numbers = itertools.count(1)
LINKED_HTML = (
    '<p>Hi {{ first_name | default: "there" }}</p>'
    '<p><a href="https://example.org/one">one</a> <a href="https://example.org/two">two</a></p>'
)


async def linked_template(engine: AsyncEngine, user: User) -> int:
    async with engine.begin() as conn:
        row = await conn.execute(
            insert(EmailTemplate.__table__)
            .values(
                name=f"linked {next(_numbers)}_{os.getpid()}",
                subject='News for {{ first_name | default: "you" }}',
                body=LINKED_HTML,
                created_by=user.id,
            )
            .returning(EmailTemplate.__table__.c.id)
        )
        return int(row.scalar_one())


async def audience(
    engine: AsyncEngine,
    user: User,
    count: int,
    *,
    prefix: str = "reader",
    status: str = "SUBSCRIBED",
) -> int:
    """A list of `count` contacts `{prefix}{i}-{n}-{user}@example.net` (first_name, custom i)."""
    list_id = await add_list(engine, user)
    await add_members(engine, user, list_id, count, prefix=prefix, status=status)
    return list_id


async def add_members(
    engine: AsyncEngine,
    user: User,
    list_id: int,
    count: int,
    *,
    prefix: str = "reader",
    status: str = "SUBSCRIBED",
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                """
                WITH added AS (
                    INSERT INTO contacts (user_id, email, status, first_name, custom_fields)
                    SELECT CAST(:user_id AS bigint),
                           :prefix || i || '-' || :batch || '-' || CAST(:user_id AS bigint)
                           || '@example.net',
                           :status, 'Reader' || i, jsonb_build_object('i', i)
                    FROM generate_series(0, :count - 1) AS i
                    RETURNING id
                )
                INSERT INTO contact_list_memberships (contact_id, list_id, status)
                SELECT id, :list_id, 'ACTIVE' FROM added
                """
            ),
            {
                "user_id": user.id,
                "count": count,
                "prefix": prefix,
                "status": status,
                "list_id": list_id,
                "batch": str(next(_numbers)),
            },
        )


@dataclass
class MemoryQueue:
    """`CampaignQueue` in memory: what a test's driver runs, delays honoured by the driver."""

    messages: deque[tuple[str, int, int, float, Lane | None]] = field(default_factory=deque)
    active: dict[int, float] = field(default_factory=dict)
    lanes: dict[tuple[int, int], tuple[str, float]] = field(default_factory=dict)

    def start(self, user_id: int, campaign_id: int) -> None:
        self.messages.append(("start", user_id, campaign_id, 0.0, None))

    def batch(
        self, user_id: int, campaign_id: int, *, lane: Lane | None, delay_seconds: float = 0.0
    ) -> None:
        at = time.monotonic() + delay_seconds
        self.messages.append(("batch", user_id, campaign_id, at, lane))

    async def hold_lane(self, campaign_id: int, lane: Lane, seconds: float) -> bool:
        await self.touch(campaign_id, seconds)
        token, until = self.lanes.get((campaign_id, lane.index), ("", 0.0))
        if token != lane.token and until > time.monotonic():
            return False
        self.lanes[(campaign_id, lane.index)] = (lane.token, time.monotonic() + seconds)
        return True

    async def release_lane(self, campaign_id: int, lane: Lane) -> None:
        if self.lanes.get((campaign_id, lane.index), ("", 0.0))[0] == lane.token:
            del self.lanes[(campaign_id, lane.index)]

    async def touch(self, campaign_id: int, seconds: float) -> None:
        self.active[campaign_id] = max(
            self.active.get(campaign_id, 0.0), time.monotonic() + seconds
        )

    async def is_active(self, campaign_id: int) -> bool:
        return self.active.get(campaign_id, 0.0) > time.monotonic()


def sending_service(app: Litestar, queue: MemoryQueue, **settings: Any) -> CampaignSendingService:
    import dataclasses

    resources = app.state.resources
    if settings:
        resources = dataclasses.replace(
            resources, settings=dataclasses.replace(resources.settings, **settings)
        )
    return build_campaign_sending(
        resources, app.state.areas.segment_operators, queue=queue, renderer_threads=1
    )


async def drain(
    service: CampaignSendingService, queue: MemoryQueue, *, concurrency: int = 2, limit: float = 60
) -> int:
    """Runs queued messages (`concurrency` at once) until none is left; how many batch runs."""
    runs = 0
    deadline = time.monotonic() + limit
    while queue.messages:
        assert time.monotonic() < deadline, "the campaign did not finish in time"
        taken = [queue.messages.popleft() for _ in range(min(concurrency, len(queue.messages)))]
        wait = max(0.0, max(at for *_, at, _ in taken) - time.monotonic())
        if wait:
            await asyncio.sleep(min(wait, 1.0))
        jobs = []
        for kind, user_id, campaign_id, _, lane in taken:
            if kind == "start":
                jobs.append(service.prepare(user_id, campaign_id))
            else:
                runs += 1
                jobs.append(service.send_batch(user_id, campaign_id, lane))
        await asyncio.gather(*jobs)
    return runs
