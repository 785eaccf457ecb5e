"""Which address a request came from, given the socket peer, `X-Forwarded-For` and the proxies
`OPENMAILER_TRUSTED_PROXIES` names."""

from __future__ import annotations

import ipaddress

import pytest

from openmailer.adapters.http.client_address import client_address

pytestmark = pytest.mark.unit

LOCAL_PROXY = (ipaddress.ip_network("127.0.0.1"),)
PROXY_TIER = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1"))


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert client_address("127.0.0.1", ["203.0.113.7"], ()) == "127.0.0.1"


def test_an_untrusted_peer_cannot_speak_for_anyone_else() -> None:
    assert client_address("192.0.2.1", ["203.0.113.7"], LOCAL_PROXY) == "192.0.2.1"


def test_a_trusted_proxy_names_the_client() -> None:
    assert client_address("127.0.0.1", ["203.0.113.7"], LOCAL_PROXY) == "203.0.113.7"


def test_the_right_most_untrusted_hop_wins_over_what_the_client_wrote() -> None:
    # The client wrote 198.51.100.9 itself; the proxy appended the address it saw.
    assert client_address("127.0.0.1", ["198.51.100.9, 203.0.113.7"], LOCAL_PROXY) == (
        "203.0.113.7"
    )


def test_hops_through_several_trusted_proxies_and_header_lines() -> None:
    forwarded = ["198.51.100.9, 203.0.113.7", "10.1.2.3"]
    assert client_address("10.0.0.2", forwarded, PROXY_TIER) == "203.0.113.7"


@pytest.mark.parametrize(
    "garbage",
    ["<script>", "", "unknown", "203.0.113.7:443", "example.com", "fe80::1%eth0", "1.2.3.04"],
)
def test_a_hop_that_is_not_an_ip_address_is_never_used(garbage: str) -> None:
    assert client_address("127.0.0.1", [garbage], LOCAL_PROXY) == "127.0.0.1"
    # Behind a trusted hop, the chain stops at the last address a trusted proxy vouched for.
    assert client_address("10.0.0.2", [f"{garbage}, 10.0.0.3"], PROXY_TIER) == "10.0.0.3"


def test_addresses_are_written_canonically() -> None:
    assert client_address("::1", ["2001:DB8:0:0::7"], PROXY_TIER) == "2001:db8::7"
    assert client_address("::ffff:10.0.0.2", ["203.0.113.7"], PROXY_TIER) == "203.0.113.7"


def test_without_a_header_a_trusted_peer_is_the_client() -> None:
    assert client_address("127.0.0.1", [], LOCAL_PROXY) == "127.0.0.1"
