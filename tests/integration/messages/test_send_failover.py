"""`POST /api/v1/messages` through the provider chain: a transient failure fails over to the
next provider, a permanent one does not, and the kept SMTP connection serves the next send."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.domains.service import DomainsService
from tests.dns_server import Zone
from tests.integration.messages.messages_helpers import message_body, send, sender, verified_domain
from tests.integration.sending.failover_helpers import (
    FlakyHandler,
    smtp_provider_at,
    start_flaky_sink,
)
from tests.integration.sending.smtp_sink import CountingController

pytestmark = pytest.mark.integration

Sink = tuple[CountingController, FlakyHandler]


@pytest.fixture
def first() -> Iterator[Sink]:
    controller, handler = start_flaky_sink()
    yield controller, handler
    controller.stop()


@pytest.fixture
def second() -> Iterator[Sink]:
    controller, handler = start_flaky_sink()
    yield controller, handler
    controller.stop()


async def test_a_transient_refusal_fails_over_to_the_next_provider(
    client: httpx.AsyncClient,
    accounts: Accounts,
    domains: DomainsService,
    zone: Zone,
    first: Sink,
    second: Sink,
) -> None:
    who = await sender(accounts)
    domain = await verified_domain(client, who, zone)
    await smtp_provider_at(client, who, first[0].port, is_default=True)
    b = await smtp_provider_at(client, who, second[0].port, priority=1)
    first[1].refusal = "421 4.3.2 too busy, try later"
    response = await send(client, who, message_body(domain["domain_name"]))
    assert response.status_code == 201, response.text
    sent = response.json()
    assert sent["status"] == "SENT" and sent["provider_id"] == b
    assert first[1].rcpts == 1 and len(second[1].received) == 1
    logs = (await client.get("/api/v1/email-logs", headers=who.headers)).json()
    assert [item["provider_id"] for item in logs["items"]] == [b]


async def test_a_permanent_refusal_fails_the_message_without_failover(
    client: httpx.AsyncClient,
    accounts: Accounts,
    domains: DomainsService,
    zone: Zone,
    first: Sink,
    second: Sink,
) -> None:
    who = await sender(accounts)
    domain = await verified_domain(client, who, zone)
    a = await smtp_provider_at(client, who, first[0].port, is_default=True)
    await smtp_provider_at(client, who, second[0].port, priority=1)
    body = message_body(domain["domain_name"], to="reject-this@example.net")
    sent = (await send(client, who, body)).json()
    assert sent["status"] == "FAILED" and sent["provider_id"] == a
    assert second[1].rcpts == 0


async def test_two_sends_reuse_one_kept_smtp_connection(
    client: httpx.AsyncClient,
    accounts: Accounts,
    domains: DomainsService,
    zone: Zone,
    first: Sink,
) -> None:
    who = await sender(accounts)
    domain = await verified_domain(client, who, zone)
    await smtp_provider_at(client, who, first[0].port, is_default=True)
    before = first[0].scripted.connections  # aiosmtpd's own readiness probe is one
    for to in ("ada@example.net", "grace@example.net"):
        sent = (await send(client, who, message_body(domain["domain_name"], to=to))).json()
        assert sent["status"] == "SENT", sent
    assert len(first[1].received) == 2
    assert first[0].scripted.connections == before + 1


async def test_an_unverified_from_domain_behind_an_outbox_default_never_fails_over_to_smtp(
    client: httpx.AsyncClient, accounts: Accounts, first: Sink
) -> None:
    """The README's walkthrough: an OUTBOX default and an SMTP relay, From not yet verified."""
    who = await sender(accounts)
    response = await client.post(
        "/api/v1/providers",
        headers=who.headers,
        json={
            "provider_type": "OUTBOX",
            "provider_name": "local outbox",
            "configuration": {},
            "is_default": True,
        },
    )
    outbox_id = response.json()["id"]
    await smtp_provider_at(client, who, first[0].port)
    sent = (await send(client, who, message_body("unverified.example"))).json()
    assert sent["status"] == "SENT" and sent["provider_id"] == outbox_id
    assert sent["provider_message_id"].startswith("outbox-") and first[1].rcpts == 0
