"""The SendGrid provider against a local server speaking the v3 API: the request shape built
from rendered parts, 202 with X-Message-Id, 429 with Retry-After (waited out when short, reported
when long), SendGrid's errors[] in permanent failures, 5xx and lost connections, the key check.
SendGrid builds and signs the MIME itself: there is no DKIM signature of ours to verify."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from openmailer.adapters.native.sender import SenderRsMessageRenderer
from openmailer.adapters.providers.sendgrid import (
    SENDGRID,
    SendgridConfiguration,
    SendgridProviderClient,
)
from openmailer.core.ports.rendering import CampaignContent, RecipientData
from openmailer.core.sending.contract import OutgoingMessage
from openmailer.core.sending.contract import RenderedParts as Parts
from openmailer.core.sending.outcomes import OutcomeKind, RecipientOutcome
from openmailer.core.sending.services.forms import forms_needed, render_outgoing
from tests.integration.sending.http_peers import DROP
from tests.integration.sending.sendgrid_peer import API_KEY, SendgridServer

pytestmark = pytest.mark.integration

SENDER = "news@acme.example"


@pytest.fixture
def sendgrid() -> Iterator[SendgridServer]:
    server = SendgridServer().start()
    yield server
    server.stop()


def configuration(server: SendgridServer, **overrides: object) -> SendgridConfiguration:
    options: dict[str, object] = {"api_key": API_KEY, "base_url": server.url}
    return SendgridConfiguration(**{**options, **overrides})  # type: ignore[arg-type]


def parts_messages(count: int) -> list[OutgoingMessage]:
    renderer = SenderRsMessageRenderer(threads=1)
    compiled = renderer.compile(
        CampaignContent(
            campaign_id="sg-test",
            subject="Hello {{ first_name }}",
            html="<p>Hi {{ first_name }}</p>",
            text="Hi {{ first_name }}",
            from_email=SENDER,
            from_name="Acme News",
            reply_to="help@acme.example",
            list_id="acme.example",
            base_url="https://mail.acme.example",
            tracking_secret=b"s" * 32,
            track_opens=False,
            track_clicks=False,
        )
    )
    recipients = [
        RecipientData(f"t{n}", f"reader{n}@example.org", f"unsub-{n}", first_name=f"Reader{n}")
        for n in range(count)
    ]
    messages = []
    for message in render_outgoing(
        forms_needed([SENDGRID]),
        renderer,
        compiled,
        recipients,
        sender=SENDER,
        timestamp=int(time.time()),
        campaign_id=7,
    ):
        assert isinstance(message, OutgoingMessage)
        messages.append(message)
    return messages


def bare(subject: str = "Hi", *recipients: str) -> OutgoingMessage:
    return OutgoingMessage(
        message_id="<bare@acme.example>",
        sender=SENDER,
        recipients=recipients or ("ann@example.org",),
        subject=subject,
        parts=Parts(subject=subject, text="hello", headers=(("From", SENDER),)),
    )


async def send(
    server: SendgridServer, messages: list[OutgoingMessage], **overrides: object
) -> list[RecipientOutcome]:
    client = SendgridProviderClient(configuration(server, **overrides))
    try:
        return await client.send_batch(messages)
    finally:
        await client.aclose()


async def test_rendered_parts_become_a_valid_mail_send_request(sendgrid: SendgridServer) -> None:
    messages = parts_messages(2)
    client = SendgridProviderClient(configuration(sendgrid, max_concurrency=1))
    try:
        first = await client.send_batch(messages[:1])
        second = await client.send_batch(messages[1:])
    finally:
        await client.aclose()
    assert [(o.kind, o.provider_message_id) for o in first + second] == [
        (OutcomeKind.ACCEPTED, "sg-1"),
        (OutcomeKind.ACCEPTED, "sg-2"),
    ]
    body = sendgrid.accepted[0]
    assert body["personalizations"] == [{"to": [{"email": "reader0@example.org"}]}]
    assert body["from"] == {"email": SENDER, "name": "Acme News"}
    assert body["reply_to"] == {"email": "help@acme.example"}
    assert body["subject"] == "Hello Reader0"
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
    assert body["custom_args"] == {"om_message_id": messages[0].message_id, "om_campaign_id": "7"}
    assert body["headers"]["Message-ID"] == messages[0].message_id
    assert body["headers"]["List-Unsubscribe"].startswith("<https://mail.acme.example/")
    assert body["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Date" not in body["headers"] and "mail_settings" not in body
    assert len({r.peer_port for r in sendgrid.requests}) == 1  # one kept connection


async def test_one_personalization_per_recipient_sandbox_and_ip_pool(
    sendgrid: SendgridServer,
) -> None:
    outcomes = await send(
        sendgrid,
        [bare("Hi", "ann@example.org", "bob@example.org")],
        sandbox_mode=True,
        ip_pool_name="marketing",
    )
    assert [o.kind for o in outcomes] == [OutcomeKind.ACCEPTED] * 2
    body = sendgrid.accepted[0]
    assert [p["to"][0]["email"] for p in body["personalizations"]] == [
        "ann@example.org",
        "bob@example.org",
    ]
    assert body["mail_settings"] == {"sandbox_mode": {"enable": True}}
    assert body["ip_pool_name"] == "marketing"


async def test_a_short_retry_after_is_waited_out_then_retried(sendgrid: SendgridServer) -> None:
    sendgrid.modes = ["throttle"]
    started = time.monotonic()
    (outcome,) = await send(sendgrid, [bare()])
    assert outcome.kind is OutcomeKind.ACCEPTED
    assert time.monotonic() - started >= 0.9 and len(sendgrid.requests) == 2


async def test_a_long_retry_after_is_transient_and_pauses_the_rest_of_the_batch(
    sendgrid: SendgridServer,
) -> None:
    sendgrid.modes = ["throttle"]
    sendgrid.retry_after = "120"
    started = time.monotonic()
    outcomes = await send(sendgrid, [bare(), bare()], max_concurrency=1)
    assert [o.kind for o in outcomes] == [OutcomeKind.TRANSIENT] * 2
    assert all("retry after 120 s" in (o.detail or "") for o in outcomes)
    assert len(sendgrid.requests) == 1  # the second message was not sent into the limit
    assert time.monotonic() - started < 10


async def test_sendgrid_errors_name_the_field_in_a_permanent_failure(
    sendgrid: SendgridServer,
) -> None:
    (outcome,) = await send(sendgrid, [bare("")])
    assert outcome.kind is OutcomeKind.PERMANENT
    assert outcome.detail == "400 field subject: The subject is required."


@pytest.mark.parametrize(
    ("mode", "kind", "ambiguous"),
    [
        ("server_error", OutcomeKind.TRANSIENT, False),
        ("too_large", OutcomeKind.PERMANENT, False),
        (DROP, OutcomeKind.TRANSIENT, True),
    ],
)
async def test_answers_are_classified(
    sendgrid: SendgridServer, mode: str, kind: OutcomeKind, ambiguous: bool
) -> None:
    sendgrid.modes = [mode]
    (outcome,) = await send(sendgrid, [bare()])
    assert (outcome.kind, outcome.ambiguous) == (kind, ambiguous)


async def test_a_refused_key_is_transient_and_fails_the_check_at_auth(
    sendgrid: SendgridServer,
) -> None:
    (outcome,) = await send(sendgrid, [bare()], api_key="SG.wrong")
    # The provider's failure, not the recipient's: the chain fails over to the next provider.
    assert outcome.kind is OutcomeKind.TRANSIENT and (outcome.detail or "").startswith("401 ")
    client = SendgridProviderClient(configuration(sendgrid, api_key="SG.wrong"))
    try:
        report = await client.check()
    finally:
        await client.aclose()
    assert not report.ok and report.stage == "auth"
    assert "authorization grant is invalid" in (report.detail or "")


async def test_the_check_wants_the_mail_send_scope(sendgrid: SendgridServer) -> None:
    client = SendgridProviderClient(configuration(sendgrid))
    try:
        assert (await client.check()).ok
        sendgrid.scopes = ["user.profile.read"]
        report = await client.check()
    finally:
        await client.aclose()
    assert not report.ok and report.stage == "auth" and "mail.send" in (report.detail or "")


async def test_nothing_listening_is_a_transient_failure_and_a_connect_stage() -> None:
    closed = SendgridServer().start()
    closed.stop()
    (outcome,) = await send(closed, [bare()], timeout_seconds=2.0)
    assert outcome.kind is OutcomeKind.TRANSIENT and not outcome.ambiguous
    client = SendgridProviderClient(configuration(closed, timeout_seconds=2.0))
    try:
        report = await client.check()
    finally:
        await client.aclose()
    assert not report.ok and report.stage == "connect"


async def test_a_message_without_parts_fails_without_a_request(sendgrid: SendgridServer) -> None:
    raw_only = OutgoingMessage(
        message_id="<raw@acme.example>",
        sender=SENDER,
        recipients=("ann@example.org",),
        subject="Hi",
        raw=b"Subject: Hi\r\n\r\nhello\r\n",
    )
    (outcome,) = await send(sendgrid, [raw_only])
    assert outcome.kind is OutcomeKind.PERMANENT and "rendered parts" in (outcome.detail or "")
    assert sendgrid.requests == []
