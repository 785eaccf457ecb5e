"""The RFC 8058 POST answered before Litestar routes it (`adapters/http/recipients/one_click.py`):
the same answers as the Litestar route, the same database afterwards, and every request it does
not answer handed on to Litestar with its body intact."""

from __future__ import annotations

import asyncio
import gc
import secrets
import time
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.db.tables import CampaignRecipient
from openmailer.adapters.db.unsubscribe_writes import APPLICATION_NAME
from openmailer.adapters.http.app import create_app, make_lifespan
from openmailer.adapters.http.recipients.one_click import answer_one_click
from openmailer.adapters.settings import Settings
from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.audience.model import ContactStatus, NewContact
from openmailer.core.campaigns.tokens import TokenPurpose, issue_token
from openmailer.core.recipients.service import RATE_WINDOW_SECONDS, Traffic
from tests.integration.accounts.accounts_helpers import engine_of
from tests.integration.audience.audience_helpers import new_address, principal_of
from tests.integration.conftest import TEST_PASSWORD_ROUNDS
from tests.integration.pages.pages_helpers import (
    Mailed,
    audience_of_app,
    contact_row,
    list_counts,
    mailed_recipient,
    memberships,
    pages_of,
    unsubscribe_count,
)

pytestmark = pytest.mark.integration

GMAIL_BODY = b"List-Unsubscribe=One-Click"
GMAIL_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}
FORM = b"application/x-www-form-urlencoded"


def mail_client(app: Litestar, address: str = "192.0.2.20") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40002))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def forged(path: str) -> str:
    """The path with its token's MAC changed in its last character."""
    return path[:-1] + ("A" if path[-1] != "A" else "B")


def _scope(path: str, body: bytes, content_type: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
        "client": ("192.0.2.21", 40003),
    }


async def _call_fast_route(
    app: Litestar, path: str, body: bytes, content_type: bytes = FORM
) -> tuple[Any, list[dict[str, Any]]]:
    """The fast route alone, no Litestar behind it: what it answered and what it sent."""
    sent: list[dict[str, Any]] = []
    chunks = [
        {"type": "http.request", "body": body[:10], "more_body": True},
        {"type": "http.request", "body": body[10:], "more_body": False},
    ]

    async def receive() -> dict[str, Any]:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    answered = await answer_one_click(
        pages_of(app), _scope(path, body, content_type), receive, send
    )
    return answered, sent


async def test_the_fast_route_answers_the_gmail_post_itself_and_unsubscribes(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    mailed = await mailed_recipient(app, accounts, lists=2)
    engine = engine_of(accounts)
    answered, sent = await _call_fast_route(app, mailed.unsubscribe_path, GMAIL_BODY)
    assert answered is True
    assert sent[0]["status"] == 200 and sent[1]["body"] == b"Unsubscribed.\n"
    contact = await contact_row(engine, mailed.contact_id)
    assert contact.status == "UNSUBSCRIBED" and contact.unsubscribed_at is not None
    assert contact.unsubscribe_reason is None
    assert await memberships(engine, mailed.contact_id) == dict.fromkeys(mailed.list_ids, "REMOVED")
    # the counters moved once the answer had been sent, before the route returned
    assert [await list_counts(engine, i) for i in mailed.list_ids] == [(0, 0), (0, 0)]
    assert await unsubscribe_count(engine, mailed.campaign_id) == 1

    again, sent_again = await _call_fast_route(app, mailed.unsubscribe_path, GMAIL_BODY)
    assert again is True and sent_again[0]["status"] == 200
    assert await unsubscribe_count(engine, mailed.campaign_id) == 1
    assert [await list_counts(engine, i) for i in mailed.list_ids] == [(0, 0), (0, 0)]
    assert (await contact_row(engine, mailed.contact_id)).unsubscribed_at == (
        contact.unsubscribed_at
    )


async def _more_recipients_of(
    app: Litestar, accounts: Accounts, mailed: Mailed, count: int
) -> list[str]:
    """`count` more contacts of the same owner on the same lists, mailed by the same campaign:
    their unsubscribe paths."""
    audience = audience_of_app(app)
    principal = principal_of(mailed.owner)
    key = await pages_of(app).ports.key.get()
    paths = []
    for _ in range(count):
        contact = await audience.create_contact(
            principal, NewContact(email=new_address("reader"), status=ContactStatus.SUBSCRIBED)
        )
        for list_id in mailed.list_ids:
            await audience.add_members(principal, list_id, contact_ids=[contact.id], emails=[])
        tracking_id = secrets.token_hex(8)
        async with engine_of(accounts).begin() as conn:
            await conn.execute(
                insert(CampaignRecipient.__table__).values(
                    campaign_id=mailed.campaign_id,
                    contact_id=contact.id,
                    tracking_id=tracking_id,
                    status="SENT",
                )
            )
        paths.append(f"/u/{issue_token(key, TokenPurpose.UNSUBSCRIBE, tracking_id)}")
    return paths


async def test_concurrent_unsubscribes_of_one_campaign_move_its_counts_exactly(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    """Their counter moves are summed into as few statements as the moment allows: none lost,
    none twice, with repeats among them."""
    mailed = await mailed_recipient(app, accounts, lists=2)
    paths = [mailed.unsubscribe_path, *await _more_recipients_of(app, accounts, mailed, 11)]
    engine = engine_of(accounts)
    assert [await list_counts(engine, i) for i in mailed.list_ids] == [(12, 12), (12, 12)]
    async with mail_client(app) as mail:
        answers = await asyncio.gather(
            *(
                mail.post(path, content=GMAIL_BODY, headers=GMAIL_HEADERS)
                for path in [*paths, paths[0], paths[5]]
            )
        )
    assert [answer.status_code for answer in answers] == [200] * (len(paths) + 2)
    assert [await list_counts(engine, i) for i in mailed.list_ids] == [(0, 0), (0, 0)]
    assert await unsubscribe_count(engine, mailed.campaign_id) == 12


async def test_a_body_that_is_not_the_one_click_form_is_handed_on_intact(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    mailed = await mailed_recipient(app, accounts, lists=1)
    page_form = b"reason=too+often&csrf_token=forged"
    answered, sent = await _call_fast_route(app, mailed.unsubscribe_path, page_form)
    assert sent == [] and callable(answered)
    assert await answered() == {"type": "http.request", "body": page_form, "more_body": False}
    assert await answered() == {"type": "http.disconnect"}  # then what the client sends next

    multipart, sent = await _call_fast_route(
        app, mailed.unsubscribe_path, GMAIL_BODY, b"multipart/form-data; boundary=x"
    )
    assert (multipart, sent) == (False, [])  # declined before reading anything
    assert (await contact_row(engine_of(accounts), mailed.contact_id)).status == "SUBSCRIBED"


async def test_it_answers_exactly_as_the_litestar_route_does(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    fast_one, litestar_one = [await mailed_recipient(app, accounts, lists=1) for _ in range(2)]
    async with mail_client(app) as mail:
        fast = await mail.post(fast_one.unsubscribe_path, content=GMAIL_BODY, headers=GMAIL_HEADERS)
        # multipart is not the fast route's: Litestar answers it
        slow = await mail.post(
            litestar_one.unsubscribe_path,
            data={"List-Unsubscribe": "One-Click"},
            files={"x": ("", b"")},
        )
        forged_path = forged(fast_one.unsubscribe_path)
        fast_404 = await mail.post(forged_path, content=GMAIL_BODY, headers=GMAIL_HEADERS)
        slow_404 = await mail.post(
            forged_path, data={"List-Unsubscribe": "One-Click"}, files={"x": ("", b"")}
        )
    for mailed in (fast_one, litestar_one):
        assert (await contact_row(engine_of(accounts), mailed.contact_id)).status == "UNSUBSCRIBED"
    assert (
        (fast.status_code, fast.content)
        == (slow.status_code, slow.content)
        == (
            200,
            b"Unsubscribed.\n",
        )
    )
    assert (fast_404.status_code, fast_404.content) == (404, slow_404.content)

    def headers(answer: httpx.Response) -> dict[str, str]:
        return {k: v for k, v in answer.headers.items() if k != "x-request-id"}

    assert headers(fast) == headers(slow)
    assert headers(fast_404) == headers(slow_404)
    assert fast_404.headers["content-security-policy"].startswith("default-src 'none'")
    assert fast_404.headers["content-type"] == "text/html; charset=utf-8"  # said once
    assert fast.headers["x-request-id"] and fast_404.headers["x-request-id"]


async def test_forms_it_does_not_answer_reach_litestar_with_their_body(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    mailed = await mailed_recipient(app, accounts, lists=1)
    engine = engine_of(accounts)
    async with mail_client(app) as mail:
        # the page's form without its CSRF token: read by the fast route, refused by Litestar
        refused = await mail.post(
            mailed.unsubscribe_path, content=b"reason=spam", headers=GMAIL_HEADERS
        )
        assert refused.status_code == 403 and "This form has expired" in refused.text
        assert (await contact_row(engine, mailed.contact_id)).status == "SUBSCRIBED"
        # not exactly the one-click form, but one to the Litestar route (which reads the field)
        extra = await mail.post(
            mailed.unsubscribe_path,
            content=b"List-Unsubscribe=One-Click&via=provider",
            headers=GMAIL_HEADERS,
        )
    assert extra.status_code == 200 and extra.content == b"Unsubscribed.\n"
    assert (await contact_row(engine, mailed.contact_id)).status == "UNSUBSCRIBED"
    assert await unsubscribe_count(engine, mailed.campaign_id) == 1


async def test_a_flood_from_one_address_is_refused_429_and_changes_nothing(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    mailed = await mailed_recipient(app, accounts, lists=1)
    left = RATE_WINDOW_SECONDS - time.time() % RATE_WINDOW_SECONDS
    if left < 20:  # the budget counts in the wall clock's minutes: all of these in one
        await asyncio.sleep(left + 0.2)
    forged_path = forged(mailed.unsubscribe_path)
    async with mail_client(app, "192.0.2.99") as flooder:
        statuses = [
            (await flooder.post(forged_path, content=GMAIL_BODY, headers=GMAIL_HEADERS)).status_code
            for _ in range(Traffic.ONE_CLICK.per_minute)
        ]
        assert statuses == [404] * Traffic.ONE_CLICK.per_minute
        limited = await flooder.post(
            mailed.unsubscribe_path, content=GMAIL_BODY, headers=GMAIL_HEADERS
        )
        assert limited.status_code == 429 and "Too many requests" in limited.text
        assert 1 <= int(limited.headers["retry-after"]) <= RATE_WINDOW_SECONDS
        assert limited.headers["x-frame-options"] == "DENY"
    assert (await contact_row(engine_of(accounts), mailed.contact_id)).status == "SUBSCRIBED"
    async with mail_client(app, "192.0.2.98") as other_provider:
        answer = await other_provider.post(
            mailed.unsubscribe_path, content=GMAIL_BODY, headers=GMAIL_HEADERS
        )
    assert answer.status_code == 200  # the budget is per address
    assert (await contact_row(engine_of(accounts), mailed.contact_id)).status == "UNSUBSCRIBED"


async def _unsubscribe_connections(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        count = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE application_name = :name AND datname = current_database()"
            ),
            {"name": APPLICATION_NAME},
        )
    return int(count or 0)


async def test_the_unsubscribe_pools_open_on_first_use_and_close_with_the_app(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts, accounts_settings: Settings
) -> None:
    mailed = await mailed_recipient(app, accounts, lists=1)
    engine = engine_of(accounts)
    other = create_app(accounts_settings, password_rounds=TEST_PASSWORD_ROUNDS)
    before = await _unsubscribe_connections(engine)
    gc.unfreeze()
    async with make_lifespan(accounts_settings, password_rounds=TEST_PASSWORD_ROUNDS)(other):
        # what start-up built is out of the collector's full passes (a pause of every request)
        assert gc.get_freeze_count() > 0
        assert await _unsubscribe_connections(engine) == before  # none until the first
        async with mail_client(other) as mail:
            answer = await mail.post(
                mailed.unsubscribe_path, content=GMAIL_BODY, headers=GMAIL_HEADERS
            )
        assert answer.status_code == 200
        assert await _unsubscribe_connections(engine) >= before + 2  # durable and counters
    assert gc.get_freeze_count() == 0  # a stopped app's cycles are collectable again
    for _ in range(50):  # a closed connection's server process ends a moment later
        if await _unsubscribe_connections(engine) == before:
            break
        await asyncio.sleep(0.1)
    assert await _unsubscribe_connections(engine) == before
    assert (await contact_row(engine, mailed.contact_id)).status == "UNSUBSCRIBED"
