"""Creating, listing and revoking API keys, and calling with one (`services/api_keys.py`)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from openmailer.core.accounts.credentials import api_key_mode, digest
from openmailer.core.accounts.model import ApiKey, Principal
from openmailer.core.accounts.scopes import Access, Scope
from openmailer.core.accounts.services import access, api_keys
from openmailer.core.errors import Forbidden, NotFound, Unauthorized, ValidationError
from openmailer.core.pages import Page
from tests.unit.accounts.accounts_scenario import BLOCKED, Accounts

pytestmark = pytest.mark.unit


async def create_key(
    accounts: Accounts,
    principal: Principal,
    scopes: list[str],
    *,
    name: str = "ci",
    test: bool = False,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    return await api_keys.create_api_key(
        principal,
        name,
        scopes,
        test=test,
        expires_at=expires_at,
        api_keys=accounts.api_keys,
        clock=accounts.clock,
    )


async def list_keys(
    accounts: Accounts, principal: Principal, *, limit: int = 50, offset: int = 0
) -> Page[ApiKey]:
    return await api_keys.list_api_keys(
        principal, limit=limit, offset=offset, api_keys=accounts.api_keys, usage=accounts.usage
    )


async def revoke(accounts: Accounts, principal: Principal, key_id: int) -> None:
    await api_keys.revoke_api_key(principal, key_id, api_keys=accounts.api_keys)


async def session_and_key(
    accounts: Accounts, scopes: list[str], *, test: bool = False, expires_at: datetime | None = None
) -> tuple[Principal, ApiKey, str]:
    """Ann's login session and a key she made with it."""
    owner = await accounts.sign_in(await accounts.add_user("ann"))
    key, plaintext = await create_key(accounts, owner, scopes, test=test, expires_at=expires_at)
    return owner, key, plaintext


async def test_a_new_key_is_shown_once_and_stored_only_as_a_digest(accounts: Accounts) -> None:
    owner = await accounts.sign_in(await accounts.add_user("ann"))

    key, plaintext = await create_key(
        accounts, owner, ["write:contacts", "read:contacts", "read:contacts"], name="  ci  "
    )

    assert api_key_mode(plaintext) == "live"
    assert accounts.api_keys.stored_digests() == {digest(plaintext)}
    assert key.display_prefix == plaintext[:10]
    assert (key.user_id, key.name) == (owner.user.id, "ci")
    assert key.scopes == ("read:contacts", "write:contacts")
    assert key.is_active and key.expires_at is None and not key.is_test


async def test_a_key_authenticates_with_only_its_own_scopes(accounts: Accounts) -> None:
    owner, key, plaintext = await session_and_key(accounts, ["read:contacts"])

    principal = await accounts.authenticate(plaintext)

    assert principal.user.id == owner.user.id
    assert principal.api_key == key
    assert principal.scopes == {"read:contacts"}
    assert not principal.via_session and not principal.is_test_mode


async def test_key_without_scope_is_forbidden(accounts: Accounts) -> None:
    _, _, plaintext = await session_and_key(accounts, ["read:contacts"])
    principal = await accounts.authenticate(plaintext)

    access.authorize(principal, Scope.READ_CONTACTS)
    with pytest.raises(Forbidden) as error:
        access.authorize(principal, Scope.WRITE_CONTACTS)

    assert error.value.code == "missing_scope"
    assert "write:contacts" in error.value.detail


@pytest.mark.parametrize("requirement", [Access.SESSION, Access.ADMIN])
async def test_a_key_cannot_do_what_needs_a_login_session(
    accounts: Accounts, requirement: Access
) -> None:
    admin = await accounts.sign_in(await accounts.add_user("root", admin=True))
    key_plaintext = (await create_key(accounts, admin, sorted(Scope)))[1]
    principal = await accounts.authenticate(key_plaintext)

    access.authorize(principal, Access.AUTHENTICATED)
    with pytest.raises(Forbidden):
        access.authorize(principal, requirement)


async def test_a_test_key_marks_its_calls_as_test_mode(accounts: Accounts) -> None:
    _, key, plaintext = await session_and_key(accounts, ["send:campaigns"], test=True)

    principal = await accounts.authenticate(plaintext)

    assert api_key_mode(plaintext) == "test"
    assert key.is_test
    assert principal.is_test_mode


async def test_using_a_key_is_buffered_as_its_last_use(accounts: Accounts) -> None:
    _, key, plaintext = await session_and_key(accounts, ["read:contacts"])
    accounts.clock.advance(minutes=5)

    await accounts.authenticate(plaintext)

    assert await accounts.usage.pending([key.id]) == {key.id: accounts.clock.now()}


async def test_expired_key_is_rejected(accounts: Accounts) -> None:
    expires_at = accounts.clock.now() + timedelta(hours=1)
    _, _, plaintext = await session_and_key(accounts, ["read:contacts"], expires_at=expires_at)
    accounts.clock.advance(minutes=59, seconds=59)
    await accounts.authenticate(plaintext)

    accounts.clock.advance(seconds=1)

    with pytest.raises(Unauthorized) as error:
        await accounts.authenticate(plaintext)
    assert error.value.code == "invalid_credential"


async def test_revoked_key_is_rejected_at_once(accounts: Accounts) -> None:
    owner, key, plaintext = await session_and_key(accounts, ["read:contacts"])

    await revoke(accounts, owner, key.id)

    with pytest.raises(Unauthorized) as error:
        await accounts.authenticate(plaintext)
    assert error.value.code == "invalid_credential"
    assert not (await list_keys(accounts, owner)).items[0].is_active


async def test_revoking_a_revoked_unknown_or_someone_elses_key_is_not_found(
    accounts: Accounts,
) -> None:
    owner, key, plaintext = await session_and_key(accounts, ["read:contacts"])
    mallory = await accounts.sign_in(await accounts.add_user("mallory"))

    for caller, key_id in ((mallory, key.id), (owner, key.id + 1)):
        with pytest.raises(NotFound):
            await revoke(accounts, caller, key_id)
    assert (await accounts.authenticate(plaintext)).api_key == key

    await revoke(accounts, owner, key.id)
    with pytest.raises(NotFound):
        await revoke(accounts, owner, key.id)


@pytest.mark.parametrize(
    "change", [*BLOCKED, pytest.param({"api_enabled": False}, id="API access off")]
)
async def test_suspended_user_cannot_use_api_keys(
    accounts: Accounts, change: dict[str, object]
) -> None:
    owner, key, plaintext = await session_and_key(accounts, ["read:contacts"])
    accounts.users.change(owner.user.id, **change)

    with pytest.raises(Unauthorized) as error:
        await accounts.authenticate(plaintext)

    assert error.value.code == "account_blocked"
    assert await accounts.usage.pending([key.id]) == {}


@pytest.mark.parametrize(
    ("name", "scopes", "expires_in", "field"),
    [
        ("   ", ["read:contacts"], None, "name"),
        ("ci", ["read:contacts"], timedelta(0), "expires_at"),
        ("ci", ["read:contacts"], timedelta(seconds=-1), "expires_at"),
        ("ci", ["read:contacts", "admin:all"], None, "scopes"),
    ],
)
async def test_invalid_key_requests_are_rejected_and_store_nothing(
    accounts: Accounts,
    name: str,
    scopes: list[str],
    expires_in: timedelta | None,
    field: str,
) -> None:
    owner = await accounts.sign_in(await accounts.add_user("ann"))
    expires_at = None if expires_in is None else accounts.clock.now() + expires_in

    with pytest.raises(ValidationError) as error:
        await create_key(accounts, owner, scopes, name=name, expires_at=expires_at)

    assert error.value.field == field
    assert accounts.api_keys.stored_digests() == set()


async def test_listing_shows_only_the_callers_keys_a_page_at_a_time(accounts: Accounts) -> None:
    ann = await accounts.sign_in(await accounts.add_user("ann"))
    bob = await accounts.sign_in(await accounts.add_user("bob"))
    for name in ("one", "two", "three"):
        await create_key(accounts, ann, ["read:contacts"], name=name)
    await create_key(accounts, bob, ["read:contacts"], name="bob's")

    page = await list_keys(accounts, ann, limit=2, offset=1)

    assert [key.name for key in page.items] == ["two", "three"]
    assert (page.total, page.limit, page.offset) == (3, 2, 1)


async def test_listing_shows_uses_not_yet_flushed(accounts: Accounts) -> None:
    owner, _, plaintext = await session_and_key(accounts, ["read:contacts"])
    assert (await list_keys(accounts, owner)).items[0].last_used_at is None

    used_at = accounts.clock.advance(minutes=3)
    await accounts.authenticate(plaintext)

    assert (await list_keys(accounts, owner)).items[0].last_used_at == used_at


async def test_listing_keeps_the_later_of_flushed_and_buffered_uses(accounts: Accounts) -> None:
    owner, key, plaintext = await session_and_key(accounts, ["read:contacts"])
    buffered_at = accounts.clock.advance(minutes=1)
    await accounts.authenticate(plaintext)
    flushed_at = buffered_at + timedelta(minutes=1)
    await accounts.api_keys.record_last_used({key.id: flushed_at})

    assert (await list_keys(accounts, owner)).items[0].last_used_at == flushed_at

    buffered_at = accounts.clock.advance(minutes=5)
    await accounts.authenticate(plaintext)

    assert (await list_keys(accounts, owner)).items[0].last_used_at == buffered_at


@pytest.mark.parametrize(
    "expires_at",
    [
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-14))),
        datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=14))),
    ],
    ids=["past year 9999 in UTC", "before year 1 in UTC"],
)
async def test_an_expiry_its_offset_pushes_out_of_range_is_refused(
    accounts: Accounts, expires_at: datetime
) -> None:
    principal = await accounts.sign_in(await accounts.add_user("ann"))

    with pytest.raises(ValidationError) as error:
        await create_key(accounts, principal, [Scope.READ_ANALYTICS.value], expires_at=expires_at)

    assert (error.value.field, error.value.code) == ("expires_at", "time_out_of_range")


async def test_an_expiry_is_stored_in_utc(accounts: Accounts) -> None:
    principal = await accounts.sign_in(await accounts.add_user("ann"))
    in_tokyo = datetime(2030, 1, 1, 9, 0, tzinfo=timezone(timedelta(hours=9)))

    key, _ = await create_key(
        accounts, principal, [Scope.READ_ANALYTICS.value], expires_at=in_tokyo
    )

    assert key.expires_at == in_tokyo and key.expires_at.utcoffset() == timedelta(0)
