"""The click redirect's URLs: (recipient's campaign, link index) → the URL recorded at start.

A campaign's links never change once recorded, so each URL is kept in process after its first
lookup (bounded, least recently used out first); a miss is one indexed query. Unknown
recipients or links are not remembered: they cost a query each, but only an authentic token
(its MAC checked first) ever gets that far.
"""

from __future__ import annotations

from collections import OrderedDict

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.db.tables import CampaignLink, CampaignRecipient

RECIPIENTS: Table = CampaignRecipient.__table__  # type: ignore[assignment]
LINKS: Table = CampaignLink.__table__  # type: ignore[assignment]
CACHED_LINKS = 100_000


class SqlAlchemyLinkDirectory:
    def __init__(self, engine: AsyncEngine, *, capacity: int = CACHED_LINKS) -> None:
        self._engine = engine
        self._capacity = capacity
        self._urls: OrderedDict[tuple[str, int], str] = OrderedDict()

    async def url_for(self, tracking_id: str, link_index: int) -> str | None:
        key = (tracking_id, link_index)
        url = self._urls.get(key)
        if url is not None:
            self._urls.move_to_end(key)
            return url
        async with self._engine.connect() as conn:
            url = await conn.scalar(
                select(LINKS.c.original_url)
                .select_from(
                    RECIPIENTS.join(LINKS, LINKS.c.campaign_id == RECIPIENTS.c.campaign_id)
                )
                .where(RECIPIENTS.c.tracking_id == tracking_id, LINKS.c.link_index == link_index)
            )
        if url is not None:
            self._urls[key] = url
            if len(self._urls) > self._capacity:
                self._urls.popitem(last=False)
        return url
