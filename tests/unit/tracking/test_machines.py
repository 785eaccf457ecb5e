"""The machine rule: privacy proxies, scanners, and fetches faster than any reader."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from openmailer.core.tracking.machines import SCANNER_WINDOW, machine_reason

pytestmark = pytest.mark.unit

SENT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LATER = SENT + timedelta(hours=2)
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5"


@pytest.mark.parametrize(
    ("agent", "ip", "reason"),
    [
        ("Mozilla/5.0", "203.0.113.7", "apple_mpp"),
        (BROWSER, "17.58.100.3", "apple_mpp"),
        (
            "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Firefox/11.0 (via ggpht.com GoogleImageProxy)",
            "66.249.84.1",
            "image_proxy",
        ),
        (
            "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html",
            None,
            "image_proxy",
        ),
        ("Mozilla/5.0 (compatible; Barracuda Sentinel)", "198.51.100.1", "scanner_agent"),
        ("python-requests/2.32", "198.51.100.1", "scanner_agent"),
        (BROWSER, "2001:db8::1", None),
        (BROWSER, "not an address", None),
        (None, None, None),
    ],
)
def test_proxies_and_scanners_are_recognised_and_people_are_not(
    agent: str | None, ip: str | None, reason: str | None
) -> None:
    assert (
        machine_reason(user_agent=agent, ip_address=ip, occurred_at=LATER, sent_at=SENT) == reason
    )


def test_a_fetch_within_seconds_of_the_send_or_before_its_result_is_a_scanner() -> None:
    just_after = SENT + SCANNER_WINDOW - timedelta(milliseconds=1)
    assert (
        machine_reason(user_agent=BROWSER, ip_address=None, occurred_at=just_after, sent_at=SENT)
        == "before_delivery"
    )
    assert (
        machine_reason(user_agent=BROWSER, ip_address=None, occurred_at=SENT, sent_at=None)
        == "before_delivery"
    )
    assert (
        machine_reason(
            user_agent=BROWSER, ip_address=None, occurred_at=SENT + SCANNER_WINDOW, sent_at=SENT
        )
        is None
    )
