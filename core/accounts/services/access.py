"""Who may do what: resolving a bearer credential to a principal, and checking a requirement."""

from __future__ import annotations

from openmailer.core.accounts.credentials import api_key_mode, digest, is_session_token
from openmailer.core.accounts.model import Principal
from openmailer.core.accounts.scopes import ALL_SCOPES, Access, Requirement
from openmailer.core.errors import Forbidden, Unauthorized
from openmailer.core.ports.accounts import (
    ApiKeyRepository,
    ApiKeyUsage,
    Clock,
    SessionStore,
    UserRepository,
)

_INVALID = "the credential is missing, unknown, expired or revoked"


async def authenticate(
    bearer: str,
    *,
    users: UserRepository,
    api_keys: ApiKeyRepository,
    sessions: SessionStore,
    usage: ApiKeyUsage,
    clock: Clock,
) -> Principal:
    """The principal behind a bearer credential (API key or session token), or Unauthorized."""
    now = clock.now()
    if api_key_mode(bearer) is not None:
        key = await api_keys.find_by_digest(digest(bearer))
        if key is None or not key.usable_at(now):
            raise Unauthorized(_INVALID, code="invalid_credential")
        user = await users.get(key.user_id)
        if user is None or not user.may_sign_in or not user.api_enabled:
            raise Unauthorized("the account behind this key is blocked", code="account_blocked")
        await usage.touch(key.id, now)
        return Principal(user=user, scopes=frozenset(key.scopes), api_key=key)
    if is_session_token(bearer):
        session_digest = digest(bearer)
        user_id = await sessions.user_id_for(session_digest)
        user = None if user_id is None else await users.get(user_id)
        if user is None:
            raise Unauthorized(_INVALID, code="invalid_credential")
        if not user.may_sign_in:
            raise Unauthorized("this account is blocked", code="account_blocked")
        return Principal(user=user, scopes=ALL_SCOPES, session_digest=session_digest)
    raise Unauthorized(_INVALID, code="invalid_credential")


def authorize(principal: Principal, requirement: Requirement) -> None:
    if requirement in (Access.PUBLIC, Access.AUTHENTICATED):
        return
    if requirement is Access.SESSION:
        if not principal.via_session:
            raise Forbidden("this operation needs a login session, not an API key")
        return
    if requirement is Access.ADMIN:
        if not (principal.via_session and principal.user.is_admin):
            raise Forbidden("this operation needs an administrator's login session")
        return
    if requirement not in principal.scopes:
        raise Forbidden(f"this operation needs the {requirement} scope", code="missing_scope")
