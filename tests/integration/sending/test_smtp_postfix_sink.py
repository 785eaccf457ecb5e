"""The SMTP plugin delivers dual-signed messages to Postfix's smtp-sink: the bytes arrive
unchanged, every message verifies with dkimpy and with OpenDKIM, and the pool carries two
batches over the same connections, pipelined (RFC 2920)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import dkim
import pytest

import sender_rs
from openmailer.adapters.crypto.dkim_keys import generate_ed25519, generate_rsa
from openmailer.adapters.providers.smtp import SmtpConfiguration, SmtpProviderClient
from openmailer.adapters.providers.smtp_wire import PipelinedConnection
from openmailer.core.sending.contract import OutgoingMessage
from openmailer.core.sending.outcomes import OutcomeKind
from tests.integration.sending.postfix_sink import PostfixSink
from tests.sender_rs.sender_helpers import compile_default, dnsfunc, recipient
from tests.sender_rs.test_sender_opendkim import opendkim_verdict

pytestmark = pytest.mark.integration

DOMAIN = "sink.example"
SELECTORS = ("om2026rsa", "om2026ed")
POOL, BATCHES, PER_BATCH = 2, 2, 5


@dataclasses.dataclass(frozen=True)
class PublishedKeys:
    signing: list[sender_rs.SigningKey]
    records: dict[bytes, bytes]  # what the DKIM TXT records would hold, by query name


@pytest.fixture(scope="module")
def domain_keys() -> PublishedKeys:
    """An RSA-2048 and an Ed25519 key made as the domains area makes them."""
    signing, records = [], {}
    for selector, (algorithm, key) in zip(
        SELECTORS, (("rsa", generate_rsa()), ("ed25519", generate_ed25519())), strict=True
    ):
        signing.append(sender_rs.SigningKey.from_pem(DOMAIN, selector, key.private_pem))
        name = f"{selector}._domainkey.{DOMAIN}."
        records[name.encode()] = f"v=DKIM1; k={algorithm}; p={key.public_key}".encode()
    return PublishedKeys(signing, records)


def signed_batch(keys: PublishedKeys, batch: int) -> list[OutgoingMessage]:
    template = compile_default(from_email=f"news@{DOMAIN}", list_id=f"news.{DOMAIN}")
    people = [recipient(batch * 100 + n, first_name=f"Zoë {n}") for n in range(PER_BATCH)]
    rendered = sender_rs.render_batch(template, people, keys.signing, threads=1)
    messages = []
    for person, out in zip(people, rendered, strict=True):
        assert isinstance(out, sender_rs.RenderedMessage)
        messages.append(
            OutgoingMessage(
                message_id=out.message_id,
                sender=f"bounces@{DOMAIN}",
                recipients=(person.email,),
                subject="news",
                raw=out.data,
            )
        )
    return messages


def only_signature(message: bytes, keep: int) -> bytes:
    """The message with only its `keep`-th DKIM-Signature: `opendkim -t` reports on the first
    signature alone, so each is shown to it by itself (neither signs the other)."""
    head, separator, body = message.partition(b"\r\n\r\n")
    fields: list[list[bytes]] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            fields[-1].append(line)  # a folded continuation of the field before
        else:
            fields.append([line])
    signatures = [f for f in fields if f[0].lower().startswith(b"dkim-signature:")]
    assert len(signatures) == len(SELECTORS)
    kept = [f for f in fields if all(f is not s for s in signatures) or f is signatures[keep]]
    return b"\r\n".join(b"\r\n".join(f) for f in kept) + separator + body


def opendkim_config(keys: PublishedKeys, folder: Path) -> Path:
    records = folder / "keys"
    records.write_text(
        "".join(
            f"{name.decode().rstrip('.')} {txt.decode()}\n" for name, txt in keys.records.items()
        )
    )
    conf = folder / "opendkim.conf"
    conf.write_text(f"Mode v\nSyslog no\nTestPublicKeys {records}\n")
    return conf


async def test_signed_batches_reach_smtp_sink_intact_and_verify(
    postfix_sink: PostfixSink, domain_keys: PublishedKeys, tmp_path: Path
) -> None:
    client = SmtpProviderClient(
        SmtpConfiguration(host="127.0.0.1", port=postfix_sink.port, use_tls=False, pool_size=POOL)
    )
    sent: list[OutgoingMessage] = []
    try:
        for batch in range(BATCHES):
            messages = signed_batch(domain_keys, batch)
            outcomes = await client.send_batch(messages)
            assert [o.kind for o in outcomes] == [OutcomeKind.ACCEPTED] * PER_BATCH
            sent += messages
        # smtp-sink advertises PIPELINING: the kept connections spoke it.
        assert client._idle and all(isinstance(c, PipelinedConnection) for c in client._idle)
    finally:
        await client.aclose()
    counters = postfix_sink.stop()
    # Both batches went over the pool's two connections, each ended with QUIT.
    assert (counters.sessions, counters.quits) == (POOL, POOL)
    assert counters.messages == BATCHES * PER_BATCH

    dumped = postfix_sink.messages()
    by_recipient = {m.recipients[0]: m for m in sent}
    assert sorted(d.recipients[0] for d in dumped) == sorted(by_recipient)
    conf = opendkim_config(domain_keys, tmp_path)
    for received in dumped:
        original = by_recipient[received.recipients[0]]
        assert received.sender == original.sender
        assert received.data == original.raw
        lookup = dnsfunc(domain_keys.records)
        for index in range(2):
            assert dkim.DKIM(received.data).verify(idx=index, dnsfunc=lookup), index
        for index, selector in enumerate(SELECTORS):
            verdict = opendkim_verdict(conf, only_signature(received.data, index), tmp_path)
            assert f"s={selector}" in verdict and "succeeded" in verdict, verdict


async def test_opendkim_and_dkimpy_refuse_a_message_changed_after_signing(
    domain_keys: PublishedKeys, tmp_path: Path
) -> None:
    """The verification above can fail: one changed byte in what the sink got fails both."""
    (message,) = signed_batch(domain_keys, 0)[:1]
    assert message.raw is not None
    changed = message.raw.replace(b"Hello Zo", b"Hello Xo", 1)
    assert changed != message.raw
    lookup = dnsfunc(domain_keys.records)
    assert not any(_verifies(changed, index, lookup) for index in range(2))
    conf = opendkim_config(domain_keys, tmp_path)
    for index in range(2):
        verdict = opendkim_verdict(conf, only_signature(changed, index), tmp_path)
        assert "failed" in verdict and "succeeded" not in verdict, verdict


def _verifies(message: bytes, index: int, lookup: object) -> bool:
    try:
        return bool(dkim.DKIM(message).verify(idx=index, dnsfunc=lookup))
    except dkim.ValidationError:
        return False


async def test_bare_line_feeds_and_leading_dots_arrive_as_crlf_and_unstuffed(
    postfix_sink: PostfixSink,
) -> None:
    raw = b".starts with a dot\r\nSubject: odd\n\nbare LF\n..two dots\r\n.\r\nlast line"
    client = SmtpProviderClient(
        SmtpConfiguration(host="127.0.0.1", port=postfix_sink.port, use_tls=False)
    )
    odd = OutgoingMessage("<odd@sink.example>", "a@sink.example", ("b@example.org",), "odd", raw)
    try:
        (outcome,) = await client.send_batch([odd])
    finally:
        await client.aclose()
    assert outcome.kind is OutcomeKind.ACCEPTED
    (received,) = postfix_sink.messages()
    assert received.data == (
        b".starts with a dot\r\nSubject: odd\r\n\r\nbare LF\r\n..two dots\r\n.\r\nlast line\r\n"
    )
