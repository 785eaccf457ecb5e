"""`POST /api/v1/messages` on real PostgreSQL, the test DNS server, aiosmtpd and sender_rs."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import dkim
import httpx
import pytest

from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.domains.service import DomainsService
from tests.dns_server import Zone
from tests.integration.domains.test_dkim_keys import dnsfunc_asking
from tests.integration.messages.messages_helpers import (
    message_body,
    send,
    sender,
    smtp_provider,
    verified_domain,
)
from tests.integration.sending.smtp_sink import CountingController, start_sink

pytestmark = pytest.mark.integration


@pytest.fixture
def sink() -> Iterator[CountingController]:
    controller = start_sink()
    yield controller
    controller.stop()


async def test_a_message_to_the_outbox_is_rendered_and_signed_with_both_keys(
    client: httpx.AsyncClient,
    accounts: Accounts,
    domains: DomainsService,
    zone: Zone,
    zone_and_port: tuple[Zone, int],
) -> None:
    who = await sender(accounts)
    domain = await verified_domain(client, who, zone)
    response = await send(client, who, message_body(domain["domain_name"]))
    assert response.status_code == 201, response.text
    sent = response.json()
    assert sent["status"] == "SENT" and sent["email_type"] == "TRANSACTIONAL"
    assert sent["subject"] == "Order 42" and sent["to"] == "ada@example.net"
    assert sent["provider_id"] is None
    outbox_id = int(sent["provider_message_id"].removeprefix("outbox-"))

    kept = (await client.get(f"/api/v1/outbox/{outbox_id}", headers=who.headers)).json()
    raw = base64.b64decode(kept["raw_base64"])
    assert kept["recipient"] == "ada@example.net"
    assert b"Thanks, Ada: order 42 ships today." in raw
    # Transactional mail belongs to no list: nothing to unsubscribe from.
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nList-Unsubscribe" not in head and b"\r\nList-Id" not in head
    lookup = dnsfunc_asking(zone_and_port[1])
    signatures = [line for line in raw.split(b"\r\n") if line.startswith(b"DKIM-Signature:")]
    assert len(signatures) == 2
    for idx in range(2):
        assert dkim.DKIM(raw).verify(idx=idx, dnsfunc=lookup)

    again = (await client.get(f"/api/v1/messages/{sent['id']}", headers=who.headers)).json()
    assert again == sent


async def test_a_message_goes_over_smtp_through_the_default_provider(
    client: httpx.AsyncClient,
    accounts: Accounts,
    domains: DomainsService,
    zone: Zone,
    sink: CountingController,
) -> None:
    who = await sender(accounts)
    domain = await verified_domain(client, who, zone)
    provider_id = await smtp_provider(client, who, sink.port)
    response = await send(client, who, message_body(domain["domain_name"]))
    assert response.status_code == 201, response.text
    sent = response.json()
    assert sent["status"] == "SENT" and sent["provider_id"] == provider_id
    assert sent["provider_message_id"]
    (received,) = sink.handler.received
    assert received.recipients == ["ada@example.net"]
    assert received.data.count(b"DKIM-Signature:") == 2
    assert b"Subject: Order 42" in received.data


async def test_smtp_refusals_fail_the_message_and_a_transient_one_is_retried(
    client: httpx.AsyncClient,
    accounts: Accounts,
    domains: DomainsService,
    zone: Zone,
    sink: CountingController,
) -> None:
    who = await sender(accounts)
    domain = await verified_domain(client, who, zone)
    await smtp_provider(client, who, sink.port)
    refused = await send(client, who, message_body(domain["domain_name"], "reject@x.example"))
    assert refused.json()["status"] == "FAILED" and "550" in refused.json()["error_message"]
    later = await send(client, who, message_body(domain["domain_name"], "later@x.example"))
    assert later.json()["status"] == "FAILED" and "451" in later.json()["error_message"]
    assert later.json()["provider_message_id"] is None
    assert sink.handler.received == []


async def test_a_test_key_never_reaches_smtp_and_needs_no_verified_domain(
    client: httpx.AsyncClient, accounts: Accounts, sink: CountingController
) -> None:
    live = await sender(accounts)
    await smtp_provider(client, live, sink.port)
    test = await sender(accounts, test=True, user=live.user)
    response = await send(client, test, message_body("not-mine.example"))
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "SENT"
    assert response.json()["provider_message_id"].startswith("outbox-")
    assert sink.handler.received == []
    # The live key, with a real provider, needs a verified domain.
    refused = await send(client, live, message_body("not-mine.example"))
    assert refused.status_code == 422
    assert refused.json()["code"] == "domain_not_verified"


async def test_an_unverified_domain_is_refused_when_mail_would_leave(
    client: httpx.AsyncClient,
    accounts: Accounts,
    domains: DomainsService,
    zone: Zone,
    sink: CountingController,
) -> None:
    who = await sender(accounts)
    pending = (
        await client.post(
            "/api/v1/domains", headers=who.headers, json={"domain_name": "pending-tx.example"}
        )
    ).json()
    assert pending["status"] == "PENDING"
    # No real provider: the outbox is the only destination, so the domain may be unverified.
    assert (await send(client, who, message_body("pending-tx.example"))).status_code == 201
    await smtp_provider(client, who, sink.port)
    refused = await send(client, who, message_body("pending-tx.example"))
    assert refused.status_code == 422 and refused.json()["code"] == "domain_not_verified"
    assert sink.handler.received == []


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("subject", "Hi\r\nBcc: victim@example.org", "header_injection"),
        ("subject", "Hi\nBcc: victim@example.org", "header_injection"),
        ("from_name", "Acme\r\nX-Injected: 1", "header_injection"),
        # PostgreSQL text cannot hold NUL: refused for every JSON body (adapters/http/strict_input).
        ("to", "ada@example.net\u0000", "invalid_text"),
        ("reply_to", "a@example.net\rb", "header_injection"),
        ("subject", "x" * 501, "header_too_long"),
        ("to", "a" * 250 + "@example.net", "header_too_long"),
    ],
)
async def test_header_inputs_with_line_breaks_nul_or_too_long_are_422(
    client: httpx.AsyncClient, accounts: Accounts, field: str, value: str, code: str
) -> None:
    who = await sender(accounts)
    response = await send(client, who, {**message_body("acme.example"), field: value})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == code
    assert problem["errors"][0]["field"] == field
    logs = (await client.get("/api/v1/email-logs", headers=who.headers)).json()
    assert logs["items"] == []
