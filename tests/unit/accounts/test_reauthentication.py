"""Issue 8, point 5: a stolen session alone cannot change credentials; an admin can reset 2FA."""

from __future__ import annotations

import pytest

from openmailer.core.errors import NotFound, ValidationError
from tests.unit.accounts.accounts_scenario import PASSWORD, Accounts, totp_code

pytestmark = pytest.mark.unit


async def test_starting_enrolment_needs_the_password(accounts: Accounts) -> None:
    ann = await accounts.add_user("ann")
    thief = await accounts.sign_in(ann)

    with pytest.raises(ValidationError) as refused:
        await accounts.service().begin_two_factor(thief, "not the password")

    assert (refused.value.code, refused.value.field) == ("wrong_password", "password")
    assert (await accounts.stored(ann)).two_factor_secret is None


async def test_confirming_needs_the_password_too(accounts: Accounts) -> None:
    ann = await accounts.add_user("ann")
    principal = await accounts.sign_in(ann)
    service = accounts.service()
    secret = (await service.begin_two_factor(principal, PASSWORD)).secret

    with pytest.raises(ValidationError, match="password"):
        await service.confirm_two_factor(principal, "a guess", totp_code(secret, accounts.clock))

    assert not (await accounts.stored(ann)).two_factor_enabled


async def test_changing_the_password_with_two_factor_on_needs_a_code(accounts: Accounts) -> None:
    ann = await accounts.add_user("ann")
    principal = await accounts.sign_in(ann)
    service = accounts.service()
    secret = (await service.begin_two_factor(principal, PASSWORD)).secret
    await service.confirm_two_factor(principal, PASSWORD, totp_code(secret, accounts.clock))
    accounts.clock.advance(seconds=30)
    principal = await accounts.reload(principal)

    with pytest.raises(ValidationError) as missing:
        await service.change_password(principal, PASSWORD, "a brand new secret")
    assert (missing.value.code, missing.value.field) == ("two_factor_required", "totp_code")

    await service.change_password(
        principal, PASSWORD, "a brand new secret", totp_code=totp_code(secret, accounts.clock)
    )
    assert await accounts.hasher.verify(
        "a brand new secret", (await accounts.stored(ann)).password_hash
    )


async def test_an_admin_resets_two_factor_and_the_users_sessions_end(
    accounts: Accounts, caplog: pytest.LogCaptureFixture
) -> None:
    admin = await accounts.sign_in(await accounts.add_user("root", admin=True))
    ann = await accounts.add_user("ann")
    principal = await accounts.sign_in(ann)
    service = accounts.service()
    secret = (await service.begin_two_factor(principal, PASSWORD)).secret
    await service.confirm_two_factor(principal, PASSWORD, totp_code(secret, accounts.clock))
    session = await accounts.login(
        "ann", totp_code=totp_code(secret, accounts.clock.advance(seconds=30) and accounts.clock)
    )

    with caplog.at_level("INFO", logger="openmailer.audit"):
        reset = await service.reset_two_factor(admin, ann.id)

    assert not reset.two_factor_enabled and reset.two_factor_secret is None
    assert await accounts.sessions.user_id_for(_digest(session.token)) is None
    [record] = [r for r in caplog.records if r.name == "openmailer.audit"]
    assert (record.msg, record.actor_user_id, record.target_user_id) == (  # type: ignore[attr-defined]
        "two_factor_reset",
        admin.user.id,
        ann.id,
    )
    assert (await accounts.login("ann")).user.id == ann.id  # a password is enough again


async def test_resetting_an_unknown_user_is_not_found(accounts: Accounts) -> None:
    admin = await accounts.sign_in(await accounts.add_user("root", admin=True))
    with pytest.raises(NotFound):
        await accounts.service().reset_two_factor(admin, 404)


def _digest(token: str) -> str:
    from openmailer.core.accounts.credentials import digest

    return digest(token)
