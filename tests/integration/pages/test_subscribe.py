"""Subscribe forms and the double opt-in over HTTP: the form, CSRF, the honeypot, consent, the
confirmation mail in the outbox, the confirmation page, and what a resubmission reveals."""

from __future__ import annotations

import re

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import func, select

from openmailer.adapters.db.tables import Contact
from openmailer.adapters.db.tables.sending import OutboxMessageRow
from openmailer.core.accounts.model import User
from openmailer.core.accounts.service import AccountsPorts as Accounts
from tests.integration.accounts.accounts_helpers import api_key_for, engine_of, make_user
from tests.integration.audience.audience_helpers import new_address, principal_of
from tests.integration.pages.pages_helpers import audience_of_app, form_token, pages_of

pytestmark = pytest.mark.integration

CONFIRM_LINK = re.compile(rb"/confirm/([A-Za-z0-9_-]{40,})")


async def public_form(
    app: Litestar, owner: User, *, double_opt_in: bool, fields: list[str] | None = None
) -> str:
    principal = principal_of(owner)
    listed = await audience_of_app(app).create_list(
        principal, f"Weekly news {owner.id}", double_opt_in=double_opt_in
    )
    pages = pages_of(app)
    if fields:
        await pages.set_form_fields(principal, listed.id, fields)
    form = await pages.form_of_list(principal, listed.id)
    return f"/f/{form.public_id}"


async def contact_by_email(accounts: Accounts, owner: User, email: str) -> Contact | None:
    table = Contact.__table__
    async with engine_of(accounts).connect() as conn:
        return (
            await conn.execute(
                select(table).where(table.c.user_id == owner.id, table.c.email == email)
            )
        ).one_or_none()


async def outbox_to(accounts: Accounts, owner: User, email: str) -> list[bytes]:
    table = OutboxMessageRow.__table__
    async with engine_of(accounts).connect() as conn:
        rows = await conn.execute(
            select(table.c.raw_message).where(
                table.c.user_id == owner.id, table.c.recipient_email == email
            )
        )
        return [bytes(row.raw_message) for row in rows]


async def submit(client: httpx.AsyncClient, path: str, **fields: str) -> httpx.Response:
    token = await form_token(client, path)
    return await client.post(path, data={"csrf_token": token, **fields})


async def test_a_double_opt_in_sign_up_waits_for_the_mailed_confirmation(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    owner = await make_user(accounts)
    path = await public_form(app, owner, double_opt_in=True, fields=["company"])
    page = await client.get(path)
    assert owner.username in page.text and f"Weekly news {owner.id}" in page.text
    assert 'name="company"' in page.text and 'for="email"' in page.text
    email = new_address("visitor")
    answer = await submit(
        client, path, email=email, first_name="Ada", company="ACME", consent="yes", website=""
    )
    assert answer.status_code == 200 and "Check your inbox" in answer.text
    contact = await contact_by_email(accounts, owner, email)
    assert contact is not None and contact.status == "PENDING" and contact.source == "WEB_FORM"
    assert contact.gdpr_consent and contact.gdpr_ip_address == "127.0.0.1"
    assert contact.gdpr_consent_date is not None and contact.custom_fields == {"company": "ACME"}
    (mail,) = await outbox_to(accounts, owner, email)
    found = CONFIRM_LINK.search(mail)
    assert found is not None and found.group(1).decode() == contact.confirmation_token

    # Resubmitted: the same page, and no second mail within the resend window.
    again = await submit(client, path, email=email.upper(), consent="yes")
    assert again.status_code == 200 and again.text == answer.text
    assert len(await outbox_to(accounts, owner, email)) == 1

    confirm_path = f"/confirm/{contact.confirmation_token}"
    shown = await client.get(confirm_path)
    assert shown.status_code == 200 and "Confirm my subscription" in shown.text
    assert (await contact_by_email(accounts, owner, email)).status == "PENDING"  # type: ignore[union-attr]
    no_csrf = await client.post(confirm_path, data={})
    assert no_csrf.status_code == 403
    token = await form_token(client, confirm_path)
    done = await client.post(confirm_path, data={"csrf_token": token})
    assert done.status_code == 200 and "You are subscribed" in done.text
    confirmed = await contact_by_email(accounts, owner, email)
    assert confirmed is not None and confirmed.status == "SUBSCRIBED" and confirmed.email_verified
    spent = await client.get(confirm_path)
    assert spent.status_code == 404


async def test_a_single_opt_in_list_subscribes_at_once_and_says_the_same_for_everyone(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    owner = await make_user(accounts)
    path = await public_form(app, owner, double_opt_in=False)
    email = new_address("visitor")
    first = await submit(client, path, email=email, consent="yes")
    assert first.status_code == 200 and "Thank you" in first.text
    contact = await contact_by_email(accounts, owner, email)
    assert contact is not None and contact.status == "SUBSCRIBED"
    second = await submit(client, path, email=email, consent="yes")
    assert second.text == first.text
    assert await outbox_to(accounts, owner, email) == []


async def test_bots_csrf_less_posts_and_bad_input_change_nothing(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    owner = await make_user(accounts)
    path = await public_form(app, owner, double_opt_in=False)
    honeypot = new_address("bot")
    trapped = await submit(client, path, email=honeypot, consent="yes", website="http://spam")
    assert trapped.status_code == 200 and "Thank you" in trapped.text
    assert await contact_by_email(accounts, owner, honeypot) is None

    plain = new_address("csrf")
    forged = await client.post(path, data={"email": plain, "consent": "yes"})
    assert forged.status_code == 403
    assert await contact_by_email(accounts, owner, plain) is None

    no_consent = await submit(client, path, email=plain)
    assert no_consent.status_code == 422 and 'role="alert"' in no_consent.text
    invalid = await submit(client, path, email="not an address<script>", consent="yes")
    assert invalid.status_code == 422 and "<script>" not in invalid.text
    assert "not an address&lt;script&gt;" in invalid.text  # kept for correcting, escaped
    assert await contact_by_email(accounts, owner, plain) is None

    unknown = await client.get("/f/0123456789abcdef0123456789abcdef")
    assert unknown.status_code == 404
    assert (await client.get("/f/" + "z" * 3000)).status_code == 404


async def test_sign_ups_from_one_address_are_rate_limited(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    owner = await make_user(accounts)
    path = await public_form(app, owner, double_opt_in=False)
    token = await form_token(client, path)
    statuses = [
        (
            await client.post(
                path, data={"csrf_token": token, "email": new_address("flood"), "consent": "yes"}
            )
        ).status_code
        for _ in range(12)
    ]
    assert statuses[:10] == [200] * 10 and statuses[10:] == [429, 429]
    table = Contact.__table__
    async with engine_of(accounts).connect() as conn:
        count = await conn.scalar(
            select(func.count()).select_from(table).where(table.c.user_id == owner.id)
        )
    assert count == 10


async def test_the_form_api_gives_the_url_and_snippet_and_sets_the_fields(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    owner = await make_user(accounts)
    caller = await api_key_for(accounts, owner, ["read:contacts", "write:contacts"])
    listed = await client.post(
        "/api/v1/lists", json={"name": "Launch <news>"}, headers=caller.headers
    )
    list_id = listed.json()["id"]
    got = await client.get(f"/api/v1/lists/{list_id}/form", headers=caller.headers)
    assert got.status_code == 200, got.text
    body = got.json()
    assert re.fullmatch(r"[0-9a-f]{32}", body["public_id"])
    assert body["url"].endswith(f"/f/{body['public_id']}") and body["fields"] == []
    assert f'action="{body["url"]}"' in body["html"] and "Launch &lt;news&gt;" in body["html"]

    put = await client.patch(
        f"/api/v1/lists/{list_id}/form",
        json={"fields": ["company", "city", "company"]},
        headers=caller.headers,
    )
    assert put.status_code == 200 and put.json()["fields"] == ["company", "city"]
    bad = await client.patch(
        f"/api/v1/lists/{list_id}/form", json={"fields": ["email"]}, headers=caller.headers
    )
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_form_field"

    other = await api_key_for(accounts, await make_user(accounts), ["read:contacts"])
    assert (
        await client.get(f"/api/v1/lists/{list_id}/form", headers=other.headers)
    ).status_code == 404
    prefilled = await client.get(f"/f/{body['public_id']}?email=a%22b@example.com")
    assert 'value="a&#34;b@example.com"' in prefilled.text
