"""The SMTP provider against aiosmtpd on loopback: outcomes per recipient, a kept pool,
reconnection, the ambiguous lost `250`, STARTTLS and implicit TLS with a certificate made here,
AUTH, and the credentials check. The transaction tests run twice: against a server that
advertises PIPELINING (the pipelined path) and one that does not (the lock-step path)."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from openmailer.adapters.providers.smtp import SmtpConfiguration, SmtpProviderClient
from openmailer.adapters.providers.smtp_wire import PipelinedConnection
from openmailer.core.sending.contract import OutgoingMessage
from openmailer.core.sending.outcomes import OutcomeKind
from tests.integration.sending.smtp_sink import PASSWORD, USER, CountingController, start_sink

pytestmark = pytest.mark.integration


def message(*recipients: str, number: int = 1) -> OutgoingMessage:
    raw = (
        f"From: news@example.com\r\nTo: {recipients[0]}\r\nSubject: Hello {number}\r\n"
        f"Message-ID: <m{number}@example.com>\r\n\r\n.leading dot\r\nbody {number}\r\n"
    ).encode()
    return OutgoingMessage(
        message_id=f"<m{number}@example.com>",
        sender="bounces@example.com",
        recipients=recipients,
        subject=f"Hello {number}",
        raw=raw,
    )


@pytest.fixture(params=[True, False], ids=["pipelined", "lock-step"])
def sink(request: pytest.FixtureRequest) -> Iterator[CountingController]:
    controller = start_sink(pipelining=request.param)
    yield controller
    controller.stop()


def assert_path(client: SmtpProviderClient, sink: CountingController) -> None:
    """The kept connections took the path the server's EHLO called for."""
    assert client._idle, "no connection was kept"
    kinds = {isinstance(connection, PipelinedConnection) for connection in client._idle}
    assert kinds == {sink.scripted.pipelining}


def plain(controller: CountingController, **overrides: object) -> SmtpConfiguration:
    options: dict[str, object] = {
        "host": "127.0.0.1",
        "port": controller.port,
        "use_tls": False,
        "timeout_seconds": 5.0,
    }
    return SmtpConfiguration(**{**options, **overrides})  # type: ignore[arg-type]


async def test_accepted_recipients_carry_the_servers_queue_id(sink: CountingController) -> None:
    client = SmtpProviderClient(plain(sink))
    try:
        outcomes = await client.send_batch([message("ann@example.org")])
        assert_path(client, sink)
    finally:
        await client.aclose()
    assert [(o.kind, o.provider_message_id) for o in outcomes] == [(OutcomeKind.ACCEPTED, "Q1")]
    received = sink.scripted.received[0]
    assert received.recipients == ["ann@example.org"]
    assert b"\r\n.leading dot\r\n" in received.data  # dot-stuffing undone by the server


async def test_rcpt_refusals_fail_only_their_recipient(sink: CountingController) -> None:
    client = SmtpProviderClient(plain(sink))
    try:
        outcomes = await client.send_batch(
            [message("ann@example.org", "reject@example.org", "later@example.org")]
        )
        assert_path(client, sink)
    finally:
        await client.aclose()
    kinds = {o.recipient: o.kind for o in outcomes}
    assert kinds == {
        "ann@example.org": OutcomeKind.ACCEPTED,
        "reject@example.org": OutcomeKind.PERMANENT,
        "later@example.org": OutcomeKind.TRANSIENT,
    }
    assert "550" in (outcomes[1].detail or "") and "451" in (outcomes[2].detail or "")
    assert sink.scripted.received[0].recipients == ["ann@example.org"]


async def test_a_refused_data_fails_every_accepted_recipient(sink: CountingController) -> None:
    client = SmtpProviderClient(plain(sink))
    try:
        outcomes = await client.send_batch(
            [
                message("refusedata@example.org", "bob@example.org"),
                message("cy@example.org", number=2),
            ]
        )
    finally:
        await client.aclose()
    assert [o.kind for o in outcomes] == [
        OutcomeKind.PERMANENT,
        OutcomeKind.PERMANENT,
        OutcomeKind.ACCEPTED,  # the connection carries on after the refusal
    ]


async def test_all_recipients_refused_skips_the_content_and_the_connection_carries_on(
    sink: CountingController,
) -> None:
    client = SmtpProviderClient(plain(sink, pool_size=1))
    before = sink.scripted.connections
    try:
        outcomes = await client.send_batch(
            [
                message("reject@example.org", "later@example.org"),
                message("cy@example.org", number=2),
                message("reject2@example.org", number=3),
            ]
        )
        assert_path(client, sink)
    finally:
        await client.aclose()
    assert [o.kind for o in outcomes] == [
        OutcomeKind.PERMANENT,
        OutcomeKind.TRANSIENT,
        OutcomeKind.ACCEPTED,
        OutcomeKind.PERMANENT,
    ]
    assert [r.recipients for r in sink.scripted.received] == [["cy@example.org"]]
    assert sink.scripted.connections == before + 1  # no drop: one connection carried all three


async def test_a_connection_lost_before_354_is_retried_on_a_new_connection(
    sink: CountingController,
) -> None:
    client = SmtpProviderClient(plain(sink, pool_size=1))
    before = sink.scripted.connections
    try:
        outcomes = await client.send_batch(
            [
                message("ann@example.org"),
                message("dropfirst@example.org", "bob@example.org", number=2),
                message("cy@example.org", number=3),
            ]
        )
    finally:
        await client.aclose()
    assert [o.kind for o in outcomes] == [OutcomeKind.ACCEPTED] * 4
    assert not any(o.ambiguous for o in outcomes)
    assert [r.recipients for r in sink.scripted.received] == [
        ["ann@example.org"],
        ["dropfirst@example.org", "bob@example.org"],
        ["cy@example.org"],
    ]
    assert sink.scripted.connections == before + 2


async def test_a_connection_lost_before_354_twice_is_a_plain_transient_failure(
    sink: CountingController,
) -> None:
    client = SmtpProviderClient(plain(sink, pool_size=1))
    try:
        outcomes = await client.send_batch(
            [message("dropalways@example.org"), message("ann@example.org", number=2)]
        )
    finally:
        await client.aclose()
    lost, after = outcomes
    assert lost.kind is OutcomeKind.TRANSIENT and not lost.ambiguous
    assert (lost.detail or "").startswith("connection lost")
    assert after.kind is OutcomeKind.ACCEPTED


async def test_no_final_reply_in_time_is_an_ambiguous_transient_failure() -> None:
    sink = start_sink(slow_seconds=1.5)
    client = SmtpProviderClient(plain(sink, pool_size=1, timeout_seconds=0.5))
    try:
        outcomes = await client.send_batch(
            [message("slowdata@example.org"), message("ann@example.org", number=2)]
        )
    finally:
        await client.aclose()
        sink.stop()
    late, after = outcomes
    assert late.kind is OutcomeKind.TRANSIENT and late.ambiguous
    assert "0.5 s" in (late.detail or "")
    assert after.kind is OutcomeKind.ACCEPTED


async def test_a_connection_lost_before_250_is_an_ambiguous_transient_failure(
    sink: CountingController,
) -> None:
    client = SmtpProviderClient(plain(sink, pool_size=1))
    before = sink.scripted.connections  # aiosmtpd's own readiness probe is one
    try:
        outcomes = await client.send_batch(
            [message("dropdata@example.org"), message("ann@example.org", number=2)]
        )
    finally:
        await client.aclose()
    lost, after = outcomes
    assert lost.kind is OutcomeKind.TRANSIENT and lost.ambiguous
    assert "may have been delivered" in (lost.detail or "")
    # the next message went out on a new connection
    assert after.kind is OutcomeKind.ACCEPTED and sink.scripted.connections == before + 2


async def test_connections_are_kept_across_batches_and_reopened_when_dropped() -> None:
    sink = start_sink(idle_timeout=1.0)
    client = SmtpProviderClient(plain(sink, pool_size=2))
    before = sink.scripted.connections  # aiosmtpd's own readiness probe is one
    try:
        for batch in range(3):
            outcomes = await client.send_batch(
                [message(f"r{batch}{n}@example.org", number=n) for n in range(4)]
            )
            assert all(o.kind is OutcomeKind.ACCEPTED for o in outcomes)
        assert sink.scripted.connections == before + 2
        # The server closes idle connections: the kept ones are dead by the next batch.
        await asyncio.sleep(1.5)
        outcomes = await client.send_batch([message("back@example.org")])
    finally:
        await client.aclose()
        sink.stop()
    assert outcomes[0].kind is OutcomeKind.ACCEPTED
    assert len(sink.scripted.received) == 13


async def test_an_unreachable_server_is_a_transient_failure_per_recipient() -> None:
    from tests.integration.sending.smtp_sink import free_port

    client = SmtpProviderClient(
        SmtpConfiguration(host="127.0.0.1", port=free_port(), use_tls=False, timeout_seconds=2)
    )
    outcomes = await client.send_batch([message("ann@example.org", "bob@example.org")])
    assert [o.kind for o in outcomes] == [OutcomeKind.TRANSIENT] * 2
    assert all((o.detail or "").startswith("connect:") and not o.ambiguous for o in outcomes)
    report = await client.check()
    assert not report.ok and report.stage == "connect"


# --- TLS and AUTH ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    pem = cert.public_bytes(serialization.Encoding.PEM)
    (folder / "cert.pem").write_bytes(pem)
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return folder / "cert.pem", folder / "key.pem", pem.decode()


def server_context(certificate: tuple[Path, Path, str]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate[0], certificate[1])
    return context


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "implicit-tls"])
async def test_tls_and_auth_send_and_check(
    certificate: tuple[Path, Path, str], implicit: bool
) -> None:
    sink = start_sink(tls_context=server_context(certificate), require_auth=True, implicit=implicit)
    secure = SmtpConfiguration(
        host="127.0.0.1",
        port=sink.port,
        username=USER,
        password=PASSWORD,
        use_tls=True,
        implicit_tls=implicit,
        ca_certificates=certificate[2],
        timeout_seconds=5,
    )
    try:
        client = SmtpProviderClient(secure)
        assert (await client.check()).ok
        outcomes = await client.send_batch([message("ann@example.org")])
        await client.aclose()
        assert outcomes[0].kind is OutcomeKind.ACCEPTED

        wrong = SmtpProviderClient(_with(secure, password="wrong"))
        report = await wrong.check()
        assert not report.ok and report.stage == "auth" and "535" in (report.detail or "")

        untrusted = SmtpProviderClient(_with(secure, ca_certificates=None))
        report = await untrusted.check()
        assert not report.ok and report.stage == "tls"
    finally:
        sink.stop()


def _with(configuration: SmtpConfiguration, **changes: object) -> SmtpConfiguration:
    import msgspec

    return msgspec.structs.replace(configuration, **changes)


async def test_a_batch_cancelled_mid_transaction_does_not_keep_its_connection() -> None:
    """Its replies are still due: kept, they would answer the next batch's commands."""
    sink = start_sink(slow_seconds=1.0)
    client = SmtpProviderClient(plain(sink, pool_size=1))
    try:
        await client.send_batch([message("warm@example.org", number=3)])  # one kept connection
        assert len(client._idle) == 1
        sending = asyncio.ensure_future(client.send_batch([message("slowdata@example.org")]))
        await asyncio.sleep(0.5)
        sending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await sending
        assert client._idle == []
        outcomes = await client.send_batch([message("ann@example.org", number=2)])
    finally:
        await client.aclose()
        sink.stop()
    assert [(o.kind, o.recipient) for o in outcomes] == [(OutcomeKind.ACCEPTED, "ann@example.org")]
