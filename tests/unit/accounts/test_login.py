"""Login, lockout, logout and password change (`services/auth.py`) on fakes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from openmailer.core.accounts.credentials import is_session_token
from openmailer.core.accounts.model import AccountStatus, Principal
from openmailer.core.accounts.scopes import ALL_SCOPES
from openmailer.core.accounts.services import auth
from openmailer.core.errors import Unauthorized, ValidationError
from tests.unit.accounts.accounts_scenario import BLOCKED, PASSWORD, Accounts

pytestmark = pytest.mark.unit

WRONG = "not the password"


async def fail_login(accounts: Accounts, identifier: str, password: str = WRONG) -> Unauthorized:
    with pytest.raises(Unauthorized) as error:
        await accounts.login(identifier, password)
    return error.value


async def change_password(accounts: Accounts, principal: Principal, current: str, new: str) -> None:
    await accounts.service().change_password(principal, current, new)


async def test_login_starts_a_twelve_hour_session_with_every_scope(accounts: Accounts) -> None:
    user = await accounts.add_user("ann")

    result = await accounts.login("ann")

    assert is_session_token(result.token)
    assert result.user.id == user.id
    assert result.expires_at == accounts.clock.now() + timedelta(hours=12)
    principal = await accounts.authenticate(result.token)
    assert principal.user.id == user.id
    assert principal.via_session
    assert principal.scopes == ALL_SCOPES


async def test_login_accepts_the_email_in_any_case(accounts: Accounts) -> None:
    user = await accounts.add_user("ann")

    result = await accounts.login("ANN@Example.COM")

    assert result.user.id == user.id


async def test_session_ends_after_twelve_hours(accounts: Accounts) -> None:
    await accounts.add_user("ann")
    token = (await accounts.login("ann")).token

    accounts.clock.advance(hours=12, seconds=-1)
    assert (await accounts.authenticate(token)).user.username == "ann"
    accounts.clock.advance(seconds=1)
    with pytest.raises(Unauthorized) as error:
        await accounts.authenticate(token)
    assert error.value.code == "invalid_credential"


async def test_login_success_resets_failed_attempts_and_records_last_login(
    accounts: Accounts,
) -> None:
    user = await accounts.add_user("ann")
    await fail_login(accounts, "ann")
    await fail_login(accounts, "ann")
    assert (await accounts.stored(user)).failed_login_attempts == 2

    accounts.clock.advance(minutes=1)
    await accounts.login("ann", client_ip="198.51.100.4")

    stored = await accounts.stored(user)
    assert stored.failed_login_attempts == 0
    assert stored.last_login_at == accounts.clock.now()
    assert stored.last_login_ip == "198.51.100.4"


async def test_unknown_user_and_wrong_password_fail_identically(accounts: Accounts) -> None:
    await accounts.add_user("ann")

    unknown = await fail_login(accounts, "nobody")
    checks_for_unknown = accounts.hasher.verify_calls
    wrong_password = await fail_login(accounts, "ann")

    assert (unknown.code, unknown.detail) == (wrong_password.code, wrong_password.detail)
    assert unknown.code == "invalid_credentials"
    # the same password work either way, so timing tells nothing either
    assert checks_for_unknown == 1
    assert accounts.hasher.verify_calls == 2


async def test_four_wrong_passwords_do_not_lock_the_account(accounts: Accounts) -> None:
    user = await accounts.add_user("ann")
    for _ in range(4):
        await fail_login(accounts, "ann")

    stored = await accounts.stored(user)
    assert stored.failed_login_attempts == 4
    assert stored.account_locked_until is None
    assert (await accounts.login("ann")).user.id == user.id


async def test_the_fifth_wrong_password_locks_the_account(accounts: Accounts) -> None:
    user = await accounts.add_user("ann")
    for _ in range(5):
        await fail_login(accounts, "ann")

    stored = await accounts.stored(user)
    assert stored.account_locked_until == accounts.clock.now() + timedelta(minutes=15)
    locked = await fail_login(accounts, "ann", PASSWORD)
    assert locked.code == "invalid_credentials"


async def test_a_locked_account_answers_like_a_wrong_password_and_counts_nothing(
    accounts: Accounts,
) -> None:
    user = await accounts.add_user("ann")
    for _ in range(4):
        await fail_login(accounts, "ann")
    wrong_password = await fail_login(accounts, "ann")  # the fifth: now locked

    with_right_password = await fail_login(accounts, "ann", PASSWORD)
    with_wrong_password = await fail_login(accounts, "ann")

    assert (with_right_password.code, with_right_password.detail) == (
        wrong_password.code,
        wrong_password.detail,
    )
    assert (with_wrong_password.code, with_wrong_password.detail) == (
        wrong_password.code,
        wrong_password.detail,
    )
    assert (await accounts.stored(user)).failed_login_attempts == 5


async def test_lockout_expires_when_its_time_has_passed(accounts: Accounts) -> None:
    user = await accounts.add_user("ann")
    for _ in range(5):
        await fail_login(accounts, "ann")

    accounts.clock.advance(minutes=14, seconds=59)
    await fail_login(accounts, "ann", PASSWORD)
    accounts.clock.advance(seconds=1)
    await accounts.login("ann")

    stored = await accounts.stored(user)
    assert stored.account_locked_until is None
    assert stored.failed_login_attempts == 0


async def test_a_wrong_password_after_a_lock_ends_locks_again_for_twice_as_long(
    accounts: Accounts,
) -> None:
    user = await accounts.add_user("ann")
    for _ in range(5):
        await fail_login(accounts, "ann")
    accounts.clock.advance(minutes=15)

    await fail_login(accounts, "ann")

    stored = await accounts.stored(user)
    assert stored.failed_login_attempts == 6
    assert stored.account_locked_until == accounts.clock.now() + timedelta(minutes=30)


@pytest.mark.parametrize("change", BLOCKED)
async def test_a_blocked_account_cannot_log_in_even_with_the_right_password(
    accounts: Accounts, change: dict[str, object]
) -> None:
    user = await accounts.add_user("ann")
    accounts.users.change(user.id, **change)

    with pytest.raises(Unauthorized) as error:
        await accounts.login("ann")

    assert error.value.code == "account_blocked"
    assert accounts.sessions.digests_of(user.id) == set()


async def test_a_trial_account_can_log_in(accounts: Accounts) -> None:
    user = await accounts.add_user("ann")
    accounts.users.change(user.id, account_status=AccountStatus.TRIAL)

    assert (await accounts.login("ann")).user.id == user.id


async def test_an_overlong_password_is_refused_before_any_lookup_or_hashing(
    accounts: Accounts,
) -> None:
    user = await accounts.add_user("ann")

    with pytest.raises(ValidationError) as error:
        await accounts.login("ann", "é" * 37)  # 74 bytes, 37 characters

    assert error.value.code == "password_too_long"
    assert accounts.hasher.verify_calls == 0
    assert (await accounts.stored(user)).failed_login_attempts == 0


async def test_logout_ends_only_that_session(accounts: Accounts) -> None:
    user = await accounts.add_user("ann")
    laptop = await accounts.sign_in(user)
    phone_token = (await accounts.login("ann")).token

    await auth.logout(laptop, sessions=accounts.sessions)

    assert laptop.session_digest not in accounts.sessions.digests_of(user.id)
    assert (await accounts.authenticate(phone_token)).user.id == user.id


async def test_password_change_ends_other_sessions(accounts: Accounts) -> None:
    user = await accounts.add_user("ann")
    other_token = (await accounts.login("ann")).token
    current = await accounts.sign_in(user)

    await change_password(accounts, current, PASSWORD, "a brand new secret")

    assert accounts.sessions.digests_of(user.id) == {current.session_digest}
    with pytest.raises(Unauthorized):
        await accounts.authenticate(other_token)


async def test_after_a_password_change_only_the_new_password_works(accounts: Accounts) -> None:
    user = await accounts.add_user("ann")
    principal = await accounts.sign_in(user)

    await change_password(accounts, principal, PASSWORD, "a brand new secret")

    await fail_login(accounts, "ann", PASSWORD)
    assert (await accounts.login("ann", "a brand new secret")).user.id == user.id


async def test_password_change_needs_the_current_password(accounts: Accounts) -> None:
    user = await accounts.add_user("ann")
    other_token = (await accounts.login("ann")).token
    principal = await accounts.sign_in(user)

    with pytest.raises(ValidationError) as error:
        await change_password(accounts, principal, WRONG, "a brand new secret")

    assert (error.value.code, error.value.field) == ("wrong_password", "current_password")
    assert (await accounts.stored(user)).password_hash == user.password_hash
    assert (await accounts.authenticate(other_token)).user.id == user.id


@pytest.mark.parametrize(
    ("new_password", "code"), [("short", "password_too_short"), ("é" * 37, "password_too_long")]
)
async def test_a_new_password_must_be_eight_characters_and_at_most_72_bytes(
    accounts: Accounts, new_password: str, code: str
) -> None:
    user = await accounts.add_user("ann")
    principal = await accounts.sign_in(user)

    with pytest.raises(ValidationError) as error:
        await change_password(accounts, principal, PASSWORD, new_password)

    assert error.value.code == code
    assert (await accounts.stored(user)).password_hash == user.password_hash
