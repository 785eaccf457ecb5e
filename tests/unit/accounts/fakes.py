"""In-memory fakes of the accounts ports, faithful enough that the services cannot tell.

Each keeps the promise its Protocol documents (conflicts on taken names, expiring sessions,
atomic step claims, associated data bound to ciphertexts) without I/O, threads or real crypto.
The typed assignments at the bottom make mypy prove every fake satisfies its port.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from openmailer.core.accounts.lockout import LockoutPolicy
from openmailer.core.accounts.model import (
    MAX_PASSWORD_BYTES,
    AccountStatus,
    ApiKey,
    LoginField,
    NewUser,
    User,
    login_lookup,
)
from openmailer.core.errors import Conflict, SecretUnavailable
from openmailer.core.pages import Page
from openmailer.core.ports.accounts import (
    ApiKeyRepository,
    ApiKeyUsage,
    Clock,
    NewApiKeyRecord,
    PasswordHasher,
    RateDecision,
    RateLimiter,
    SecretBox,
    SessionStore,
    TotpReplayGuard,
    UserRepository,
)

# On a TOTP step boundary (a whole minute), so `advance(seconds=30)` is always the next code.
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: datetime = START) -> None:
        self._now = _aware(start)

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = _aware(moment)

    def advance(self, delta: timedelta | None = None, **units: float) -> datetime:
        self._now += delta if delta is not None else timedelta(**units)
        return self._now


class FakePasswordHasher:
    """SHA-256 instead of bcrypt; counts checks so tests can compare the work done per path."""

    def __init__(self) -> None:
        self.verify_calls = 0

    async def hash(self, password: str) -> str:
        return "fake-sha256$" + hashlib.sha256(_encode(password)).hexdigest()

    async def verify(self, password: str, password_hash: str | None) -> bool:
        self.verify_calls += 1
        expected = await self.hash(password)
        return password_hash is not None and password_hash == expected


class InMemoryUserRepository:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._rows: dict[int, User] = {}
        self._ids = itertools.count(1)

    async def get(self, user_id: int) -> User | None:
        return self._rows.get(user_id)

    async def find_by_login(self, identifier: str) -> User | None:
        field, value = login_lookup(identifier)
        for user in self._rows.values():
            stored = user.email if field is LoginField.EMAIL else user.username.lower()
            if stored == value:
                return user
        return None

    async def add(self, user: NewUser) -> User:
        for existing in self._rows.values():
            if existing.username.lower() == user.username.lower():
                raise Conflict("that username is already taken", code="username_taken")
            if existing.email == user.email:
                raise Conflict("that email is already taken", code="email_taken")
        now = self._clock.now()
        stored = User(
            id=next(self._ids),
            username=user.username,
            email=user.email,
            password_hash=user.password_hash,
            enabled=True,
            role=user.role,
            account_status=AccountStatus.ACTIVE,
            subscription_plan=user.subscription_plan,
            subscription_expires_at=None,
            api_enabled=True,
            monthly_email_limit=user.monthly_email_limit,
            monthly_emails_sent=0,
            last_login_at=None,
            last_login_ip=None,
            failed_login_attempts=0,
            account_locked_until=None,
            two_factor_enabled=False,
            two_factor_secret=None,
            created_at=now,
            updated_at=now,
        )
        self._rows[stored.id] = stored
        return stored

    async def list_users(self, *, limit: int, offset: int) -> Page[User]:
        ordered = [self._rows[user_id] for user_id in sorted(self._rows)]
        return Page(
            items=ordered[offset : offset + limit], total=len(ordered), limit=limit, offset=offset
        )

    async def any_admin(self) -> bool:
        return any(user.is_admin for user in self._rows.values())

    async def record_login(self, user_id: int, *, at: datetime, ip: str | None) -> None:
        self.change(user_id, last_login_at=at, last_login_ip=ip[:45] if ip else None)

    async def claim_attempt(
        self, user_id: int, *, now: datetime, policy: LockoutPolicy
    ) -> int | None:
        user = self._rows[user_id]  # no await in between: atomic on the event loop
        if policy.is_locked(user.account_locked_until, now):
            return None
        failures = user.failed_login_attempts + 1
        locked_until = user.account_locked_until
        if failures >= policy.max_failures:
            locked_until = now + policy.lock_for(failures)
        self.change(user_id, failed_login_attempts=failures, account_locked_until=locked_until)
        return failures

    async def release_attempts(self, user_id: int, claimed: int, *, policy: LockoutPolicy) -> None:
        user = self._rows[user_id]
        remaining = max(user.failed_login_attempts - claimed, 0)
        lock_is_ours = claimed >= policy.max_failures and remaining < policy.max_failures
        locked_until = None if lock_is_ours else user.account_locked_until
        self.change(user_id, failed_login_attempts=remaining, account_locked_until=locked_until)

    async def set_password(self, user_id: int, password_hash: str) -> None:
        self.change(user_id, password_hash=password_hash)

    async def set_status(self, user_id: int, status: AccountStatus) -> User | None:
        return self.change(user_id, account_status=status)

    async def set_plan(self, user_id: int, plan: str, monthly_email_limit: int) -> User | None:
        return self.change(user_id, subscription_plan=plan, monthly_email_limit=monthly_email_limit)

    async def set_two_factor(self, user_id: int, *, enabled: bool, secret: str | None) -> None:
        self.change(user_id, two_factor_enabled=enabled, two_factor_secret=secret)

    async def start_two_factor(self, user_id: int, secret: str) -> bool:
        if self._rows[user_id].two_factor_enabled:
            return False
        self.change(user_id, two_factor_enabled=False, two_factor_secret=secret)
        return True

    async def enable_two_factor(self, user_id: int, secret: str) -> bool:
        user = self._rows[user_id]
        if user.two_factor_enabled or user.two_factor_secret != secret:
            return False
        self.change(user_id, two_factor_enabled=True)
        return True

    async def two_factor_secrets(self) -> list[tuple[int, str]]:
        return [
            (user.id, user.two_factor_secret)
            for user in self._rows.values()
            if user.two_factor_secret is not None
        ]

    def change(self, user_id: int, **fields: Any) -> User | None:
        """Test set-up for columns no port writes (`enabled`, `api_enabled`, ...)."""
        user = self._rows.get(user_id)
        if user is None:
            return None
        self._rows[user_id] = replace(user, **fields, updated_at=self._clock.now())
        return self._rows[user_id]


class InMemoryApiKeyRepository:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._keys: dict[int, ApiKey] = {}
        self._digests: dict[str, int] = {}
        self._ids = itertools.count(1)

    async def add(self, record: NewApiKeyRecord) -> ApiKey:
        key = ApiKey(
            id=next(self._ids),
            user_id=record.user_id,
            name=record.name,
            display_prefix=record.display_prefix,
            scopes=record.scopes,
            is_active=True,
            last_used_at=None,
            expires_at=record.expires_at,
            created_at=self._clock.now(),
        )
        self._keys[key.id] = key
        self._digests[record.digest] = key.id
        return key

    async def find_by_digest(self, digest: str) -> ApiKey | None:
        key_id = self._digests.get(digest)
        return None if key_id is None else self._keys[key_id]

    async def list_for_user(self, user_id: int, *, limit: int, offset: int) -> Page[ApiKey]:
        mine = [self._keys[key_id] for key_id in sorted(self._keys)]
        mine = [key for key in mine if key.user_id == user_id]
        return Page(
            items=mine[offset : offset + limit], total=len(mine), limit=limit, offset=offset
        )

    async def deactivate(self, user_id: int, key_id: int) -> bool:
        key = self._keys.get(key_id)
        if key is None or key.user_id != user_id or not key.is_active:
            return False
        self._keys[key_id] = replace(key, is_active=False)
        return True

    async def record_last_used(self, last_used: Mapping[int, datetime]) -> None:
        for key_id, at in last_used.items():
            key = self._keys.get(key_id)
            if key is not None and (key.last_used_at is None or key.last_used_at < at):
                self._keys[key_id] = replace(key, last_used_at=at)

    def stored_digests(self) -> set[str]:
        return set(self._digests)


class InMemorySessionStore:
    """Sessions expire by the fake clock, as Redis keys do by their TTL."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._sessions: dict[str, tuple[int, datetime]] = {}

    async def create(self, token_digest: str, user_id: int, *, ttl_seconds: int) -> None:
        expires_at = self._clock.now() + timedelta(seconds=ttl_seconds)
        self._sessions[token_digest] = (user_id, expires_at)

    async def user_id_for(self, token_digest: str) -> int | None:
        user_id, expires_at = self._sessions.get(token_digest, (None, None))
        if expires_at is None or self._clock.now() >= expires_at:
            return None
        return user_id

    async def revoke(self, token_digest: str) -> None:
        self._sessions.pop(token_digest, None)

    async def revoke_all(self, user_id: int, *, keep: str | None = None) -> None:
        for token_digest in self.digests_of(user_id) - {keep}:
            del self._sessions[token_digest]

    def digests_of(self, user_id: int) -> set[str]:
        now = self._clock.now()
        return {
            token_digest
            for token_digest, (owner, expires_at) in self._sessions.items()
            if owner == user_id and now < expires_at
        }


class InMemoryTotpReplayGuard:
    def __init__(self) -> None:
        self._last_step: dict[int, int] = {}

    async def last_used_step(self, user_id: int) -> int | None:
        return self._last_step.get(user_id)

    async def claim_step(self, user_id: int, step: int) -> bool:
        last = self._last_step.get(user_id)
        if last is not None and last >= step:
            return False
        self._last_step[user_id] = step
        return True

    async def forget(self, user_id: int) -> None:
        self._last_step.pop(user_id, None)


class InMemoryApiKeyUsage:
    def __init__(self) -> None:
        self._last_used: dict[int, datetime] = {}

    async def touch(self, key_id: int, at: datetime) -> None:
        self._last_used[key_id] = at

    async def pending(self, key_ids: list[int]) -> dict[int, datetime]:
        return {key_id: self._last_used[key_id] for key_id in key_ids if key_id in self._last_used}


class InMemoryRateLimiter:
    """Fixed windows on the fake clock's epoch seconds, like the Redis limiter's `TIME` windows."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._counts: dict[tuple[str, int], int] = {}
        self.audited: dict[int, int] = {}

    async def hit(
        self, bucket: str, *, limit: int, window_seconds: int, audit_user_id: int | None = None
    ) -> RateDecision:
        now = int(self._clock.now().timestamp())
        window_start = now // window_seconds * window_seconds
        count = self._counts.get((bucket, window_start), 0) + 1
        self._counts[bucket, window_start] = count
        if audit_user_id is not None:
            self.audited[audit_user_id] = self.audited.get(audit_user_id, 0) + 1
        return RateDecision(
            allowed=count <= limit,
            limit=limit,
            remaining=max(limit - count, 0),
            reset_seconds=max(window_start + window_seconds - now, 1),
        )

    async def peek(self, bucket: str, *, limit: int, window_seconds: int) -> RateDecision:
        now = int(self._clock.now().timestamp())
        window_start = now // window_seconds * window_seconds
        count = self._counts.get((bucket, window_start), 0)
        return RateDecision(
            allowed=count < limit,
            limit=limit,
            remaining=max(limit - count, 0),
            reset_seconds=max(window_start + window_seconds - now, 1),
        )


class FakeSecretBox:
    """Not encryption, but the box's contract: the tag covers the key id, the plaintext and the
    associated data (`table:column:row`), so a moved, tampered or unknown-key ciphertext fails to
    open with SecretUnavailable, as one sealed with AES-GCM would."""

    def __init__(self, key_id: str = "k1") -> None:
        self.current_key_id = key_id
        self.known_key_ids = {key_id}

    def rotate_to(self, key_id: str, *, keep_old: bool = True) -> None:
        self.known_key_ids = (self.known_key_ids if keep_old else set()) | {key_id}
        self.current_key_id = key_id

    def seal(self, plaintext: bytes, *, table: str, column: str, row_id: int) -> str:
        payload = base64.urlsafe_b64encode(plaintext).decode()
        tag = _tag(self.current_key_id, plaintext, table, column, row_id)
        return f"fake:{self.current_key_id}:{payload}:{tag}"

    def open(self, sealed: str, *, table: str, column: str, row_id: int) -> bytes:
        key_id, payload, tag = _split(sealed)
        if key_id not in self.known_key_ids:
            raise SecretUnavailable(
                f"secret in {table}.{column} is sealed with unknown key {key_id!r}"
            )
        plaintext = base64.urlsafe_b64decode(payload)
        if tag != _tag(key_id, plaintext, table, column, row_id):
            raise SecretUnavailable(f"secret in {table}.{column} (row {row_id}) does not verify")
        return plaintext

    def needs_rotation(self, sealed: str) -> bool:
        return _split(sealed)[0] != self.current_key_id


def _split(sealed: str) -> tuple[str, str, str]:
    parts = sealed.split(":")
    if len(parts) != 4 or parts[0] != "fake":
        raise SecretUnavailable("not a sealed secret")
    return parts[1], parts[2], parts[3]


def _tag(key_id: str, plaintext: bytes, table: str, column: str, row_id: int) -> str:
    associated = f"{key_id}|{table}:{column}:{row_id}|".encode()
    return hashlib.sha256(associated + plaintext).hexdigest()[:32]


def _encode(password: str) -> bytes:
    secret = password.encode()
    if len(secret) > MAX_PASSWORD_BYTES:  # bcrypt refuses these; the services must check first
        raise ValueError("passwords over 72 bytes must be rejected before hashing")
    return secret


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("the Clock port promises timezone-aware UTC")
    return moment.astimezone(UTC)


_clock: Clock = FakeClock()
_hasher: PasswordHasher = FakePasswordHasher()
_users: UserRepository = InMemoryUserRepository(FakeClock())
_api_keys: ApiKeyRepository = InMemoryApiKeyRepository(FakeClock())
_sessions: SessionStore = InMemorySessionStore(FakeClock())
_replay_guard: TotpReplayGuard = InMemoryTotpReplayGuard()
_usage: ApiKeyUsage = InMemoryApiKeyUsage()
_rate_limiter: RateLimiter = InMemoryRateLimiter(FakeClock())
_secret_box: SecretBox = FakeSecretBox()
