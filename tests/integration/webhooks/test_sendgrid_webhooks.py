"""SendGrid Event Webhook batches posted to the real app, signed with the provider's key pair:
applied once; forged, stale, unsigned and malformed batches refused with nothing stored; the
verification key checked when the provider is saved."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar

from openmailer.adapters.db.tables import EmailCampaign
from openmailer.adapters.db.tables.campaigns import CampaignRecipient
from openmailer.adapters.db.tables.contacts import Contact
from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.events.service import EventsService
from tests.integration.accounts.accounts_helpers import Caller, api_key_for, engine_of, make_user
from tests.integration.webhooks.webhook_helpers import (
    add_provider,
    row,
    sent_campaign,
    stored_events,
)
from tests.webhook_signing import SendgridSigner, sendgrid_event

pytestmark = pytest.mark.integration
SCOPES = ["read:campaigns", "write:campaigns"]


async def sendgrid_provider(
    client: httpx.AsyncClient, accounts: Accounts, signer: SendgridSigner | None
) -> tuple[Any, Caller, dict[str, Any]]:
    user = await make_user(accounts)
    caller = await api_key_for(accounts, user, SCOPES)
    configuration: dict[str, Any] = {"api_key": "SG.test-key.0123456789"}
    if signer is not None:
        configuration["webhook_verification_key"] = signer.public_key
    return user, caller, await add_provider(client, caller, "SENDGRID", configuration)


async def post_batch(
    client: httpx.AsyncClient,
    provider: dict[str, Any],
    signer: SendgridSigner,
    batch: list[dict[str, Any]],
    *,
    at: datetime | None = None,
) -> httpx.Response:
    body = json.dumps(batch).encode() + b"\r\n"
    return await client.post(
        provider["webhook_path"], content=body, headers=signer.headers(body, at=at)
    )


async def test_a_signed_batch_is_stored_once_and_applied_once(
    client: httpx.AsyncClient,
    webhook_client: httpx.AsyncClient,
    webhook_app: Litestar,
    accounts: Accounts,
    sendgrid_signer: SendgridSigner,
) -> None:
    user, _, provider = await sendgrid_provider(client, accounts, sendgrid_signer)
    engine = engine_of(accounts)
    x_message_id = uuid.uuid4().hex[:22]
    sent = await sent_campaign(engine, user, provider["id"], 4, shared_message_id=x_message_id)
    a, b, c, d = sent.addresses
    batch = [
        sendgrid_event("processed", a, x_message_id),
        sendgrid_event("delivered", a, x_message_id),
        sendgrid_event("bounce", b, x_message_id, status="5.1.1", reason="unknown user"),
        sendgrid_event("spamreport", c, x_message_id),
        sendgrid_event("unsubscribe", d, x_message_id),
        sendgrid_event("open", a, x_message_id),
    ]
    response = await post_batch(webhook_client, provider, sendgrid_signer, batch)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "stored": 4,
        "duplicates": 0,
        "ignored": 2,
        "confirmed_subscription": False,
    }
    replay = await post_batch(webhook_client, provider, sendgrid_signer, batch)
    assert replay.json()["duplicates"] == 4 and replay.json()["stored"] == 0

    events: EventsService = webhook_app.state.services["events"]
    ids = [event.id for event in await stored_events(engine, provider["id"])]
    assert await events.process_many(ids) == 4
    stored = await stored_events(engine, provider["id"])
    assert [(e.event_type, e.processed, e.error_message) for e in stored] == [
        ("DELIVERED", True, None),
        ("BOUNCED", True, None),
        ("COMPLAINED", True, None),
        ("UNSUBSCRIBED", True, None),
    ]
    statuses = [
        (await row(engine, Contact.__table__, contact_id)).status for contact_id in sent.contact_ids
    ]
    assert statuses == ["SUBSCRIBED", "BOUNCED", "COMPLAINED", "UNSUBSCRIBED"]
    delivered = await row(engine, CampaignRecipient.__table__, sent.recipient_ids[0])
    assert delivered.status == "DELIVERED"
    campaign = await row(engine, EmailCampaign.__table__, sent.campaign_id)
    assert (campaign.bounce_count, campaign.complaint_count, campaign.unsubscribe_count) == (
        1,
        1,
        1,
    )
    assert await events.process_many(ids) == 0


async def test_forged_stale_unsigned_and_malformed_batches_store_nothing(
    client: httpx.AsyncClient,
    webhook_client: httpx.AsyncClient,
    accounts: Accounts,
    sendgrid_signer: SendgridSigner,
) -> None:
    _, _, provider = await sendgrid_provider(client, accounts, sendgrid_signer)
    batch = [sendgrid_event("delivered", "a@example.org", "XMSG")]
    body = json.dumps(batch).encode()
    headers = sendgrid_signer.headers(body)
    reserialised = json.dumps(batch, indent=2).encode()
    garbage = b"[{not json"
    cases = {
        "other key": (body, SendgridSigner().headers(body), 403, "invalid_signature"),
        "re-serialised": (reserialised, headers, 403, "invalid_signature"),
        "unsigned": (body, {"Content-Type": "application/json"}, 403, "signature_missing"),
        "stale": (
            body,
            sendgrid_signer.headers(body, at=datetime.now(UTC) - timedelta(hours=2)),
            403,
            "stale_message",
        ),
        "not json": (garbage, sendgrid_signer.headers(garbage), 422, "malformed_event"),
        "not a batch": (b"{}", sendgrid_signer.headers(b"{}"), 422, "malformed_event"),
    }
    for name, (content, request_headers, status, code) in cases.items():
        response = await webhook_client.post(
            provider["webhook_path"], content=content, headers=request_headers
        )
        assert response.status_code == status, (name, response.text)
        assert response.json()["code"] == code, name
    big = b"[" + b" " * 1_000_001 + b"]"
    oversized = await webhook_client.post(
        provider["webhook_path"], content=big, headers=sendgrid_signer.headers(big)
    )
    assert oversized.status_code == 413
    assert await stored_events(engine_of(accounts), provider["id"]) == []


async def test_a_provider_without_a_verification_key_refuses_every_batch(
    client: httpx.AsyncClient,
    webhook_client: httpx.AsyncClient,
    accounts: Accounts,
    sendgrid_signer: SendgridSigner,
) -> None:
    _, caller, provider = await sendgrid_provider(client, accounts, None)
    batch = [sendgrid_event("delivered", "a@example.org", "XMSG")]
    response = await post_batch(webhook_client, provider, sendgrid_signer, batch)
    assert response.status_code == 403
    assert response.json()["code"] == "verification_key_missing"
    assert await stored_events(engine_of(accounts), provider["id"]) == []

    bad = await client.patch(
        f"/api/v1/providers/{provider['id']}",
        headers=caller.headers,
        json={"configuration": {"webhook_verification_key": "bm90IGEga2V5"}},
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_configuration"
    assert "webhook_verification_key" in bad.text
    good = await client.patch(
        f"/api/v1/providers/{provider['id']}",
        headers=caller.headers,
        json={"configuration": {"webhook_verification_key": sendgrid_signer.public_key}},
    )
    assert good.status_code == 200
    assert good.json()["settings"]["webhook_verification_key"] == sendgrid_signer.public_key
    accepted = await post_batch(webhook_client, provider, sendgrid_signer, batch)
    assert accepted.status_code == 200 and accepted.json()["stored"] == 1
