"""A loopback server is reached without TLS unless the URL asks for it (adapters/db/engine.py)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

from openmailer.adapters.db.engine import create_engine

pytestmark = pytest.mark.integration

OWN_SSL = text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")


async def _uses_tls(url: str) -> tuple[bool, bool]:
    """Whether this connection is encrypted, and whether the server offers TLS at all."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            encrypted = bool(await conn.scalar(OWN_SSL))
            offered = (await conn.scalar(text("SHOW ssl"))) == "on"
    finally:
        await engine.dispose()
    return encrypted, offered


async def test_a_loopback_server_is_reached_in_plain_text_unless_the_url_names_a_mode(
    database_url: str,
) -> None:
    # The session's server on 127.0.0.1, or the embedded one on a Unix socket.
    parts = urlsplit(database_url)
    assert parts.hostname in {"127.0.0.1", "localhost", "::1", None}
    assert "ssl" not in parts.query

    encrypted, offered = await _uses_tls(database_url)
    assert encrypted is False

    if offered:  # the session's PostgreSQL offers TLS (the embedded one offers none)
        separator = "&" if parts.query else "?"
        asked, _ = await _uses_tls(f"{database_url}{separator}sslmode=require")
        assert asked is True
