"""Unsubscribe and preferences over HTTP: RFC 8058 one-click as mail clients send it, the
pages' own forms (CSRF), GET changing nothing, and hostile input answered 4xx."""

from __future__ import annotations

import httpx
import pytest
from litestar import Litestar

from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.campaigns.tokens import MAC_CHARS
from tests.integration.accounts.accounts_helpers import engine_of, within_one_rate_window
from tests.integration.pages.pages_helpers import (
    contact_row,
    form_token,
    list_counts,
    mailed_recipient,
    memberships,
    unsubscribe_count,
)

pytestmark = pytest.mark.integration

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def cookieless(app: Litestar) -> httpx.AsyncClient:
    """A mail client's POST: no cookie jar, no page, an address of its own."""
    transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 40001))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_the_one_click_post_as_gmail_sends_it_unsubscribes_once(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    mailed = await mailed_recipient(app, accounts, lists=2)
    engine = engine_of(accounts)
    assert [await list_counts(engine, i) for i in mailed.list_ids] == [(1, 1), (1, 1)]
    async with cookieless(app) as mail_client:
        answer = await mail_client.post(
            mailed.unsubscribe_path,
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert answer.status_code == 200, answer.text
        assert "location" not in answer.headers and "set-cookie" not in answer.headers
        contact = await contact_row(engine, mailed.contact_id)
        assert contact.status == "UNSUBSCRIBED" and contact.unsubscribed_at is not None
        assert await memberships(engine, mailed.contact_id) == dict.fromkeys(
            mailed.list_ids, "REMOVED"
        )
        assert [await list_counts(engine, i) for i in mailed.list_ids] == [(0, 0), (0, 0)]
        assert await unsubscribe_count(engine, mailed.campaign_id) == 1

        # A mail client retries; a second provider sends multipart: nothing moves twice.
        again = await mail_client.post(
            mailed.unsubscribe_path, files={"x": ("", b"")}, data=ONE_CLICK
        )
        assert again.status_code == 200
        assert await unsubscribe_count(engine, mailed.campaign_id) == 1
        assert [await list_counts(engine, i) for i in mailed.list_ids] == [(0, 0), (0, 0)]
        assert (await contact_row(engine, mailed.contact_id)).unsubscribed_at == (
            contact.unsubscribed_at
        )


async def test_a_multipart_one_click_post_unsubscribes(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    mailed = await mailed_recipient(app, accounts, lists=1)
    async with cookieless(app) as mail_client:
        answer = await mail_client.post(
            mailed.unsubscribe_path, data=ONE_CLICK, files={"note": ("n.txt", b"")}
        )
    assert answer.status_code == 200
    assert (await contact_row(engine_of(accounts), mailed.contact_id)).status == "UNSUBSCRIBED"


async def test_get_on_every_token_url_changes_nothing(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    mailed = await mailed_recipient(app, accounts, lists=1)
    engine = engine_of(accounts)
    before = await contact_row(engine, mailed.contact_id)
    for path in (mailed.unsubscribe_path, mailed.preferences_path):
        page = await client.get(path)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert mailed.owner.username in page.text and mailed.email in page.text
        assert "script-src" not in page.headers["content-security-policy"]
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert page.headers["referrer-policy"] == "no-referrer"
        assert "<script" not in page.text
        assert (await client.head(path)).status_code == 405
    assert await contact_row(engine, mailed.contact_id) == before
    assert await memberships(engine, mailed.contact_id) == {mailed.list_ids[0]: "ACTIVE"}
    assert await unsubscribe_count(engine, mailed.campaign_id) == 0


async def test_forged_and_unknown_tokens_answer_one_uniform_404(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    mailed = await mailed_recipient(app, accounts, lists=1)
    tracking_id, _, mac = mailed.unsubscribe_token.partition(".")
    flipped = ("A" if mac[0] != "A" else "B") + mac[1:]
    forged = [
        f"{tracking_id}.{flipped}",
        mailed.preferences_token,  # the other purpose's token
        f"{tracking_id}",
        f"nosuchrecipient.{'A' * MAC_CHARS}",
        "x" * 5000,
        "%00%0d%0a",
    ]
    bodies = set()
    async with cookieless(app) as mail_client:
        for token in forged:
            shown = await client.get(f"/u/{token}")
            posted = await mail_client.post(f"/u/{token}", data=ONE_CLICK)
            assert (shown.status_code, posted.status_code) == (404, 404), token
            bodies.add(posted.text)
        prefs = await client.get(f"/p/{mailed.unsubscribe_token}")
        assert prefs.status_code == 404 and prefs.text in bodies
        # No route at all (the token would be several path segments): still a 404.
        traversal = await mail_client.post("/u/..%2F..%2Fetc%2Fpasswd", data=ONE_CLICK)
        assert traversal.status_code == 404
    assert len(bodies) == 1
    assert (await contact_row(engine_of(accounts), mailed.contact_id)).status == "SUBSCRIBED"


async def test_the_unsubscribe_page_needs_its_csrf_token_and_records_the_reason(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    mailed = await mailed_recipient(app, accounts, lists=1)
    engine = engine_of(accounts)
    without = await client.post(mailed.unsubscribe_path, data={"reason": "spam"})
    assert without.status_code == 403
    async with cookieless(app) as other_browser:
        token = await form_token(client, mailed.unsubscribe_path)
        stolen = await other_browser.post(
            mailed.unsubscribe_path, data={"csrf_token": token, "reason": "x"}
        )
        assert stolen.status_code == 403  # the token without the browser's cookie
    assert (await contact_row(engine, mailed.contact_id)).status == "SUBSCRIBED"

    token = await form_token(client, mailed.unsubscribe_path)
    done = await client.post(
        mailed.unsubscribe_path, data={"csrf_token": token, "reason": " Too often \x00"}
    )
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    contact = await contact_row(engine, mailed.contact_id)
    assert contact.status == "UNSUBSCRIBED" and contact.unsubscribe_reason == "Too often"
    assert await unsubscribe_count(engine, mailed.campaign_id) == 1


async def test_preferences_toggle_lists_and_unsubscribe_from_all(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    mailed = await mailed_recipient(app, accounts, lists=2)
    engine = engine_of(accounts)
    first, second = mailed.list_ids
    token = await form_token(client, mailed.preferences_path)
    saved = await client.post(
        mailed.preferences_path,
        data={"csrf_token": token, "action": "save", "list": [str(second), "999999999"]},
    )
    assert saved.status_code == 200 and "Your choices are saved" in saved.text
    assert await memberships(engine, mailed.contact_id) == {first: "REMOVED", second: "ACTIVE"}
    assert await list_counts(engine, first) == (0, 0)
    assert await list_counts(engine, second) == (1, 1)
    assert (await contact_row(engine, mailed.contact_id)).status == "SUBSCRIBED"

    # Nothing ticked: no list left, so no mail at all.
    token = await form_token(client, mailed.preferences_path)
    await client.post(mailed.preferences_path, data={"csrf_token": token, "action": "save"})
    assert (await contact_row(engine, mailed.contact_id)).status == "UNSUBSCRIBED"
    assert await list_counts(engine, second) == (0, 0)

    # Ticking a list again is the address's own request: subscribed again.
    token = await form_token(client, mailed.preferences_path)
    await client.post(
        mailed.preferences_path, data={"csrf_token": token, "action": "save", "list": str(first)}
    )
    assert (await contact_row(engine, mailed.contact_id)).status == "SUBSCRIBED"
    assert await list_counts(engine, first) == (1, 1)

    token = await form_token(client, mailed.preferences_path)
    gone = await client.post(
        mailed.preferences_path, data={"csrf_token": token, "action": "unsubscribe_all"}
    )
    assert gone.status_code == 200
    assert (await contact_row(engine, mailed.contact_id)).status == "UNSUBSCRIBED"
    assert await memberships(engine, mailed.contact_id) == {first: "REMOVED", second: "REMOVED"}
    assert await unsubscribe_count(engine, mailed.campaign_id) == 1


async def test_the_preferences_page_shows_the_contacts_own_data_and_how_to_ask_for_it(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    mailed = await mailed_recipient(app, accounts, lists=1)
    page = await client.get(mailed.preferences_path)
    assert page.status_code == 200
    assert mailed.email in page.text and mailed.owner.username in page.text
    assert f"mailto:{mailed.owner.email}?subject=Request%20for%20a%20copy" in page.text
    assert "Request%20to%20erase%20my%20data" in page.text


async def test_oversized_bodies_and_floods_answer_4xx(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    mailed = await mailed_recipient(app, accounts, lists=1)
    async with cookieless(app) as mail_client:
        huge = await mail_client.post(
            mailed.unsubscribe_path,
            content=b"List-Unsubscribe=One-Click&pad=" + b"a" * 100_000,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert huge.status_code == 413
    assert (await contact_row(engine_of(accounts), mailed.contact_id)).status == "SUBSCRIBED"

    # the page budget counts in fixed minutes of Redis' clock: all of these must fall in one
    await within_one_rate_window(app.state.resources.redis)
    statuses = [(await client.get(mailed.unsubscribe_path)).status_code for _ in range(125)]
    assert statuses[:120] == [200] * 120
    assert statuses[-1] == 429
    limited = await client.get(mailed.unsubscribe_path)
    assert int(limited.headers["retry-after"]) >= 1
