"""Which opens and clicks a machine made: recorded like the others, kept out of the rates.

The rule (docs/api.md, "Tracking"), first match wins:

- `apple_mpp`: Apple Mail Privacy Protection fetches every image of a mail when it is delivered,
  from Apple's network (17.0.0.0/8) or with the bare user agent `Mozilla/5.0`.
- `image_proxy`: Google's (`GoogleImageProxy`) and Yahoo's (`YahooMailProxy`) image proxies
  fetch the pixel for the mailbox, not for a reader.
- `scanner_agent`: a user agent naming a security scanner or an HTTP library.
- `before_delivery`: a fetch within `SCANNER_WINDOW` of the send (or before the send's result
  was even written): no person opens and clicks that fast, link scanners at the receiving
  gateway do.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta

SCANNER_WINDOW = timedelta(seconds=10)
APPLE_NETWORKS = (ipaddress.ip_network("17.0.0.0/8"),)
APPLE_MPP_AGENT = "Mozilla/5.0"
IMAGE_PROXY_MARKERS = ("googleimageproxy", "yahoomailproxy")
SCANNER_MARKERS = (
    "barracuda",
    "mimecast",
    "proofpoint",
    "safelinks",
    "symantec",
    "trendmicro",
    "bot",
    "crawler",
    "spider",
    "python-requests",
    "python-httpx",
    "curl/",
    "wget/",
    "go-http-client",
)


def machine_reason(
    *,
    user_agent: str | None,
    ip_address: str | None,
    occurred_at: datetime,
    sent_at: datetime | None,
) -> str | None:
    """Why a machine made this open or click, or None for a person."""
    agent = (user_agent or "").strip()
    lowered = agent.lower()
    if agent == APPLE_MPP_AGENT or _in_apple_network(ip_address):
        return "apple_mpp"
    if any(marker in lowered for marker in IMAGE_PROXY_MARKERS):
        return "image_proxy"
    if any(marker in lowered for marker in SCANNER_MARKERS):
        return "scanner_agent"
    if sent_at is None or occurred_at - sent_at < SCANNER_WINDOW:
        return "before_delivery"
    return None


def _in_apple_network(ip_address: str | None) -> bool:
    if not ip_address:
        return False
    try:
        address = ipaddress.ip_address(ip_address)
    except ValueError:
        return False
    return any(address in network for network in APPLE_NETWORKS if address.version == 4)
