"""A sent campaign to track: recipients and links inserted as the send path leaves them, the
mail rendered by sender_rs with the installation's tracking key (so the tokens are the real
ones), and the buffer drained as the worker would."""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

import sender_rs
from openmailer.adapters.bootstrap import build_tracking_drain
from openmailer.adapters.crypto.secret_box import AesGcmSecretBox
from openmailer.adapters.db.installation_keys import tracking_key
from openmailer.adapters.redis.tracking_stream import RedisHitStream
from openmailer.core.accounts.model import User
from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.ports.rendering import CampaignContent
from openmailer.core.tracking.service import drain
from tests.integration.accounts.accounts_helpers import api_key_for

BASE_URL = "http://testserver"
LINKS = ("https://shop.example/sale?utm=mail", "https://blog.example/post/1")
HTML = (
    '<html><body><p>Hi {{ first_name }}</p><a href="{}">Sale</a> <a href="{}">Blog</a>'
    "</body></html>".format(*LINKS)
)
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
_numbers = itertools.count(1)


@dataclass
class Mail:
    recipient_id: int
    tracking_id: str
    pixel: str  # path
    clicks: list[str]  # paths, in link order


@dataclass
class SentCampaign:
    campaign_id: int
    link_ids: list[int]
    mails: list[Mail]


def path_of(url: str) -> str:
    assert url.startswith(BASE_URL), url
    return url.removeprefix(BASE_URL)


async def send_campaign(
    app: Litestar,
    engine: AsyncEngine,
    user_id: int,
    *,
    recipients: int = 3,
    sent_ago: timedelta,
    ids_carry_campaign: bool = False,
) -> SentCampaign:
    """A campaign SENT `sent_ago` to `recipients` new contacts, with the mail of each. Its
    tracking ids are 32 hex (the format before they carried their campaign), or with
    `ids_carry_campaign` `{campaign_id}-{32 hex}` as campaign_audience.py materialises them."""
    number = next(_numbers)
    settings = app.state.resources.settings
    secret = await tracking_key(AesGcmSecretBox(settings.secret_keys)).get_or_create(engine)
    compiled = sender_rs.compile_template(
        CampaignContent(
            campaign_id=f"trk-{number}",
            subject="Hello",
            html=HTML,
            from_email="news@shop.example",
            list_id="news.shop.example",
            base_url=BASE_URL,
            tracking_secret=secret,
        )
    )
    sent_at = (datetime.now(UTC) - sent_ago).replace(tzinfo=None)
    async with engine.begin() as conn:

        async def one(sql: str, **values: object) -> int:
            return int((await conn.execute(text(sql), values)).scalar_one())

        template = await one(
            "INSERT INTO email_templates (name, subject, body, created_by)"
            " VALUES (:name, 's', 'b', :user) RETURNING id",
            name=f"tracking template {number} {os.getpid()}",
            user=user_id,
        )
        campaign = await one(
            "INSERT INTO email_campaigns (name, template_id, created_by, status, sent_count)"
            " VALUES ('tracked', :template, :user, 'SENT', :n) RETURNING id",
            template=template,
            user=user_id,
            n=recipients,
        )
        link_ids = [
            await one(
                "INSERT INTO campaign_links (campaign_id, original_url, short_code, link_index)"
                " VALUES (:campaign, :url, :short, :index) RETURNING id",
                campaign=campaign,
                url=link.url,
                short=f"t{campaign}x{link.index}",
                index=link.index,
            )
            for link in compiled.links
        ]
        rows = []
        for position in range(recipients):
            contact = await one(
                "INSERT INTO contacts (user_id, email) VALUES (:user, :email) RETURNING id",
                user=user_id,
                email=f"reader{position}.{campaign}.{os.getpid()}@example.com",
            )
            tracking_id = os.urandom(16).hex()
            if ids_carry_campaign:
                tracking_id = f"{campaign}-{tracking_id}"
            recipient = await one(
                "INSERT INTO campaign_recipients (campaign_id, contact_id, status, tracking_id,"
                " sent_at) VALUES (:campaign, :contact, 'SENT', :tracking, :sent) RETURNING id",
                campaign=campaign,
                contact=contact,
                tracking=tracking_id,
                sent=sent_at,
            )
            rows.append((recipient, tracking_id, contact))
    rendered = sender_rs.render_batch(
        compiled,
        [
            sender_rs.Recipient(tracking_id, f"reader{contact}@example.com", unsubscribe_token="u")
            for _, tracking_id, contact in rows
        ],
        output="parts",
    )
    mails = []
    for (recipient, tracking_id, _), parts in zip(rows, rendered, strict=True):
        assert isinstance(parts, sender_rs.RenderedParts)
        urls = re.findall(r'(?:href|src)="([^"]+)"', parts.html)
        pixel = next(u for u in urls if "/t/o/" in u)
        clicks = [u for u in urls if "/t/c/" in u]
        mails.append(Mail(recipient, tracking_id, path_of(pixel), [path_of(u) for u in clicks]))
    return SentCampaign(campaign, link_ids, mails)


async def drain_buffer(
    app: Litestar, *, consumer: str = "tests", stale_after_ms: int = 60_000
) -> int:
    resources = app.state.resources
    stream = RedisHitStream(resources.redis, consumer=consumer, stale_after_ms=stale_after_ms)
    return await drain(
        build_tracking_drain(resources, app.state.areas.tracking_handlers, stream=stream)
    )


async def recipient_row(engine: AsyncEngine, recipient_id: int) -> dict[str, object]:
    async with engine.connect() as conn:
        row = await conn.execute(
            text("SELECT * FROM campaign_recipients WHERE id = :id"), {"id": recipient_id}
        )
        return dict(row.one()._mapping)


async def recomputed_stats(engine: AsyncEngine, campaign_id: int) -> dict[str, int]:
    """Every figure of the stats, counted again from the rows themselves."""
    async with engine.connect() as conn:

        async def count(sql: str) -> int:
            return int((await conn.execute(text(sql), {"c": campaign_id})).scalar_one())

        r = "FROM campaign_recipients WHERE campaign_id = :c"
        return {
            "recipients": await count(f"SELECT count(*) {r}"),
            "sent": await count(f"SELECT count(*) {r} AND sent_at IS NOT NULL"),
            "opened": await count(f"SELECT count(*) {r} AND opened_at IS NOT NULL"),
            "clicked": await count(f"SELECT count(*) {r} AND clicked_at IS NOT NULL"),
            "opens": await count(
                "SELECT count(*) FROM tracking_events WHERE campaign_id = :c"
                " AND kind = 'open' AND NOT is_machine"
            ),
            "clicks": await count(
                "SELECT count(*) FROM campaign_clicks WHERE campaign_id = :c AND NOT is_machine"
            ),
            "machine_opens": await count(
                "SELECT count(*) FROM tracking_events WHERE campaign_id = :c"
                " AND kind = 'open' AND is_machine"
            ),
            "machine_clicks": await count(
                "SELECT count(*) FROM campaign_clicks WHERE campaign_id = :c AND is_machine"
            ),
        }


async def stats_of(
    client: httpx.AsyncClient, accounts: Accounts, user: User, campaign_id: int
) -> dict[str, Any]:
    """The whole `GET /api/v1/campaigns/{id}/stats` answer, as a client reads it."""
    caller = await api_key_for(accounts, user, ["read:analytics"])
    response = await client.get(f"/api/v1/campaigns/{campaign_id}/stats", headers=caller.headers)
    assert response.status_code == 200, response.text
    stats: dict[str, Any] = response.json()
    return stats
