"""The contact state machine and the audience policies, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from openmailer.core.audience import policies
from openmailer.core.audience.model import Consent, ContactList, ContactSource, ContactStatus
from openmailer.core.audience.status import transition
from openmailer.core.errors import ValidationError

pytestmark = pytest.mark.unit
S = ContactStatus
NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize("locked", [S.BOUNCED, S.COMPLAINED])
@pytest.mark.parametrize("target", [S.SUBSCRIBED, S.PENDING])
def test_a_bounced_or_complained_contact_receives_again_only_with_a_reason(
    locked: ContactStatus, target: ContactStatus
) -> None:
    with pytest.raises(ValidationError) as refused:
        transition(locked, target)
    assert refused.value.code == "status_override_required"
    with pytest.raises(ValidationError):
        transition(locked, target, override_reason="   ")
    move = transition(locked, target, override_reason="owner confirmed the mailbox")
    assert move.overridden and move.target is target


@pytest.mark.parametrize("locked", [S.BOUNCED, S.COMPLAINED])
def test_a_locked_contact_may_still_unsubscribe_or_change_between_locked_states(
    locked: ContactStatus,
) -> None:
    for target in (S.UNSUBSCRIBED, S.BOUNCED, S.COMPLAINED):
        assert not transition(locked, target).overridden


def test_other_moves_need_no_override_and_say_what_they_do() -> None:
    assert transition(S.PENDING, S.SUBSCRIBED).confirms
    assert transition(S.SUBSCRIBED, S.UNSUBSCRIBED).unsubscribes
    assert not transition(S.UNSUBSCRIBED, S.UNSUBSCRIBED).unsubscribes
    assert transition(S.UNSUBSCRIBED, S.SUBSCRIBED).changes
    assert not transition(S.SUBSCRIBED, S.SUBSCRIBED).changes


def test_an_override_reason_is_bounded_and_has_no_nul() -> None:
    for reason in ("x" * 501, "bad\x00reason"):
        with pytest.raises(ValidationError):
            transition(S.BOUNCED, S.SUBSCRIBED, override_reason=reason)


def test_custom_fields_are_bounded_in_keys_depth_size_and_content() -> None:
    assert policies.check_custom_fields({"a": [1, {"b": None}]}) == {"a": [1, {"b": None}]}
    deep: dict[str, object] = {}
    for _ in range(policies.MAX_CUSTOM_FIELDS_DEPTH):
        deep = {"k": deep}
    with pytest.raises(ValidationError) as too_deep:
        policies.check_custom_fields(deep)
    assert too_deep.value.code == "custom_fields_too_deep"
    cases = {
        "too_many_custom_fields": {str(i): i for i in range(101)},
        "custom_fields_too_large": {"x": "é" * 9000},
        "invalid_custom_fields": {"x": "a\x00b"},
    }
    for code, fields in cases.items():
        with pytest.raises(ValidationError) as error:
            policies.check_custom_fields(fields)
        assert error.value.code == code


def test_tags_are_trimmed_deduplicated_sorted_and_bounded() -> None:
    assert policies.clean_tags([" b", "a", "b "]) == ("a", "b")
    with pytest.raises(ValidationError):
        policies.clean_tags(["  "])
    with pytest.raises(ValidationError) as too_many:
        policies.clean_tags([f"t{i}" for i in range(101)])
    assert too_many.value.code == "too_many_tags"


def test_consent_is_dated_now_when_given_undated_and_its_address_is_an_ip() -> None:
    consent = policies.check_consent(Consent(True, None, " 203.0.113.7 "), now=NOW)
    assert consent == Consent(True, NOW, "203.0.113.7")
    assert policies.check_consent(Consent(False), now=NOW).date is None
    for bad in ("example.com", "fe80::1%eth0"):
        with pytest.raises(ValidationError):
            policies.check_consent(Consent(True, None, bad), now=NOW)
    with pytest.raises(ValidationError):
        policies.check_consent(Consent(True, NOW + timedelta(days=1)), now=NOW)


def a_list(double_opt_in: bool) -> ContactList:
    return ContactList(1, 1, "l", None, double_opt_in, 0, 0, NOW, NOW)


def test_a_form_sign_up_waits_for_confirmation_only_on_double_opt_in_lists() -> None:
    assert policies.needs_confirmation(a_list(True), ContactSource.WEB_FORM)
    assert not policies.needs_confirmation(a_list(True), ContactSource.API)
    assert not policies.needs_confirmation(a_list(False), ContactSource.WEB_FORM)
    assert policies.form_signup_status(a_list(True), None) is S.PENDING
    assert policies.form_signup_status(a_list(False), None) is S.SUBSCRIBED
    assert policies.form_signup_status(a_list(True), S.UNSUBSCRIBED) is S.PENDING
    assert policies.form_signup_status(a_list(True), S.SUBSCRIBED) is S.SUBSCRIBED
    assert policies.form_signup_status(a_list(False), S.BOUNCED) is S.BOUNCED
    assert policies.form_signup_status(a_list(True), S.COMPLAINED) is S.COMPLAINED


def test_confirmation_tokens_are_long_random_and_url_safe() -> None:
    tokens = {policies.new_confirmation_token() for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(
        len(token) >= 43 and token.replace("-", "").replace("_", "").isalnum() for token in tokens
    )
