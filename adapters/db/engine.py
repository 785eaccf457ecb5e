"""Async engines from the plain `postgresql://` URLs the settings and CLI carry."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

ASYNC_SCHEME = "postgresql+asyncpg"
_POSTGRES_SCHEMES = {"postgres", "postgresql", "postgresql+asyncpg", "postgresql+psycopg"}
_SSL_KEYS = {"ssl", "sslmode"}


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _query(parts: Any, ssl_key: str) -> list[tuple[str, str]]:
    """The URL's query with its TLS key spelled `ssl_key`; a TCP connection to a loopback
    address that names no TLS mode gets `disable`. The drivers' default, `prefer`, encrypts
    whenever the server offers TLS, which protects nothing on loopback (only root can read it,
    and root reads the server's memory) and costs the asyncio TLS layer's CPU on every query: on
    the campaign send path, about as much as the SQL the worker sends."""
    query = [
        (ssl_key if key in _SSL_KEYS else key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    says_tls = any(key == ssl_key for key, _ in query)
    by_socket = any(key == "host" for key, _ in query)
    if not says_tls and not by_socket and _is_loopback(parts.hostname):
        query.append((ssl_key, "disable"))
    return query


def to_async_url(url: str) -> str:
    """`postgresql://user@host/db?...` -> `postgresql+asyncpg://user@host/db?...`.

    A `?host=/socket/dir` query (Unix-socket servers) passes through to asyncpg unchanged; libpq's
    `sslmode` becomes asyncpg's `ssl`, which accepts the same values (a loopback server: see
    `_query`).
    """
    parts = urlsplit(url)
    if parts.scheme not in _POSTGRES_SCHEMES:
        raise ValueError(f"not a PostgreSQL URL (scheme {parts.scheme or '(none)'!r})")
    query = _query(parts, "ssl")
    return urlunsplit(parts._replace(scheme=ASYNC_SCHEME, query=urlencode(query, safe="/")))


def asyncpg_dsn(url: str) -> str:
    """The reverse, for asyncpg itself (a raw pool): a libpq-style URL, the driver suffix
    dropped and `ssl` spelled `sslmode` again."""
    parts = urlsplit(url)
    query = _query(parts, "sslmode")
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
