"""`/api/v1/providers` with the SES and SENDGRID types: a wrong field is a 422 naming it,
credentials show as set/unset only, and `/test` asks the real peer (moto's SES quota, the local
SendGrid server's key check) and keeps what failed."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from openmailer.core.accounts.service import AccountsPorts as Accounts
from tests.integration.accounts.accounts_helpers import Caller, api_key_for, make_user
from tests.integration.sending.http_peers import (
    MOTO_ACCESS_KEY,
    MOTO_REGION,
    MOTO_SECRET_KEY,
    MotoSes,
    start_moto,
)
from tests.integration.sending.sendgrid_peer import API_KEY, SendgridServer

pytestmark = pytest.mark.integration
PROVIDERS_URL = "/api/v1/providers"


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoSes]:
    peer = start_moto()
    yield peer
    peer.stop()


@pytest.fixture
def sendgrid() -> Iterator[SendgridServer]:
    server = SendgridServer().start()
    yield server
    server.stop()


async def writer(accounts: Accounts) -> Caller:
    return await api_key_for(
        accounts, await make_user(accounts), ["read:campaigns", "write:campaigns"]
    )


def ses_body(url: str, **configuration: object) -> dict[str, object]:
    return {
        "provider_type": "SES",
        "provider_name": "ses eu",
        "configuration": {
            "region": MOTO_REGION,
            "access_key_id": MOTO_ACCESS_KEY,
            "secret_access_key": MOTO_SECRET_KEY,
            "endpoint_url": url,
            "timeout_seconds": 5,
            **configuration,
        },
    }


def sendgrid_body(url: str, **configuration: object) -> dict[str, object]:
    return {
        "provider_type": "SENDGRID",
        "provider_name": "sendgrid",
        "configuration": {"api_key": API_KEY, "base_url": url, **configuration},
    }


async def test_wrong_ses_and_sendgrid_fields_are_422s_naming_them(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    caller = await writer(accounts)
    cases = [
        (ses_body("http://127.0.0.1:1", region="Mars"), "configuration.region"),
        (ses_body("ftp://127.0.0.1:1"), "configuration.endpoint_url"),
        (ses_body("http://127.0.0.1:1", secret_access_key=""), "configuration.secret_access_key"),
        (sendgrid_body("http://127.0.0.1:1", api_key=None), "configuration.api_key"),
        (sendgrid_body("http://127.0.0.1:1", sandbox_mode="on"), "configuration.sandbox_mode"),
        (sendgrid_body("file:///etc/passwd"), "configuration.base_url"),
    ]
    for body, field in cases:
        response = await client.post(PROVIDERS_URL, headers=caller.headers, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["errors"][0]["field"] == field, response.text


async def test_ses_credentials_show_as_set_and_the_check_reports_the_quota(
    client: httpx.AsyncClient, accounts: Accounts, moto: MotoSes
) -> None:
    caller = await writer(accounts)
    created = await client.post(PROVIDERS_URL, headers=caller.headers, json=ses_body(moto.url))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["credentials"] == {"secret_access_key": "set", "session_token": "unset"}
    assert body["settings"]["region"] == MOTO_REGION
    assert MOTO_SECRET_KEY not in created.text
    answer = await client.post(f"{PROVIDERS_URL}/{body['id']}/test", headers=caller.headers)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["ok"] is True and "messages per 24 hours" in report["detail"]


async def test_an_unreachable_ses_endpoint_fails_the_check_at_connect(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    caller = await writer(accounts)
    body = ses_body("http://127.0.0.1:9", timeout_seconds=1)
    created = (await client.post(PROVIDERS_URL, headers=caller.headers, json=body)).json()
    report = (
        await client.post(f"{PROVIDERS_URL}/{created['id']}/test", headers=caller.headers)
    ).json()
    assert report["ok"] is False and report["stage"] == "connect"
    kept = (await client.get(f"{PROVIDERS_URL}/{created['id']}", headers=caller.headers)).json()
    assert kept["status"] == "ERROR" and kept["last_error"].startswith("connect: ")


async def test_the_sendgrid_key_is_checked_against_the_server(
    client: httpx.AsyncClient, accounts: Accounts, sendgrid: SendgridServer
) -> None:
    caller = await writer(accounts)
    good = (
        await client.post(PROVIDERS_URL, headers=caller.headers, json=sendgrid_body(sendgrid.url))
    ).json()
    assert good["credentials"] == {"api_key": "set"} and API_KEY not in str(good)
    assert good["settings"]["base_url"] == sendgrid.url
    report = (
        await client.post(f"{PROVIDERS_URL}/{good['id']}/test", headers=caller.headers)
    ).json()
    assert report["ok"] is True

    wrong = (
        await client.post(
            PROVIDERS_URL,
            headers=caller.headers,
            json=sendgrid_body(sendgrid.url, api_key="SG.revoked"),
        )
    ).json()
    report = (
        await client.post(f"{PROVIDERS_URL}/{wrong['id']}/test", headers=caller.headers)
    ).json()
    assert report["ok"] is False and report["stage"] == "auth"
    assert report["detail"].startswith("401 ")
    kept = (await client.get(f"{PROVIDERS_URL}/{wrong['id']}", headers=caller.headers)).json()
    assert kept["status"] == "ERROR" and kept["last_error"].startswith("auth: 401")
