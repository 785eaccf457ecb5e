"""The client's address: the socket peer, or what trusted proxies say in `X-Forwarded-For`.

Only a peer inside `OPENMAILER_TRUSTED_PROXIES` may speak for someone else. Each proxy appends the
address it received the request from, so the hops are read from the right: the first one that is
not itself a trusted proxy is the client. Anything left of that was written by whoever sent the
request and proves nothing. A hop that is not an IP address breaks the chain; the last address a
trusted proxy vouched for is used instead, so a header can never put garbage in a rate-limit key
or in `last_login_ip`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from openmailer.adapters.settings import ProxyNetwork

FORWARDED_FOR_HEADER = b"x-forwarded-for"
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_ip(text: str) -> _Address | None:
    """A plain IPv4 or IPv6 address; None for names, ports, zone ids and anything else."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id is not None:
            return None  # a zone id means something only on the machine that wrote it
        return address.ipv4_mapped or address  # a dual-stack socket's view of an IPv4 client
    return address


def is_loopback(host: str | None) -> bool:
    """Whether a client address (as the scope holds it) is this machine's own."""
    address = None if host is None else parse_ip(host)
    return address is not None and address.is_loopback


def client_address(
    peer: str | None, forwarded_for: Iterable[str], trusted: Sequence[ProxyNetwork]
) -> str | None:
    """The address to rate-limit and record: `peer` unless trusted proxies forwarded for it."""
    peer_address = None if peer is None else parse_ip(peer)
    if peer_address is None or not _is_trusted(peer_address, trusted):
        return peer
    hops = [hop for value in forwarded_for for hop in value.split(",")]
    client = peer_address
    for hop in reversed(hops):
        address = parse_ip(hop)
        if address is None:
            break
        client = address
        if not _is_trusted(address, trusted):
            break
    return str(client)


def _is_trusted(address: _Address, trusted: Sequence[ProxyNetwork]) -> bool:
    return any(address.version == network.version and address in network for network in trusted)
