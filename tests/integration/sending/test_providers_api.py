"""`/api/v1/providers`: sealed configurations, 422s naming the field, one default per user, the
credentials check against aiosmtpd, a third-party plugin's type, the dump and key rotation."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator

import httpx
import openmailer_test_provider
import pytest
from litestar import Litestar
from sqlalchemy import select

from openmailer.adapters.crypto.rotation import rotate_sealed_columns
from openmailer.adapters.crypto.secret_box import AesGcmSecretBox
from openmailer.adapters.db.providers import PROVIDERS
from openmailer.adapters.settings import SecretKey, Settings
from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.sending.contract import OutgoingMessage, RenderedParts
from openmailer.core.sending.outcomes import OutcomeKind
from tests.integration.accounts.accounts_helpers import Caller, api_key_for, make_user
from tests.integration.accounts.test_two_factor_and_secrets import database_dump
from tests.integration.sending.sending_helpers import engine_of, principal_of, sending_of
from tests.integration.sending.smtp_sink import PASSWORD, USER, CountingController, start_sink

pytestmark = pytest.mark.integration
PROVIDERS_URL = "/api/v1/providers"


@pytest.fixture
def sink() -> Iterator[CountingController]:
    controller = start_sink(require_auth=True)
    yield controller
    controller.stop()


async def writer(accounts: Accounts) -> Caller:
    return await api_key_for(
        accounts, await make_user(accounts), ["read:campaigns", "write:campaigns"]
    )


def smtp_body(port: int, *, password: str = PASSWORD, **extra: object) -> dict[str, object]:
    return {
        "provider_type": "SMTP",
        "provider_name": "office relay",
        "configuration": {
            "host": "127.0.0.1",
            "port": port,
            "username": USER,
            "password": password,
            "use_tls": False,
            "timeout_seconds": 5,
        },
        **extra,
    }


async def test_a_configuration_is_sealed_and_never_returned(
    client: httpx.AsyncClient, accounts: Accounts, accounts_settings: Settings
) -> None:
    caller = await writer(accounts)
    secret = "pw-" + base64.b32encode(os.urandom(10)).decode()
    created = await client.post(
        PROVIDERS_URL, headers=caller.headers, json=smtp_body(2525, password=secret)
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["credentials"] == {"password": "set", "username": "set"}
    assert body["settings"]["host"] == "127.0.0.1" and "password" not in body["settings"]
    assert secret not in created.text and USER not in created.text
    read = await client.get(f"{PROVIDERS_URL}/{body['id']}", headers=caller.headers)
    assert read.json() == body
    listed = await client.get(PROVIDERS_URL, headers=caller.headers)
    assert [item["id"] for item in listed.json()["items"]] == [body["id"]]

    async with engine_of(accounts).connect() as conn:
        stored = await conn.scalar(
            select(PROVIDERS.c.configuration).where(PROVIDERS.c.id == body["id"])
        )
    assert stored.startswith("v1:k2:") and secret not in stored
    dump = await database_dump(accounts_settings.database_url or "")
    assert "office relay" in dump  # the dump is real
    assert secret not in dump and USER not in dump


async def test_wrong_configurations_are_422s_naming_the_field(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    caller = await writer(accounts)
    cases = [
        ({"configuration": {"host": "127.0.0.1", "port": "587"}}, "configuration.port"),
        ({"configuration": {"port": 25}}, "configuration.host"),
        ({"configuration": {"host": "h", "colour": "red"}}, "configuration.colour"),
        ({"provider_type": "CARRIER_PIGEON"}, "provider_type"),
    ]
    for change, field in cases:
        response = await client.post(
            PROVIDERS_URL, headers=caller.headers, json={**smtp_body(25), **change}
        )
        assert response.status_code == 422, (change, response.text)
        assert response.json()["errors"][0]["field"] == field, response.text
    # Litestar would read 0 as false; the switches mean what the client wrote.
    lenient = await client.post(
        PROVIDERS_URL, headers=caller.headers, json={**smtp_body(25), "is_default": 0}
    )
    assert lenient.status_code == 400, lenient.text


async def test_one_default_per_user_and_patch_merges_the_configuration(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    caller = await writer(accounts)
    first = (
        await client.post(
            PROVIDERS_URL, headers=caller.headers, json=smtp_body(25, is_default=True)
        )
    ).json()
    second = (
        await client.post(
            PROVIDERS_URL, headers=caller.headers, json=smtp_body(26, is_default=True, priority=1)
        )
    ).json()
    assert second["is_default"] and second["priority"] == 1
    first_now = (await client.get(f"{PROVIDERS_URL}/{first['id']}", headers=caller.headers)).json()
    assert not first_now["is_default"]

    patched = await client.patch(
        f"{PROVIDERS_URL}/{first['id']}",
        headers=caller.headers,
        json={"is_default": True, "configuration": {"port": 2526, "username": None}},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["settings"]["port"] == 2526
    assert patched.json()["credentials"] == {"password": "set", "username": "unset"}
    second_now = (
        await client.get(f"{PROVIDERS_URL}/{second['id']}", headers=caller.headers)
    ).json()
    assert not second_now["is_default"] and patched.json()["is_default"]

    limits = await client.patch(
        f"{PROVIDERS_URL}/{first['id']}",
        headers=caller.headers,
        json={"daily_limit": 500, "monthly_limit": 10000},
    )
    assert (limits.json()["daily_limit"], limits.json()["monthly_limit"]) == (500, 10000)
    bad = await client.patch(
        f"{PROVIDERS_URL}/{first['id']}",
        headers=caller.headers,
        json={"configuration": {"port": 0}},
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "configuration.port"

    deleted = await client.delete(f"{PROVIDERS_URL}/{first['id']}", headers=caller.headers)
    assert deleted.status_code == 204
    gone = await client.get(f"{PROVIDERS_URL}/{first['id']}", headers=caller.headers)
    assert gone.status_code == 404


async def test_the_check_answers_what_failed_and_keeps_it(
    client: httpx.AsyncClient, accounts: Accounts, sink: CountingController
) -> None:
    caller = await writer(accounts)
    good = (
        await client.post(PROVIDERS_URL, headers=caller.headers, json=smtp_body(sink.port))
    ).json()
    answer = await client.post(f"{PROVIDERS_URL}/{good['id']}/test", headers=caller.headers)
    assert answer.status_code == 200 and answer.json() == {
        "ok": True,
        "stage": None,
        "detail": None,
    }

    wrong = (
        await client.post(
            PROVIDERS_URL, headers=caller.headers, json=smtp_body(sink.port, password="nope")
        )
    ).json()
    answer = await client.post(f"{PROVIDERS_URL}/{wrong['id']}/test", headers=caller.headers)
    assert answer.json()["ok"] is False and answer.json()["stage"] == "auth"
    assert "535" in answer.json()["detail"]
    kept = (await client.get(f"{PROVIDERS_URL}/{wrong['id']}", headers=caller.headers)).json()
    assert kept["status"] == "ERROR" and kept["last_error"].startswith("auth: 535")
    assert kept["last_error_at"] is not None


async def test_a_third_party_provider_type_is_created_and_sends_through_the_port(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    assert app.state.areas.providers.plugin_of("RECORDING") == "test_provider"
    caller = await writer(accounts)
    body = {
        "provider_type": "RECORDING",
        "provider_name": "theirs",
        "configuration": {"endpoint": "https://api.example.net", "token": "tok-123456"},
    }
    created = await client.post(PROVIDERS_URL, headers=caller.headers, json=body)
    assert created.status_code == 201, created.text
    assert created.json()["credentials"] == {"token": "set"} and "tok-" not in created.text
    refused = await client.post(
        PROVIDERS_URL,
        headers=caller.headers,
        json={**body, "configuration": {"endpoint": "http://plain", "token": "tok-123456"}},
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "configuration.endpoint"

    provider_type, provider_client = await sending_of(app).open_client(
        principal_of(caller.user), created.json()["id"]
    )
    batch = [
        OutgoingMessage(
            message_id=f"<p{n}@example.com>",
            sender="bounces@example.com",
            recipients=(recipient,),
            subject="Hi",
            parts=RenderedParts(subject="Hi", text="Hello"),
        )
        for n, recipient in enumerate(["ann@example.org", "bounce@example.org", "later@x.org"])
    ]
    outcomes = await provider_client.send_batch(batch)
    await provider_client.aclose()
    assert provider_type.message_form == "parts"
    assert [o.kind for o in outcomes] == [
        OutcomeKind.ACCEPTED,
        OutcomeKind.PERMANENT,
        OutcomeKind.TRANSIENT,
    ]
    user_id, endpoint, sent = openmailer_test_provider.SENT[-1]
    assert (user_id, endpoint, len(sent)) == (caller.user.id, "https://api.example.net", 3)


async def test_keys_rotate_re_encrypts_provider_configurations(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts, accounts_settings: Settings
) -> None:
    caller = await writer(accounts)
    created = (
        await client.post(PROVIDERS_URL, headers=caller.headers, json=smtp_body(2527))
    ).json()
    newest = SecretKey("k3", os.urandom(32))
    box = AesGcmSecretBox((*accounts_settings.secret_keys, newest))
    engine = engine_of(accounts)
    assert await rotate_sealed_columns(engine, box) >= 1
    async with engine.connect() as conn:
        stored = await conn.scalar(
            select(PROVIDERS.c.configuration).where(PROVIDERS.c.id == created["id"])
        )
    assert stored.startswith("v1:k3:")
    opened = box.open(stored, table="email_providers", column="configuration", row_id=created["id"])
    assert PASSWORD.encode() in opened
    # Back under the app's newest key, so later tests (and the app) can open every row.
    keys = accounts_settings.secret_keys
    back = AesGcmSecretBox((*keys[:-1], newest, keys[-1]))
    assert await rotate_sealed_columns(engine, back) >= 1
