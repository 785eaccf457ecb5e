"""The SES provider against moto's SES in server mode on loopback (what SES stores is our signed
MIME, byte for byte, and it verifies with dkimpy and with OpenDKIM), and against a scripted
HTTP peer answering SES's error XML (throttling, 5xx, lost connections) that moto never does."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import boto3
import pytest

import sender_rs
from openmailer.adapters.native.sender import SenderRsMessageRenderer
from openmailer.adapters.providers.ses import SES, SesConfiguration, SesProviderClient
from openmailer.core.ports.rendering import (
    CampaignContent,
    DkimKey,
    RecipientData,
)
from openmailer.core.sending.contract import OutgoingMessage
from openmailer.core.sending.outcomes import OutcomeKind
from openmailer.core.sending.services.forms import forms_needed, render_outgoing
from tests.integration.sending.http_peers import (
    DROP,
    MOTO_ACCESS_KEY,
    MOTO_REGION,
    MOTO_SECRET_KEY,
    Answer,
    MotoSes,
    ScriptedServer,
    moto_raw_messages,
    ses_error_xml,
    start_moto,
)
from tests.sender_rs.sender_helpers import (
    DOMAIN,
    Keys,
    opendkim_verdict,
    pem_ed25519,
    pem_rsa,
    verify,
    write_opendkim_conf,
)

pytestmark = pytest.mark.integration

SENDER = f"news@{DOMAIN}"
SEND_RAW_OK = (
    b'<SendRawEmailResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/">'
    b"<SendRawEmailResult><MessageId>m-1</MessageId></SendRawEmailResult>"
    b"<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></SendRawEmailResponse>"
)


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoSes]:
    peer = start_moto()
    ses = boto3.client(
        "ses",
        region_name=MOTO_REGION,
        endpoint_url=peer.url,
        aws_access_key_id=MOTO_ACCESS_KEY,
        aws_secret_access_key=MOTO_SECRET_KEY,
    )
    ses.verify_domain_identity(Domain=DOMAIN)
    yield peer
    peer.stop()


@pytest.fixture(scope="module")
def pems() -> tuple[str, str]:
    return pem_rsa(), pem_ed25519()


@pytest.fixture(scope="module")
def keys(pems: tuple[str, str]) -> Keys:
    return Keys(
        rsa=sender_rs.SigningKey.from_pem(DOMAIN, "rsa2048", pems[0]),
        ed25519=sender_rs.SigningKey.from_pem(DOMAIN, "ed", pems[1]),
    )


def configuration(url: str, **overrides: object) -> SesConfiguration:
    options: dict[str, object] = {
        "region": MOTO_REGION,
        "access_key_id": MOTO_ACCESS_KEY,
        "secret_access_key": MOTO_SECRET_KEY,
        "endpoint_url": url,
        "timeout_seconds": 5.0,
    }
    return SesConfiguration(**{**options, **overrides})  # type: ignore[arg-type]


def signed_messages(pems: tuple[str, str], count: int) -> list[OutgoingMessage]:
    """Rendered and dual-signed by sender_rs in the form (and signing profile) SES takes."""
    renderer = SenderRsMessageRenderer(threads=1)
    compiled = renderer.compile(
        CampaignContent(
            campaign_id="ses-test",
            subject="Hello {{ first_name }}",
            html="<p>Hi {{ first_name }}, caf\u00e9 news.</p>",
            text="Hi {{ first_name }}, caf\u00e9 news.",
            from_email=SENDER,
            from_name="Acme News",
            list_id=DOMAIN,
            base_url="https://mail.acme.example",
            tracking_secret=b"s" * 32,
            track_opens=False,
            track_clicks=False,
        ),
        [DkimKey(DOMAIN, "rsa2048", pems[0]), DkimKey(DOMAIN, "ed", pems[1])],
    )
    recipients = [
        RecipientData(f"t{n}", f"reader{n}@example.org", f"unsub-{n}", first_name=f"Reader{n}")
        for n in range(count)
    ]
    messages = []
    for message in render_outgoing(
        forms_needed([SES]),
        renderer,
        compiled,
        recipients,
        sender=SENDER,
        timestamp=int(time.time()),
    ):
        assert isinstance(message, OutgoingMessage)
        messages.append(message)
    return messages


def plain_message(sender: str = SENDER, number: int = 1) -> OutgoingMessage:
    raw = f"From: {sender}\r\nTo: a@example.org\r\nSubject: n{number}\r\n\r\nbody\r\n".encode()
    return OutgoingMessage(
        message_id=f"<n{number}@{DOMAIN}>",
        sender=sender,
        recipients=("a@example.org",),
        subject=f"n{number}",
        raw=raw,
    )


async def test_ses_stores_our_signed_mime_unchanged_and_it_verifies(
    moto: MotoSes, pems: tuple[str, str], keys: Keys, tmp_path: Path
) -> None:
    messages = signed_messages(pems, 3)
    client = SesProviderClient(configuration(moto.url))
    try:
        outcomes = await client.send_batch(messages)
    finally:
        await client.aclose()
    assert [o.kind for o in outcomes] == [OutcomeKind.ACCEPTED] * 3
    stored = {m["id"]: m for m in moto_raw_messages(moto.url)}
    conf = write_opendkim_conf(keys, tmp_path)
    for message, outcome in zip(messages, outcomes, strict=True):
        kept = stored[outcome.provider_message_id or ""]
        raw = kept["raw_data"].encode()
        assert raw == message.raw
        # moto lists the Destinations and the To header's addresses again: the same set.
        assert kept["source"] == SENDER and set(kept["destinations"]) == set(message.recipients)
        # Both signatures (RSA and Ed25519) with dkimpy; OpenDKIM reports the first.
        assert verify(raw, keys.dns(), 0) and verify(raw, keys.dns(), 1)
        verdict = opendkim_verdict(conf, raw, tmp_path)
        assert "verification" in verdict and "succeeded" in verdict, verdict
        # The `ses` profile leaves unsigned what SES rewrites.
        signed = raw.split(b"DKIM-Signature:", 1)[1].split(b"b=", 1)[0].lower()
        assert b"message-id" not in signed and b"date" not in signed


async def test_a_sender_ses_does_not_know_is_refused_for_good(moto: MotoSes) -> None:
    client = SesProviderClient(configuration(moto.url))
    try:
        (refused, accepted) = await client.send_batch(
            [plain_message("news@unverified.example"), plain_message(number=2)]
        )
    finally:
        await client.aclose()
    assert refused.kind is OutcomeKind.PERMANENT and "MessageRejected" in (refused.detail or "")
    assert accepted.kind is OutcomeKind.ACCEPTED


async def test_the_check_reports_the_send_quota(moto: MotoSes) -> None:
    client = SesProviderClient(configuration(moto.url))
    try:
        report = await client.check()
    finally:
        await client.aclose()
    assert report.ok and "200 messages per 24 hours" in (report.detail or "")


async def test_the_check_names_the_connect_stage_when_nothing_listens() -> None:
    closed = ScriptedServer().start()
    closed.stop()  # the port is free again: nothing listens there
    client = SesProviderClient(configuration(closed.url, timeout_seconds=1.0))
    try:
        report = await client.check()
    finally:
        await client.aclose()
    assert not report.ok and report.stage == "connect"


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer().start()
    yield server
    server.stop()


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (Answer(400, ses_error_xml("Throttling", "Maximum sending rate exceeded.")), "transient"),
        (Answer(400, ses_error_xml("ThrottlingException", "Rate exceeded")), "transient"),
        (Answer(503, ses_error_xml("ServiceUnavailable", "try later")), "transient"),
        (Answer(500, ses_error_xml("InternalFailure", "oops")), "transient"),
        (Answer(502, b"<html>bad gateway</html>"), "transient"),
        (
            Answer(400, ses_error_xml("AccountSendingPausedException", "paused")),
            "transient",
        ),
        (
            Answer(400, ses_error_xml("MessageRejected", "Email address is not verified.")),
            "permanent",
        ),
        (Answer(400, ses_error_xml("MailFromDomainNotVerified", "not verified")), "permanent"),
        (Answer(400, ses_error_xml("InvalidParameterValue", "bad header")), "permanent"),
    ],
)
async def test_ses_error_answers_are_classified(
    scripted: ScriptedServer, answer: Answer, kind: str
) -> None:
    scripted.script = [answer]
    client = SesProviderClient(configuration(scripted.url))
    try:
        (outcome,) = await client.send_batch([plain_message()])
    finally:
        await client.aclose()
    assert outcome.kind.value == kind and not outcome.ambiguous
    assert len(scripted.received) == 1  # botocore's own retries are off: the send path decides


async def test_a_connection_lost_after_the_request_is_an_ambiguous_transient_failure(
    scripted: ScriptedServer,
) -> None:
    scripted.script = [DROP]
    client = SesProviderClient(configuration(scripted.url))
    try:
        (outcome,) = await client.send_batch([plain_message()])
    finally:
        await client.aclose()
    assert outcome.kind is OutcomeKind.TRANSIENT and outcome.ambiguous


async def test_one_client_keeps_its_connection_across_batches(scripted: ScriptedServer) -> None:
    scripted.script = [Answer(200, SEND_RAW_OK, (("Content-Type", "text/xml"),))]
    client = SesProviderClient(configuration(scripted.url, max_concurrency=1))
    try:
        for number in (1, 2, 3):
            (outcome,) = await client.send_batch([plain_message(number=number)])
            assert outcome.provider_message_id == "m-1"
    finally:
        await client.aclose()
    assert len(scripted.received) == 3
    assert len({r.peer_port for r in scripted.received}) == 1


async def test_refused_credentials_fail_the_check_at_the_auth_stage(
    scripted: ScriptedServer,
) -> None:
    scripted.script = [
        Answer(403, ses_error_xml("InvalidClientTokenId", "The security token is invalid."))
    ]
    client = SesProviderClient(configuration(scripted.url))
    try:
        report = await client.check()
    finally:
        await client.aclose()
    assert not report.ok and report.stage == "auth"
    assert "InvalidClientTokenId" in (report.detail or "")


async def test_sends_name_the_configuration_set(scripted: ScriptedServer) -> None:
    # moto accepts any configuration set name: what SES is asked is read off the wire.
    scripted.script = [Answer(200, SEND_RAW_OK, (("Content-Type", "text/xml"),))]
    client = SesProviderClient(configuration(scripted.url, configuration_set="bounces"))
    try:
        (accepted,) = await client.send_batch([plain_message()])
    finally:
        await client.aclose()
    assert accepted.kind is OutcomeKind.ACCEPTED
    form = parse_qs(scripted.received[0].body.decode())
    assert form["Action"] == ["SendRawEmail"] and form["ConfigurationSetName"] == ["bounces"]
    assert form["Source"] == [SENDER] and form["Destinations.member.1"] == ["a@example.org"]
