"""API key scopes (exactly the spec's eight) and the access requirement every route declares."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from openmailer.core.errors import ValidationError


class Scope(StrEnum):
    READ_CONTACTS = "read:contacts"
    WRITE_CONTACTS = "write:contacts"
    READ_CAMPAIGNS = "read:campaigns"
    WRITE_CAMPAIGNS = "write:campaigns"
    SEND_CAMPAIGNS = "send:campaigns"
    READ_TEMPLATES = "read:templates"
    WRITE_TEMPLATES = "write:templates"
    READ_ANALYTICS = "read:analytics"


ALL_SCOPES: frozenset[str] = frozenset(scope.value for scope in Scope)


class Access(StrEnum):
    """Requirements that are not API-key scopes.

    PUBLIC: anyone (rate-limited per client IP). AUTHENTICATED: any valid session or API key.
    SESSION: a user's login session only (account management: an API key cannot mint keys or turn
    off 2FA). ADMIN: a session of a user with role ADMIN.
    """

    PUBLIC = "public"
    AUTHENTICATED = "authenticated"
    SESSION = "session"
    ADMIN = "admin"


Requirement = Scope | Access


def parse_requirement(value: str) -> Requirement:
    for kind in (Scope, Access):
        try:
            return kind(value)
        except ValueError:
            continue
    raise ValueError(f"unknown access requirement {value!r}")


def validate_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """Sorted, de-duplicated scopes; an unknown scope is an error, not silently dropped."""
    unique = sorted(set(scopes))
    unknown = [scope for scope in unique if scope not in ALL_SCOPES]
    if unknown:
        raise ValidationError(
            f"unknown scope(s): {', '.join(unknown)}; allowed: {', '.join(sorted(ALL_SCOPES))}",
            field="scopes",
        )
    return tuple(unique)
