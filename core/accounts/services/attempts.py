"""Checking a secret (password, TOTP code) under the lockout, whoever asks: a login, or a held
session that changes the password or 2FA. The attempt is claimed before the check, atomically,
so parallel guesses share the policy's few tries instead of each getting its own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from openmailer.core.accounts.lockout import DEFAULT_LOCKOUT, LockoutPolicy
from openmailer.core.accounts.model import User, reject_overlong_password
from openmailer.core.accounts.services.totp_codes import verify_code
from openmailer.core.errors import RateLimited, ValidationError
from openmailer.core.ports.accounts import (
    Clock,
    PasswordHasher,
    SecretBox,
    TotpReplayGuard,
    UserRepository,
)


async def check_under_lockout(
    user: User,
    check: Callable[[], Awaitable[bool]],
    *,
    users: UserRepository,
    clock: Clock,
    lockout: LockoutPolicy = DEFAULT_LOCKOUT,
) -> bool:
    """True when `check` passes; a failure counts towards the lock. While the account is locked
    the check does not run and the caller gets RateLimited with the time left."""
    claimed = await users.claim_attempt(user.id, now=clock.now(), policy=lockout)
    if claimed is None:
        raise RateLimited(
            "too many failed attempts; try again later",
            retry_after_seconds=await _seconds_locked(user.id, users=users, clock=clock),
            code="account_locked",
        )
    if not await check():
        return False
    await users.release_attempts(user.id, claimed, policy=lockout)
    return True


async def _seconds_locked(user_id: int, *, users: UserRepository, clock: Clock) -> int:
    stored = await users.get(user_id)
    until = stored.account_locked_until if stored else None
    if until is None:
        return 1
    return max(int((until - clock.now()).total_seconds()) + 1, 1)


async def confirm_identity(
    user: User,
    password: str,
    totp_code: str | None,
    *,
    wrong_field: str = "password",
    code_field: str = "totp_code",
    users: UserRepository,
    hasher: PasswordHasher,
    secret_box: SecretBox,
    replay_guard: TotpReplayGuard,
    clock: Clock,
) -> None:
    """Re-authentication of a held session before it changes credentials: the password, plus a
    current code when 2FA is on. Wrong answers count towards the same lockout as logins."""
    reject_overlong_password(password)
    if user.two_factor_enabled and not totp_code:
        raise ValidationError(
            "this account uses two-factor authentication: send `totp_code`",
            field=code_field,
            code="two_factor_required",
        )
    wrong: list[ValidationError] = []

    async def check() -> bool:
        if not await hasher.verify(password, user.password_hash):
            wrong.append(
                ValidationError(
                    "the password is incorrect", field=wrong_field, code="wrong_password"
                )
            )
            return False
        if user.two_factor_enabled and not await verify_code(
            user, totp_code or "", secret_box=secret_box, replay_guard=replay_guard, clock=clock
        ):
            wrong.append(
                ValidationError(
                    "invalid or already used code", field=code_field, code="invalid_totp"
                )
            )
            return False
        return True

    if not await check_under_lockout(user, check, users=users, clock=clock):
        raise wrong[0]
