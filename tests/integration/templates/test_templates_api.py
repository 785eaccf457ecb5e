"""`/api/v1/templates` on real PostgreSQL and sender_rs: CRUD, compile errors, versions
(concurrent edits included), previews, tenancy."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from openmailer.core.accounts.service import AccountsPorts as Accounts
from tests.integration.accounts.accounts_helpers import engine_of
from tests.integration.segments.segment_helpers import add_contact
from tests.integration.templates.templates_helpers import create, created, designer, unique_name

pytestmark = pytest.mark.integration


async def test_a_template_is_created_read_listed_and_deleted(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    who = await designer(accounts)
    body = await created(client, who, template_type="WELCOME", description="first mail")
    assert body["version"] == 1 and body["is_active"] and body["is_html"]
    assert body["template_type"] == "WELCOME" and body["description"] == "first mail"
    assert body["text"].startswith("Hello") and body["preview_text"] == "Your first steps"
    path = f"/api/v1/templates/{body['id']}"

    assert (await client.get(path, headers=who.headers)).json() == body
    listed = (await client.get("/api/v1/templates", headers=who.headers)).json()
    assert listed["total"] == 1 and listed["items"] == [body]

    assert (await client.delete(path, headers=who.headers)).status_code == 204
    assert (await client.get(path, headers=who.headers)).status_code == 404
    versions = await client.get(f"{path}/versions", headers=who.headers)
    assert versions.status_code == 404


async def test_names_are_unique_per_user_and_the_conflict_names_the_template(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    who, other = await designer(accounts), await designer(accounts)
    first = await created(client, who)
    again = await create(client, who, name=first["name"])
    assert again.status_code == 409
    assert again.json()["code"] == "template_name_taken"
    assert f"id {first['id']}" in again.json()["detail"]
    # Another user may use the same name.
    assert (await create(client, other, name=first["name"])).status_code == 201

    second = await created(client, who)
    renamed = await client.patch(
        f"/api/v1/templates/{second['id']}", headers=who.headers, json={"name": first["name"]}
    )
    assert renamed.status_code == 409 and f"id {first['id']}" in renamed.json()["detail"]


@pytest.mark.parametrize(
    ("part", "broken", "line", "column"),
    [
        ("html", "<p>ok</p>\n<p>{{ nickname }}</p>", 2, 7),
        ("text", "line one\nline two {{ first_name", 2, 10),
        ("subject", "Hi {{ custom. }}", 1, 7),
    ],
)
async def test_a_part_sender_rs_cannot_compile_is_a_422_with_part_line_and_column(
    client: httpx.AsyncClient, accounts: Accounts, part: str, broken: str, line: int, column: int
) -> None:
    who = await designer(accounts)
    response = await create(client, who, **{part: broken})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "template_invalid"
    assert (problem["part"], problem["line"], problem["column"]) == (part, line, column)
    assert problem["errors"][0]["field"] == part

    # An edit is compiled the same way and leaves the template as it was.
    good = await created(client, who)
    path = f"/api/v1/templates/{good['id']}"
    edit = await client.patch(path, headers=who.headers, json={part: broken})
    assert edit.status_code == 422 and edit.json()["part"] == part
    assert (await client.get(path, headers=who.headers)).json() == good


async def test_content_rules_are_422s_naming_the_field(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    who = await designer(accounts)
    cases = [
        ({"subject": "Hi\r\nBcc: x@y.z"}, "subject"),
        ({"subject": "   "}, "subject"),
        ({"html": None}, "html"),
        ({"is_html": False}, "html"),  # a text-only template has no html
        ({"is_html": False, "html": None, "text": None}, "text"),
        ({"html": "x" * 400_001}, "html"),
    ]
    for extra, field in cases:
        response = await create(client, who, **extra)
        assert response.status_code == 422, (extra, response.text)
        assert response.json()["errors"][0]["field"] == field, extra
    text_only = await created(client, who, is_html=False, html=None)
    assert text_only["is_html"] is False and text_only["html"] is None


async def test_content_edits_make_versions_and_settings_edits_do_not(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    who = await designer(accounts)
    body = await created(client, who)
    path = f"/api/v1/templates/{body['id']}"

    renamed = await client.patch(
        path, headers=who.headers, json={"name": unique_name(), "is_active": False}
    )
    assert renamed.status_code == 200 and renamed.json()["version"] == 1
    assert renamed.json()["is_active"] is False
    same = await client.patch(path, headers=who.headers, json={"subject": body["subject"]})
    assert same.json()["version"] == 1  # the same content is no new version

    edited = await client.patch(path, headers=who.headers, json={"subject": "New subject"})
    assert edited.json()["version"] == 2 and edited.json()["subject"] == "New subject"
    cleared = await client.patch(path, headers=who.headers, json={"text": None})
    assert cleared.json()["version"] == 3 and cleared.json()["text"] is None
    assert cleared.json()["html"] == body["html"]

    versions = (await client.get(f"{path}/versions", headers=who.headers)).json()
    assert versions["total"] == 3
    assert [v["version"] for v in versions["items"]] == [3, 2, 1]
    assert versions["items"][2]["subject"] == body["subject"]
    assert versions["items"][0]["created_by"] == who.user.id
    one = (await client.get(f"{path}/versions/1", headers=who.headers)).json()
    assert one["subject"] == body["subject"] and one["text"] == body["text"]
    assert (await client.get(f"{path}/versions/4", headers=who.headers)).status_code == 404
    paged = await client.get(f"{path}/versions?limit=1&offset=1", headers=who.headers)
    assert [v["version"] for v in paged.json()["items"]] == [2]


async def test_concurrent_edits_get_consecutive_versions(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    who = await designer(accounts)
    body = await created(client, who)
    path = f"/api/v1/templates/{body['id']}"
    edits = 6
    answers = await asyncio.gather(
        *(
            client.patch(path, headers=who.headers, json={"subject": f"Edit {n}"})
            for n in range(edits)
        )
    )
    assert all(answer.status_code == 200 for answer in answers), [a.text for a in answers]
    assert sorted(answer.json()["version"] for answer in answers) == list(range(2, edits + 2))
    versions = (await client.get(f"{path}/versions", headers=who.headers)).json()
    assert [v["version"] for v in versions["items"]] == list(range(edits + 1, 0, -1))
    current = (await client.get(path, headers=who.headers)).json()
    assert current["version"] == edits + 1
    assert current["subject"] == versions["items"][0]["subject"]


async def test_a_preview_renders_for_a_contact_or_sample_data_and_any_version(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    who = await designer(accounts)
    body = await created(client, who)
    path = f"/api/v1/templates/{body['id']}"
    contact = await add_contact(
        engine_of(accounts), who.user, "ada@example.net", first_name="Ada",
        custom_fields={"city": "London"},
    )  # fmt: skip

    for_contact = await client.post(
        f"{path}/preview", headers=who.headers, json={"contact_id": contact}
    )
    assert for_contact.status_code == 200, for_contact.text
    rendered = for_contact.json()
    assert rendered["subject"] == "Welcome, Ada"
    assert "Hello Ada from London" in rendered["html"]
    assert "Hello Ada from London" in rendered["text"]

    sample = await client.post(
        f"{path}/preview", headers=who.headers, json={"variables": {"city": "<Paris>"}}
    )
    assert sample.json()["subject"] == "Welcome, friend"
    assert "from &lt;Paris&gt;" in sample.json()["html"]  # escaped in HTML, raw in text
    assert "from <Paris>" in sample.json()["text"]

    await client.patch(path, headers=who.headers, json={"subject": "Version two"})
    old = await client.post(
        f"{path}/preview?version=1", headers=who.headers, json={"variables": {}}
    )
    assert old.json()["subject"] == "Welcome, friend"
    new = await client.post(f"{path}/preview", headers=who.headers, json={"variables": {}})
    assert new.json()["subject"] == "Version two"

    both = await client.post(
        f"{path}/preview", headers=who.headers, json={"contact_id": contact, "variables": {}}
    )
    assert both.status_code == 422
    assert (await client.post(f"{path}/preview", headers=who.headers, json={})).status_code == 422
    missing = await client.post(
        f"{path}/preview?version=9", headers=who.headers, json={"variables": {}}
    )
    assert missing.status_code == 404


async def test_another_users_template_and_contact_are_404s(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    who, other = await designer(accounts), await designer(accounts)
    theirs = await created(client, other)
    path = f"/api/v1/templates/{theirs['id']}"
    for method, url, json in [
        ("GET", path, None),
        ("PATCH", path, {"subject": "mine now"}),
        ("DELETE", path, None),
        ("GET", f"{path}/versions", None),
        ("GET", f"{path}/versions/1", None),
        ("POST", f"{path}/preview", {"variables": {}}),
    ]:
        response = await client.request(method, url, headers=who.headers, json=json)
        assert response.status_code == 404, (method, url, response.text)
    assert (await client.get("/api/v1/templates", headers=who.headers)).json()["total"] == 0

    mine = await created(client, who)
    their_contact = await add_contact(engine_of(accounts), other.user, "x@example.net")
    preview = await client.post(
        f"/api/v1/templates/{mine['id']}/preview",
        headers=who.headers,
        json={"contact_id": their_contact},
    )
    assert preview.status_code == 404
    unchanged = (await client.get(path, headers=other.headers)).json()
    assert unchanged == theirs


async def test_a_template_a_campaign_uses_cannot_be_deleted(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    from sqlalchemy import insert

    from openmailer.adapters.db.tables import EmailCampaign

    who = await designer(accounts)
    body = await created(client, who)
    async with engine_of(accounts).begin() as conn:
        await conn.execute(
            insert(EmailCampaign.__table__).values(
                name="uses it", template_id=body["id"], created_by=who.user.id
            )
        )
    response = await client.delete(f"/api/v1/templates/{body['id']}", headers=who.headers)
    assert response.status_code == 409 and response.json()["code"] == "template_in_use"
    still = await client.get(f"/api/v1/templates/{body['id']}/versions", headers=who.headers)
    assert still.json()["total"] == 1
