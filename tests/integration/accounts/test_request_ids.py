"""Every answer carries `X-Request-ID`, problem bodies repeat it: also those Litestar gives before
any route is found (unknown path, wrong method)."""

from __future__ import annotations

import httpx
import pytest

from openmailer.core.accounts.service import AccountsPorts as Accounts
from tests.integration.accounts.accounts_helpers import make_user, session_for

pytestmark = pytest.mark.integration


def assert_identified_problem(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    request_id = response.headers["x-request-id"]
    assert response.json()["request_id"] == request_id
    return request_id


@pytest.mark.parametrize("path", ["/no-such-page", "/api/v1/no-such-resource"])
async def test_an_unknown_path_answers_404_with_a_request_id(
    client: httpx.AsyncClient, path: str
) -> None:
    assert_identified_problem(await client.get(path), 404)


async def test_a_wrong_method_answers_405_with_a_request_id(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    caller = await session_for(accounts, await make_user(accounts))
    response = await client.put("/api/v1/me", headers=caller.headers)
    assert_identified_problem(response, 405)
    assert "GET" in response.headers["allow"]


async def test_the_callers_own_request_id_is_echoed_on_a_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/no-such-page", headers={"X-Request-ID": "client-id-0001"})
    assert assert_identified_problem(response, 404) == "client-id-0001"


async def test_a_non_numeric_path_id_answers_404_with_a_request_id(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    admin = await session_for(accounts, await make_user(accounts, admin=True))
    assert_identified_problem(await client.get("/api/v1/users/abc", headers=admin.headers), 404)
