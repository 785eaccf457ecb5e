"""Provider events benchmark: the worker's CPU per stored SES/SendGrid event, applied by the
real `EventsService` on PostgreSQL.

    python -m benchmarks.provider_events [--quick] [--json] [--recipients 1500]

Creates a database of its own (dropped at the end) and migrates it; makes one user with an SES
and a SendGrid provider, a list, and for each way of processing measured a campaign of its own
already sent to `--recipients` new contacts on that list (recipients SENT, one email log each
with its provider message id), so every way starts from the same state. The events are the
kinds the load suite posts and the ones that change the most rows: a delivery for every
recipient (SES notifications and SendGrid batches of five, alternately), a hard bounce for every
20th, a complaint for every 50th (SES) and an unsubscribe for every 50th (SendGrid, another
one). They are stored as the webhook handler stores them (one row an SES notification, a
SendGrid post's five together), then applied:

- `per_event`: `EventsService.process` for each id, one unit of work (transaction) an event
  (how `process_many` worked before batching: the reference);
- `as_woken`: `process_many` with the ids of each post, as the handler's message wakes the
  worker (1 an SES notification, 5 a SendGrid post);
- `retry_batch`: `process_many` with RETRY_BATCH ids at a time, as the periodic retry takes
  them;
- `actor_as_woken`: the worker's actor function `process_webhook_events` itself, a message per
  post in a thread as dramatiq runs it: the service's cost plus what the actor adds per
  message (its event loop, engine and connection).

For each: events/s and this process's CPU per event (µs, `time.process_time`: the worker's
side only, not PostgreSQL's), then a check that every event was processed and the campaign's
counts are what the events say. The ratios of the ways, measured side by side in one run, say
more than their absolute figures on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from openmailer.adapters.bootstrap.events import build_events
from openmailer.adapters.bootstrap.resources import DatabaseResources, create_service_engine
from openmailer.adapters.db.migrate import upgrade_async
from openmailer.adapters.db.webhook_events import SqlAlchemyWebhookEventStore
from openmailer.adapters.settings import load_settings
from openmailer.core.events.formats import sendgrid_stored_events, ses_stored_events
from openmailer.core.events.model import SENDGRID_SOURCE, SES_SOURCE, WebhookSource
from openmailer.core.events.service import RETRY_BATCH, EventsService
from tests.webhook_signing import (
    TOPIC_ARN,
    sendgrid_event,
    ses_bounce,
    ses_complaint,
    ses_delivery,
)

SERVER_URL = os.environ.get(
    "OPENMAILER_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
SENDGRID_BATCH = 5
BOUNCE_EVERY = 20
COMPLAINT_EVERY = 50
UNSUBSCRIBE_EVERY = 50
WAYS = ("per_event", "as_woken", "retry_batch", "actor_as_woken")


@dataclass(frozen=True)
class Tenant:
    user_id: int
    list_id: int
    ses: WebhookSource
    sendgrid: WebhookSource


@dataclass(frozen=True)
class SentCampaign:
    campaign_id: int
    addresses: list[str]
    message_ids: list[str]


async def _tenant(conn: asyncpg.Connection) -> Tenant:
    user_id = await conn.fetchval(
        "INSERT INTO users (username, email, password) "
        "VALUES ('bench', 'bench@example.com', 'x') RETURNING id"
    )
    list_id = await conn.fetchval(
        "INSERT INTO contact_lists (user_id, name, double_opt_in_enabled) "
        "VALUES ($1, 'news', false) RETURNING id",
        user_id,
    )
    sources = []
    for provider_type in (SES_SOURCE, SENDGRID_SOURCE):
        provider_id = await conn.fetchval(
            "INSERT INTO email_providers (user_id, provider_type, provider_name, configuration) "
            "VALUES ($1, $2, $3, '{}') RETURNING id",
            user_id,
            provider_type,
            provider_type.lower(),
        )
        sources.append(WebhookSource(provider_id, user_id, provider_type, {}))
    return Tenant(user_id, list_id, sources[0], sources[1])


async def _sent_campaign(conn: asyncpg.Connection, tenant: Tenant, count: int) -> SentCampaign:
    run = uuid.uuid4().hex[:10]
    template_id = await conn.fetchval(
        "INSERT INTO email_templates (name, subject, body, created_by) "
        "VALUES ($1, 's', 'b', $2) RETURNING id",
        f"template {run}",
        tenant.user_id,
    )
    campaign_id = await conn.fetchval(
        "INSERT INTO email_campaigns (name, template_id, created_by, from_email, status, "
        "total_recipients, sent_count) "
        "VALUES ($1, $2, $3, 'news@example.com', 'SENDING', $4, $4) RETURNING id",
        f"bench {run}",
        template_id,
        tenant.user_id,
        count,
    )
    addresses = [f"r{i}-{run}@example.org" for i in range(count)]
    message_ids = [f"msg-{run}-{i}" for i in range(count)]
    contact_ids = [
        row["id"]
        for row in await conn.fetch(
            "INSERT INTO contacts (user_id, email, status) "
            "SELECT $1, address, 'SUBSCRIBED' FROM unnest($2::text[]) AS address RETURNING id",
            tenant.user_id,
            addresses,
        )
    ]
    await conn.execute(
        "INSERT INTO contact_list_memberships (contact_id, list_id) "
        "SELECT id, $1 FROM unnest($2::bigint[]) AS id",
        tenant.list_id,
        contact_ids,
    )
    await conn.execute(
        "UPDATE contact_lists SET total_contacts = total_contacts + $2, "
        "active_contacts = active_contacts + $2 WHERE id = $1",
        tenant.list_id,
        count,
    )
    recipient_ids = [
        row["id"]
        for row in await conn.fetch(
            "INSERT INTO campaign_recipients (campaign_id, contact_id, tracking_id, status) "
            "SELECT $1, id, 'r' || id, 'SENT' FROM unnest($2::bigint[]) AS id RETURNING id",
            campaign_id,
            contact_ids,
        )
    ]
    # Alternately through SES and SendGrid, as the events will say.
    await conn.executemany(
        "INSERT INTO email_logs (user_id, campaign_id, recipient_id, provider_id, email_type, "
        "recipient_email, status, provider_message_id) "
        "VALUES ($1, $2, $3, $4, 'CAMPAIGN', $5, 'SENT', $6)",
        [
            (
                tenant.user_id,
                campaign_id,
                recipient_ids[i],
                (tenant.ses if i % 2 == 0 else tenant.sendgrid).provider_id,
                addresses[i],
                message_ids[i],
            )
            for i in range(count)
        ],
    )
    return SentCampaign(campaign_id, addresses, message_ids)


def _ses_envelope(message: dict[str, Any]) -> dict[str, Any]:
    """A stored SNS Notification (verification happened before storing: not measured here)."""
    return {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": TOPIC_ARN,
        "Message": json.dumps(message),
        "Timestamp": "2026-12-02T00:00:00.000Z",
    }


def _posts(tenant: Tenant, sent: SentCampaign) -> list[tuple[WebhookSource, list[Any]]]:
    """The stored events of each provider post, in the order the posts arrive."""
    posts: list[tuple[WebhookSource, list[Any]]] = []
    sendgrid_batch: list[dict[str, Any]] = []

    def ses(message: dict[str, Any]) -> None:
        posts.append((tenant.ses, ses_stored_events(_ses_envelope(message))[0]))

    def sendgrid(event: dict[str, Any]) -> None:
        sendgrid_batch.append(event)
        if len(sendgrid_batch) == SENDGRID_BATCH:
            posts.append((tenant.sendgrid, sendgrid_stored_events(list(sendgrid_batch))[0]))
            sendgrid_batch.clear()

    for i, (address, message_id) in enumerate(zip(sent.addresses, sent.message_ids, strict=True)):
        if i % 2 == 0:
            ses(ses_delivery(message_id, [address]))
        else:
            sendgrid(sendgrid_event("delivered", address, message_id))
        if i % BOUNCE_EVERY == 0:
            ses(ses_bounce(message_id, [address]))
        if i % COMPLAINT_EVERY == 1:
            ses(ses_complaint(message_id, [address]))
        if i % UNSUBSCRIBE_EVERY == 3:
            sendgrid(sendgrid_event("unsubscribe", address, message_id))
    if sendgrid_batch:
        posts.append((tenant.sendgrid, sendgrid_stored_events(sendgrid_batch)[0]))
    return posts


def _chunks(ids: list[int], size: int) -> list[list[int]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]


async def _per_event(service: EventsService, batches: list[list[int]]) -> int:
    return sum([await service.process(event_id) for batch in batches for event_id in batch])


async def _batched(service: EventsService, batches: list[list[int]]) -> int:
    return sum([await service.process_many(batch) for batch in batches])


async def _actor(service: EventsService, batches: list[list[int]]) -> int:
    """The worker's actor function itself, a message per post, in a thread as dramatiq runs it
    (its settings from the environment `measure` set)."""
    from openmailer.adapters.areas.webhooks import process_webhook_events

    for batch in batches:
        await asyncio.to_thread(process_webhook_events, batch)
    return -1  # the actor answers nothing: `measure` counts what the check finds processed


async def _measure_way(
    service: EventsService,
    batches: list[list[int]],
    apply: Callable[[EventsService, list[list[int]]], Awaitable[int]],
) -> dict[str, Any]:
    events = sum(len(batch) for batch in batches)
    cpu, wall = time.process_time(), time.perf_counter()
    applied = await apply(service, batches)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {
        "events": events,
        "applied": applied,
        "messages": len(batches),
        "events_per_s": round(events / wall, 1),
        "cpu_us_per_event": round(cpu * 1e6 / events, 1),
        "wall_s": round(wall, 3),
    }


async def _check(conn: asyncpg.Connection, sent: SentCampaign, ids: list[int]) -> dict[str, Any]:
    unprocessed = await conn.fetchval(
        "SELECT count(*) FROM webhook_events WHERE id = ANY($1::bigint[]) AND NOT processed", ids
    )
    campaign = await conn.fetchrow(
        "SELECT bounce_count, complaint_count, unsubscribe_count FROM email_campaigns "
        "WHERE id = $1",
        sent.campaign_id,
    )
    delivered = await conn.fetchval(
        "SELECT count(*) FROM campaign_recipients WHERE campaign_id = $1 AND "
        "delivered_at IS NOT NULL",
        sent.campaign_id,
    )
    count = len(sent.addresses)
    expected = {
        "bounce_count": len(range(0, count, BOUNCE_EVERY)),
        "complaint_count": len(range(1, count, COMPLAINT_EVERY)),
        "unsubscribe_count": len(range(3, count, UNSUBSCRIBE_EVERY)),
    }
    found = dict(campaign)
    return {
        "unprocessed": unprocessed,
        "deliveries_recorded": delivered,
        "campaign_counts": found,
        "correct": unprocessed == 0 and found == expected and delivered == count,
    }


async def measure(recipients: int) -> dict[str, Any]:
    name = f"om_bench_provider_events_{os.getpid()}"
    server = await asyncpg.connect(SERVER_URL)
    await server.execute(f'CREATE DATABASE "{name}"')
    url = SERVER_URL.rsplit("/", 1)[0] + f"/{name}"
    settings_env = {
        "OPENMAILER_DATABASE_URL": f"{url}?sslmode=disable",
        "OPENMAILER_SECRET_KEYS": f"bench:{base64.b64encode(os.urandom(32)).decode()}",
        "OPENMAILER_LOG_LEVEL": "WARNING",
    }
    settings = load_settings(settings_env)
    # The actor reads its settings from the environment, as a worker does.
    os.environ.update({k: v for k, v in settings_env.items()})
    engine = None
    try:
        await upgrade_async(url)
        engine = create_service_engine(f"{url}?sslmode=disable", settings)
        service = build_events(DatabaseResources(settings, engine))
        store = SqlAlchemyWebhookEventStore(engine)
        conn = await asyncpg.connect(url)
        try:
            tenant = await _tenant(conn)
            prepared = []
            for _ in WAYS:
                sent = await _sent_campaign(conn, tenant, recipients)
                batches = [
                    await store.add(source, events) for source, events in _posts(tenant, sent)
                ]
                prepared.append((sent, batches))
            await conn.execute("ANALYZE")
            # Warm-up: the pool, the statements' plans and the imports, on events of their own.
            warm = await _sent_campaign(conn, tenant, 20)
            warm_ids = [await store.add(s, e) for s, e in _posts(tenant, warm)]
            await _per_event(service, warm_ids[:10])
            await _batched(service, warm_ids[10:])
            result: dict[str, Any] = {"recipients": recipients, "ways": {}}
            ways = {
                "per_event": (_per_event, None),
                "as_woken": (_batched, None),
                "retry_batch": (_batched, RETRY_BATCH),
                "actor_as_woken": (_actor, None),
            }
            for (way, (apply, size)), (sent, batches) in zip(ways.items(), prepared, strict=True):
                ids = [event_id for batch in batches for event_id in batch]
                if size is not None:
                    batches = _chunks(ids, size)
                figures = await _measure_way(service, batches, apply)
                figures |= await _check(conn, sent, ids)
                if figures["applied"] < 0:
                    figures["applied"] = figures["events"] - figures["unprocessed"]
                result["ways"][way] = figures
        finally:
            await conn.close()
        reference = result["ways"]["per_event"]["cpu_us_per_event"]
        for figures in result["ways"].values():
            figures["cpu_vs_per_event"] = round(figures["cpu_us_per_event"] / reference, 3)
        result["correct"] = all(figures["correct"] for figures in result["ways"].values())
        result["load_average"] = [round(value, 2) for value in os.getloadavg()]
        return result
    finally:
        if engine is not None:
            await engine.dispose()
        await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 recipients instead of 1,500")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--recipients", type=int, default=None)
    args = parser.parse_args()
    recipients = args.recipients or (300 if args.quick else 1500)
    result = asyncio.run(measure(recipients))
    result["quick"] = args.quick
    for way, figures in result["ways"].items():
        print(
            f"{way:>12}: {figures['events']} events in {figures['messages']} calls, "
            f"{figures['events_per_s']} events/s, {figures['cpu_us_per_event']} µs CPU/event "
            f"(x{figures['cpu_vs_per_event']} of per_event), correct: {figures['correct']}"
        )
    print(f"load average: {result['load_average']}")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
