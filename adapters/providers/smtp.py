"""The SMTP provider (aiosmtplib): a pool of persistent connections, per-recipient replies.

Connections are opened on demand up to `pool_size`, kept between batches and reopened when the
server dropped them. Each message is one transaction: a refused MAIL FROM fails all its
recipients, a refused RCPT TO only that recipient, a refused DATA all that were accepted; the
reply code decides transient or permanent (`classify_smtp_reply`). A connection lost before
DATA is retried once on a new connection (nothing was sent). A connection lost during DATA,
before the server's final reply, is ambiguous: the message may have been queued, so it is a
transient failure marked `ambiguous`, and retrying it may deliver a duplicate (with the same
Message-ID; see the design's reliability model).
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections import deque
from collections.abc import Sequence
from typing import Annotated

import aiosmtplib
import msgspec
from aiosmtplib.protocol import normalize_message_line_endings

from openmailer.core.ports.sending import ProviderContext
from openmailer.core.sending.contract import CheckReport, MessageForm, OutgoingMessage, ProviderType
from openmailer.core.sending.outcomes import OutcomeKind, RecipientOutcome
from openmailer.core.sending.policies import classify_smtp_reply

HOST_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9.:-]{0,252}$"
_POSITIVE = (aiosmtplib.SMTPStatus.completed, aiosmtplib.SMTPStatus.will_forward)
_QUEUED_AS = re.compile(r"queued as ([^\s;]+)", re.IGNORECASE)
# Failures after which a connection is no longer usable (it dropped, or stalled mid-reply).
_DROPS = (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError, TimeoutError)


class SmtpConfiguration(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """`use_tls` (the spec's field) encrypts the connection: with STARTTLS on a plain port
    (587), or from the first byte when `implicit_tls` (465). `ca_certificates`: PEM of the
    authorities to trust instead of the system's (a private relay)."""

    host: Annotated[str, msgspec.Meta(pattern=HOST_PATTERN, examples=["smtp.example.com"])]
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 587
    username: Annotated[str, msgspec.Meta(max_length=255)] | None = None
    password: Annotated[str, msgspec.Meta(max_length=1024)] | None = None
    use_tls: bool = True
    implicit_tls: bool = False
    verify_certificate: bool = True
    ca_certificates: Annotated[str, msgspec.Meta(max_length=65536)] | None = None
    local_hostname: Annotated[str, msgspec.Meta(pattern=HOST_PATTERN)] | None = None
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=120)] = 30.0
    pool_size: Annotated[int, msgspec.Meta(ge=1, le=32)] = 4


class _StageFailed(Exception):
    def __init__(self, stage: str, detail: str) -> None:
        super().__init__(f"{stage}: {detail}")
        self.stage = stage
        self.detail = detail


class _Dropped(Exception):
    """The connection was lost mid-transaction; `known` holds the outcomes already decided."""

    def __init__(self, detail: str, *, during_data: bool, known: dict[str, RecipientOutcome]):
        super().__init__(detail)
        self.detail = detail
        self.during_data = during_data
        self.known = known


def _describe(error: BaseException) -> str:
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return f"{error.code} {error.message}"
    return str(error) or type(error).__name__


async def _command(smtp: aiosmtplib.SMTP, verb: bytes, argument: bytes) -> None:
    """MAIL or RCPT without `smtp.mail`/`smtp.rcpt`, which parse each address again with the
    `email` package (addresses here are bare and validated); aiosmtplib still refuses control
    characters in a command."""
    reply = await smtp.execute_command(verb, argument)
    if reply.code not in _POSITIVE:
        raise aiosmtplib.SMTPResponseException(reply.code, reply.message)


def _by_reply(message: OutgoingMessage, recipient: str, code: int, text: str) -> RecipientOutcome:
    detail = f"{code} {text}"
    if classify_smtp_reply(code) is OutcomeKind.PERMANENT:
        return RecipientOutcome.permanent(message.message_id, recipient, detail)
    return RecipientOutcome.transient(message.message_id, recipient, detail)


class SmtpProviderClient:
    def __init__(self, configuration: SmtpConfiguration) -> None:
        self.configuration = configuration
        self._idle: list[aiosmtplib.SMTP] = []
        self._tls_context = self._make_tls_context()

    def _make_tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cadata=self.configuration.ca_certificates)
        if not self.configuration.verify_certificate:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    # --- connections --------------------------------------------------------------------------

    async def _connect(self) -> aiosmtplib.SMTP:
        """Connect, EHLO, STARTTLS and AUTH as configured; `_StageFailed` says which failed."""
        c = self.configuration
        smtp = aiosmtplib.SMTP(
            hostname=c.host,
            port=c.port,
            local_hostname=c.local_hostname,
            timeout=c.timeout_seconds,
            use_tls=c.use_tls and c.implicit_tls,
            start_tls=False,
            tls_context=self._tls_context,
        )
        stage = "tls" if c.use_tls and c.implicit_tls else "connect"
        try:
            await smtp.connect()
            if c.use_tls and not c.implicit_tls:
                stage = "tls"
                await smtp.starttls(tls_context=self._tls_context)
            if c.username is not None:
                stage = "auth"
                await smtp.login(c.username, c.password or "")
            if smtp.is_ehlo_or_helo_needed:  # transactions send their commands bare
                stage = "ehlo"
                await smtp.ehlo()
        except ssl.SSLError as error:
            smtp.close()
            raise _StageFailed("tls", _describe(error)) from None
        except aiosmtplib.SMTPHeloError as error:
            smtp.close()
            raise _StageFailed("ehlo", _describe(error)) from None
        except (aiosmtplib.SMTPException, *_DROPS) as error:
            smtp.close()
            raise _StageFailed(stage, _describe(error)) from None
        return smtp

    async def _release(self, smtp: aiosmtplib.SMTP | None) -> None:
        if smtp is None:
            return
        if smtp.is_connected and len(self._idle) < self.configuration.pool_size:
            self._idle.append(smtp)
        else:
            smtp.close()

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for smtp in idle:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, *_DROPS):
                smtp.close()

    async def check(self) -> CheckReport:
        try:
            smtp = await self._connect()
        except _StageFailed as failed:
            return CheckReport(ok=False, stage=failed.stage, detail=failed.detail)
        try:
            await smtp.quit()
        except (aiosmtplib.SMTPException, *_DROPS):
            smtp.close()
        return CheckReport(ok=True)

    # --- sending ------------------------------------------------------------------------------

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[RecipientOutcome]:
        pending = deque(enumerate(messages))
        results: list[list[RecipientOutcome]] = [[] for _ in messages]

        async def worker() -> None:
            smtp = self._idle.pop() if self._idle else None
            try:
                while pending:
                    index, message = pending.popleft()
                    results[index], smtp = await self._deliver(message, smtp)
            finally:
                await self._release(smtp)

        workers = min(self.configuration.pool_size, len(messages))
        await asyncio.gather(*(worker() for _ in range(workers)))
        return [outcome for outcomes in results for outcome in outcomes]

    async def _deliver(
        self, message: OutgoingMessage, smtp: aiosmtplib.SMTP | None
    ) -> tuple[list[RecipientOutcome], aiosmtplib.SMTP | None]:
        if message.raw is None:
            raise ValueError("the SMTP provider sends raw MIME: OutgoingMessage.raw is required")
        for attempt in (1, 2):
            if smtp is None or not smtp.is_connected:
                try:
                    smtp = await self._connect()
                except _StageFailed as failed:
                    return self._all_transient(message, str(failed)), None
            try:
                return await self._transaction(smtp, message), smtp
            except _Dropped as dropped:
                smtp.close()
                smtp = None
                if dropped.during_data or attempt == 2:
                    detail = f"connection lost: {dropped.detail}"
                    if dropped.during_data:
                        detail += " (after the message was sent: it may have been delivered)"
                    return [
                        dropped.known.get(recipient)
                        or RecipientOutcome.transient(
                            message.message_id, recipient, detail, ambiguous=dropped.during_data
                        )
                        for recipient in message.recipients
                    ], None
        raise AssertionError("unreachable")

    @staticmethod
    def _all_transient(message: OutgoingMessage, detail: str) -> list[RecipientOutcome]:
        return [
            RecipientOutcome.transient(message.message_id, recipient, detail)
            for recipient in message.recipients
        ]

    async def _transaction(
        self, smtp: aiosmtplib.SMTP, message: OutgoingMessage
    ) -> list[RecipientOutcome]:
        known: dict[str, RecipientOutcome] = {}
        try:
            await _command(smtp, b"MAIL", b"FROM:<" + message.sender.encode("ascii") + b">")
        except aiosmtplib.SMTPResponseException as refused:
            await self._reset(smtp)
            return [
                _by_reply(message, recipient, refused.code, refused.message)
                for recipient in message.recipients
            ]
        except _DROPS as error:
            raise _Dropped(_describe(error), during_data=False, known=known) from None
        accepted: list[str] = []
        for recipient in message.recipients:
            try:
                await _command(smtp, b"RCPT", b"TO:<" + recipient.encode("ascii") + b">")
                accepted.append(recipient)
            except aiosmtplib.SMTPResponseException as refused:
                known[recipient] = _by_reply(message, recipient, refused.code, refused.message)
            except _DROPS as error:
                raise _Dropped(_describe(error), during_data=False, known=known) from None
        if not accepted:
            await self._reset(smtp)
            return [known[recipient] for recipient in message.recipients]
        assert message.raw is not None
        try:
            await self._start_data(smtp)
        except aiosmtplib.SMTPResponseException as refused:
            for recipient in accepted:
                known[recipient] = _by_reply(message, recipient, refused.code, refused.message)
            await self._reset(smtp)
            return [known[recipient] for recipient in message.recipients]
        except _DROPS as error:  # before the content: nothing can have been queued
            raise _Dropped(_describe(error), during_data=False, known=known) from None
        try:
            reply = await self._send_content(smtp, message.raw)
        except aiosmtplib.SMTPResponseException as refused:
            for recipient in accepted:
                known[recipient] = _by_reply(message, recipient, refused.code, refused.message)
            await self._reset(smtp)
            return [known[recipient] for recipient in message.recipients]
        except _DROPS as error:
            raise _Dropped(_describe(error), during_data=True, known=known) from None
        queued = _QUEUED_AS.search(reply.message)
        provider_message_id = queued.group(1) if queued else message.message_id
        for recipient in accepted:
            known[recipient] = RecipientOutcome.accepted(
                message.message_id, recipient, provider_message_id
            )
        return [known[recipient] for recipient in message.recipients]

    @staticmethod
    async def _start_data(smtp: aiosmtplib.SMTP) -> None:
        start = await smtp.execute_command(b"DATA")
        if start.code != aiosmtplib.SMTPStatus.start_input:
            raise aiosmtplib.SMTPDataError(start.code, start.message)

    async def _send_content(self, smtp: aiosmtplib.SMTP, raw: bytes) -> aiosmtplib.SMTPResponse:
        """Writes the message after DATA's 354 and reads the final reply (`smtp.data` would
        re-scan every byte with two regular expressions: the benchmark's largest cost)."""
        if smtp.protocol is None:
            raise aiosmtplib.SMTPServerDisconnected("Connection lost")
        smtp.protocol.write(wire_form(raw))
        # Nothing runs between the write and read_response marking a reply as awaited, so the
        # reply cannot be taken for unsolicited data; the connection is this worker's alone.
        reply = await smtp.protocol.read_response(timeout=self.configuration.timeout_seconds)
        if reply.code != aiosmtplib.SMTPStatus.completed:
            raise aiosmtplib.SMTPDataError(reply.code, reply.message)
        return reply

    @staticmethod
    async def _reset(smtp: aiosmtplib.SMTP) -> None:
        """Ends a refused transaction so the connection can carry the next one."""
        try:
            await smtp.rset()
        except (aiosmtplib.SMTPException, *_DROPS):
            smtp.close()


def wire_form(raw: bytes) -> bytes:
    """The DATA content as sent: CRLF line ends, a leading dot doubled (RFC 5321 4.5.2), and the
    terminating `.` line. sender_rs writes CRLF only, so the usual case costs three byte scans;
    a message with bare LFs is normalised as aiosmtplib would (a bare CR cannot end the data)."""
    if raw.count(b"\n") != raw.count(b"\r\n"):
        raw = normalize_message_line_endings(raw)
    elif not raw.endswith(b"\r\n"):
        raw += b"\r\n"
    stuffed = raw.replace(b"\r\n.", b"\r\n..")
    if stuffed.startswith(b"."):
        stuffed = b"." + stuffed
    return stuffed + b".\r\n"


def open_smtp_client(
    configuration: SmtpConfiguration, context: ProviderContext
) -> SmtpProviderClient:
    return SmtpProviderClient(configuration)


SMTP = ProviderType(
    name="SMTP",
    configuration=SmtpConfiguration,
    message_form=MessageForm.RAW_MIME,
    open_client=open_smtp_client,
    secret_fields=frozenset({"username", "password"}),
    description="any SMTP relay: STARTTLS or implicit TLS, AUTH, a pool of kept connections",
)
