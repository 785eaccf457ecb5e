"""Contacts over HTTP on PostgreSQL: addresses, duplicates, tenancy, the status machine, tags."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text

from openmailer.core.accounts.service import AccountsPorts as Accounts
from tests.integration.accounts.accounts_helpers import Caller
from tests.integration.audience.audience_helpers import contacts_caller, engine_of, new_address

pytestmark = pytest.mark.integration


async def create(client: httpx.AsyncClient, caller: Caller, **fields: object) -> httpx.Response:
    body = {"email": new_address(), **fields}
    return await client.post("/api/v1/contacts", json=body, headers=caller.headers)


async def test_an_address_is_trimmed_and_its_domain_lowered_and_idna_encoded(
    client: httpx.AsyncClient, caller: Caller
) -> None:
    response = await create(client, caller, email="  Ann.Lee@Bücher.Example  ", first_name="Ann")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == "Ann.Lee@xn--bcher-kva.example"
    assert body["status"] == "SUBSCRIBED"
    assert body["source"] == "API"
    assert "confirmation_token" not in body


async def test_a_second_contact_with_the_address_in_any_case_is_409_naming_the_first(
    client: httpx.AsyncClient, caller: Caller
) -> None:
    address = new_address("dup")
    first = (await create(client, caller, email=address)).json()
    again = await create(client, caller, email=address.upper())
    assert again.status_code == 409
    assert again.json()["code"] == "contact_exists"
    assert f"id {first['id']}" in again.json()["detail"]


async def test_invalid_addresses_are_422(client: httpx.AsyncClient, caller: Caller) -> None:
    for bad in ("no-at-sign", "two@@example.com", "ann@", "ann@exa mple.com", "a@b..com"):
        response = await create(client, caller, email=bad)
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["code"] == "invalid_email"


async def test_another_users_contact_is_404_everywhere(
    client: httpx.AsyncClient, caller: Caller, accounts: Accounts
) -> None:
    theirs = (await create(client, await contacts_caller(accounts))).json()["id"]
    path = f"/api/v1/contacts/{theirs}"
    assert (await client.get(path, headers=caller.headers)).status_code == 404
    patched = await client.patch(path, json={"first_name": "x"}, headers=caller.headers)
    assert patched.status_code == 404
    assert (await client.delete(path, headers=caller.headers)).status_code == 404


async def test_a_bounced_contact_is_resubscribed_only_with_a_recorded_override(
    client: httpx.AsyncClient, caller: Caller, accounts: Accounts
) -> None:
    contact = (await create(client, caller, status="BOUNCED")).json()
    path = f"/api/v1/contacts/{contact['id']}"
    refused = await client.patch(path, json={"status": "SUBSCRIBED"}, headers=caller.headers)
    assert refused.status_code == 422
    assert refused.json()["code"] == "status_override_required"
    assert (await client.get(path, headers=caller.headers)).json()["status"] == "BOUNCED"

    allowed = await client.patch(
        path,
        json={"status": "SUBSCRIBED", "status_override_reason": "mailbox fixed, owner asked"},
        headers=caller.headers,
    )
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["status"] == "SUBSCRIBED"
    async with engine_of(accounts).connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT from_status, to_status, reason, user_id FROM contact_status_overrides"
                    " WHERE contact_id = :id"
                ),
                {"id": contact["id"]},
            )
        ).all()
    assert [tuple(row) for row in rows] == [
        ("BOUNCED", "SUBSCRIBED", "mailbox fixed, owner asked", caller.user.id)
    ]


async def test_complained_may_unsubscribe_without_override_and_unsubscribing_is_dated(
    client: httpx.AsyncClient, caller: Caller
) -> None:
    contact = (await create(client, caller, status="COMPLAINED")).json()
    path = f"/api/v1/contacts/{contact['id']}"
    pending = await client.patch(path, json={"status": "PENDING"}, headers=caller.headers)
    assert pending.status_code == 422
    moved = await client.patch(path, json={"status": "UNSUBSCRIBED"}, headers=caller.headers)
    assert moved.status_code == 200
    assert moved.json()["status"] == "UNSUBSCRIBED"
    assert moved.json()["unsubscribed_at"] is not None
    again = await client.patch(path, json={"status": "SUBSCRIBED"}, headers=caller.headers)
    assert again.json()["status"] == "SUBSCRIBED"


async def test_tags_are_added_and_removed_without_resending_them(
    client: httpx.AsyncClient, caller: Caller
) -> None:
    contact = (await create(client, caller, tags=["b", "a"])).json()
    assert contact["tags"] == ["a", "b"]
    path = f"/api/v1/contacts/{contact['id']}"
    changed = await client.patch(
        path, json={"add_tags": ["c", "a"], "remove_tags": ["b"]}, headers=caller.headers
    )
    assert changed.json()["tags"] == ["a", "c"]
    replaced = await client.patch(path, json={"tags": ["z"]}, headers=caller.headers)
    assert replaced.json()["tags"] == ["z"]


async def test_fields_names_consent_and_bounds(client: httpx.AsyncClient, caller: Caller) -> None:
    created = await create(
        client,
        caller,
        first_name="Ann",
        last_name="Lee",
        custom_fields={"plan": "pro", "seats": 3, "address": {"city": "Lyon"}},
        gdpr_consent=True,
        gdpr_ip_address="2001:db8::1",
        source="MANUAL",
    )
    body = created.json()
    assert body["custom_fields"]["address"] == {"city": "Lyon"}
    assert body["gdpr_consent"] is True and body["gdpr_consent_date"] is not None
    assert body["gdpr_ip_address"] == "2001:db8::1"
    deep: dict[str, object] = {"v": 1}
    for _ in range(6):
        deep = {"n": deep}
    too_deep = await create(client, caller, custom_fields=deep)
    assert too_deep.status_code == 422
    assert too_deep.json()["code"] == "custom_fields_too_deep"
    too_big = await create(client, caller, custom_fields={"blob": "x" * 20_000})
    assert too_big.json()["code"] == "custom_fields_too_large"
    bad_ip = await create(client, caller, gdpr_consent=True, gdpr_ip_address="not-an-ip")
    assert bad_ip.json()["code"] == "invalid_ip_address"
    path = f"/api/v1/contacts/{body['id']}"
    cleared = await client.patch(path, json={"first_name": ""}, headers=caller.headers)
    assert cleared.json()["first_name"] is None
    assert cleared.json()["last_name"] == "Lee"


async def test_changing_the_address_to_another_contacts_is_409(
    client: httpx.AsyncClient, caller: Caller
) -> None:
    first = (await create(client, caller)).json()
    second = (await create(client, caller)).json()
    response = await client.patch(
        f"/api/v1/contacts/{second['id']}",
        json={"email": first["email"].upper()},
        headers=caller.headers,
    )
    assert response.status_code == 409
    assert f"id {first['id']}" in response.json()["detail"]


async def test_delete_removes_the_contact(client: httpx.AsyncClient, caller: Caller) -> None:
    contact = (await create(client, caller)).json()
    path = f"/api/v1/contacts/{contact['id']}"
    assert (await client.delete(path, headers=caller.headers)).status_code == 204
    assert (await client.get(path, headers=caller.headers)).status_code == 404
