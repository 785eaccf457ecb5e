"""`TrackingTokens` over `sender_rs`'s verifiers and the installation's tracking key."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

import sender_rs
from openmailer.adapters.db.installation_keys import InstallationKey


class SenderRsTrackingTokens:
    """The key is read (or created) on the first request and kept: it never changes."""

    def __init__(self, key: InstallationKey, engine: AsyncEngine) -> None:
        self._key = key
        self._engine = engine
        self._secret: bytes | None = None

    async def _secret_key(self) -> bytes:
        if self._secret is None:
            self._secret = await self._key.get_or_create(self._engine)
        return self._secret

    async def open_tracking_id(self, token: str) -> str | None:
        return sender_rs.verify_open_token(await self._secret_key(), token)

    async def click_target(self, token: str) -> tuple[str, int] | None:
        return sender_rs.verify_click_token(await self._secret_key(), token)
