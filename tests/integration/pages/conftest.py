"""Each test starts with fresh per-IP windows of the pages' rate limits."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import Litestar

from tests.integration.campaigns.conftest import world

__all__ = ["world"]  # the campaigns tests' tenants, for a campaign sent end to end


@pytest.fixture(autouse=True)
async def fresh_page_limits(app: Litestar, client: httpx.AsyncClient) -> AsyncIterator[None]:
    redis = app.state.resources.redis
    stale = [key async for key in redis.scan_iter("om:rl:pages:*")]
    if stale:
        await redis.delete(*stale)
    yield
