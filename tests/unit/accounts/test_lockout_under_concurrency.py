"""Issue 8, points 1, 6 and 7 on the fakes: the lock check and the count are one step; a held
session's guesses count too; enrolment races end in a clear state."""

from __future__ import annotations

import asyncio

import pytest

from openmailer.core.accounts.lockout import DEFAULT_LOCKOUT
from openmailer.core.errors import Conflict, RateLimited, Unauthorized, ValidationError
from tests.unit.accounts.accounts_scenario import PASSWORD, Accounts, totp_code, wrong_totp_code
from tests.unit.accounts.fakes import FakePasswordHasher

pytestmark = pytest.mark.unit
LIMIT = DEFAULT_LOCKOUT.max_failures


class SlowHasher(FakePasswordHasher):
    """Yields to the event loop mid-check, as bcrypt in a thread does, and counts the checks of
    a real hash (the guesses an attacker actually got)."""

    def __init__(self) -> None:
        super().__init__()
        self.guesses = 0

    async def verify(self, password: str, password_hash: str | None) -> bool:
        if password_hash is not None:
            self.guesses += 1
        await asyncio.sleep(0.001)
        return await super().verify(password, password_hash)


@pytest.fixture
def slow(accounts: Accounts) -> SlowHasher:
    accounts.hasher = SlowHasher()
    return accounts.hasher


async def attempt(accounts: Accounts, password: str) -> str:
    try:
        await accounts.login("ann", password)
    except Unauthorized as refused:
        return refused.code
    return "ok"


async def test_forty_parallel_wrong_guesses_and_the_right_one_get_at_most_the_limit(
    accounts: Accounts, slow: SlowHasher
) -> None:
    await accounts.add_user("ann")

    outcomes = await asyncio.gather(
        *(attempt(accounts, f"wrong {n}") for n in range(20)),
        attempt(accounts, PASSWORD),
        *(attempt(accounts, f"wrong {n}") for n in range(20, 40)),
    )

    assert slow.guesses <= LIMIT  # before: all 41 were checked
    stored = await accounts.users.find_by_login("ann")
    assert stored is not None
    assert stored.failed_login_attempts <= LIMIT
    if outcomes.count("ok") == 1:  # the right one claimed a try before the lock
        assert stored.failed_login_attempts < LIMIT or stored.account_locked_until is not None
    locked = stored.account_locked_until
    assert (locked is not None) == (stored.failed_login_attempts >= LIMIT)
    if locked is not None:  # a first lock, never the 24 h of 41 counted failures
        assert locked - accounts.clock.now() == DEFAULT_LOCKOUT.base_lock


async def test_a_success_keeps_the_failures_counted_after_its_own_claim(
    accounts: Accounts,
) -> None:
    ann = await accounts.add_user("ann")
    early = await accounts.users.claim_attempt(
        ann.id, now=accounts.clock.now(), policy=DEFAULT_LOCKOUT
    )
    for _ in range(2):  # concurrent wrong guesses, claimed after the right one
        await accounts.users.claim_attempt(ann.id, now=accounts.clock.now(), policy=DEFAULT_LOCKOUT)
    assert early == 1

    await accounts.users.release_attempts(ann.id, early, policy=DEFAULT_LOCKOUT)

    assert (await accounts.stored(ann)).failed_login_attempts == 2


async def test_a_lock_earned_after_a_success_stands(accounts: Accounts) -> None:
    ann = await accounts.add_user("ann")
    now, policy = accounts.clock.now(), DEFAULT_LOCKOUT
    claims = [await accounts.users.claim_attempt(ann.id, now=now, policy=policy) for _ in range(5)]
    assert claims == [1, 2, 3, 4, 5]  # the 5th claim locked the account
    assert await accounts.users.claim_attempt(ann.id, now=now, policy=policy) is None

    await accounts.users.release_attempts(ann.id, 3, policy=policy)  # claim 3 was right

    stored = await accounts.stored(ann)
    assert stored.failed_login_attempts == 2
    assert stored.account_locked_until == now + policy.base_lock  # claims 4 and 5 earned it


async def test_a_lock_the_right_answer_itself_earned_is_lifted(accounts: Accounts) -> None:
    ann = await accounts.add_user("ann")
    now, policy = accounts.clock.now(), DEFAULT_LOCKOUT
    for _ in range(5):
        last = await accounts.users.claim_attempt(ann.id, now=now, policy=policy)

    assert last is not None
    await accounts.users.release_attempts(ann.id, last, policy=policy)

    stored = await accounts.stored(ann)
    assert (stored.failed_login_attempts, stored.account_locked_until) == (0, None)


async def test_a_held_session_guessing_the_password_is_locked_out(accounts: Accounts) -> None:
    ann = await accounts.add_user("ann")
    principal = await accounts.sign_in(ann)
    service = accounts.service()
    for _ in range(LIMIT):
        with pytest.raises(ValidationError, match="incorrect"):
            await service.change_password(principal, "a guess", "a brand new secret")

    with pytest.raises(RateLimited) as locked:
        await service.change_password(principal, PASSWORD, "a brand new secret")

    assert locked.value.code == "account_locked"
    assert locked.value.retry_after_seconds > 0
    with pytest.raises(Unauthorized):  # the same lock as logins
        await accounts.login("ann")
    assert await accounts.hasher.verify(PASSWORD, (await accounts.stored(ann)).password_hash)


async def test_guessing_codes_on_disable_counts_towards_the_lock(accounts: Accounts) -> None:
    ann = await accounts.add_user("ann")
    principal = await accounts.sign_in(ann)
    service = accounts.service()
    secret = (await service.begin_two_factor(principal, PASSWORD)).secret
    await service.confirm_two_factor(
        await accounts.reload(principal), PASSWORD, totp_code(secret, accounts.clock)
    )
    accounts.clock.advance(seconds=30)
    principal = await accounts.reload(principal)
    for _ in range(LIMIT):
        with pytest.raises(ValidationError, match="code"):
            await service.disable_two_factor(
                principal, PASSWORD, wrong_totp_code(secret, accounts.clock)
            )

    with pytest.raises(RateLimited):
        await service.disable_two_factor(principal, PASSWORD, totp_code(secret, accounts.clock))
    assert (await accounts.stored(ann)).two_factor_enabled


async def test_a_restart_during_confirmation_is_a_conflict_not_a_silent_204(
    accounts: Accounts,
) -> None:
    ann = await accounts.add_user("ann")
    principal = await accounts.sign_in(ann)
    service = accounts.service()
    first = (await service.begin_two_factor(principal, PASSWORD)).secret
    restarted: list[str] = []
    original_verify = accounts.hasher.verify

    async def verify_then_restart(password: str, password_hash: str | None) -> bool:
        # The owner's other tab starts the enrolment again while this confirmation is checked.
        if not restarted:
            restarted.append("started")  # once: the nested begin checks the password too
            restarted.append((await service.begin_two_factor(principal, PASSWORD)).secret)
        return await original_verify(password, password_hash)

    accounts.hasher.verify = verify_then_restart  # type: ignore[method-assign]

    with pytest.raises(Conflict) as conflict:
        await service.confirm_two_factor(principal, PASSWORD, totp_code(first, accounts.clock))

    assert conflict.value.code == "two_factor_restarted"
    stored = await accounts.stored(ann)
    assert not stored.two_factor_enabled
    assert restarted and stored.two_factor_secret is not None


async def test_starting_again_after_confirmation_never_turns_two_factor_off(
    accounts: Accounts,
) -> None:
    ann = await accounts.add_user("ann")
    stale = await accounts.sign_in(ann)  # read before the confirmation below
    service = accounts.service()
    secret = (await service.begin_two_factor(stale, PASSWORD)).secret
    await service.confirm_two_factor(stale, PASSWORD, totp_code(secret, accounts.clock))
    sealed = (await accounts.stored(ann)).two_factor_secret

    with pytest.raises(Conflict):
        await service.begin_two_factor(stale, PASSWORD)

    stored = await accounts.stored(ann)
    assert stored.two_factor_enabled and stored.two_factor_secret == sealed
