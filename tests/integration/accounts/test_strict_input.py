"""Integers are ASCII digits written one way, and JSON bodies come as application/json: every
integer parameter and every JSON operation the OpenAPI document lists is walked."""

from __future__ import annotations

import re

import httpx
import pytest
from litestar import Litestar

from openmailer.core.accounts.service import AccountsPorts as Accounts
from tests.integration.accounts.accounts_helpers import (
    Caller,
    concrete_path,
    json_operations,
    make_user,
    session_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.contract]

LOOSE_INTEGERS = ["\u0663", "+1", "0001", "1_0", " 1", "1e2", "-1", "1.0", "\uff11"]


@pytest.fixture
async def admin(accounts: Accounts) -> Caller:
    return await session_for(accounts, await make_user(accounts, admin=True))


def assert_not_found(response: httpx.Response, name: str) -> None:
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert name in response.json()["detail"] or response.json()["detail"] == "Not Found"


def assert_bad_request(response: httpx.Response, field: str) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [error["field"] for error in response.json()["errors"]] == [field]


@pytest.mark.parametrize("spelling", LOOSE_INTEGERS)
async def test_a_path_id_is_ascii_digits_without_sign_or_leading_zeros(
    client: httpx.AsyncClient, admin: Caller, spelling: str
) -> None:
    """Whether Python's int() would read it or not, a loose id names no resource."""
    own_id = admin.user.id
    loose = spelling.replace("1", str(own_id)) if spelling.isascii() else spelling
    response = await client.get(f"/api/v1/users/{loose}", headers=admin.headers)
    assert_not_found(response, "user_id")
    revoke = await client.delete(f"/api/v1/api-keys/{loose}", headers=admin.headers)
    assert_not_found(revoke, "key_id")
    assert (await client.get(f"/api/v1/users/{own_id}", headers=admin.headers)).status_code == 200


@pytest.mark.parametrize("spelling", [*LOOSE_INTEGERS, "05", "1e1", ""])
async def test_a_query_integer_is_ascii_digits_without_sign_or_leading_zeros(
    client: httpx.AsyncClient, admin: Caller, spelling: str
) -> None:
    for name in ("limit", "offset"):
        response = await client.get("/api/v1/users", params={name: spelling}, headers=admin.headers)
        assert_bad_request(response, name)
    page = await client.get(
        "/api/v1/users", params={"limit": "10", "offset": "0"}, headers=admin.headers
    )
    assert page.status_code == 200 and page.json()["limit"] == 10


async def test_every_integer_parameter_in_the_document_is_checked(
    app: Litestar, client: httpx.AsyncClient, admin: Caller
) -> None:
    document = app.openapi_schema.to_schema()
    checked = 0
    for template, item in document["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                if parameter["schema"].get("type") != "integer":
                    continue
                name, query = parameter["name"], {}
                path = template.replace("{" + name + "}", "0001")
                if parameter["in"] != "path":
                    query = {name: "1e1"}
                path = re.sub(r"\{[^}]+\}", "1", path)
                body = {} if "requestBody" in operation else None
                response = await client.request(
                    method.upper(), path, params=query, json=body, headers=admin.headers
                )
                if parameter["in"] == "path":
                    assert response.status_code == 404, (method, path, response.text)
                    assert parameter["name"] in response.json()["detail"]
                else:
                    assert_bad_request(response, parameter["name"])
                checked += 1
    assert checked >= 7


async def test_every_json_operation_refuses_another_content_type_with_415(
    app: Litestar, client: httpx.AsyncClient, admin: Caller
) -> None:
    operations = json_operations(app.openapi_schema.to_schema())
    assert len(operations) >= 7
    body = b'{"identifier": "nobody", "password": "a long password"}'
    for method, template, _ in operations:
        path = concrete_path(template, admin.user.id)
        for content_type in ("text/plain", None, "application/json; charset=latin-1"):
            headers = dict(admin.headers)
            if content_type is not None:
                headers["Content-Type"] = content_type
            response = await client.request(method.upper(), path, content=body, headers=headers)
            assert response.status_code == 415, (method, path, content_type, response.text)
            assert response.json()["code"] == "unsupported_media_type"


async def test_every_json_operation_refuses_nul_in_any_string_with_422_naming_it(
    app: Litestar, client: httpx.AsyncClient, admin: Caller
) -> None:
    operations = json_operations(app.openapi_schema.to_schema())
    # PostgreSQL text cannot hold NUL: refused before any handler (it would fail at the database).
    bodies = [
        (b'{"name": "a\\u0000b"}', "name"),
        (b'{"x": [1, {"a/b": "ok", "c~": ["\\u0000"]}]}', "/x/1/c~0/0"),
        (b'{"ke\\u0000y": 1}', "ke\x00y"),
    ]
    for method, template, _ in operations:
        path = concrete_path(template, admin.user.id)
        for body, pointer in bodies:
            headers = {**admin.headers, "Content-Type": "application/json"}
            response = await client.request(method.upper(), path, content=body, headers=headers)
            assert response.status_code == 422, (method, path, body, response.text)
            problem = response.json()
            assert problem["code"] == "invalid_text", (method, path, problem)
            assert problem["errors"][0]["field"] == pointer
    # A backslash before "u0000" is text, not NUL.
    literal = await client.post(
        "/api/v1/auth/login",
        content=b'{"identifier": "nobody", "password": "a long\\\\u0000password"}',
        headers={"Content-Type": "application/json"},
    )
    assert literal.status_code == 401, literal.text


async def test_json_with_a_utf8_charset_is_json(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    response = await client.post(
        "/api/v1/auth/login",
        content=b'{"identifier": "nobody", "password": "a long password"}',
        headers={"Content-Type": "application/json; charset=UTF-8"},
    )
    assert response.status_code == 401 and response.json()["code"] == "invalid_credentials"


def test_the_document_lists_415_for_operations_with_a_body_only(app: Litestar) -> None:
    document = app.openapi_schema.to_schema()
    with_body = {(method, path) for method, path, _ in json_operations(document)}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            # A CSV upload (multipart/form-data) refuses other media types with 415 too.
            takes_form = "multipart/form-data" in content
            assert ("415" in operation["responses"]) == (
                (method, path) in with_body or takes_form
            ), (method, path)


@pytest.mark.parametrize(
    "loose",
    [
        {"name": "sync", "scopes": ["read:contacts"], "test": 0},  # 0 is not false
        {"name": "sync", "scopes": ["read:contacts"], "expires_at": 4102444800},  # not a time
        {"name": 7, "scopes": ["read:contacts"]},  # a number is not a name
    ],
)
async def test_a_body_is_read_as_strictly_as_the_document_states_it(
    client: httpx.AsyncClient, accounts: Accounts, loose: dict[str, object]
) -> None:
    """Litestar's lax conversion took these (an `om_test_` key was made from `"test": 0`)."""
    caller = await session_for(accounts, await make_user(accounts))

    response = await client.post("/api/v1/api-keys", json=loose, headers=caller.headers)

    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_request"
    listed = await client.get("/api/v1/api-keys", headers=caller.headers)
    assert listed.json()["total"] == 0
