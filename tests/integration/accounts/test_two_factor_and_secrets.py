from __future__ import annotations

import asyncio
import shutil
import time

import asyncpg
import httpx
import pytest

from openmailer.adapters.crypto.secret_box import AesGcmSecretBox
from openmailer.adapters.settings import SecretKey, Settings
from openmailer.core.accounts import totp
from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.errors import SecretUnavailable
from tests.integration.accounts.accounts_helpers import PASSWORD, make_user, session_for

pytestmark = pytest.mark.integration


def code(secret: str, steps_ahead: int = 0) -> str:
    return totp.hotp(totp.decode_secret(secret), totp.time_step(time.time()) + steps_ahead)


async def enrol(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    begin = await client.post("/api/v1/me/two-factor", headers=headers, json={"password": PASSWORD})
    assert begin.status_code == 201, begin.text
    body = begin.json()
    assert body["otpauth_uri"].startswith("otpauth://totp/OpenMailer:")
    confirm = await client.post(
        "/api/v1/me/two-factor/confirm",
        headers=headers,
        json={"password": PASSWORD, "code": code(body["secret"])},
    )
    assert confirm.status_code == 204, confirm.text
    return str(body["secret"])


async def login(client: httpx.AsyncClient, username: str, **extra: str) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/login", json={"identifier": username, "password": PASSWORD, **extra}
    )


async def test_two_factor_is_required_once_enabled_and_a_used_code_is_rejected(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    user = await make_user(accounts)
    caller = await session_for(accounts, user)
    secret = await enrol(client, caller.headers)

    missing = await login(client, user.username)
    assert missing.status_code == 401 and missing.json()["code"] == "two_factor_required"
    # The confirmation used the current step: that code cannot be replayed at login.
    replayed = await login(client, user.username, totp_code=code(secret))
    assert replayed.status_code == 401 and replayed.json()["code"] == "invalid_totp"
    fresh = code(secret, steps_ahead=1)
    assert (await login(client, user.username, totp_code=fresh)).status_code == 200
    again = await login(client, user.username, totp_code=fresh)
    assert again.status_code == 401 and again.json()["code"] == "invalid_totp"


async def test_disabling_two_factor_needs_password_and_code(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    user = await make_user(accounts)
    caller = await session_for(accounts, user)
    secret = await enrol(client, caller.headers)
    wrong_password = await client.post(
        "/api/v1/me/two-factor/disable",
        headers=caller.headers,
        json={"password": "not the password", "code": code(secret, 1)},
    )
    assert wrong_password.status_code == 422
    disabled = await client.post(
        "/api/v1/me/two-factor/disable",
        headers=caller.headers,
        json={"password": PASSWORD, "code": code(secret, 1)},
    )
    assert disabled.status_code == 204, disabled.text
    assert (await login(client, user.username)).status_code == 200


async def test_totp_secret_is_sealed_and_bound_to_its_row(
    client: httpx.AsyncClient, accounts: Accounts, accounts_settings: Settings
) -> None:
    user = await make_user(accounts)
    secret = await enrol(client, (await session_for(accounts, user)).headers)
    stored = await accounts.users.get(user.id)
    assert stored is not None and stored.two_factor_secret is not None
    sealed = stored.two_factor_secret
    assert secret not in sealed and sealed.startswith("v1:k2:")
    box = accounts.secret_box
    assert box.open(sealed, table="users", column="two_factor_secret", row_id=user.id) == (
        secret.encode()
    )
    with pytest.raises(SecretUnavailable):  # copied to another user's row
        box.open(sealed, table="users", column="two_factor_secret", row_id=user.id + 1)
    with pytest.raises(SecretUnavailable):  # key id no longer configured: fail closed
        AesGcmSecretBox(accounts_settings.secret_keys[:1]).open(
            sealed, table="users", column="two_factor_secret", row_id=user.id
        )


async def test_database_dump_holds_no_plaintext_secret(
    client: httpx.AsyncClient, accounts: Accounts, accounts_settings: Settings
) -> None:
    user = await make_user(accounts)
    caller = await session_for(accounts, user)
    secret = await enrol(client, caller.headers)
    created = await client.post(
        "/api/v1/api-keys", headers=caller.headers, json={"name": "dump", "scopes": []}
    )
    api_key = created.json()["key"]
    dump = await database_dump(accounts_settings.database_url or "")
    assert f"\t{user.username}\t" in dump or user.username in dump  # the dump is real
    assert secret not in dump
    assert api_key not in dump and caller.token not in dump
    assert PASSWORD not in dump


async def database_dump(url: str) -> str:
    """pg_dump when its version can read the server, otherwise every table through COPY."""
    if shutil.which("pg_dump"):
        process = await asyncio.create_subprocess_exec(
            "pg_dump",
            "--data-only",
            url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        output, _ = await process.communicate()
        if process.returncode == 0:
            return output.decode()
    conn = await asyncpg.connect(url)
    try:
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        chunks: list[str] = []
        for row in tables:
            rows = await conn.fetch(f'SELECT * FROM "{row["tablename"]}"')
            chunks.extend("\t".join(map(str, record.values())) for record in rows)
        return "\n".join(chunks)
    finally:
        await conn.close()


def test_secret_box_rejects_unknown_key_ids_and_tampering() -> None:
    box = AesGcmSecretBox((SecretKey("old", b"o" * 32), SecretKey("new", b"n" * 32)))
    sealed = box.seal(b"dkim private key", table="domains", column="dkim_private_key", row_id=7)
    assert sealed.startswith("v1:new:") and not box.needs_rotation(sealed)
    where = {"table": "domains", "column": "dkim_private_key", "row_id": 7}
    assert box.open(sealed, **where) == b"dkim private key"  # type: ignore[arg-type]
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    with pytest.raises(SecretUnavailable):
        box.open(tampered, **where)  # type: ignore[arg-type]
    with pytest.raises(SecretUnavailable):
        box.open(sealed.replace("v1:new:", "v1:gone:"), **where)  # type: ignore[arg-type]
    with pytest.raises(SecretUnavailable):
        box.open(sealed, table="domains", column="other_column", row_id=7)
    old_only = AesGcmSecretBox((SecretKey("old", b"o" * 32),))
    assert box.needs_rotation(old_only.seal(b"x", **where))  # type: ignore[arg-type]
