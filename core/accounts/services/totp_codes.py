"""Checking a TOTP code once: the matching time step is claimed, so a replayed code fails."""

from __future__ import annotations

from openmailer.core.accounts import totp
from openmailer.core.accounts.model import User
from openmailer.core.ports.accounts import Clock, SecretBox, TotpReplayGuard

SECRET_COLUMN = {"table": "users", "column": "two_factor_secret"}
_CHECK = totp.TotpCheck()


async def verify_code(
    user: User, code: str, *, secret_box: SecretBox, replay_guard: TotpReplayGuard, clock: Clock
) -> bool:
    """True once per code: the matching time step is claimed atomically, so a replay fails."""
    if user.two_factor_secret is None:
        return False
    key = totp.decode_secret(
        secret_box.open(user.two_factor_secret, row_id=user.id, **SECRET_COLUMN).decode()
    )
    last_used = await replay_guard.last_used_step(user.id)
    step = _CHECK.matching_step(key, code, clock.now().timestamp(), last_used)
    return step is not None and await replay_guard.claim_step(user.id, step)
