"""Bodies the JSON decoder or the datetime type cannot take are 4xx problems on every JSON
operation of the OpenAPI document, never a 500."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

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

pytestmark = pytest.mark.integration

UNDECODABLE = {
    "invalid UTF-8": b'{"name": "\xff\xfe", "identifier": "\xc3\x28"}',
    "100,000 arrays deep": b"[" * 100_000 + b"]" * 100_000,
    "100,000 objects deep": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
}
# Valid ISO 8601, but outside the years 1-9999 once the offset is applied.
UNREPRESENTABLE_TIMES = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"]


def body_schema(document: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = operation["requestBody"]["content"]["application/json"]["schema"]
    return resolve(document, schema)


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        resolved: dict[str, Any] = document["components"]["schemas"][name]
        return resolved
    return schema


def is_date_time(schema: dict[str, Any]) -> bool:
    alternatives = schema.get("oneOf", []) + schema.get("anyOf", [])
    return schema.get("format") == "date-time" or any(map(is_date_time, alternatives))


def required_example(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The smallest body the schema accepts, from its required properties' examples."""
    body: dict[str, Any] = {}
    for name in schema.get("required", []):
        prop = resolve(document, schema["properties"][name])
        if "examples" in prop:
            body[name] = prop["examples"][0]
        elif prop.get("type") == "array":
            body[name] = []
        else:
            raise AssertionError(f"add an example for the required property {name!r}")
    return body


@pytest.fixture
async def admin(accounts: Accounts) -> Caller:
    return await session_for(accounts, await make_user(accounts, admin=True))


def assert_client_error(response: httpx.Response, *context: object) -> None:
    assert response.status_code in (400, 422), (*context, response.status_code, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["request_id"] == response.headers["x-request-id"]


@pytest.mark.parametrize("body", UNDECODABLE.values(), ids=UNDECODABLE.keys())
async def test_every_json_operation_answers_an_undecodable_body_with_400(
    app: Litestar, client: httpx.AsyncClient, admin: Caller, body: bytes
) -> None:
    operations = json_operations(app.openapi_schema.to_schema())
    assert len(operations) >= 7
    headers = {**admin.headers, "Content-Type": "application/json"}
    for method, template, _ in operations:
        path = concrete_path(template, admin.user.id)
        response = await client.request(method.upper(), path, content=body, headers=headers)
        assert_client_error(response, method, path)
        assert response.status_code == 400


async def test_every_date_time_field_refuses_a_time_its_offset_pushes_out_of_range(
    app: Litestar, client: httpx.AsyncClient, admin: Caller
) -> None:
    document = app.openapi_schema.to_schema()
    checked = 0
    for method, template, operation in json_operations(document):
        schema = body_schema(document, operation)
        date_fields = [name for name, p in schema.get("properties", {}).items() if is_date_time(p)]
        if not date_fields:
            continue
        path = concrete_path(template, admin.user.id)
        body = required_example(document, schema)
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        accepted = await client.request(
            method.upper(),
            path,
            json=body | dict.fromkeys(date_fields, tomorrow),
            headers=admin.headers,
        )
        # The body itself is valid: taken, or (a route on a resource that does not exist, such
        # as a campaign's schedule) refused only for the missing resource, never for its input.
        assert accepted.status_code < 300 or accepted.status_code == 404, accepted.text
        for name in date_fields:
            for moment in UNREPRESENTABLE_TIMES:
                response = await client.request(
                    method.upper(), path, json=body | {name: moment}, headers=admin.headers
                )
                assert_client_error(response, method, path, name, moment)
                checked += 1
    assert checked >= 2  # POST /api/v1/api-keys: expires_at
