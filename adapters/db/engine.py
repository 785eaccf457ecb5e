"""Async engines from the plain `postgresql://` URLs the settings and CLI carry."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

ASYNC_SCHEME = "postgresql+asyncpg"
_POSTGRES_SCHEMES = {"postgres", "postgresql", "postgresql+asyncpg", "postgresql+psycopg"}


def to_async_url(url: str) -> str:
    """`postgresql://user@host/db?...` -> `postgresql+asyncpg://user@host/db?...`.

    A `?host=/socket/dir` query (Unix-socket servers) passes through to asyncpg unchanged; libpq's
    `sslmode` becomes asyncpg's `ssl`, which accepts the same values.
    """
    parts = urlsplit(url)
    if parts.scheme not in _POSTGRES_SCHEMES:
        raise ValueError(f"not a PostgreSQL URL (scheme {parts.scheme or '(none)'!r})")
    query = [
        ("ssl" if key == "sslmode" else key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(scheme=ASYNC_SCHEME, query=urlencode(query, safe="/")))


def asyncpg_dsn(url: str) -> str:
    """The reverse, for asyncpg itself (a raw pool): a libpq-style URL, the driver suffix
    dropped and `ssl` spelled `sslmode` again."""
    parts = urlsplit(url)
    query = [
        ("sslmode" if key == "ssl" else key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(scheme="postgresql", query=urlencode(query, safe="/")))


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An asyncpg-backed `AsyncEngine` for a `postgresql://` (or already async) URL.

    Bound parameters stay out of error messages and logs: they carry password hashes, key
    digests and sealed secrets, and an error text ends up in logs and tracebacks. Pooled
    connections are pinged before use, so the first request after a PostgreSQL restart gets a
    fresh connection instead of a 503 from a dead one.
    """
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(to_async_url(url), hide_parameters=True, **kwargs)
