"""A local authoritative DNS server (dnslib) on a free loopback port, UDP and TCP, for tests.

It answers from a zone the test edits while it runs: names it holds get their TXT records (long
strings split into 255-byte character-strings, as a real zone publishes a DKIM key), names in
`servfail` get SERVFAIL, anything else NXDOMAIN. `silent_server()` is a port that never answers.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dnslib import QTYPE, RCODE, RR, TXT, DNSRecord
from dnslib.server import BaseResolver, DNSLogger, DNSServer

QUIET = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)


def _free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port


def _strings(value: str) -> list[bytes]:
    data = value.encode()
    return [data[i : i + 255] for i in range(0, len(data), 255)] or [b""]


class Zone(BaseResolver):  # type: ignore[misc]
    def __init__(self) -> None:
        self.txt: dict[str, list[str]] = {}
        self.servfail: set[str] = set()
        self._lock = threading.Lock()

    def publish(self, name: str, *values: str) -> None:
        with self._lock:
            self.txt[name.lower().rstrip(".")] = list(values)

    def remove(self, name: str) -> None:
        with self._lock:
            self.txt.pop(name.lower().rstrip("."), None)

    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord:
        reply = request.reply()
        reply.header.aa = 1
        name = str(request.q.qname).lower().rstrip(".")
        with self._lock:
            if name in self.servfail:
                reply.header.rcode = RCODE.SERVFAIL
                return reply
            values = self.txt.get(name)
        if values is None:
            reply.header.rcode = RCODE.NXDOMAIN
        elif request.q.qtype == QTYPE.TXT:
            for value in values:
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(_strings(value)), ttl=60))
        return reply


@contextmanager
def dns_server() -> Iterator[tuple[Zone, int]]:
    zone = Zone()
    port = _free_port()
    servers = [
        DNSServer(zone, address="127.0.0.1", port=port, tcp=tcp, logger=QUIET)
        for tcp in (False, True)
    ]
    for server in servers:
        server.start_thread()
    try:
        yield zone, port
    finally:
        for server in servers:
            server.stop()
            server.server.server_close()


@contextmanager
def silent_server() -> Iterator[int]:
    """Bound on UDP and listening on TCP, never answering: every lookup times out."""
    port = _free_port()
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp,
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp,
    ):
        udp.bind(("127.0.0.1", port))
        tcp.bind(("127.0.0.1", port))
        tcp.listen()
        yield port
