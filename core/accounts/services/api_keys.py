"""API keys: created by a user for themselves, shown once, listed without the secret, revoked."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from openmailer.core.accounts.credentials import KeyMode, generate_api_key
from openmailer.core.accounts.model import ApiKey, Principal, in_utc
from openmailer.core.accounts.scopes import validate_scopes
from openmailer.core.errors import NotFound, ValidationError
from openmailer.core.pages import Page
from openmailer.core.ports.accounts import ApiKeyRepository, ApiKeyUsage, Clock, NewApiKeyRecord


async def create_api_key(
    principal: Principal,
    name: str,
    scopes: list[str],
    *,
    test: bool = False,
    expires_at: datetime | None = None,
    api_keys: ApiKeyRepository,
    clock: Clock,
) -> tuple[ApiKey, str]:
    """The stored key and its plaintext, which is never available again."""
    if not name.strip():
        raise ValidationError("name must not be blank", field="name")
    if expires_at is not None:
        expires_at = in_utc(expires_at, field="expires_at")
        if expires_at <= clock.now():
            raise ValidationError("expires_at must be in the future", field="expires_at")
    new_key = generate_api_key(KeyMode.TEST if test else KeyMode.LIVE)
    record = NewApiKeyRecord(
        user_id=principal.user.id,
        name=name.strip(),
        digest=new_key.digest,
        display_prefix=new_key.display_prefix,
        scopes=validate_scopes(scopes),
        expires_at=expires_at,
    )
    return await api_keys.add(record), new_key.plaintext


async def list_api_keys(
    principal: Principal,
    *,
    limit: int,
    offset: int,
    api_keys: ApiKeyRepository,
    usage: ApiKeyUsage,
) -> Page[ApiKey]:
    """The caller's keys; `last_used_at` includes uses not yet flushed to the database."""
    page = await api_keys.list_for_user(principal.user.id, limit=limit, offset=offset)
    pending = await usage.pending([key.id for key in page.items])
    items = [
        replace(key, last_used_at=_latest(key.last_used_at, pending.get(key.id)))
        for key in page.items
    ]
    return replace(page, items=items)


async def revoke_api_key(principal: Principal, key_id: int, *, api_keys: ApiKeyRepository) -> None:
    if not await api_keys.deactivate(principal.user.id, key_id):
        raise NotFound(f"no active API key with id {key_id}")


def _latest(first: datetime | None, second: datetime | None) -> datetime | None:
    if first is None or second is None:
        return first or second
    return max(first, second)
