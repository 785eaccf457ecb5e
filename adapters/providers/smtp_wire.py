"""The SMTP connection after setup, with a reply reader of our own (for RFC 2920 PIPELINING).

aiosmtplib opens the connection, negotiates TLS (implicit or STARTTLS), sends EHLO and AUTH. For
the transactions that follow on a server that advertises PIPELINING, `PipelinedConnection`
takes the transport over: it installs `ReplyReader` as the transport's protocol with asyncio's
`BaseTransport.set_protocol` (plain and TLS transports, and uvloop's, support it) and the
aiosmtplib client is dropped, never used again. Why not keep aiosmtplib's protocol and write
past it, as the lock-step path does for the DATA content: its `data_received` keeps bytes only
while one reply is awaited and parses one reply per waiter, so replies to a pipelined group that
arrive together are lost; and each reply costs its command lock, a `wait_for` timer and a
future. Why not a StreamReader/StreamWriter pair: that also means replacing the protocol (the
transport has exactly one), and `readline` per reply line costs more than one scan of a buffer.

`ReplyReader` parses every complete reply out of what has arrived (a chunk may hold several, or
part of one) into a queue; `reply()` takes the oldest, waiting with a timer only when none has
arrived yet. Writes go to the transport's buffer and replies keep being read meanwhile, so a
group never deadlocks against a server whose replies fill the socket (RFC 2920 3.1).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import NamedTuple, cast

import aiosmtplib

import sender_rs

__all__ = [
    "ConnectionDropped",
    "PipelinedConnection",
    "Reply",
    "ReplyReader",
    "checked_address",
    "envelope",
    "parse_replies",
    "wire_form",
]

# The longest reply kept while incomplete (RFC 5321 4.5.3.1.5: 512 octets a line; EHLO's are the
# longest multi-line replies, and they are read before the takeover).
MAX_REPLY_BYTES = 64 * 1024


class Reply(NamedTuple):
    code: int
    text: str  # the lines' texts joined by "\n"


class ConnectionDropped(Exception):
    """The connection is unusable: lost, timed out waiting for a reply, or garbled."""


def parse_replies(buffer: bytearray) -> list[Reply]:
    """Removes every complete reply from the front of `buffer` and answers them in order; an
    incomplete one stays. A reply is lines `NNN-text` ended by a line `NNN text` (or `NNN`)."""
    replies: list[Reply] = []
    start = 0
    lines: list[bytes] = []
    while True:
        end = buffer.find(b"\n", start)
        if end < 0:
            break
        line = bytes(buffer[start:end]).rstrip(b"\r")
        start = end + 1
        code = line[:3]
        if len(code) != 3 or not code.isdigit() or line[3:4] not in (b"", b" ", b"-"):
            raise ConnectionDropped(f"malformed reply line {line[:80]!r}")
        lines.append(line)
        if line[3:4] != b"-":
            text = "\n".join(part[4:].decode("utf-8", "replace").strip() for part in lines)
            replies.append(Reply(int(code), text))
            lines = []
            del buffer[:start]
            start = 0
    if len(buffer) > MAX_REPLY_BYTES:
        raise ConnectionDropped("reply too long")
    return replies


class ReplyReader(asyncio.Protocol):
    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._buffer = bytearray()
        self._replies: deque[Reply] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._failure: ConnectionDropped | None = None

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if b"\n" in data or len(self._buffer) > MAX_REPLY_BYTES:  # else no reply is complete
            try:
                self._replies.extend(parse_replies(self._buffer))
            except ConnectionDropped as garbled:
                self._fail(garbled)
                return
        if self._replies and self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def eof_received(self) -> bool:
        self._fail(ConnectionDropped("the server closed the connection"))
        return False  # asyncio closes the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(ConnectionDropped(f"connection lost: {exc}" if exc else "connection lost"))

    def _fail(self, failure: ConnectionDropped) -> None:
        if self._failure is None:
            self._failure = failure
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(self._failure)

    async def reply(self) -> Reply:
        if self._replies:
            return self._replies.popleft()
        if self._failure is not None:
            raise self._failure
        loop = asyncio.get_running_loop()
        self._waiter = loop.create_future()
        timer = loop.call_later(self._timeout, self._time_out)
        try:
            await self._waiter
        finally:
            timer.cancel()
            self._waiter = None
        return self._replies.popleft()

    def _time_out(self) -> None:
        self._fail(ConnectionDropped(f"no reply within {self._timeout:g} s"))


class PipelinedConnection:
    """One connection past setup; the caller writes a group of commands, then reads one reply
    per command in order."""

    def __init__(self, transport: asyncio.Transport, reader: ReplyReader) -> None:
        self._transport = transport
        self._reader = reader

    @classmethod
    def take_over(cls, smtp: aiosmtplib.SMTP, timeout: float) -> PipelinedConnection:
        transport = cast(asyncio.Transport | None, smtp.transport)
        if transport is None or transport.is_closing():
            raise ConnectionDropped("connection lost before the first transaction")
        reader = ReplyReader(timeout)
        transport.set_protocol(reader)
        smtp.transport = smtp.protocol = None  # aiosmtplib must not touch it again (or close it)
        return cls(transport, reader)

    @property
    def is_connected(self) -> bool:
        return not self._transport.is_closing()

    def write(self, data: bytes) -> None:
        if self._transport.is_closing():
            raise ConnectionDropped("connection lost")
        self._transport.write(data)

    async def reply(self) -> Reply:
        return await self._reader.reply()

    def close(self) -> None:
        self._transport.close()

    async def quit(self) -> None:
        try:
            self.write(b"QUIT\r\n")
            await self.reply()
        except ConnectionDropped:
            pass
        finally:
            self.close()


def envelope(sender: str, recipients: tuple[str, ...] | list[str]) -> bytes:
    """One pipelined group: MAIL FROM, a RCPT TO per recipient, DATA. Addresses are checked by
    `checked_address` before anything is written."""
    group = [b"MAIL FROM:<" + sender.encode("ascii") + b">\r\n"]
    group += [b"RCPT TO:<" + recipient.encode("ascii") + b">\r\n" for recipient in recipients]
    group.append(b"DATA\r\n")
    return b"".join(group)


def checked_address(address: str) -> str:
    """Refuses what would break a command line (aiosmtplib refuses the same in its commands)."""
    if not address.isascii() or any(ch in address for ch in "\r\n\0<>"):
        raise ValueError(f"an SMTP envelope address must be bare printable ASCII: {address!r}")
    return address


def wire_form(raw: bytes) -> bytes:
    """The DATA content as sent: CRLF line ends (a bare LF or CR ends a line, as aiosmtplib
    normalises them), a leading dot doubled (RFC 5321 4.5.2), and the terminating `.` line. In
    one pass in sender_rs: Python's byte scans and copies of a 25 KB message (three of each)
    cost ten times as much, on the event loop that carries every lane's conversation."""
    return sender_rs.smtp_data(raw)
