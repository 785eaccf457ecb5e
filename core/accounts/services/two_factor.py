"""TOTP two-factor: enrolment, confirmation, verification at login, and turning it off."""

from __future__ import annotations

from dataclasses import dataclass

from openmailer.core.accounts import totp
from openmailer.core.accounts.model import Principal, User, reject_overlong_password
from openmailer.core.errors import Conflict, ValidationError
from openmailer.core.ports.accounts import (
    Clock,
    PasswordHasher,
    SecretBox,
    SessionStore,
    TotpReplayGuard,
    UserRepository,
)

ISSUER = "OpenMailer"
_WHERE = {"table": "users", "column": "two_factor_secret"}
_CHECK = totp.TotpCheck()


@dataclass(frozen=True, slots=True)
class Enrolment:
    secret: str
    otpauth_uri: str


async def begin_enrolment(
    principal: Principal, *, users: UserRepository, secret_box: SecretBox
) -> Enrolment:
    """A fresh secret, stored encrypted and inactive until a code from it is confirmed."""
    user = principal.user
    if user.two_factor_enabled:
        raise Conflict("two-factor authentication is already enabled", code="two_factor_enabled")
    secret = totp.generate_secret()
    sealed = secret_box.seal(secret.encode(), row_id=user.id, **_WHERE)
    await users.set_two_factor(user.id, enabled=False, secret=sealed)
    uri = totp.provisioning_uri(secret, account=user.username, issuer=ISSUER)
    return Enrolment(secret=secret, otpauth_uri=uri)


async def confirm_enrolment(
    principal: Principal,
    code: str,
    *,
    users: UserRepository,
    secret_box: SecretBox,
    replay_guard: TotpReplayGuard,
    sessions: SessionStore,
    clock: Clock,
) -> None:
    user = principal.user
    if user.two_factor_enabled:
        raise Conflict("two-factor authentication is already enabled", code="two_factor_enabled")
    if user.two_factor_secret is None:
        raise Conflict("start the enrolment first", code="two_factor_not_started")
    if not await verify_code(
        user, code, secret_box=secret_box, replay_guard=replay_guard, clock=clock
    ):
        raise ValidationError("invalid or already used code", field="code", code="invalid_totp")
    await users.set_two_factor(user.id, enabled=True, secret=user.two_factor_secret)
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
    user = principal.user
    if not user.two_factor_enabled:
        raise Conflict("two-factor authentication is not enabled", code="two_factor_disabled")
    reject_overlong_password(password)
    if not await hasher.verify(password, user.password_hash):
        raise ValidationError("the password is incorrect", field="password", code="wrong_password")
    if not await verify_code(
        user, code, secret_box=secret_box, replay_guard=replay_guard, clock=clock
    ):
        raise ValidationError("invalid or already used code", field="code", code="invalid_totp")
    await users.set_two_factor(user.id, enabled=False, secret=None)
    await replay_guard.forget(user.id)
    await sessions.revoke_all(user.id, keep=principal.session_digest)


async def verify_code(
    user: User, code: str, *, secret_box: SecretBox, replay_guard: TotpReplayGuard, clock: Clock
) -> bool:
    """True once per code: the matching time step is claimed atomically, so a replay fails."""
    if user.two_factor_secret is None:
        return False
    key = totp.decode_secret(
        secret_box.open(user.two_factor_secret, row_id=user.id, **_WHERE).decode()
    )
    last_used = await replay_guard.last_used_step(user.id)
    step = _CHECK.matching_step(key, code, clock.now().timestamp(), last_used)
    return step is not None and await replay_guard.claim_step(user.id, step)
