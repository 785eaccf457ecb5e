"""The SMTP provider (aiosmtplib): a pool of persistent connections, per-recipient replies.

Connections are opened on demand up to `pool_size`, kept between batches and reopened when the
server dropped them. Each message is one transaction: a refused MAIL FROM fails all its
recipients, a refused RCPT TO only that recipient, a refused DATA all that were accepted; the
reply code decides transient or permanent (`classify_smtp_reply`). A connection lost before
DATA is retried once on a new connection (nothing was sent). A connection lost during DATA,
before the server's final reply, is ambiguous: the message may have been queued, so it is a
transient failure marked `ambiguous`, and retrying it may deliver a duplicate (with the same
Message-ID; see the design's reliability model).

aiosmtplib connects and does TLS, EHLO and AUTH. A server that advertises PIPELINING (RFC 2920)
then gets each message as one group of commands over our own reply reader (`smtp_pipeline`,
`smtp_wire`), with the same outcomes; any other server the lock-step path below.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence
from typing import Annotated

import aiosmtplib
import msgspec

from openmailer.adapters.providers.smtp_pipeline import (
    POSITIVE,
    Batch,
    accepted_outcomes,
    by_reply,
    send_pipelined,
)
from openmailer.adapters.providers.smtp_wire import (
    ConnectionDropped,
    PipelinedConnection,
    checked_address,
    wire_form,
)
from openmailer.core.ports.sending import ProviderContext
from openmailer.core.sending.contract import CheckReport, MessageForm, OutgoingMessage, ProviderType
from openmailer.core.sending.outcomes import RecipientOutcome

HOST_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9.:-]{0,252}$"
# Failures after which a connection is no longer usable (it dropped, or stalled mid-reply).
_DROPS = (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError, TimeoutError)
# A server that advertises PIPELINING gets the pipelined path, any other the lock-step one.
_Connection = aiosmtplib.SMTP | PipelinedConnection


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
    if reply.code not in POSITIVE:
        raise aiosmtplib.SMTPResponseException(reply.code, reply.message)


class SmtpProviderClient:
    def __init__(self, configuration: SmtpConfiguration) -> None:
        self.configuration = configuration
        self._idle: list[_Connection] = []
        self._tls_context = self._make_tls_context()

    def _make_tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cadata=self.configuration.ca_certificates)
        if not self.configuration.verify_certificate:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    # --- connections --------------------------------------------------------------------------

    async def _connect(self) -> _Connection:
        """Connect, EHLO, STARTTLS and AUTH as configured; `_StageFailed` says which failed.
        Past setup, a server that advertises PIPELINING is spoken to by `PipelinedConnection`."""
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
            if smtp.supports_extension("pipelining"):
                return PipelinedConnection.take_over(smtp, c.timeout_seconds)
        except ssl.SSLError as error:
            smtp.close()
            raise _StageFailed("tls", _describe(error)) from None
        except aiosmtplib.SMTPHeloError as error:
            smtp.close()
            raise _StageFailed("ehlo", _describe(error)) from None
        except (aiosmtplib.SMTPException, ConnectionDropped, *_DROPS) as error:
            smtp.close()
            raise _StageFailed(stage, _describe(error)) from None
        return smtp

    async def _release(self, connection: _Connection | None) -> None:
        if connection is None:
            return
        if connection.is_connected and len(self._idle) < self.configuration.pool_size:
            self._idle.append(connection)
        else:
            connection.close()

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await _quit(connection)

    async def check(self) -> CheckReport:
        try:
            connection = await self._connect()
        except _StageFailed as failed:
            return CheckReport(ok=False, stage=failed.stage, detail=failed.detail)
        await _quit(connection)
        return CheckReport(ok=True)

    # --- sending ------------------------------------------------------------------------------

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[RecipientOutcome]:
        for message in messages:  # before anything is written: no connection halts midway
            if message.raw is None:
                raise ValueError("the SMTP provider sends raw MIME: OutgoingMessage.raw required")
            checked_address(message.sender)
            for recipient in message.recipients:
                checked_address(recipient)
        batch = Batch(messages)

        async def worker() -> None:
            connection = self._idle.pop() if self._idle else None
            finished = False
            try:
                while batch.pending:
                    connection = await self._send_some(connection, batch)
                finished = True
            finally:
                if finished:
                    await self._release(connection)
                elif connection is not None:  # cancelled mid-transaction: replies still due
                    connection.close()

        workers = min(self.configuration.pool_size, len(messages))
        await asyncio.gather(*(worker() for _ in range(workers)))
        return batch.outcomes()

    async def _send_some(self, connection: _Connection | None, batch: Batch) -> _Connection | None:
        """Sends one message lock-step, or pipelined all there are; answers the connection if it
        is still fit to use. The other connections may have taken every message meanwhile."""
        if connection is None or not connection.is_connected:
            try:
                connection = await self._connect()
            except _StageFailed as failed:
                failed_job = batch.take()
                if failed_job is not None:
                    batch.finish(failed_job, self._all_transient(failed_job.message, str(failed)))
                return None
        if isinstance(connection, PipelinedConnection):
            if await send_pipelined(connection, batch):
                return connection
            connection.close()
            return None
        job = batch.take()
        if job is None:
            return connection
        try:
            batch.finish(job, await self._transaction(connection, job.message))
        except _Dropped as dropped:
            connection.close()
            batch.lost(job, dropped.detail, dropped.known, ambiguous=dropped.during_data)
            return None
        return connection

    @staticmethod
    def _all_transient(message: OutgoingMessage, detail: str) -> dict[str, RecipientOutcome]:
        return {
            recipient: RecipientOutcome.transient(message.message_id, recipient, detail)
            for recipient in message.recipients
        }

    async def _transaction(
        self, smtp: aiosmtplib.SMTP, message: OutgoingMessage
    ) -> dict[str, RecipientOutcome]:
        """The lock-step path, for a server without PIPELINING."""
        known: dict[str, RecipientOutcome] = {}
        try:
            await _command(smtp, b"MAIL", b"FROM:<" + message.sender.encode("ascii") + b">")
        except aiosmtplib.SMTPResponseException as refused:
            await self._reset(smtp)
            return {
                recipient: by_reply(message, recipient, refused.code, refused.message)
                for recipient in message.recipients
            }
        except _DROPS as error:
            raise _Dropped(_describe(error), during_data=False, known=known) from None
        accepted: list[str] = []
        for recipient in message.recipients:
            try:
                await _command(smtp, b"RCPT", b"TO:<" + recipient.encode("ascii") + b">")
                accepted.append(recipient)
            except aiosmtplib.SMTPResponseException as refused:
                known[recipient] = by_reply(message, recipient, refused.code, refused.message)
            except _DROPS as error:
                raise _Dropped(_describe(error), during_data=False, known=known) from None
        if not accepted:
            await self._reset(smtp)
            return known
        assert message.raw is not None
        try:
            await self._start_data(smtp)
        except aiosmtplib.SMTPResponseException as refused:
            for recipient in accepted:
                known[recipient] = by_reply(message, recipient, refused.code, refused.message)
            await self._reset(smtp)
            return known
        except _DROPS as error:  # before the content: nothing can have been queued
            raise _Dropped(_describe(error), during_data=False, known=known) from None
        try:
            reply = await self._send_content(smtp, message.raw)
        except aiosmtplib.SMTPResponseException as refused:
            for recipient in accepted:
                known[recipient] = by_reply(message, recipient, refused.code, refused.message)
            await self._reset(smtp)
            return known
        except _DROPS as error:
            raise _Dropped(_describe(error), during_data=True, known=known) from None
        return known | accepted_outcomes(message, accepted, reply.message)

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


async def _quit(connection: _Connection) -> None:
    try:
        await connection.quit()
    except (aiosmtplib.SMTPException, *_DROPS):
        connection.close()


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
