"""Lists and memberships over HTTP on PostgreSQL: names, tenancy, members, cached counts."""

from __future__ import annotations

import httpx
import pytest

from openmailer.core.accounts.service import AccountsPorts as Accounts
from tests.integration.accounts.accounts_helpers import Caller
from tests.integration.audience.audience_helpers import contacts_caller, new_address

pytestmark = pytest.mark.integration


async def make_list(client: httpx.AsyncClient, caller: Caller, name: str, **fields: object):
    response = await client.post(
        "/api/v1/lists", json={"name": name, **fields}, headers=caller.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def make_contact(client: httpx.AsyncClient, caller: Caller, **fields: object) -> dict:
    response = await client.post(
        "/api/v1/contacts", json={"email": new_address(), **fields}, headers=caller.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def counts(client: httpx.AsyncClient, caller: Caller, list_id: int) -> tuple[int, int]:
    body = (await client.get(f"/api/v1/lists/{list_id}", headers=caller.headers)).json()
    return body["total_contacts"], body["active_contacts"]


async def test_list_names_are_unique_per_user(
    client: httpx.AsyncClient, caller: Caller, accounts: Accounts
) -> None:
    first = await make_list(client, caller, "Newsletter", description="monthly")
    assert first["double_opt_in_enabled"] is True
    assert (first["total_contacts"], first["active_contacts"]) == (0, 0)
    again = await client.post("/api/v1/lists", json={"name": "Newsletter"}, headers=caller.headers)
    assert again.status_code == 409
    assert again.json()["code"] == "list_name_taken"
    assert f"id {first['id']}" in again.json()["detail"]
    # Another user may use the same name.
    await make_list(client, await contacts_caller(accounts), "Newsletter")
    second = await make_list(client, caller, "Other")
    renamed = await client.patch(
        f"/api/v1/lists/{second['id']}", json={"name": "Newsletter"}, headers=caller.headers
    )
    assert renamed.status_code == 409
    changed = await client.patch(
        f"/api/v1/lists/{second['id']}",
        json={"name": "Weekly", "double_opt_in_enabled": False, "description": ""},
        headers=caller.headers,
    )
    assert changed.json()["name"] == "Weekly"
    assert changed.json()["double_opt_in_enabled"] is False
    assert changed.json()["description"] is None
    page = (await client.get("/api/v1/lists", headers=caller.headers)).json()
    assert [item["name"] for item in page["items"]] == ["Newsletter", "Weekly"]
    assert page["total"] == 2


async def test_another_users_list_is_404_everywhere(
    client: httpx.AsyncClient, caller: Caller, accounts: Accounts
) -> None:
    other = await contacts_caller(accounts)
    theirs = await make_list(client, other, "theirs")
    their_contact = await make_contact(client, other)
    path = f"/api/v1/lists/{theirs['id']}"
    for method, suffix, body in (
        ("GET", "", None),
        ("PATCH", "", {"name": "mine"}),
        ("DELETE", "", None),
        ("GET", "/members", None),
        ("POST", "/members", {"contact_ids": [their_contact["id"]]}),
        ("DELETE", f"/members/{their_contact['id']}", None),
    ):
        response = await client.request(method, path + suffix, json=body, headers=caller.headers)
        assert response.status_code == 404, (method, suffix, response.text)
    # Another user's contact added to one's own list is not found, not added.
    mine = await make_list(client, caller, "mine")
    added = await client.post(
        f"/api/v1/lists/{mine['id']}/members",
        json={"contact_ids": [their_contact["id"]], "emails": [their_contact["email"]]},
        headers=caller.headers,
    )
    assert added.json() == {
        "added": [],
        "already": [],
        "not_found_ids": [their_contact["id"]],
        "not_found_emails": [their_contact["email"].lower()],
    }
    assert await counts(client, caller, mine["id"]) == (0, 0)


async def test_members_are_added_removed_and_counted(
    client: httpx.AsyncClient, caller: Caller
) -> None:
    listed = await make_list(client, caller, "members")
    path = f"/api/v1/lists/{listed['id']}/members"
    subscribed = await make_contact(client, caller)
    pending = await make_contact(client, caller, status="PENDING")
    by_email = await make_contact(client, caller)
    added = await client.post(
        path,
        json={
            "contact_ids": [subscribed["id"], pending["id"], 999_999_999],
            "emails": [by_email["email"].upper(), "nobody@example.com"],
        },
        headers=caller.headers,
    )
    assert added.status_code == 200, added.text
    assert added.json() == {
        "added": sorted([subscribed["id"], pending["id"], by_email["id"]]),
        "already": [],
        "not_found_ids": [999_999_999],
        "not_found_emails": ["nobody@example.com"],
    }
    assert await counts(client, caller, listed["id"]) == (3, 2)
    again = await client.post(
        path, json={"contact_ids": [subscribed["id"]]}, headers=caller.headers
    )
    assert again.json()["already"] == [subscribed["id"]]

    removed = await client.delete(f"{path}/{subscribed['id']}", headers=caller.headers)
    assert removed.status_code == 204
    assert await counts(client, caller, listed["id"]) == (2, 1)
    twice = await client.delete(f"{path}/{subscribed['id']}", headers=caller.headers)
    assert twice.status_code == 404
    rows = (await client.get(f"{path}?status=REMOVED", headers=caller.headers)).json()["items"]
    assert [(row["contact"]["id"], row["status"]) for row in rows] == [
        (subscribed["id"], "REMOVED")
    ]
    assert rows[0]["unsubscribed_at"] is not None
    everyone = (await client.get(f"{path}?limit=2", headers=caller.headers)).json()
    assert len(everyone["items"]) == 2 and everyone["next_cursor"] is not None
    rest = (
        await client.get(f"{path}?limit=2&after={everyone['next_cursor']}", headers=caller.headers)
    ).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None

    # A status change and a deletion move the counts too.
    await client.patch(
        f"/api/v1/contacts/{pending['id']}", json={"status": "SUBSCRIBED"}, headers=caller.headers
    )
    assert await counts(client, caller, listed["id"]) == (2, 2)
    await client.delete(f"/api/v1/contacts/{by_email['id']}", headers=caller.headers)
    assert await counts(client, caller, listed["id"]) == (1, 1)
    # A removed member added again is ACTIVE again.
    back = await client.post(path, json={"contact_ids": [subscribed["id"]]}, headers=caller.headers)
    assert back.json()["added"] == [subscribed["id"]]
    assert await counts(client, caller, listed["id"]) == (2, 2)


async def test_deleting_a_list_keeps_its_contacts(
    client: httpx.AsyncClient, caller: Caller
) -> None:
    listed = await make_list(client, caller, "to delete")
    contact = await make_contact(client, caller)
    await client.post(
        f"/api/v1/lists/{listed['id']}/members",
        json={"contact_ids": [contact["id"]]},
        headers=caller.headers,
    )
    assert (
        await client.delete(f"/api/v1/lists/{listed['id']}", headers=caller.headers)
    ).status_code == 204
    assert (
        await client.get(f"/api/v1/lists/{listed['id']}", headers=caller.headers)
    ).status_code == 404
    assert (
        await client.get(f"/api/v1/contacts/{contact['id']}", headers=caller.headers)
    ).status_code == 200


async def test_bodies_are_decoded_as_strictly_as_the_schema_states(
    client: httpx.AsyncClient, caller: Caller
) -> None:
    lax = [
        ("/api/v1/lists", {"name": "strict", "double_opt_in_enabled": 0}),
        ("/api/v1/contacts", {"email": new_address(), "gdpr_consent": 1}),
        ("/api/v1/contacts", {"email": new_address(), "gdpr_consent_date": 0}),
    ]
    for path, body in lax:
        response = await client.post(path, json=body, headers=caller.headers)
        assert response.status_code == 400, (body, response.text)
    fine = await client.post(
        "/api/v1/lists",
        json={"name": "strict", "double_opt_in_enabled": False},
        headers=caller.headers,
    )
    assert fine.status_code == 201
