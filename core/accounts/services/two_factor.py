"""TOTP two-factor: enrolment, confirmation, verification at login, and turning it off."""

from __future__ import annotations

from dataclasses import dataclass, replace

from openmailer.core.accounts import totp
from openmailer.core.accounts.model import Principal, User
from openmailer.core.accounts.services.attempts import confirm_identity
from openmailer.core.accounts.services.totp_codes import SECRET_COLUMN
from openmailer.core.errors import Conflict, NotFound
from openmailer.core.ports.accounts import (
    Clock,
    PasswordHasher,
    SecretBox,
    SessionStore,
    TotpReplayGuard,
    UserRepository,
)

ISSUER = "OpenMailer"


@dataclass(frozen=True, slots=True)
class Enrolment:
    secret: str
    otpauth_uri: str


async def begin_enrolment(
    principal: Principal,
    password: str,
    *,
    users: UserRepository,
    hasher: PasswordHasher,
    secret_box: SecretBox,
    replay_guard: TotpReplayGuard,
    clock: Clock,
) -> Enrolment:
    """A fresh secret, stored encrypted and inactive until a code from it is confirmed. Needs
    the password: a stolen session alone cannot plant an attacker's secret."""
    user = principal.user
    if user.two_factor_enabled:
        raise Conflict("two-factor authentication is already enabled", code="two_factor_enabled")
    await confirm_identity(
        user,
        password,
        None,
        users=users,
        hasher=hasher,
        secret_box=secret_box,
        replay_guard=replay_guard,
        clock=clock,
    )
    secret = totp.generate_secret()
    sealed = secret_box.seal(secret.encode(), row_id=user.id, **SECRET_COLUMN)
    if not await users.start_two_factor(user.id, sealed):
        raise Conflict("two-factor authentication is already enabled", code="two_factor_enabled")
    uri = totp.provisioning_uri(secret, account=user.username, issuer=ISSUER)
    return Enrolment(secret=secret, otpauth_uri=uri)


async def confirm_enrolment(
    principal: Principal,
    password: str,
    code: str,
    *,
    users: UserRepository,
    hasher: PasswordHasher,
    secret_box: SecretBox,
    replay_guard: TotpReplayGuard,
    sessions: SessionStore,
    clock: Clock,
) -> None:
    """Turns 2FA on if `code` comes from the stored secret and the password is right; a restart
    of the enrolment meanwhile makes this a conflict, never a silent no-op."""
    user = await _current(principal, users=users)
    if user.two_factor_enabled:
        raise Conflict("two-factor authentication is already enabled", code="two_factor_enabled")
    if user.two_factor_secret is None:
        raise Conflict("start the enrolment first", code="two_factor_not_started")
    pending = replace(user, two_factor_enabled=True)  # the code is checked against the new secret
    await confirm_identity(
        pending,
        password,
        code,
        code_field="code",
        users=users,
        hasher=hasher,
        secret_box=secret_box,
        replay_guard=replay_guard,
        clock=clock,
    )
    if not await users.enable_two_factor(user.id, user.two_factor_secret):
        raise Conflict(
            "the enrolment was restarted meanwhile; confirm with a code from the new secret",
            code="two_factor_restarted",
        )
    await sessions.revoke_all(user.id, keep=principal.session_digest)


async def disable(
    principal: Principal,
    password: str,
    code: str,
    *,
    users: UserRepository,
    hasher: PasswordHasher,
    secret_box: SecretBox,
    replay_guard: TotpReplayGuard,
    sessions: SessionStore,
    clock: Clock,
) -> None:
    """Needs both the password and a current code, so a stolen session alone cannot do it."""
    user = await _current(principal, users=users)
    if not user.two_factor_enabled:
        raise Conflict("two-factor authentication is not enabled", code="two_factor_disabled")
    await confirm_identity(
        user,
        password,
        code,
        code_field="code",
        users=users,
        hasher=hasher,
        secret_box=secret_box,
        replay_guard=replay_guard,
        clock=clock,
    )
    await users.set_two_factor(user.id, enabled=False, secret=None)
    await replay_guard.forget(user.id)
    await sessions.revoke_all(user.id, keep=principal.session_digest)


async def reset_by_admin(
    actor: Principal,
    user_id: int,
    *,
    users: UserRepository,
    replay_guard: TotpReplayGuard,
    sessions: SessionStore,
) -> User:
    """An administrator turns a user's 2FA off (a lost device, a hijacked enrolment): the
    secret is erased and every session of the user ends. The caller records who did it."""
    target = await users.get(user_id)
    if target is None:
        raise NotFound(f"no user with id {user_id}")
    await users.set_two_factor(user_id, enabled=False, secret=None)
    await replay_guard.forget(user_id)
    await sessions.revoke_all(
        user_id, keep=actor.session_digest if actor.user.id == user_id else None
    )
    stored = await users.get(user_id)
    assert stored is not None
    return stored


async def _current(principal: Principal, *, users: UserRepository) -> User:
    """The user as stored now: the principal was read when the request began."""
    return await users.get(principal.user.id) or principal.user
