"""The per-process client pool: one client per provider and configuration revision, reused;
a changed configuration replaces (and closes) the old client; aclose closes all."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from openmailer.adapters.providers.pool import ProviderClientPool
from openmailer.core.sending.model import Provider
from tests.unit.sending.test_chain import FakeClient, accept, provider


class Closing(FakeClient):
    closed = False

    async def aclose(self) -> None:
        self.closed = True


async def test_one_client_per_revision_reused_replaced_and_closed() -> None:
    opened: list[Closing] = []

    async def opener(p: Provider) -> Closing:
        await asyncio.sleep(0)  # concurrent callers overlap here
        opened.append(Closing(accept))
        return opened[-1]

    pool = ProviderClientPool(opener)  # type: ignore[arg-type]
    one = provider(1)
    clients = await asyncio.gather(*[pool.client_for(one) for _ in range(5)])
    assert len(opened) == 1 and all(c is opened[0] for c in clients)
    # Priority or limits changed: same configuration, same client.
    assert await pool.client_for(replace(one, priority=3, daily_limit=9)) is opened[0]

    changed = await pool.client_for(replace(one, sealed_configuration="re-sealed"))
    assert changed is opened[1] and opened[0].closed and not changed.closed
    other = await pool.client_for(provider(2))
    assert len(pool) == 2
    await pool.aclose()
    assert changed.closed and other.closed and len(pool) == 0  # type: ignore[attr-defined]
