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
import socket
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
    peer_hop = None if peer is None else _hop(peer, trusted)
    if peer_hop is None or not peer_hop[1]:
        return peer
    hops = [hop for value in forwarded_for for hop in value.split(",")]
    client = peer_hop[0]
    for text in reversed(hops):
        hop = _hop(text, trusted)
        if hop is None:
            break
        client, is_proxy = hop
        if not is_proxy:
            break
    return client


def _hop(text: str, trusted: Sequence[ProxyNetwork]) -> tuple[str, bool] | None:
    """The address written canonically and whether it is a trusted proxy; None if not one.

    Every API request behind a proxy parses its hops, so the common case, an IPv4 address
    already written canonically (`ipaddress` accepts no other IPv4 spelling), is checked with
    the socket functions and integer masks; anything else goes through `parse_ip`.
    """
    stripped = text.strip()
    try:
        packed = socket.inet_pton(socket.AF_INET, stripped)
    except OSError:
        packed = None
    if packed is not None and socket.inet_ntop(socket.AF_INET, packed) == stripped:
        number = int.from_bytes(packed, "big")
        ranges = _ipv4_ranges.of(trusted)
        return stripped, any(number & mask == network for network, mask in ranges)
    address = parse_ip(stripped)
    if address is None:
        return None
    return str(address), _is_trusted(address, trusted)


class _Ipv4Ranges:
    """The IPv4 networks of the trusted proxies as (network, mask) integers, computed again only
    when asked about another sequence than last time (a process has one: its settings')."""

    def __init__(self) -> None:
        self._of: Sequence[ProxyNetwork] | None = None
        self._ranges: tuple[tuple[int, int], ...] = ()

    def of(self, trusted: Sequence[ProxyNetwork]) -> tuple[tuple[int, int], ...]:
        if trusted is not self._of:
            self._ranges = tuple(
                (int(network.network_address), int(network.netmask))
                for network in trusted
                if network.version == 4
            )
            self._of = trusted
        return self._ranges


_ipv4_ranges = _Ipv4Ranges()


def _is_trusted(address: _Address, trusted: Sequence[ProxyNetwork]) -> bool:
    return any(address.version == network.version and address in network for network in trusted)
