"""`POST /api/v1/messages` with `to` a small list: one rendered, signed message per address,
each its own log row and outcome, replayed whole by its Idempotency-Key."""

from __future__ import annotations

import email
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import text

from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.domains.service import DomainsService
from openmailer.core.messages.model import MAX_RECIPIENTS
from tests.dns_server import Zone
from tests.integration.accounts.accounts_helpers import Caller, engine_of
from tests.integration.messages.messages_helpers import (
    message_body,
    scalar,
    send,
    sender,
    set_monthly_limit,
    smtp_provider,
    verified_domain,
)
from tests.integration.sending.smtp_sink import CountingController, start_sink

pytestmark = pytest.mark.integration
SENT_COUNT = "SELECT monthly_emails_sent FROM users WHERE id = $1"


@pytest.fixture
def sink() -> Iterator[CountingController]:
    controller = start_sink()
    yield controller
    controller.stop()


@dataclass(frozen=True)
class SmtpSender:
    who: Caller
    domain: str
    provider_id: int


@pytest.fixture
async def smtp_sender(
    client: httpx.AsyncClient,
    accounts: Accounts,
    domains: DomainsService,
    zone: Zone,
    sink: CountingController,
) -> SmtpSender:
    """A user with a verified domain whose default provider is the SMTP sink."""
    who = await sender(accounts)
    domain = await verified_domain(client, who, zone)
    return SmtpSender(who, domain["domain_name"], await smtp_provider(client, who, sink.port))


async def test_each_address_gets_its_own_message_and_outcome_in_order(
    client: httpx.AsyncClient, smtp_sender: SmtpSender, sink: CountingController
) -> None:
    who, domain, provider_id = smtp_sender.who, smtp_sender.domain, smtp_sender.provider_id
    to = ["ada@example.net", "reject@x.example", "grace@example.org"]
    response = await send(client, who, message_body(domain, to))
    assert response.status_code == 201, response.text
    items = response.json()["items"]
    assert [item["to"] for item in items] == to
    assert [item["status"] for item in items] == ["SENT", "FAILED", "SENT"]
    assert "550" in items[1]["error_message"] and items[1]["provider_message_id"] is None
    assert items[0]["provider_id"] == provider_id == items[2]["provider_id"]
    assert len({item["id"] for item in items}) == 3

    # One message per address, addressed to it alone, each with its own Message-ID.
    received = {r.recipients[0]: email.message_from_bytes(r.data) for r in sink.handler.received}
    assert sorted(received) == ["ada@example.net", "grace@example.org"]
    assert all(r.recipients == [r.recipients[0]] for r in sink.handler.received)
    assert {m["To"] for m in received.values()} == {"ada@example.net", "grace@example.org"}
    assert len({m["Message-ID"] for m in received.values()}) == 2
    for item in items:
        one = (await client.get(f"/api/v1/messages/{item['id']}", headers=who.headers)).json()
        assert one == item


async def test_a_key_replays_every_message_of_the_list_and_sends_nothing_again(
    client: httpx.AsyncClient, smtp_sender: SmtpSender, sink: CountingController
) -> None:
    who, domain = smtp_sender.who, smtp_sender.domain
    body = message_body(domain, ["a@example.net", "b@example.net"])
    first = await send(client, who, body, key="order-42-list")
    again = await send(client, who, body, key="order-42-list")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and len(first.json()["items"]) == 2
    assert len(sink.handler.received) == 2
    other = await send(client, who, {**body, "to": ["a@example.net"]}, key="order-42-list")
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


async def test_the_monthly_limit_counts_every_address_and_refuses_the_whole_list(
    client: httpx.AsyncClient, accounts: Accounts, smtp_sender: SmtpSender, sink: CountingController
) -> None:
    who, domain = smtp_sender.who, smtp_sender.domain
    await set_monthly_limit(accounts, who.user, 5, sent=3)
    three = ["a@example.net", "b@example.net", "c@example.net"]
    refused = await send(client, who, message_body(domain, three))
    assert refused.status_code == 429 and refused.json()["code"] == "monthly_limit_exceeded"
    assert sink.handler.received == []
    two = await send(client, who, message_body(domain, three[:2]))
    assert two.status_code == 201 and len(two.json()["items"]) == 2
    assert len(sink.handler.received) == 2


@pytest.mark.parametrize(
    ("to", "code", "field"),
    [
        ([], None, None),
        ([f"r{i}@example.net" for i in range(MAX_RECIPIENTS + 1)], None, None),
        (["ada@example.net", "Ada@Example.NET"], "duplicate_recipient", "/to/1"),
        (["ada@example.net", "x@y.example\r\nBcc: z@y.example"], "header_injection", "/to/1"),
        (["ada@example.net", "not an address"], "validation_failed", "/to/1"),
    ],
)
async def test_a_bad_list_is_refused_whole_and_nothing_is_sent(
    client: httpx.AsyncClient,
    smtp_sender: SmtpSender,
    sink: CountingController,
    to: list[str],
    code: str | None,
    field: str | None,
) -> None:
    who, domain = smtp_sender.who, smtp_sender.domain
    response = await send(client, who, message_body(domain, to))
    # A list too short or too long is the schema's 400; what the core checks is a 422.
    assert response.status_code == (400 if code is None else 422), response.text
    if code is not None:
        problem = response.json()
        assert problem["code"] == code and problem["errors"][0]["field"] == field
    assert sink.handler.received == []
    logs = (await client.get("/api/v1/email-logs", headers=who.headers)).json()
    assert logs["items"] == []


async def test_a_bounced_or_complained_contact_gets_no_transactional_mail_and_it_costs_nothing(
    client: httpx.AsyncClient, accounts: Accounts, smtp_sender: SmtpSender, sink: CountingController
) -> None:
    who = smtp_sender.who
    # Another user's complained contact suppresses nothing of this user's (ada is sent).
    someone_else = await sender(accounts)
    contacts = [
        (who.user.id, "GONE@example.net", "BOUNCED"),
        (who.user.id, "angry@EXAMPLE.net", "COMPLAINED"),
        (someone_else.user.id, "ada@example.net", "COMPLAINED"),
    ]
    async with engine_of(accounts).begin() as conn:
        for user_id, address, status in contacts:
            await conn.execute(
                text("INSERT INTO contacts (user_id, email, status) VALUES (:u, :e, :s)"),
                {"u": user_id, "e": address, "s": status},
            )
    await set_monthly_limit(accounts, who.user, 10, sent=0)
    to = ["gone@example.net", "ada@example.net", "Angry@Example.net"]
    response = await send(client, who, message_body(smtp_sender.domain, to))
    assert response.status_code == 201, response.text
    items = response.json()["items"]
    assert [item["status"] for item in items] == ["FAILED", "SENT", "FAILED"]
    assert "suppressed" in items[0]["error_message"] and "BOUNCED" in items[0]["error_message"]
    assert "COMPLAINED" in items[2]["error_message"]
    assert [r.recipients for r in sink.handler.received] == [["ada@example.net"]]
    sent_count = "SELECT monthly_emails_sent FROM users WHERE id = :u"
    assert await scalar(accounts, sent_count, u=who.user.id) == 1  # suppressed: not counted
