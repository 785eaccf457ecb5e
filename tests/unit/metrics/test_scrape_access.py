"""Who may scrape: loopback clients without a token; with one, only its bearer, from anywhere."""

from __future__ import annotations

import pytest

from openmailer.adapters.metrics.exposure import scrape_allowed

pytestmark = pytest.mark.unit
TOKEN = "a-long-scrape-token-0123456789"


@pytest.mark.parametrize("peer", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_loopback_clients_may_scrape_when_no_token_is_set(peer: str) -> None:
    assert scrape_allowed(peer, None, None)


@pytest.mark.parametrize(
    "peer", ["203.0.113.9", "10.0.0.5", "::ffff:10.0.0.5", "testclient", "", None]
)
def test_anyone_else_may_not(peer: str | None) -> None:
    assert not scrape_allowed(peer, f"Bearer {TOKEN}", None)


def test_with_a_token_only_its_bearer_may_scrape_whatever_the_address() -> None:
    assert scrape_allowed("203.0.113.9", f"Bearer {TOKEN}", TOKEN)
    assert scrape_allowed("203.0.113.9", f"bearer  {TOKEN} ", TOKEN)
    assert not scrape_allowed("127.0.0.1", None, TOKEN)
    assert not scrape_allowed("127.0.0.1", f"Bearer {TOKEN}x", TOKEN)
    assert not scrape_allowed("127.0.0.1", f"Basic {TOKEN}", TOKEN)
    assert not scrape_allowed("127.0.0.1", "Bearer ", TOKEN)
