"""The installation's tracking key: created once whoever asks first, sealed, rotated with the
other secrets without changing (links in delivered mail keep working)."""

from __future__ import annotations

import asyncio
import dataclasses

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import delete, select

from openmailer.adapters.crypto.rotation import rotate_sealed_columns
from openmailer.adapters.crypto.secret_box import AesGcmSecretBox
from openmailer.adapters.db.installation_keys import KEY_BYTES, tracking_key
from openmailer.adapters.db.tables.campaigns import TrackingKey

pytestmark = pytest.mark.integration


async def test_concurrent_first_uses_agree_on_one_key_that_survives_a_key_rotation(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    resources = app.state.resources
    engine = resources.engine
    older, newest = resources.settings.secret_keys
    async with engine.begin() as conn:
        await conn.execute(delete(TrackingKey))
    # Sealed while `older` was the newest key, as before an operator adds a key and rotates.
    before = AesGcmSecretBox(
        dataclasses.replace(resources.settings, secret_keys=(newest, older)).secret_keys
    )
    keys = await asyncio.gather(*(tracking_key(before).get_or_create(engine) for _ in range(8)))
    assert len(set(keys)) == 1 and len(keys[0]) == KEY_BYTES
    async with engine.connect() as conn:
        sealed = await conn.scalar(select(TrackingKey.sealed_key))
    assert sealed is not None and sealed.startswith(f"v1:{older.key_id}:")

    assert await rotate_sealed_columns(engine, AesGcmSecretBox(resources.settings.secret_keys)) >= 1
    async with engine.connect() as conn:
        sealed = await conn.scalar(select(TrackingKey.sealed_key))
        assert sealed is not None and sealed.startswith(f"v1:{newest.key_id}:")
        only_newest = tracking_key(AesGcmSecretBox((newest,)))
        assert await only_newest.get(conn, create=False) == keys[0]


async def test_without_a_key_nothing_is_made_up(app: Litestar, client: httpx.AsyncClient) -> None:
    engine = app.state.resources.engine
    async with engine.begin() as conn:
        await conn.execute(delete(TrackingKey))
        assert (
            await tracking_key(AesGcmSecretBox(app.state.resources.settings.secret_keys)).get(
                conn, create=False
            )
            is None
        )
