"""A batch's messages shared by the SMTP client's connections, and the pipelined send path.

On a server that advertises PIPELINING (RFC 2920) each message is one group `MAIL FROM`,
`RCPT TO` (each recipient), `DATA`, written at once; the replies are read in order. After the
354 the content goes out with the next message's group behind it in the same write (RFC 2920
lets the content start a group), so in steady state a message costs one round trip.

Every reply is still honoured: a refused MAIL fails all recipients, a refused RCPT only its
recipient, a refused DATA all that were accepted (then RSET); a DATA accepted although no
recipient was is ended with a lone `.` (RFC 2920 3.1). A connection lost before a message's
content was written is retried once on another connection (nothing can have been queued),
which includes the next message's group that was written behind a content; lost after the
content, before its final reply, the message is an ambiguous transient failure.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from openmailer.adapters.providers.smtp_wire import (
    ConnectionDropped,
    PipelinedConnection,
    Reply,
    envelope,
    wire_form,
)
from openmailer.core.sending.contract import OutgoingMessage
from openmailer.core.sending.outcomes import OutcomeKind, RecipientOutcome
from openmailer.core.sending.policies import classify_smtp_reply

__all__ = ["POSITIVE", "Batch", "Job", "accepted_outcomes", "by_reply", "send_pipelined"]

POSITIVE = (250, 251)
START_INPUT = 354
_QUEUED_AS = re.compile(r"queued as ([^\s;]+)", re.IGNORECASE)


def by_reply(message: OutgoingMessage, recipient: str, code: int, text: str) -> RecipientOutcome:
    detail = f"{code} {text}"
    if classify_smtp_reply(code) is OutcomeKind.PERMANENT:
        return RecipientOutcome.permanent(message.message_id, recipient, detail)
    return RecipientOutcome.transient(message.message_id, recipient, detail)


def accepted_outcomes(
    message: OutgoingMessage, recipients: Sequence[str], final_text: str
) -> dict[str, RecipientOutcome]:
    queued = _QUEUED_AS.search(final_text)
    provider_message_id = queued.group(1) if queued else message.message_id
    return {
        recipient: RecipientOutcome.accepted(message.message_id, recipient, provider_message_id)
        for recipient in recipients
    }


@dataclass(slots=True)
class Job:
    index: int
    message: OutgoingMessage
    attempt: int = 1


class Batch:
    """The messages of one `send_batch` not yet taken by a connection, and the outcomes."""

    def __init__(self, messages: Sequence[OutgoingMessage]) -> None:
        self.pending = deque(Job(index, message) for index, message in enumerate(messages))
        self.results: list[list[RecipientOutcome]] = [[] for _ in messages]

    def take(self) -> Job | None:
        return self.pending.popleft() if self.pending else None

    def finish(self, job: Job, outcomes: dict[str, RecipientOutcome]) -> None:
        self.results[job.index] = [outcomes[recipient] for recipient in job.message.recipients]

    def lost(
        self, job: Job, detail: str, known: dict[str, RecipientOutcome], *, ambiguous: bool
    ) -> None:
        """The connection dropped during `job`: retried once unless its content was sent."""
        if not ambiguous and job.attempt == 1:
            self.pending.appendleft(Job(job.index, job.message, attempt=2))
            return
        detail = f"connection lost: {detail}"
        if ambiguous:
            detail += " (after the message was sent: it may have been delivered)"
        message = job.message
        self.results[job.index] = [
            known.get(recipient)
            or RecipientOutcome.transient(
                message.message_id, recipient, detail, ambiguous=ambiguous
            )
            for recipient in message.recipients
        ]

    def outcomes(self) -> list[RecipientOutcome]:
        return [outcome for outcomes in self.results for outcome in outcomes]


def _group(job: Job | None) -> bytes:
    return b"" if job is None else envelope(job.message.sender, job.message.recipients)


async def send_pipelined(connection: PipelinedConnection, batch: Batch) -> bool:
    """Sends the batch's pending messages over `connection` until none is left (True: the
    connection is between transactions, fit to keep) or until it is lost (False)."""
    job: Job | None = None
    while True:
        if job is None:  # the first message, or one another connection gave back meanwhile
            job = batch.take()
            if job is None:
                return True
            try:
                connection.write(_group(job))
            except ConnectionDropped as dropped:
                batch.lost(job, str(dropped), {}, ambiguous=False)
                return False
        message = job.message
        try:
            mail = await connection.reply()
            recipient_replies = [await connection.reply() for _ in message.recipients]
            data = await connection.reply()
        except ConnectionDropped as dropped:
            batch.lost(job, str(dropped), {}, ambiguous=False)
            return False
        known, accepted = _envelope_outcomes(message, mail, recipient_replies)
        sends_content = data.code == START_INPUT and bool(accepted)
        if sends_content:
            assert message.raw is not None  # checked for the whole batch before sending
            tail = wire_form(message.raw)
        else:
            known |= {r: by_reply(message, r, data.code, data.text) for r in accepted}
            # A DATA answered 354 with no recipient accepted is ended empty (RFC 2920 3.1).
            tail = b".\r\n" if data.code == START_INPUT else b"RSET\r\n"
        following = batch.take()
        try:
            connection.write(tail + _group(following))
            final = await connection.reply()
        except ConnectionDropped as dropped:
            if following is not None:
                batch.lost(following, str(dropped), {}, ambiguous=False)
            if sends_content:
                batch.lost(job, str(dropped), known, ambiguous=True)
            else:
                batch.finish(job, known)
            return False
        if sends_content and final.code == 250:
            known |= accepted_outcomes(message, accepted, final.text)
        elif sends_content:
            known |= {r: by_reply(message, r, final.code, final.text) for r in accepted}
        batch.finish(job, known)
        job = following  # its group is on the wire already


def _envelope_outcomes(
    message: OutgoingMessage, mail: Reply, recipient_replies: list[Reply]
) -> tuple[dict[str, RecipientOutcome], list[str]]:
    """The refused recipients' outcomes, and the accepted recipients."""
    if mail.code not in POSITIVE:
        refused = {r: by_reply(message, r, mail.code, mail.text) for r in message.recipients}
        return refused, []
    known: dict[str, RecipientOutcome] = {}
    accepted: list[str] = []
    for recipient, reply in zip(message.recipients, recipient_replies, strict=True):
        if reply.code in POSITIVE:
            accepted.append(recipient)
        else:
            known[recipient] = by_reply(message, recipient, reply.code, reply.text)
    return known, accepted
