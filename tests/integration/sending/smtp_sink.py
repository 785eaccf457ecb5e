"""An aiosmtpd server on a free loopback port whose replies the test scripts by recipient.

`reject…@` is refused at RCPT TO with 550, `later…@` with 451; a message to `dropdata…@` is read
whole and the connection dropped before the final reply; `refusedata…@` is refused at DATA
with 554; `dropfirst…@` drops the connection at its RCPT TO the first time it is seen (it is
accepted when retried), `dropalways…@` every time; `slowdata…@` answers the content after
`slow_seconds`. Everything else is accepted as `250 2.0.0 Ok: queued as Q<n>`. The server
advertises PIPELINING (aiosmtpd does not by itself, and reads a pipelined group line by line)
unless told not to.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "relay-user", "relay-password"


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes


@dataclass
class ScriptedHandler:
    received: list[Received] = field(default_factory=list)
    connections: int = 0
    pipelining: bool = True
    slow_seconds: float = 0.0
    dropped: set[str] = field(default_factory=set)

    async def handle_EHLO(self, server, session, envelope, hostname, responses) -> list[str]:
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        local = address.split("@", 1)[0]
        if local.startswith("dropalways") or (
            local.startswith("dropfirst") and address not in self.dropped
        ):
            self.dropped.add(address)
            server.transport.abort()
            return "250 never seen"
        if local.startswith("reject"):
            return "550 5.1.1 no such mailbox"
        if local.startswith("later"):
            return "451 4.7.1 greylisted, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        if any(rcpt.startswith("dropdata") for rcpt in envelope.rcpt_tos):
            server.transport.abort()
            return "250 never seen"
        if any(rcpt.startswith("refusedata") for rcpt in envelope.rcpt_tos):
            return "554 5.6.0 content rejected"
        if any(rcpt.startswith("slowdata") for rcpt in envelope.rcpt_tos):
            await asyncio.sleep(self.slow_seconds)
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content))
        )
        return f"250 2.0.0 Ok: queued as Q{len(self.received)}"


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class CountingController(Controller):
    def __init__(self, handler: ScriptedHandler, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.scripted = handler

    def factory(self):  # type: ignore[no-untyped-def]
        self.scripted.connections += 1
        return super().factory()


def start_sink(
    *,
    tls_context: ssl.SSLContext | None = None,
    require_auth: bool = False,
    implicit: bool = False,
    idle_timeout: float = 300,
    pipelining: bool = True,
    slow_seconds: float = 0.0,
) -> CountingController:
    handler = ScriptedHandler(pipelining=pipelining, slow_seconds=slow_seconds)
    options: dict[str, Any] = {
        "hostname": "127.0.0.1",
        "port": free_port(),
        "authenticator": authenticate,
        "auth_required": require_auth,
        "auth_require_tls": False,
        "timeout": idle_timeout,
    }
    if implicit:
        options["ssl_context"] = tls_context
        options["server_hostname"] = "127.0.0.1"
    elif tls_context is not None:
        options["tls_context"] = tls_context
        options["require_starttls"] = True
    controller = CountingController(handler, **options)
    controller.start()
    return controller
