from datetime import UTC, datetime, timedelta

import pytest

from openmailer.core.accounts import credentials
from openmailer.core.accounts.lockout import LockoutPolicy
from openmailer.core.accounts.model import check_new_password, reject_overlong_password
from openmailer.core.accounts.plans import PLAN_LIMITS, Plan, limits_for
from openmailer.core.accounts.scopes import (
    ALL_SCOPES,
    Access,
    Scope,
    parse_requirement,
    validate_scopes,
)
from openmailer.core.errors import ValidationError

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_scopes_are_exactly_the_specs_eight() -> None:
    assert {
        "read:contacts",
        "write:contacts",
        "read:campaigns",
        "write:campaigns",
        "send:campaigns",
        "read:templates",
        "write:templates",
        "read:analytics",
    } == ALL_SCOPES


def test_unknown_scope_is_an_error_not_dropped() -> None:
    with pytest.raises(ValidationError, match="admin:all"):
        validate_scopes(["read:contacts", "admin:all"])


def test_scopes_are_deduplicated_and_sorted() -> None:
    assert validate_scopes(["write:contacts", "read:contacts", "read:contacts"]) == (
        "read:contacts",
        "write:contacts",
    )


def test_requirements_parse_scopes_and_access_levels() -> None:
    assert parse_requirement("send:campaigns") is Scope.SEND_CAMPAIGNS
    assert parse_requirement("admin") is Access.ADMIN
    with pytest.raises(ValueError, match="nope"):
        parse_requirement("nope")


@pytest.mark.parametrize("mode", list(credentials.KeyMode))
def test_generated_api_key_has_the_spec_format(mode: credentials.KeyMode) -> None:
    key = credentials.generate_api_key(mode)
    assert key.plaintext.startswith(f"om_{mode.value}_")
    assert len(key.plaintext) == 8 + 56
    assert credentials.api_key_mode(key.plaintext) is mode
    assert key.display_prefix == key.plaintext[:10]
    assert len(key.digest) == 64 and key.digest != key.plaintext
    assert credentials.digest(key.plaintext) == key.digest


@pytest.mark.parametrize(
    "candidate",
    [
        "",
        "om_live_",
        "om_prod_" + "a" * 56,
        "om_live_" + "a" * 55,
        "om_live_" + "-" * 56,
        "om_live_" + "a" * 57,
    ],
)
def test_malformed_api_keys_are_not_recognised(candidate: str) -> None:
    assert credentials.api_key_mode(candidate) is None


def test_session_tokens_are_distinct_from_api_keys() -> None:
    token = credentials.generate_session_token()
    assert credentials.is_session_token(token)
    assert credentials.api_key_mode(token) is None
    assert not credentials.is_session_token(
        credentials.generate_api_key(credentials.KeyMode.LIVE).plaintext
    )


def test_lockout_starts_at_the_threshold_and_doubles_up_to_the_cap() -> None:
    policy = LockoutPolicy(
        max_failures=3, base_lock=timedelta(minutes=10), max_lock=timedelta(minutes=30)
    )
    assert policy.after_failure(0, NOW) == (1, None)
    assert policy.after_failure(1, NOW) == (2, None)
    assert policy.after_failure(2, NOW) == (3, NOW + timedelta(minutes=10))
    assert policy.after_failure(3, NOW) == (4, NOW + timedelta(minutes=20))
    assert policy.after_failure(4, NOW) == (5, NOW + timedelta(minutes=30))
    assert policy.after_failure(40, NOW) == (41, NOW + timedelta(minutes=30))


def test_lock_holds_until_its_end() -> None:
    policy = LockoutPolicy()
    until = NOW + timedelta(minutes=15)
    assert policy.is_locked(until, NOW)
    assert not policy.is_locked(until, until)
    assert not policy.is_locked(None, NOW)


def test_password_over_72_bytes_is_rejected_even_when_under_72_characters() -> None:
    with pytest.raises(ValidationError) as error:
        reject_overlong_password("é" * 40)  # 80 bytes
    assert error.value.code == "password_too_long"
    reject_overlong_password("a" * 72)


def test_new_password_needs_eight_characters() -> None:
    with pytest.raises(ValidationError, match="at least 8"):
        check_new_password("short")
    check_new_password("long enough")


def test_every_plan_has_limits_and_none_means_free() -> None:
    assert set(PLAN_LIMITS) == set(Plan)
    assert limits_for(None) == PLAN_LIMITS[Plan.FREE]
    assert limits_for("FREE").monthly_email_limit == 1_000  # the spec's column default
    limits = [PLAN_LIMITS[plan] for plan in Plan]
    assert limits == sorted(limits, key=lambda each: each.monthly_email_limit)
