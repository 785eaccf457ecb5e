"""Login, logout and password change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from openmailer.core.accounts.credentials import digest, generate_session_token
from openmailer.core.accounts.lockout import DEFAULT_LOCKOUT, LockoutPolicy
from openmailer.core.accounts.model import (
    Principal,
    User,
    check_new_password,
    reject_overlong_password,
)
from openmailer.core.accounts.services.attempts import confirm_identity
from openmailer.core.accounts.services.totp_codes import verify_code
from openmailer.core.errors import Unauthorized
from openmailer.core.ports.accounts import (
    Clock,
    PasswordHasher,
    SecretBox,
    SessionStore,
    TotpReplayGuard,
    UserRepository,
)

SESSION_TTL = timedelta(hours=12)
INVALID_CREDENTIALS = "invalid username, email or password"


@dataclass(frozen=True, slots=True)
class LoginResult:
    token: str
    expires_at: datetime
    user: User


async def login(
    identifier: str,
    password: str,
    *,
    totp_code: str | None,
    client_ip: str | None,
    users: UserRepository,
    hasher: PasswordHasher,
    sessions: SessionStore,
    secret_box: SecretBox,
    replay_guard: TotpReplayGuard,
    clock: Clock,
    lockout: LockoutPolicy = DEFAULT_LOCKOUT,
) -> LoginResult:
    """A new session for valid credentials.

    Unknown users, wrong passwords and locked accounts all get the same answer after the same
    bcrypt work, so none of them reveals whether an account exists.
    """
    reject_overlong_password(password)
    now = clock.now()
    user = await users.find_by_login(identifier)
    # The attempt is claimed (counted as a failure) before bcrypt runs, in one atomic step, so
    # parallel guesses cannot all pass a lock check made before any of them was counted.
    claimed = None if user is None else await users.claim_attempt(user.id, now=now, policy=lockout)
    if user is None or claimed is None:
        await hasher.verify(password, None)
        raise Unauthorized(INVALID_CREDENTIALS, code="invalid_credentials")
    if not await hasher.verify(password, user.password_hash):
        raise Unauthorized(INVALID_CREDENTIALS, code="invalid_credentials")
    if not user.may_sign_in:
        await users.release_attempts(user.id, claimed, policy=lockout)
        raise Unauthorized("this account is suspended, expired or disabled", code="account_blocked")
    if user.two_factor_enabled:
        if not totp_code:
            await users.release_attempts(user.id, claimed, policy=lockout)
            raise Unauthorized(
                "this account uses two-factor authentication: send `totp_code`",
                code="two_factor_required",
            )
        if not await verify_code(
            user, totp_code, secret_box=secret_box, replay_guard=replay_guard, clock=clock
        ):
            raise Unauthorized("invalid or already used two-factor code", code="invalid_totp")
    await users.release_attempts(user.id, claimed, policy=lockout)
    await users.record_login(user.id, at=now, ip=client_ip)
    token = generate_session_token()
    await sessions.create(digest(token), user.id, ttl_seconds=int(SESSION_TTL.total_seconds()))
    return LoginResult(token=token, expires_at=now + SESSION_TTL, user=user)


async def logout(principal: Principal, *, sessions: SessionStore) -> None:
    if principal.session_digest is not None:
        await sessions.revoke(principal.session_digest)


async def change_password(
    principal: Principal,
    current_password: str,
    new_password: str,
    *,
    totp_code: str | None = None,
    users: UserRepository,
    hasher: PasswordHasher,
    sessions: SessionStore,
    secret_box: SecretBox,
    replay_guard: TotpReplayGuard,
    clock: Clock,
) -> None:
    """Sets a new password and ends every other session of the user. Needs the current password
    (and a current code when 2FA is on), checked under the lockout like a login."""
    check_new_password(new_password)
    await confirm_identity(
        principal.user,
        current_password,
        totp_code,
        wrong_field="current_password",
        users=users,
        hasher=hasher,
        secret_box=secret_box,
        replay_guard=replay_guard,
        clock=clock,
    )
    await users.set_password(principal.user.id, await hasher.hash(new_password))
    await sessions.revoke_all(principal.user.id, keep=principal.session_digest)
