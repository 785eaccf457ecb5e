"""Ports of the accounts area: storage of users and keys, sessions, rate limits, secrets, time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from openmailer.core.accounts.lockout import LockoutPolicy
from openmailer.core.accounts.model import AccountStatus, ApiKey, NewUser, User
from openmailer.core.pages import Page


class Clock(Protocol):
    def now(self) -> datetime:
        """Timezone-aware UTC."""
        ...


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str: ...

    async def verify(self, password: str, password_hash: str | None) -> bool:
        """False for None too, after the same amount of work (no user-enumeration by timing)."""
        ...


class UserRepository(Protocol):
    async def get(self, user_id: int) -> User | None: ...

    async def find_by_login(self, identifier: str) -> User | None:
        """By email when the identifier has an `@`, by username otherwise, both ignoring case
        (`model.login_lookup`): at most one user can match."""
        ...

    async def add(self, user: NewUser) -> User:
        """Raises Conflict when the username (in any case) or the email is taken."""
        ...

    async def list_users(self, *, limit: int, offset: int) -> Page[User]: ...

    async def any_admin(self) -> bool: ...

    async def claim_attempt(
        self, user_id: int, *, now: datetime, policy: LockoutPolicy
    ) -> int | None:
        """One atomic step before a secret is checked: None while the account is locked;
        otherwise counts the attempt as a failure (locking the account when it reaches the
        policy's limit) and returns the new count, the claim that `release_attempts` gives back
        if the secret turns out right. Concurrent claims can never exceed the limit."""
        ...

    async def release_attempts(self, user_id: int, claimed: int, *, policy: LockoutPolicy) -> None:
        """A right secret: forgets the failures claimed up to and including this one (later,
        concurrent ones stay counted) and lifts the lock only if this claim or an earlier one
        earned it; a lock that failures claimed after it earned stands."""
        ...

    async def record_login(self, user_id: int, *, at: datetime, ip: str | None) -> None:
        """A successful login: stamps its time and IP."""
        ...

    async def set_password(self, user_id: int, password_hash: str) -> None: ...

    async def set_status(self, user_id: int, status: AccountStatus) -> User | None: ...

    async def set_plan(self, user_id: int, plan: str, monthly_email_limit: int) -> User | None: ...

    async def set_two_factor(self, user_id: int, *, enabled: bool, secret: str | None) -> None: ...

    async def start_two_factor(self, user_id: int, secret: str) -> bool:
        """Stores a new, inactive secret unless 2FA is already on (then False)."""
        ...

    async def enable_two_factor(self, user_id: int, secret: str) -> bool:
        """Turns 2FA on only if `secret` is still the stored, inactive one (else False: the
        enrolment was restarted or finished meanwhile)."""
        ...

    async def two_factor_secrets(self) -> list[tuple[int, str]]:
        """(user id, ciphertext) of every stored TOTP secret, for key rotation."""
        ...


@dataclass(frozen=True, slots=True)
class NewApiKeyRecord:
    user_id: int
    name: str
    digest: str
    display_prefix: str
    scopes: tuple[str, ...]
    expires_at: datetime | None


class ApiKeyRepository(Protocol):
    async def add(self, record: NewApiKeyRecord) -> ApiKey: ...

    async def find_by_digest(self, digest: str) -> ApiKey | None: ...

    async def list_for_user(self, user_id: int, *, limit: int, offset: int) -> Page[ApiKey]: ...

    async def deactivate(self, user_id: int, key_id: int) -> bool:
        """False when no active key of that id belongs to that user."""
        ...

    async def record_last_used(self, last_used: Mapping[int, datetime]) -> None:
        """One aggregate write of many keys' last-use times."""
        ...


class SessionStore(Protocol):
    async def create(self, token_digest: str, user_id: int, *, ttl_seconds: int) -> None: ...

    async def user_id_for(self, token_digest: str) -> int | None: ...

    async def revoke(self, token_digest: str) -> None: ...

    async def revoke_all(self, user_id: int, *, keep: str | None = None) -> None:
        """Ends every session of the user except `keep` (a token digest)."""
        ...


class TotpReplayGuard(Protocol):
    async def last_used_step(self, user_id: int) -> int | None: ...

    async def claim_step(self, user_id: int, step: int) -> bool:
        """Atomically records `step` as used; False when it (or a later one) already was."""
        ...

    async def forget(self, user_id: int) -> None: ...


class ApiKeyUsage(Protocol):
    async def touch(self, key_id: int, at: datetime) -> None:
        """Buffers the use; flushed to storage in aggregate, never one write per request."""
        ...

    async def pending(self, key_ids: list[int]) -> dict[int, datetime]: ...


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int


class RateLimiter(Protocol):
    async def hit(
        self, bucket: str, *, limit: int, window_seconds: int, audit_user_id: int | None = None
    ) -> RateDecision:
        """Counts one request in `bucket`'s current window, shared by every process."""
        ...

    async def peek(self, bucket: str, *, limit: int, window_seconds: int) -> RateDecision:
        """`bucket`'s current window without counting: `allowed` while fewer than `limit`
        requests were counted, so that one more would still pass."""
        ...


class SecretBox(Protocol):
    """Authenticated encryption of secrets at rest, bound to where each is stored."""

    def seal(self, plaintext: bytes, *, table: str, column: str, row_id: int) -> str: ...

    def open(self, sealed: str, *, table: str, column: str, row_id: int) -> bytes:
        """Raises SecretUnavailable for an unknown key id or a ciphertext that does not verify."""
        ...

    def needs_rotation(self, sealed: str) -> bool: ...


__all__ = [
    "ApiKeyRepository",
    "ApiKeyUsage",
    "Clock",
    "NewApiKeyRecord",
    "PasswordHasher",
    "RateDecision",
    "RateLimiter",
    "SecretBox",
    "SessionStore",
    "TotpReplayGuard",
    "UserRepository",
]
