"""The fakes keep the parts of the port contracts the services rely on."""

from __future__ import annotations

from datetime import timedelta

import pytest

from openmailer.core.errors import SecretUnavailable
from tests.unit.accounts.fakes import (
    FakeClock,
    FakePasswordHasher,
    FakeSecretBox,
    InMemoryRateLimiter,
)

pytestmark = pytest.mark.unit


def test_secret_box_opens_what_it_sealed_at_the_same_place() -> None:
    box = FakeSecretBox()

    sealed = box.seal(b"JBSWY3DPEHPK3PXP", table="users", column="two_factor_secret", row_id=7)

    assert b"JBSWY3DPEHPK3PXP" not in sealed.encode()
    assert box.open(sealed, table="users", column="two_factor_secret", row_id=7) == (
        b"JBSWY3DPEHPK3PXP"
    )


@pytest.mark.parametrize(
    ("table", "column", "row_id"),
    [("users", "two_factor_secret", 8), ("users", "password", 7), ("domains", "dkim_key", 7)],
    ids=["other row", "other column", "other table"],
)
def test_secret_box_refuses_other_associated_data(table: str, column: str, row_id: int) -> None:
    box = FakeSecretBox()
    sealed = box.seal(b"secret", table="users", column="two_factor_secret", row_id=7)

    with pytest.raises(SecretUnavailable):
        box.open(sealed, table=table, column=column, row_id=row_id)


def test_secret_box_refuses_tampered_and_unknown_key_ciphertexts() -> None:
    box = FakeSecretBox("k1")
    sealed = box.seal(b"secret", table="users", column="two_factor_secret", row_id=7)
    _, key_id, payload, tag = sealed.split(":")
    tampered = f"fake:{key_id}:{payload[:-4]}AAAA:{tag}"

    with pytest.raises(SecretUnavailable):
        box.open(tampered, table="users", column="two_factor_secret", row_id=7)
    box.rotate_to("k2", keep_old=False)
    with pytest.raises(SecretUnavailable):
        box.open(sealed, table="users", column="two_factor_secret", row_id=7)


def test_secret_box_asks_for_rotation_of_secrets_under_an_old_key() -> None:
    box = FakeSecretBox("k1")
    old = box.seal(b"secret", table="users", column="two_factor_secret", row_id=7)

    box.rotate_to("k2")

    assert box.needs_rotation(old)
    assert box.open(old, table="users", column="two_factor_secret", row_id=7) == b"secret"
    assert not box.needs_rotation(box.seal(b"secret", table="t", column="c", row_id=1))


async def test_password_hasher_rejects_wrong_and_missing_hashes() -> None:
    hasher = FakePasswordHasher()
    stored = await hasher.hash("correct horse")

    assert stored != "correct horse"
    assert await hasher.verify("correct horse", stored)
    assert not await hasher.verify("Correct horse", stored)
    assert not await hasher.verify("correct horse", None)
    with pytest.raises(ValueError, match="72 bytes"):
        await hasher.hash("x" * 73)


async def test_rate_limiter_counts_per_bucket_within_a_fixed_window() -> None:
    clock = FakeClock()
    limiter = InMemoryRateLimiter(clock)

    decisions = [await limiter.hit("ip:1", limit=2, window_seconds=60) for _ in range(3)]
    other_bucket = await limiter.hit("ip:2", limit=2, window_seconds=60, audit_user_id=5)
    clock.advance(timedelta(seconds=60))
    next_window = await limiter.hit("ip:1", limit=2, window_seconds=60)

    assert [(d.allowed, d.remaining) for d in decisions] == [(True, 1), (True, 0), (False, 0)]
    assert decisions[0].reset_seconds == 60
    assert (other_bucket.allowed, next_window.allowed, next_window.remaining) == (True, True, 1)
    assert limiter.audited == {5: 1}


def test_clock_is_settable_and_advanceable_but_only_timezone_aware() -> None:
    clock = FakeClock()
    start = clock.now()

    assert clock.advance(minutes=1) == start + timedelta(minutes=1)
    clock.set(start)
    assert clock.now() == start
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(start.replace(tzinfo=None))
