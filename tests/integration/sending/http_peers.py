"""HTTP test peers for the SES and SendGrid providers, on loopback, on free ports.

`start_moto()`: moto's SES in server mode; `moto_raw_messages` reads back what it stored.
`ScriptedServer`: a threaded HTTP/1.1 (keep-alive) server whose answers a test scripts, one per
request in order (the last one repeats): SES error XML (Throttling, ServiceUnavailable, ...),
or a dropped connection. `SendgridServer` (sendgrid_peer.py) builds on it.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from moto.server import ThreadedMotoServer

MOTO_REGION = "eu-west-1"
MOTO_ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
MOTO_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DROP = "drop"  # a scripted answer: close the connection without answering


@dataclass
class MotoSes:
    server: ThreadedMotoServer
    url: str

    def stop(self) -> None:
        self.server.stop()


def start_moto() -> MotoSes:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return MotoSes(server, f"http://{host}:{port}")


def moto_raw_messages(url: str) -> list[dict[str, Any]]:
    """Every raw message moto's SES stored: id, source, destinations, raw_data."""
    with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=10) as answer:
        data = json.load(answer)
    messages: list[dict[str, Any]] = data["ses"]["RawMessage"]
    return messages


def ses_error_xml(code: str, message: str) -> bytes:
    return (
        '<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/">'
        f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        "<RequestId>scripted-1</RequestId></ErrorResponse>"
    ).encode()


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    peer_port: int


@dataclass
class ScriptedServer:
    """Answers each request with the next scripted `Answer` (or DROP); the last one repeats.
    `respond`, when set, decides instead from the request (a peer speaking an API)."""

    script: list[Answer | str] = field(default_factory=list)
    respond: Callable[[Received], Answer | str] | None = None
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _server: ThreadingHTTPServer | None = None

    def start(self) -> ScriptedServer:
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return None

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Received(
                    method=self.command,
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length),
                    peer_port=self.client_address[1],
                )
                peer.received.append(request)
                answer = peer._answer_for(request)
                if answer == DROP or not isinstance(answer, Answer):
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response(answer.status)
                for name, value in answer.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = _handle
            do_POST = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def _answer_for(self, request: Received) -> Answer | str:
        if self.respond is not None:
            return self.respond(request)
        index = min(len(self.received), len(self.script)) - 1
        return self.script[index]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
