"""Usernames and emails over HTTP, from the CLI and in PostgreSQL: stored in lower case,
validated by the core for both, and matched at login by exactly one column."""

from __future__ import annotations

import getpass
import os

import httpx
import pytest

from openmailer.adapters.cli import main
from openmailer.adapters.settings import Settings
from openmailer.core.accounts.model import NewUser, Role
from openmailer.core.accounts.service import AccountsPorts as Accounts
from tests.integration.accounts.accounts_helpers import PASSWORD, make_user, session_for

pytestmark = pytest.mark.integration
SUFFIX = os.getpid()


async def login(client: httpx.AsyncClient, identifier: str) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/login", json={"identifier": identifier, "password": PASSWORD}
    )


async def test_a_username_is_one_name_in_any_case(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    admin = await session_for(accounts, await make_user(accounts, admin=True))
    name = f"CaseUser{SUFFIX}"
    body = {"username": name, "email": f"case{SUFFIX}@example.com", "password": PASSWORD}
    created = await client.post("/api/v1/users", headers=admin.headers, json=body)
    assert created.status_code == 201, created.text
    assert created.json()["username"] == name.lower()

    again = {**body, "username": name.lower(), "email": f"case2{SUFFIX}@example.com"}
    taken = await client.post("/api/v1/users", headers=admin.headers, json=again)
    assert taken.status_code == 409 and taken.json()["code"] == "username_taken"
    for identifier in (name, name.lower(), name.upper()):
        response = await login(client, identifier)
        assert response.status_code == 200, (identifier, response.text)
        assert response.json()["user"]["id"] == created.json()["id"]


async def test_rows_from_before_the_rule_log_in_ignoring_case_and_by_email_only_with_an_at(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    """The repository stores what it is given; such rows stand for accounts made before the
    core checked names (mixed case, a username that looks like an email)."""
    hashed = await accounts.hasher.hash(PASSWORD)

    async def add(username: str, email: str) -> int:
        row = NewUser(username, email, hashed, Role.USER, "FREE", 1_000)
        return (await accounts.users.add(row)).id

    mixed = await add(f"Legacy{SUFFIX}", f"legacy{SUFFIX}@example.com")
    looks_like_email = await add(f"u{SUFFIX}@example.test", f"other{SUFFIX}@example.com")
    owner = await add(f"owner{SUFFIX}", f"u{SUFFIX}@example.test")

    assert (await login(client, f"legacy{SUFFIX}")).json()["user"]["id"] == mixed
    for _ in range(3):  # not whichever row comes first: the identifier names the email column
        found = await login(client, f"U{SUFFIX}@example.test")
        assert found.json()["user"]["id"] == owner
    assert looks_like_email != owner


@pytest.mark.parametrize(
    ("username", "email", "message"),
    [
        ("u2@example.test", "u2@example.com", "cannot contain @"),
        ("cli_bad_email", "not an email", "not a valid email address"),
        ("x", "x@example.com", "3 to 64 characters"),
    ],
)
def test_users_create_validates_like_the_api_before_asking_for_a_password(
    cli_env: Settings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    username: str,
    email: str,
    message: str,
) -> None:
    def no_prompt(prompt: str) -> str:
        raise AssertionError("asked for a password for a user it cannot create")

    monkeypatch.setattr(getpass, "getpass", no_prompt)
    argv = ["users", "create", "--username", username, "--email", email]
    assert main(argv) == 1
    assert message in capsys.readouterr().out
    assert main(["users", "list"]) == 0
    assert f"\t{email}\t" not in capsys.readouterr().out


def test_users_create_stores_the_username_in_lower_case(
    cli_env: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    name = f"CliCase{SUFFIX}"
    argv = ["users", "create", "--username", name, "--email", f"{name}@Example.com"]
    assert main([*argv, "--password", PASSWORD]) == 0
    assert f"created user {name.lower()} " in capsys.readouterr().out
