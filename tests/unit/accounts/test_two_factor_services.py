"""TOTP enrolment, confirmation, login with a code, and turning it off (`two_factor.py`)."""

from __future__ import annotations

import pytest

from openmailer.core.accounts.model import Principal, User
from openmailer.core.accounts.services import two_factor
from openmailer.core.errors import (
    Conflict,
    SecretUnavailable,
    Unauthorized,
    ValidationError,
)
from tests.unit.accounts.accounts_scenario import PASSWORD, Accounts, totp_code, wrong_totp_code

pytestmark = pytest.mark.unit

WHERE = {"table": "users", "column": "two_factor_secret"}


async def begin(
    accounts: Accounts, principal: Principal, password: str = PASSWORD
) -> two_factor.Enrolment:
    return await accounts.service().begin_two_factor(principal, password)


async def confirm(
    accounts: Accounts, principal: Principal, code: str, password: str = PASSWORD
) -> None:
    await accounts.service().confirm_two_factor(await accounts.reload(principal), password, code)


async def disable(accounts: Accounts, principal: Principal, password: str, code: str) -> None:
    await two_factor.disable(
        await accounts.reload(principal),
        password,
        code,
        users=accounts.users,
        hasher=accounts.hasher,
        secret_box=accounts.secret_box,
        replay_guard=accounts.replay_guard,
        sessions=accounts.sessions,
        clock=accounts.clock,
    )


async def enrolled(accounts: Accounts, username: str = "ann") -> tuple[User, Principal, str]:
    """A user with two-factor on, half a minute after confirming (so a fresh code is due)."""
    user = await accounts.add_user(username)
    principal = await accounts.sign_in(user)
    secret = (await begin(accounts, principal)).secret
    await confirm(accounts, principal, totp_code(secret, accounts.clock))
    accounts.clock.advance(seconds=30)
    return user, principal, secret


async def test_enrolment_stores_the_secret_sealed_to_its_row_and_inactive(
    accounts: Accounts,
) -> None:
    user = await accounts.add_user("ann")
    principal = await accounts.sign_in(user)

    enrolment = await begin(accounts, principal)

    stored = await accounts.stored(user)
    assert not stored.two_factor_enabled
    assert stored.two_factor_secret is not None
    assert enrolment.secret not in stored.two_factor_secret
    opened = accounts.secret_box.open(stored.two_factor_secret, row_id=user.id, **WHERE)
    assert opened.decode() == enrolment.secret
    assert enrolment.otpauth_uri.startswith("otpauth://totp/OpenMailer:ann?")
    assert f"secret={enrolment.secret}" in enrolment.otpauth_uri


async def test_login_needs_no_code_until_the_enrolment_is_confirmed(accounts: Accounts) -> None:
    user = await accounts.add_user("ann")
    await begin(accounts, await accounts.sign_in(user))

    assert (await accounts.login("ann")).user.id == user.id


async def test_confirming_with_a_current_code_enables_two_factor_and_ends_other_sessions(
    accounts: Accounts,
) -> None:
    user = await accounts.add_user("ann")
    other_token = (await accounts.login("ann")).token
    principal = await accounts.sign_in(user)
    secret = (await begin(accounts, principal)).secret

    await confirm(accounts, principal, totp_code(secret, accounts.clock))

    assert (await accounts.stored(user)).two_factor_enabled
    assert accounts.sessions.digests_of(user.id) == {principal.session_digest}
    with pytest.raises(Unauthorized):
        await accounts.authenticate(other_token)


async def test_confirming_with_a_wrong_code_leaves_two_factor_off(accounts: Accounts) -> None:
    user = await accounts.add_user("ann")
    principal = await accounts.sign_in(user)
    secret = (await begin(accounts, principal)).secret

    with pytest.raises(ValidationError) as error:
        await confirm(accounts, principal, wrong_totp_code(secret, accounts.clock))

    assert (error.value.code, error.value.field) == ("invalid_totp", "code")
    assert not (await accounts.stored(user)).two_factor_enabled


async def test_confirming_before_enrolling_is_a_conflict(accounts: Accounts) -> None:
    user = await accounts.add_user("ann")
    principal = await accounts.sign_in(user)

    with pytest.raises(Conflict) as error:
        await confirm(accounts, principal, "123456")

    assert error.value.code == "two_factor_not_started"


async def test_enrolling_or_confirming_again_once_enabled_is_a_conflict(
    accounts: Accounts,
) -> None:
    user, principal, secret = await enrolled(accounts)
    sealed_before = (await accounts.stored(user)).two_factor_secret

    with pytest.raises(Conflict) as on_begin:
        await begin(accounts, await accounts.reload(principal))
    with pytest.raises(Conflict) as on_confirm:
        await confirm(accounts, principal, totp_code(secret, accounts.clock))

    assert on_begin.value.code == on_confirm.value.code == "two_factor_enabled"
    assert (await accounts.stored(user)).two_factor_secret == sealed_before


async def test_login_requires_the_code_once_two_factor_is_enabled(accounts: Accounts) -> None:
    user, _, secret = await enrolled(accounts)

    with pytest.raises(Unauthorized) as error:
        await accounts.login("ann")
    assert error.value.code == "two_factor_required"

    result = await accounts.login("ann", totp_code=totp_code(secret, accounts.clock))
    assert result.user.id == user.id


async def test_a_used_totp_code_is_rejected(accounts: Accounts) -> None:
    _, _, secret = await enrolled(accounts)
    code = totp_code(secret, accounts.clock)
    await accounts.login("ann", totp_code=code)

    with pytest.raises(Unauthorized) as error:
        await accounts.login("ann", totp_code=code)

    assert error.value.code == "invalid_totp"


async def test_the_code_used_to_confirm_cannot_log_in(accounts: Accounts) -> None:
    user = await accounts.add_user("ann")
    principal = await accounts.sign_in(user)
    secret = (await begin(accounts, principal)).secret
    code = totp_code(secret, accounts.clock)
    await confirm(accounts, principal, code)

    with pytest.raises(Unauthorized) as error:
        await accounts.login("ann", totp_code=code)

    assert error.value.code == "invalid_totp"


async def test_the_next_code_works_thirty_seconds_later(accounts: Accounts) -> None:
    user, _, secret = await enrolled(accounts)
    await accounts.login("ann", totp_code=totp_code(secret, accounts.clock))

    accounts.clock.advance(seconds=30)

    result = await accounts.login("ann", totp_code=totp_code(secret, accounts.clock))
    assert result.user.id == user.id


async def test_a_wrong_totp_code_counts_as_a_failed_login(accounts: Accounts) -> None:
    user, _, secret = await enrolled(accounts)
    with pytest.raises(Unauthorized) as error:
        await accounts.login("ann", totp_code=wrong_totp_code(secret, accounts.clock))

    assert error.value.code == "invalid_totp"
    assert (await accounts.stored(user)).failed_login_attempts == 1


async def test_a_wrong_password_is_refused_before_the_code_is_spent(accounts: Accounts) -> None:
    _, _, secret = await enrolled(accounts)
    code = totp_code(secret, accounts.clock)

    with pytest.raises(Unauthorized) as error:
        await accounts.login("ann", "not the password", totp_code=code)

    assert error.value.code == "invalid_credentials"
    assert (await accounts.login("ann", totp_code=code)).user.username == "ann"


async def test_a_secret_moved_to_another_user_fails_closed(accounts: Accounts) -> None:
    ann, _, secret = await enrolled(accounts, "ann")
    bob = await accounts.add_user("bob")
    ann_sealed = (await accounts.stored(ann)).two_factor_secret
    await accounts.users.set_two_factor(bob.id, enabled=True, secret=ann_sealed)

    with pytest.raises(SecretUnavailable):
        await accounts.login("bob", totp_code=totp_code(secret, accounts.clock))


async def test_a_secret_sealed_with_a_key_no_longer_configured_fails_closed(
    accounts: Accounts,
) -> None:
    _, _, secret = await enrolled(accounts)
    accounts.secret_box.rotate_to("k2", keep_old=False)

    with pytest.raises(SecretUnavailable):
        await accounts.login("ann", totp_code=totp_code(secret, accounts.clock))


async def test_disable_needs_the_password(accounts: Accounts) -> None:
    user, principal, secret = await enrolled(accounts)

    with pytest.raises(ValidationError) as error:
        await disable(accounts, principal, "not the password", totp_code(secret, accounts.clock))

    assert (error.value.code, error.value.field) == ("wrong_password", "password")
    assert (await accounts.stored(user)).two_factor_enabled


async def test_disable_needs_a_fresh_code(accounts: Accounts) -> None:
    user, principal, secret = await enrolled(accounts)
    code = totp_code(secret, accounts.clock)
    await accounts.login("ann", totp_code=code)

    with pytest.raises(ValidationError) as error:
        await disable(accounts, principal, PASSWORD, code)

    assert (error.value.code, error.value.field) == ("invalid_totp", "code")
    assert (await accounts.stored(user)).two_factor_enabled


async def test_disable_with_password_and_code_turns_two_factor_off(accounts: Accounts) -> None:
    user, principal, secret = await enrolled(accounts)
    other_token = (await accounts.login("ann", totp_code=totp_code(secret, accounts.clock))).token
    accounts.clock.advance(seconds=30)

    await disable(accounts, principal, PASSWORD, totp_code(secret, accounts.clock))

    stored = await accounts.stored(user)
    assert not stored.two_factor_enabled
    assert stored.two_factor_secret is None
    assert await accounts.replay_guard.last_used_step(user.id) is None
    assert accounts.sessions.digests_of(user.id) == {principal.session_digest}
    with pytest.raises(Unauthorized):
        await accounts.authenticate(other_token)
    assert (await accounts.login("ann")).user.id == user.id


async def test_disable_when_two_factor_is_off_is_a_conflict(accounts: Accounts) -> None:
    user = await accounts.add_user("ann")
    principal = await accounts.sign_in(user)

    with pytest.raises(Conflict) as error:
        await disable(accounts, principal, PASSWORD, "123456")

    assert error.value.code == "two_factor_disabled"


async def test_two_factor_can_be_enrolled_again_after_disabling(accounts: Accounts) -> None:
    user, principal, secret = await enrolled(accounts)
    await disable(accounts, principal, PASSWORD, totp_code(secret, accounts.clock))

    new_secret = (await begin(accounts, await accounts.reload(principal))).secret
    await confirm(accounts, principal, totp_code(new_secret, accounts.clock))

    assert new_secret != secret
    assert (await accounts.stored(user)).two_factor_enabled
