"""SES events through SNS, posted to the real app signed by a local certificate that a
loopback SNS serves: bounces, complaints and deliveries applied exactly once; forged, stale,
oversized, malformed and wrongly addressed messages refused with nothing stored; subscription
confirmations confirmed only at SNS addresses."""

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
from openmailer.adapters.db.tables.sending import EmailLog
from openmailer.core.accounts.service import AccountsPorts as Accounts
from tests.integration.accounts.accounts_helpers import (
    api_key_for,
    engine_of,
    make_user,
    within_one_rate_window,
)
from tests.integration.sending.http_peers import ScriptedServer
from tests.integration.webhooks.webhook_helpers import (
    SCOPES,
    SES_CONFIGURATION,
    add_provider,
    events_of,
    row,
    sent_campaign,
    ses_provider,
    stored_events,
)
from tests.webhook_signing import (
    CERT_PATH,
    REGION,
    SnsSigner,
    ses_bounce,
    ses_complaint,
    ses_delivery,
)

pytestmark = pytest.mark.integration


async def post(client: httpx.AsyncClient, provider: dict[str, Any], body: bytes) -> httpx.Response:
    # SNS posts its JSON as text/plain
    return await client.post(
        provider["webhook_path"],
        content=body,
        headers={"Content-Type": "text/plain; charset=UTF-8"},
    )


async def process_all(app: Litestar, accounts: Accounts, provider_id: int) -> list[Any]:
    engine = engine_of(accounts)
    ids = [event.id for event in await stored_events(engine, provider_id)]
    await events_of(app).process_many(ids)
    return await stored_events(engine, provider_id)


async def test_a_provider_shows_its_webhook_path_and_unknown_tokens_are_one_404(
    client: httpx.AsyncClient, webhook_client: httpx.AsyncClient, accounts: Accounts
) -> None:
    user = await make_user(accounts)
    caller = await api_key_for(accounts, user, SCOPES)
    ses = await add_provider(client, caller, "SES", SES_CONFIGURATION)
    outbox = await add_provider(client, caller, "OUTBOX", {})
    assert ses["webhook_path"].startswith("/webhooks/")
    assert len(ses["webhook_path"].rsplit("/", 1)[1]) == 64
    assert outbox["webhook_path"] is None
    shown = await client.get(f"/api/v1/providers/{ses['id']}", headers=caller.headers)
    assert shown.json()["webhook_path"] == ses["webhook_path"]

    unknown = await webhook_client.post("/webhooks/" + "0" * 64, content=b"{}")
    malformed_token = await webhook_client.post("/webhooks/nope", content=b"{}")
    assert unknown.status_code == malformed_token.status_code == 404
    assert unknown.json()["code"] == malformed_token.json()["code"] == "webhook_not_found"
    # The outbox reports no events: its token answers the same 404.
    async with engine_of(accounts).connect() as conn:
        from sqlalchemy import text

        token = await conn.scalar(
            text("SELECT webhook_token FROM email_providers WHERE id = :id"), {"id": outbox["id"]}
        )
    assert (await webhook_client.post(f"/webhooks/{token}", content=b"{}")).status_code == 404


async def test_a_hard_bounce_is_stored_once_and_applied_once(
    client: httpx.AsyncClient,
    webhook_client: httpx.AsyncClient,
    webhook_app: Litestar,
    accounts: Accounts,
    sns_signer: SnsSigner,
) -> None:
    user, provider = await ses_provider(client, accounts)
    engine = engine_of(accounts)
    sent = await sent_campaign(engine, user, provider["id"], 4)
    body = sns_signer.notification(ses_bounce(sent.message_ids[0], [sent.addresses[0]]))

    first = await post(webhook_client, provider, body)
    assert first.status_code == 200, first.text
    assert first.json() == {
        "stored": 1,
        "duplicates": 0,
        "ignored": 0,
        "confirmed_subscription": False,
    }
    replay = await post(webhook_client, provider, body)
    assert replay.status_code == 200
    assert replay.json()["duplicates"] == 1 and replay.json()["stored"] == 0

    events = await process_all(webhook_app, accounts, provider["id"])
    assert [(e.event_type, e.processed, e.error_message) for e in events] == [
        ("BOUNCED", True, None)
    ]
    contact = await row(engine, Contact.__table__, sent.contact_ids[0])
    assert (contact.status, contact.bounce_type, contact.bounce_count) == ("BOUNCED", "HARD", 1)
    assert contact.last_bounce_at is not None
    recipient = await row(engine, CampaignRecipient.__table__, sent.recipient_ids[0])
    assert recipient.status == "BOUNCED" and recipient.bounced_at is not None
    log = await row(engine, EmailLog.__table__, sent.log_ids[0])
    assert log.status == "BOUNCED" and "5.1.1" in log.error_message
    campaign = await row(engine, EmailCampaign.__table__, sent.campaign_id)
    assert (campaign.bounce_count, str(campaign.bounce_rate)) == (1, "25.00")
    other = await row(engine, Contact.__table__, sent.contact_ids[1])
    assert other.status == "SUBSCRIBED"

    # Processing again (a redelivered worker message) changes nothing.
    assert await events_of(webhook_app).process_many([events[0].id]) == 0
    campaign = await row(engine, EmailCampaign.__table__, sent.campaign_id)
    assert campaign.bounce_count == 1


async def test_a_complaint_signed_with_version_1_and_a_delivery_are_applied(
    client: httpx.AsyncClient,
    webhook_client: httpx.AsyncClient,
    webhook_app: Litestar,
    accounts: Accounts,
    sns_signer: SnsSigner,
) -> None:
    user, provider = await ses_provider(client, accounts)
    engine = engine_of(accounts)
    sent = await sent_campaign(engine, user, provider["id"], 2)
    complaint = sns_signer.notification(
        ses_complaint(sent.message_ids[0], [sent.addresses[0]]), version="1"
    )
    delivery = sns_signer.notification(ses_delivery(sent.message_ids[1], [sent.addresses[1]]))
    assert (await post(webhook_client, provider, complaint)).status_code == 200
    assert (await post(webhook_client, provider, delivery)).status_code == 200

    events = await process_all(webhook_app, accounts, provider["id"])
    assert sorted(e.event_type for e in events) == ["COMPLAINED", "DELIVERED"]
    assert all(e.processed for e in events)
    complained = await row(engine, Contact.__table__, sent.contact_ids[0])
    assert (complained.status, complained.complaint_count) == ("COMPLAINED", 1)
    campaign = await row(engine, EmailCampaign.__table__, sent.campaign_id)
    assert campaign.complaint_count == 1 and campaign.status == "SENDING"  # 2 sent: no sample
    delivered = await row(engine, CampaignRecipient.__table__, sent.recipient_ids[1])
    assert delivered.status == "DELIVERED" and delivered.delivered_at is not None
    log = await row(engine, EmailLog.__table__, sent.log_ids[1])
    assert log.status == "DELIVERED"


async def test_an_event_for_an_unknown_message_is_stored_and_marked(
    client: httpx.AsyncClient,
    webhook_client: httpx.AsyncClient,
    webhook_app: Litestar,
    accounts: Accounts,
    sns_signer: SnsSigner,
) -> None:
    _, provider = await ses_provider(client, accounts)
    body = sns_signer.notification(ses_bounce("never-sent", ["who@example.org"]))
    assert (await post(webhook_client, provider, body)).json()["stored"] == 1
    (event,) = await process_all(webhook_app, accounts, provider["id"])
    assert event.processed is True
    assert "no email log" in event.error_message


async def test_forged_stale_malformed_and_oversized_messages_store_nothing(
    client: httpx.AsyncClient,
    webhook_client: httpx.AsyncClient,
    accounts: Accounts,
    sns_signer: SnsSigner,
    sns_peer: ScriptedServer,
) -> None:
    _, provider = await ses_provider(client, accounts)
    valid = json.loads(sns_signer.notification(ses_bounce("m", ["a@example.org"])))
    forged = {**valid, "Message": valid["Message"].replace("a@example.org", "b@example.org")}
    other_signer = SnsSigner()  # same certificate URL, another key
    cases: dict[str, tuple[bytes, int, str]] = {
        "forged": (json.dumps(forged).encode(), 403, "invalid_signature"),
        "other key": (
            other_signer.notification(ses_bounce("m", ["a@example.org"])),
            403,
            "invalid_signature",
        ),
        "unsigned": (
            json.dumps({k: v for k, v in valid.items() if k != "Signature"}).encode(),
            403,
            "invalid_signature",
        ),
        "version 3": (
            json.dumps({**valid, "SignatureVersion": "3"}).encode(),
            403,
            "invalid_signature",
        ),
        "stale": (
            sns_signer.notification(
                ses_bounce("m", ["a@example.org"]), at=datetime.now(UTC) - timedelta(hours=2)
            ),
            403,
            "stale_message",
        ),
        "other topic": (
            sns_signer.notification(
                ses_bounce("m", ["a@example.org"]),
                topic=f"arn:aws:sns:{REGION}:123456789012:someone-else",
            ),
            403,
            "topic_not_allowed",
        ),
        "not json": (b"{not json", 422, "malformed_event"),
        "not sns": (b'{"hello": "world"}', 422, "malformed_event"),
    }
    for name, (body, status, code) in cases.items():
        response = await post(webhook_client, provider, body)
        assert response.status_code == status, (name, response.text)
        assert response.json()["code"] == code, name
    oversized = await post(webhook_client, provider, b" " * 1_000_001)
    assert oversized.status_code == 413
    assert await stored_events(engine_of(accounts), provider["id"]) == []


async def test_a_certificate_outside_sns_is_refused_and_never_fetched(
    client: httpx.AsyncClient,
    webhook_client: httpx.AsyncClient,
    accounts: Accounts,
    sns_peer: ScriptedServer,
) -> None:
    _, provider = await ses_provider(client, accounts)
    before = len(sns_peer.received)
    for url in (
        f"https://evil.example{CERT_PATH}",
        f"http://sns.{REGION}.amazonaws.com{CERT_PATH}",
        f"https://sns.{REGION}.amazonaws.com.evil.example{CERT_PATH}",
        f"https://sns.{REGION}.amazonaws.com/cert.txt",
    ):
        signer = SnsSigner(cert_url=url)
        response = await post(
            webhook_client, provider, signer.notification(ses_bounce("m", ["a@example.org"]))
        )
        assert response.status_code == 403, url
        assert response.json()["code"] == "invalid_signature"
    assert len(sns_peer.received) == before
    assert await stored_events(engine_of(accounts), provider["id"]) == []


async def test_a_subscription_is_confirmed_only_at_an_sns_address(
    client: httpx.AsyncClient,
    webhook_client: httpx.AsyncClient,
    accounts: Accounts,
    sns_signer: SnsSigner,
    sns_peer: ScriptedServer,
) -> None:
    _, provider = await ses_provider(client, accounts)
    subscribe = (
        f"https://sns.{REGION}.amazonaws.com/?Action=ConfirmSubscription"
        "&TopicArn=arn:aws:sns:eu-west-1:123456789012:ses-events&Token=2336412f37fb687f"
    )
    response = await post(webhook_client, provider, sns_signer.subscription(subscribe))
    assert response.status_code == 200, response.text
    assert response.json()["confirmed_subscription"] is True
    confirmations = [r for r in sns_peer.received if "Action=ConfirmSubscription" in r.path]
    assert confirmations and confirmations[-1].path.endswith("Token=2336412f37fb687f")

    count = len(sns_peer.received)
    elsewhere = sns_signer.subscription("https://evil.example/?Action=ConfirmSubscription&T=1")
    refused = await post(webhook_client, provider, elsewhere)
    assert refused.status_code == 403
    assert len(sns_peer.received) == count  # the certificate was cached; nothing else asked
    stale = sns_signer.subscription(subscribe, at=datetime.now(UTC) - timedelta(hours=2))
    assert (await post(webhook_client, provider, stale)).status_code == 403
    assert len(sns_peer.received) == count
    assert await stored_events(engine_of(accounts), provider["id"]) == []


async def test_a_stored_batch_wakes_a_worker_through_the_broker(
    client: httpx.AsyncClient,
    webhook_client: httpx.AsyncClient,
    webhook_app: Litestar,
    accounts: Accounts,
    sns_signer: SnsSigner,
) -> None:
    _, provider = await ses_provider(client, accounts)
    body = sns_signer.notification(ses_bounce("m", ["a@example.org"]))
    assert (await post(webhook_client, provider, body)).json()["stored"] == 1
    (event,) = await stored_events(engine_of(accounts), provider["id"])
    redis = webhook_app.state.resources.redis
    messages = [json.loads(raw) for raw in await redis.hvals("openmailer:webhooks.msgs")]
    woken = [m for m in messages if m["args"] == [[event.id]]]
    assert [(m["actor_name"], m["queue_name"]) for m in woken] == [
        ("process_webhook_events", "webhooks")
    ]


async def test_a_client_refused_too_often_is_refused_before_any_lookup(
    client: httpx.AsyncClient,
    webhook_client: httpx.AsyncClient,
    webhook_app: Litestar,
    accounts: Accounts,
    sns_signer: SnsSigner,
) -> None:
    """Refusals count per client; accepted requests never do (a provider's busy minute is not
    throttled)."""
    from openmailer.core.events.service import REFUSALS_PER_MINUTE

    _, provider = await ses_provider(client, accounts)
    prober = f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"
    transport = httpx.ASGITransport(app=webhook_app, client=(prober, 40000))
    # the refusals count in fixed minutes of Redis' clock: all of them must fall in one
    await within_one_rate_window(webhook_app.state.resources.redis)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as probing:
        for _ in range(REFUSALS_PER_MINUTE):
            assert (await probing.post("/webhooks/" + "f" * 64, content=b"{}")).status_code == 404
        refused = await probing.post(
            provider["webhook_path"],
            content=sns_signer.notification(ses_bounce("m", ["a@example.org"])),
        )
        assert refused.status_code == 429
        assert refused.json()["code"] == "rate_limited"
    # The provider itself, from another address, is not affected; its successes never count.
    for _ in range(3):
        body = sns_signer.notification(ses_bounce("m", ["a@example.org"]))
        assert (await post(webhook_client, provider, body)).status_code == 200
