"""Each user's retention choices (the spec's "Configurable Policies") and the fixed periods.

The choices are the spec's three; a user who never chose has the defaults. `days` turns a
choice into an age: `None` means forever (the job leaves that user's rows alone).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class CampaignReports(StrEnum):
    """How long a campaign keeps its detailed report (recipients, links, clicks) before the
    monthly job archives it into its summary figures."""

    ONE_YEAR = "1y"
    TWO_YEARS = "2y"
    FOREVER = "forever"


class ClickLogs(StrEnum):
    """How long the detailed click rows are kept before they are aggregated into daily counts."""

    DAYS_30 = "30d"
    DAYS_90 = "90d"
    ONE_YEAR = "1y"


class ContactHistory(StrEnum):
    """How long a contact's history (left memberships, recorded status overrides) is kept. A
    contact's current status is never aged: an unsubscribe must outlive every retention period."""

    ONE_YEAR = "1y"
    THREE_YEARS = "3y"
    FOREVER = "forever"


_DAYS: dict[str, int | None] = {
    "30d": 30,
    "90d": 90,
    "1y": 365,
    "2y": 730,
    "3y": 1095,
    "forever": None,
}


def days(choice: CampaignReports | ClickLogs | ContactHistory) -> int | None:
    """The age in days a choice keeps rows for; None for forever."""
    return _DAYS[choice.value]


@dataclass(frozen=True, slots=True)
class RetentionSettings:
    campaign_reports: CampaignReports = CampaignReports.TWO_YEARS
    click_logs: ClickLogs = ClickLogs.DAYS_90
    contact_history: ContactHistory = ContactHistory.FOREVER


DEFAULT_SETTINGS = RetentionSettings()

# The spec's fixed periods (not per user).
PENDING_CONTACT_DAYS = 30
EMAIL_LOG_DAYS = 90
PROCESSED_WEBHOOK_DAYS = 30
ERASURE_AUDIT_DAYS = 7 * 365  # GDPR erasure's anonymised audit trail: 7 years


def cutoff(now: datetime, age_days: int) -> datetime:
    """Rows created before this instant are older than `age_days`."""
    return now - timedelta(days=age_days)
