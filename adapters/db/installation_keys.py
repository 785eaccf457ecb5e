"""One random 32-byte key per installation, kept sealed in a one-row table (`id = 1`).

The erasure tombstones' hash key (`erasure_keys`) and the tracking key (`tracking_keys`) are
such keys: random, created once, never derived from OPENMAILER_SECRET_KEYS (rotating those must
not change what the key hashes or signs), sealed under them so only the envelope rotates.
"""

from __future__ import annotations

import os
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openmailer.adapters.crypto.secret_box import AesGcmSecretBox
from openmailer.adapters.db.tables.campaigns import TrackingKey

KEY_BYTES = 32
_ROW_ID = 1


class InstallationKey:
    """The key in `table`, opened once and kept in memory after (it never changes)."""

    def __init__(self, box: AesGcmSecretBox, table: Table) -> None:
        self._box = box
        self._table = table
        self._key: bytes | None = None

    async def get(self, conn: AsyncConnection, *, create: bool) -> bytes | None:
        """The key; created first when `create` and none exists (concurrent creators agree on
        the one that was inserted first). None when it does not exist and `create` is false."""
        if self._key is not None:
            return self._key
        table = self._table
        if create:
            sealed = self._box.seal(
                os.urandom(KEY_BYTES), table=table.name, column="sealed_key", row_id=_ROW_ID
            )
            await conn.execute(
                pg_insert(table).values(id=_ROW_ID, sealed_key=sealed).on_conflict_do_nothing()
            )
        stored = await conn.scalar(select(table.c.sealed_key).where(table.c.id == _ROW_ID))
        if stored is None:
            return None
        self._key = self._box.open(stored, table=table.name, column="sealed_key", row_id=_ROW_ID)
        return self._key

    async def get_or_create(self, engine: AsyncEngine) -> bytes:
        """The key, in a transaction of its own (for callers that hold no connection)."""
        if self._key is not None:
            return self._key
        async with engine.begin() as conn:
            key = await self.get(conn, create=True)
        assert key is not None  # created above
        return key


def tracking_key(box: AesGcmSecretBox) -> InstallationKey:
    """The key that signs the tracking, unsubscribe and preferences tokens in campaign mail."""
    return InstallationKey(box, cast(Table, TrackingKey.__table__))
