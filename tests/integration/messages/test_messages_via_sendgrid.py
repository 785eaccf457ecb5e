"""`POST /api/v1/messages` to a provider that takes rendered parts (SendGrid, a local v3 peer):
the send path renders the forms its chain needs, so a default SendGrid provider delivers, and a
raw-MIME provider that fails over to SendGrid hands it the same message as parts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.domains.service import DomainsService
from tests.dns_server import Zone
from tests.integration.accounts.accounts_helpers import Caller
from tests.integration.messages.messages_helpers import message_body, send, sender, verified_domain
from tests.integration.sending.failover_helpers import (
    FlakyHandler,
    smtp_provider_at,
    start_flaky_sink,
)
from tests.integration.sending.sendgrid_peer import API_KEY, SendgridServer
from tests.integration.sending.smtp_sink import CountingController

pytestmark = pytest.mark.integration


@pytest.fixture
def sendgrid() -> Iterator[SendgridServer]:
    server = SendgridServer().start()
    yield server
    server.stop()


@pytest.fixture
def flaky() -> Iterator[tuple[CountingController, FlakyHandler]]:
    controller, handler = start_flaky_sink()
    yield controller, handler
    controller.stop()


async def sendgrid_provider(
    client: httpx.AsyncClient, who: Caller, server: SendgridServer, **fields: Any
) -> int:
    response = await client.post(
        "/api/v1/providers",
        headers=who.headers,
        json={
            "provider_type": "SENDGRID",
            "provider_name": f"sendgrid-{len(fields)}",
            "configuration": {"api_key": API_KEY, "base_url": server.url},
            **fields,
        },
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def content_of(body: dict[str, Any]) -> dict[str, str]:
    return {part["type"]: part["value"] for part in body["content"]}


async def test_a_default_sendgrid_provider_delivers_the_rendered_parts(
    client: httpx.AsyncClient,
    accounts: Accounts,
    domains: DomainsService,
    zone: Zone,
    sendgrid: SendgridServer,
) -> None:
    who = await sender(accounts)
    domain = (await verified_domain(client, who, zone))["domain_name"]
    provider = await sendgrid_provider(client, who, sendgrid, is_default=True)
    response = await send(client, who, message_body(domain))
    assert response.status_code == 201, response.text
    sent = response.json()
    assert sent["status"] == "SENT" and sent["provider_id"] == provider
    assert sent["subject"] == "Order 42" and sent["provider_message_id"] == "sg-1"
    (body,) = sendgrid.accepted
    assert body["subject"] == "Order 42"
    assert body["from"]["email"] == f"orders@{domain}"
    assert [p["to"] for p in body["personalizations"]] == [[{"email": "ada@example.net"}]]
    content = content_of(body)
    assert "Thanks, Ada: order 42 ships today." in content["text/plain"]
    assert "order 42 ships today." in content["text/html"]
    assert body["custom_args"]["om_message_id"].endswith(f"@{domain}>")


async def test_a_raw_mime_provider_fails_over_to_sendgrid_with_the_same_message(
    client: httpx.AsyncClient,
    accounts: Accounts,
    domains: DomainsService,
    zone: Zone,
    sendgrid: SendgridServer,
    flaky: tuple[CountingController, FlakyHandler],
) -> None:
    who = await sender(accounts)
    domain = (await verified_domain(client, who, zone))["domain_name"]
    controller, handler = flaky
    await smtp_provider_at(client, who, controller.port, is_default=True)
    second = await sendgrid_provider(client, who, sendgrid, priority=1)
    handler.refusal = "421 4.3.2 too busy, try later"
    response = await send(client, who, message_body(domain))
    assert response.status_code == 201, response.text
    sent = response.json()
    assert sent["status"] == "SENT" and sent["provider_id"] == second
    assert handler.rcpts == 1 and handler.received == []
    (body,) = sendgrid.accepted
    assert body["subject"] == "Order 42"
    assert "Thanks, Ada: order 42 ships today." in content_of(body)["text/plain"]
