"""Rate-limit policy: which bucket each request counts in, and what is refused before any lookup.

- Public routes count per client IP.
- Authenticated requests count per user, whatever the credential: a user's sessions and API keys
  share the plan's quota (more keys must not mean more requests).
- Credentials that fail to authenticate count per client IP; once that budget is spent, every
  credential from the address is refused before it is looked up. Only credentials of a known
  form (an API key or a session token) count: anything else is refused without a lookup anyway.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from openmailer.core.accounts.credentials import api_key_mode, is_session_token
from openmailer.core.accounts.model import Principal
from openmailer.core.accounts.plans import (
    FAILED_AUTHENTICATIONS_PER_MINUTE_PER_IP,
    PUBLIC_REQUESTS_PER_MINUTE_PER_IP,
    RATE_WINDOW_SECONDS,
    limits_for,
)
from openmailer.core.errors import RateLimited, Unauthorized
from openmailer.core.ports.accounts import RateDecision, RateLimiter


@dataclass(frozen=True, slots=True)
class Admission:
    principal: Principal
    decision: RateDecision


def public_bucket(client_ip: str) -> str:
    return f"ip:{client_ip}"


def failed_authentication_bucket(client_ip: str) -> str:
    return f"ip:{client_ip}:failed-auth"


def user_bucket(user_id: int) -> str:
    return f"user:{user_id}"


async def admit_public(client_ip: str, *, rate_limiter: RateLimiter) -> RateDecision:
    return await rate_limiter.hit(
        public_bucket(client_ip),
        limit=PUBLIC_REQUESTS_PER_MINUTE_PER_IP,
        window_seconds=RATE_WINDOW_SECONDS,
    )


async def admit_credential(
    bearer: str,
    client_ip: str,
    *,
    authenticate: Callable[[str], Awaitable[Principal]],
    rate_limiter: RateLimiter,
) -> Admission:
    """The principal and its user's quota decision (the caller refuses a spent one).

    Raises RateLimited when the address spent its failure budget, and Unauthorized (after
    counting the failure) when the credential does not authenticate.
    """
    looked_up = api_key_mode(bearer) is not None or is_session_token(bearer)
    failures = failed_authentication_bucket(client_ip)
    if looked_up:
        budget = await rate_limiter.peek(
            failures,
            limit=FAILED_AUTHENTICATIONS_PER_MINUTE_PER_IP,
            window_seconds=RATE_WINDOW_SECONDS,
        )
        if not budget.allowed:
            raise RateLimited(
                f"more than {budget.limit} failed authentications from this address in "
                f"{RATE_WINDOW_SECONDS}s; retry in {budget.reset_seconds}s",
                retry_after_seconds=budget.reset_seconds,
            )
    try:
        principal = await authenticate(bearer)
    except Unauthorized:
        if looked_up:
            await rate_limiter.hit(
                failures,
                limit=FAILED_AUTHENTICATIONS_PER_MINUTE_PER_IP,
                window_seconds=RATE_WINDOW_SECONDS,
            )
        raise
    user = principal.user
    decision = await rate_limiter.hit(
        user_bucket(user.id),
        limit=limits_for(user.subscription_plan).api_requests_per_minute,
        window_seconds=RATE_WINDOW_SECONDS,
        audit_user_id=user.id,
    )
    return Admission(principal=principal, decision=decision)
