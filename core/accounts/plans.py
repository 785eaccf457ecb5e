"""Subscription plans: the monthly email allowance and the API request quota of each."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Plan(StrEnum):
    FREE = "FREE"
    BASIC = "BASIC"
    PRO = "PRO"
    ENTERPRISE = "ENTERPRISE"


@dataclass(frozen=True, slots=True)
class PlanLimits:
    monthly_email_limit: int
    api_requests_per_minute: int


PLAN_LIMITS: dict[Plan, PlanLimits] = {
    Plan.FREE: PlanLimits(monthly_email_limit=1_000, api_requests_per_minute=60),
    Plan.BASIC: PlanLimits(monthly_email_limit=10_000, api_requests_per_minute=300),
    Plan.PRO: PlanLimits(monthly_email_limit=100_000, api_requests_per_minute=1_200),
    Plan.ENTERPRISE: PlanLimits(monthly_email_limit=1_000_000, api_requests_per_minute=6_000),
}

# Unauthenticated routes (login) are limited per client IP, independent of any plan.
PUBLIC_REQUESTS_PER_MINUTE_PER_IP = 30
# Credentials that fail to authenticate, per client IP: past this, credentials from that address
# are refused before any lookup, so guessing keys costs the database nothing.
FAILED_AUTHENTICATIONS_PER_MINUTE_PER_IP = 30
RATE_WINDOW_SECONDS = 60


def limits_for(plan: str | None) -> PlanLimits:
    """A missing plan (the column is nullable) counts as FREE."""
    return PLAN_LIMITS[Plan(plan or Plan.FREE)]
