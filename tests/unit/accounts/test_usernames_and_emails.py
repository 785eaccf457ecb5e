"""One rule for names: usernames are stored in lower case and never contain `@`, emails are
checked strictly, and a login identifier names exactly one column (`model.py`, the fakes)."""

from __future__ import annotations

import pytest

from openmailer.core.accounts.model import (
    LoginField,
    NewUser,
    Role,
    login_lookup,
    normalise_email,
    normalise_username,
)
from openmailer.core.accounts.services import users
from openmailer.core.errors import Conflict, ValidationError
from tests.unit.accounts.accounts_scenario import PASSWORD, Accounts

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "username",
    ["u2@example.test", "ab", "a" * 65, "ann smith", "an\nn", "ännie", "ann;drop", ""],
)
def test_a_username_outside_the_rule_is_refused(username: str) -> None:
    with pytest.raises(ValidationError) as error:
        normalise_username(username)
    assert (error.value.field, error.value.code) == ("username", "invalid_username")


def test_a_username_with_an_at_sign_is_refused_as_one_that_would_look_like_an_email() -> None:
    with pytest.raises(ValidationError, match="cannot contain @"):
        normalise_username("ann@home")


@pytest.mark.parametrize(
    ("given", "stored"), [("CaseUser", "caseuser"), ("a.b_c-1", "a.b_c-1"), (" Ann ", "ann")]
)
def test_usernames_are_stored_in_lower_case(given: str, stored: str) -> None:
    assert normalise_username(given) == stored


@pytest.mark.parametrize(
    "email",
    [
        "not an email",
        "ann",
        "ann@localhost",
        "ann@@example.com",
        "ann..b@example.com",
        ".ann@example.com",
        "ann@-example.com",
        "ann@example-.com",
        "ann@exa_mple.com",
        '"ann"@example.com',
        "ann@[192.0.2.1]",
        "ännie@example.com",
        "ann@exam\nple.com",
        "a" * 65 + "@example.com",
        "ann@" + "a" * 64 + ".com",
        "ann@" + ".".join(["abcdefghi"] * 25) + ".com",
    ],
)
def test_an_email_outside_the_rule_is_refused(email: str) -> None:
    with pytest.raises(ValidationError) as error:
        normalise_email(email)
    assert (error.value.field, error.value.code) == ("email", "invalid_email")


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("Ann@Example.COM", "ann@example.com"),
        ("first.last+tag@mail.example.co.uk", "first.last+tag@mail.example.co.uk"),
        ("a_b%c-d@x-y.example", "a_b%c-d@x-y.example"),
    ],
)
def test_emails_are_stored_in_lower_case(given: str, stored: str) -> None:
    assert normalise_email(given) == stored


def test_an_identifier_with_an_at_sign_is_an_email_otherwise_a_username() -> None:
    assert login_lookup("Ann@Example.com") == (LoginField.EMAIL, "ann@example.com")
    assert login_lookup("CaseUser") == (LoginField.USERNAME, "caseuser")


async def test_usernames_differing_only_in_case_are_one_name(accounts: Accounts) -> None:
    await users.create_user(
        "CaseUser", "case@example.com", PASSWORD, users=accounts.users, hasher=accounts.hasher
    )
    with pytest.raises(Conflict) as error:
        await users.create_user(
            "caseuser", "other@example.com", PASSWORD, users=accounts.users, hasher=accounts.hasher
        )
    assert error.value.code == "username_taken"
    for identifier in ("caseuser", "CASEUSER", "CaseUser"):
        assert (await accounts.login(identifier)).user.username == "caseuser"


@pytest.mark.parametrize("invalid", [("u2@example.test", "u2@example.com"), ("u2", "not an")])
async def test_create_user_validates_before_storing_anything(
    accounts: Accounts, invalid: tuple[str, str]
) -> None:
    username, email = invalid
    with pytest.raises(ValidationError):
        await users.create_user(
            username, email, PASSWORD, users=accounts.users, hasher=accounts.hasher
        )
    assert (await accounts.users.list_users(limit=10, offset=0)).total == 0


@pytest.mark.parametrize("legacy_first", [True, False], ids=["legacy row first", "email first"])
async def test_an_identifier_with_an_at_sign_only_ever_matches_an_email(
    accounts: Accounts, legacy_first: bool
) -> None:
    """Rows from before the rule may have a username that looks like an email; such an
    identifier finds the account whose email it is, whatever order the rows are in."""

    async def add(username: str, email: str) -> int:
        row = NewUser(username, email, "hash", Role.USER, "FREE", 1_000)
        return (await accounts.users.add(row)).id

    if legacy_first:
        await add("u2@example.test", "legacy@example.com")
        owner = await add("u2", "u2@example.test")
    else:
        owner = await add("u2", "u2@example.test")
        await add("u2@example.test", "legacy@example.com")

    found = await accounts.users.find_by_login("U2@example.test")
    assert found is not None and found.id == owner
