"""A small fixture set of one user's contacts, lists and campaign engagement (and another
user's look-alike contact, which no rule of the first may ever reach)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar

from openmailer.core.accounts.service import AccountsPorts as Accounts
from tests.integration.accounts.accounts_helpers import Caller, api_key_for, make_user
from tests.integration.segments.segment_helpers import (
    add_campaign,
    add_contact,
    add_list,
    add_member,
    add_recipient,
)

SCOPES = ["read:contacts", "write:contacts"]


@dataclass
class World:
    client: httpx.AsyncClient
    caller: Caller
    other: Caller
    contacts: dict[str, int] = field(default_factory=dict)  # name -> id
    lists: dict[str, int] = field(default_factory=dict)
    campaigns: dict[str, int] = field(default_factory=dict)
    foreign_list: int = 0

    def names(self, ids: list[int]) -> set[str]:
        by_id = {contact_id: name for name, contact_id in self.contacts.items()}
        return {by_id.get(contact_id, f"foreign:{contact_id}") for contact_id in ids}

    async def preview(
        self, conditions: dict[str, Any], *, list_id: int | None = None
    ) -> httpx.Response:
        body: dict[str, Any] = {"conditions": conditions, "limit": 100}
        if list_id is not None:
            body["list_id"] = list_id
        return await self.client.post(
            "/api/v1/segments/preview", json=body, headers=self.caller.headers
        )

    async def matching(self, conditions: dict[str, Any], **options: Any) -> set[str]:
        response = await self.preview(conditions, **options)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["count"] == len(body["contacts"])
        return self.names([contact["id"] for contact in body["contacts"]])


def rule(field_name: str, operator: str, value: Any = None) -> dict[str, Any]:
    return {
        "operator": "AND",
        "rules": [{"field": field_name, "operator": operator, "value": value}],
    }


@pytest.fixture
async def world(app: Litestar, client: httpx.AsyncClient, accounts: Accounts) -> World:
    engine = app.state.resources.engine
    owner, stranger = await make_user(accounts), await make_user(accounts)
    world = World(
        client=client,
        caller=await api_key_for(accounts, owner, SCOPES),
        other=await api_key_for(accounts, stranger, SCOPES),
    )
    now = datetime.now(UTC).replace(tzinfo=None)
    world.contacts["ann"] = await add_contact(
        engine, owner, "ann@example.com", first_name="Ann", last_name="Lee",
        status="SUBSCRIBED", source="API", tags=["vip", "news"],
        custom_fields={
            "location": "New York", "score": 42, "birthday": "1990-05-15",
            "interests": ["tech", "ai"], "nested": {"tier": "gold"},
        },
        created_at=datetime(2024, 3, 1, 10, 0),
    )  # fmt: skip
    world.contacts["bob"] = await add_contact(
        engine, owner, "bob@Example.org", first_name="Bob", last_name="",
        status="UNSUBSCRIBED", source="CSV_IMPORT", tags=["news"],
        custom_fields={
            "location": "Boston", "score": 7.5, "birthday": "1985-12-01", "interests": ["sports"],
        },
        created_at=datetime(2023, 6, 15, 8, 30),
    )  # fmt: skip
    world.contacts["cy"] = await add_contact(
        engine, owner, "cy_100%@test.io", status="PENDING", created_at=datetime(2024, 7, 10)
    )
    world.contacts["dee"] = await add_contact(
        engine, owner, "dee@example.com", first_name="Dee", status="BOUNCED", tags=[],
        custom_fields={"score": "high", "location": ""}, created_at=datetime(2025, 1, 1),
    )  # fmt: skip
    # The stranger's contact looks like Ann in every way; no rule of the owner may reach it.
    await add_contact(
        engine, stranger, "ann@example.com", first_name="Ann", status="SUBSCRIBED",
        tags=["vip", "news"], custom_fields={"location": "New York", "score": 42},
    )  # fmt: skip
    one, two = await add_list(engine, owner), await add_list(engine, owner)
    world.lists = {"one": one, "two": two}
    await add_member(engine, world.contacts["ann"], one)
    await add_member(engine, world.contacts["bob"], one, status="REMOVED")
    await add_member(engine, world.contacts["cy"], one)
    await add_member(engine, world.contacts["dee"], two)
    world.foreign_list = await add_list(engine, stranger)
    first, second = await add_campaign(engine, owner), await add_campaign(engine, owner)
    world.campaigns = {"first": first, "second": second}
    await add_recipient(engine, first, world.contacts["ann"], opened_at=now - timedelta(days=2))
    await add_recipient(engine, first, world.contacts["bob"], opened_at=now - timedelta(days=60))
    await add_recipient(engine, first, world.contacts["dee"])  # sent, never opened
    await add_recipient(engine, second, world.contacts["cy"], opened_at=now, clicked_at=now)
    return world
