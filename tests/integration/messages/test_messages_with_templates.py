"""`POST /api/v1/messages` with a template id instead of inline content (issue 10's "a template
id with variables"), through the outbox on real PostgreSQL and sender_rs."""

from __future__ import annotations

import base64
from email import message_from_bytes, policy
from typing import Any

import httpx
import pytest

from openmailer.core.accounts.service import AccountsPorts as Accounts
from tests.integration.accounts.accounts_helpers import Caller, api_key_for, make_user
from tests.integration.messages.messages_helpers import SCOPES, send
from tests.integration.templates.templates_helpers import SCOPES as TEMPLATE_SCOPES
from tests.integration.templates.templates_helpers import created

pytestmark = pytest.mark.integration


async def sender_and_designer(accounts: Accounts) -> Caller:
    return await api_key_for(accounts, await make_user(accounts), SCOPES + TEMPLATE_SCOPES)


def by_template(template_id: int, **extra: Any) -> dict[str, Any]:
    return {
        "from_email": "hello@acme.example",
        "to": "ada@example.net",
        "template_id": template_id,
        "variables": {"city": "London"},
        **extra,
    }


async def bodies_of(client: httpx.AsyncClient, who: Caller, sent: dict[str, Any]) -> str:
    """The decoded text of every part of the message the outbox kept."""
    outbox_id = int(sent["provider_message_id"].removeprefix("outbox-"))
    kept = (await client.get(f"/api/v1/outbox/{outbox_id}", headers=who.headers)).json()
    message = message_from_bytes(base64.b64decode(kept["raw_base64"]), policy=policy.default)
    return "\n".join(
        part.get_content()
        for part in message.walk()
        if not part.is_multipart()  # type: ignore[attr-defined]
    )


async def test_a_message_sends_the_templates_current_or_named_version(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    who = await sender_and_designer(accounts)
    template = await created(client, who)
    response = await send(client, who, by_template(template["id"]))
    assert response.status_code == 201, response.text
    sent = response.json()
    assert sent["status"] == "SENT" and sent["subject"] == "Welcome, friend"
    bodies = await bodies_of(client, who, sent)
    assert "<p>Hello  from London</p>" in bodies and "Your first steps" in bodies

    path = f"/api/v1/templates/{template['id']}"
    await client.patch(path, headers=who.headers, json={"subject": "v2 for {{ custom.city }}"})
    current = (await send(client, who, by_template(template["id"]))).json()
    assert current["subject"] == "v2 for London"
    pinned = await send(client, who, by_template(template["id"], template_version=1))
    assert pinned.json()["subject"] == "Welcome, friend"


async def test_exactly_one_way_of_giving_the_content(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    who = await sender_and_designer(accounts)
    template = await created(client, who)
    cases = [
        (by_template(template["id"], subject="inline too"), "template_id"),
        (by_template(template["id"], html="<p>inline too</p>"), "template_id"),
        ({**by_template(template["id"]), "template_id": None, "template_version": 1}, None),
        ({**by_template(template["id"]), "template_id": None}, "subject"),
        (by_template(template["id"], template_version=5), "template_version"),
    ]
    for body, field in cases:
        response = await send(client, who, body)
        assert response.status_code == 422, (body, response.text)
        if field is not None:
            assert response.json()["errors"][0]["field"] == field, body
    logs = (await client.get("/api/v1/email-logs", headers=who.headers)).json()
    assert logs["items"] == []  # nothing refused was recorded or sent


async def test_an_inactive_template_is_a_422_and_a_foreign_one_a_404(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    who, other = await sender_and_designer(accounts), await sender_and_designer(accounts)
    mine = await created(client, who, is_active=False)
    inactive = await send(client, who, by_template(mine["id"]))
    assert inactive.status_code == 422 and inactive.json()["code"] == "template_inactive"
    theirs = await created(client, other)
    foreign = await send(client, who, by_template(theirs["id"]))
    assert foreign.status_code == 404 and foreign.json()["code"] == "template_not_found"


async def test_an_idempotent_retry_by_template_sends_once(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    who = await sender_and_designer(accounts)
    template = await created(client, who)
    first = await send(client, who, by_template(template["id"]), key="welcome-ada")
    again = await send(client, who, by_template(template["id"]), key="welcome-ada")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    other_version = await send(
        client, who, by_template(template["id"], template_version=1), key="welcome-ada"
    )
    assert other_version.status_code == 422  # another body under the same key
