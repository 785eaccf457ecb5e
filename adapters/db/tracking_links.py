"""The click redirect's URLs: (recipient's campaign, link index) → the URL recorded at start.

A campaign's links never change once recorded, and a recipient's campaign never changes, so
both are kept in process after their first lookup (bounded, least recently used out first).

A tracking id materialised since the format carries its campaign (`{campaign_id}-{32 hex}`,
`campaign_audience.py`) names the campaign itself: the token's MAC, checked before this is
asked, proves it is one the platform wrote. Its links are one query per campaign, not per
recipient. An older id (32 hex, no campaign) costs the recipient's first click one indexed
query that also brings every link of its campaign; later clicks of that recipient, and any
click of a campaign already seen, resolve the link without PostgreSQL. Unknown recipients are
not remembered: only an authentic token ever gets that far.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Generic, TypeVar

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.db.tables import CampaignLink, CampaignRecipient

RECIPIENTS: Table = CampaignRecipient.__table__  # type: ignore[assignment]
LINKS: Table = CampaignLink.__table__  # type: ignore[assignment]
CACHED_RECIPIENTS = 200_000
CACHED_CAMPAIGNS = 2_000
# A campaign id as PostgreSQL writes it (at most 18 digits: always a BIGINT), then 32 hex.
_CARRIES_CAMPAIGN = re.compile(r"([1-9][0-9]{0,17})-[0-9a-f]{32}")

K = TypeVar("K")
V = TypeVar("V")


class Lru(Generic[K, V]):
    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self._capacity:
            self._items.popitem(last=False)


def campaign_of_tracking_id(tracking_id: str) -> int | None:
    """The campaign a `{campaign_id}-{32 hex}` tracking id names; None for any other id."""
    found = _CARRIES_CAMPAIGN.fullmatch(tracking_id)
    return None if found is None else int(found[1])


class SqlAlchemyLinkDirectory:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        recipients: int = CACHED_RECIPIENTS,
        campaigns: int = CACHED_CAMPAIGNS,
    ) -> None:
        self._engine = engine
        self._campaign_of: Lru[str, int] = Lru(recipients)
        self._links_of: Lru[int, dict[int, str]] = Lru(campaigns)

    async def url_for(self, tracking_id: str, link_index: int) -> str | None:
        campaign = campaign_of_tracking_id(tracking_id)
        if campaign is not None:
            links = self._links_of.get(campaign)
            if links is None:
                links = await self._load_links(campaign)
                if not links:  # not cached: a campaign without links is not worth remembering
                    return None
                self._links_of.put(campaign, links)
            return links.get(link_index)
        campaign = self._campaign_of.get(tracking_id)
        links = None if campaign is None else self._links_of.get(campaign)
        if links is None:
            found = await self._load(tracking_id)
            if found is None:
                return None
            campaign, links = found
            self._campaign_of.put(tracking_id, campaign)
            self._links_of.put(campaign, links)
        return links.get(link_index)

    async def _load_links(self, campaign: int) -> dict[int, str]:
        statement = select(LINKS.c.link_index, LINKS.c.original_url).where(
            LINKS.c.campaign_id == campaign
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(statement)).all()
        return {row.link_index: row.original_url for row in rows}

    async def _load(self, tracking_id: str) -> tuple[int, dict[int, str]] | None:
        """The recipient's campaign and all of its recorded links, in one query."""
        statement = (
            select(RECIPIENTS.c.campaign_id, LINKS.c.link_index, LINKS.c.original_url)
            .select_from(
                RECIPIENTS.outerjoin(LINKS, LINKS.c.campaign_id == RECIPIENTS.c.campaign_id)
            )
            .where(RECIPIENTS.c.tracking_id == tracking_id)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(statement)).all()
        if not rows:
            return None
        links = {row.link_index: row.original_url for row in rows if row.link_index is not None}
        return rows[0].campaign_id, links
