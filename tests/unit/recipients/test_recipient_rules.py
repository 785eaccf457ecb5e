"""The recipient pages' rules in core: CSRF tokens, form fields, reasons, the confirmation mail."""

from __future__ import annotations

import pytest

from openmailer.core.errors import ValidationError
from openmailer.core.recipients import csrf
from openmailer.core.recipients.mail import confirmation_draft
from openmailer.core.recipients.model import (
    MAX_FORM_FIELDS,
    MAX_REASON_CHARS,
    PublicForm,
    check_form_fields,
    clean_field_value,
    clean_reason,
)

pytestmark = pytest.mark.unit

KEY = b"k" * 32
NOW = 1_800_000_000


def test_a_csrf_token_works_on_its_page_in_its_browser_for_a_while() -> None:
    nonce = csrf.new_nonce()
    token = csrf.issue(KEY, "/u/abc", nonce, now=NOW)
    assert csrf.verify(KEY, "/u/abc", token, nonce, now=NOW + 60)
    assert csrf.verify(KEY, "/u/abc", token, nonce, now=NOW + csrf.MAX_AGE_SECONDS)
    assert not csrf.verify(KEY, "/u/abc", token, nonce, now=NOW + csrf.MAX_AGE_SECONDS + 1)
    assert not csrf.verify(KEY, "/u/abc", token, nonce, now=NOW - 1)  # issued in the future
    assert not csrf.verify(KEY, "/p/abc", token, nonce, now=NOW)  # another page
    assert not csrf.verify(KEY, "/u/abc", token, csrf.new_nonce(), now=NOW)  # another browser
    assert not csrf.verify(KEY, "/u/abc", token, None, now=NOW)  # no cookie
    assert not csrf.verify(b"x" * 32, "/u/abc", token, nonce, now=NOW)  # another key


@pytest.mark.parametrize(
    "token",
    ["", ".", "..", "a.b.c", "a.1.", "é.1.x", "a.99999999999999.x", "a.-1.x", "a." + "1" * 300],
)
def test_a_malformed_csrf_token_is_refused_without_raising(token: str) -> None:
    assert not csrf.verify(KEY, "/u/abc", token, "a", now=NOW)
    assert not csrf.verify(KEY, "/u/abc", token, "é", now=NOW)


def test_form_fields_are_distinct_names_a_template_can_use() -> None:
    assert check_form_fields(["company", "city", "company"]) == ("company", "city")
    for bad in ("", "1st", "has space", "email", "csrf_token", "x" * 65, "naïve"):
        with pytest.raises(ValidationError) as refused:
            check_form_fields([bad])
        assert refused.value.code == "invalid_form_field"
    with pytest.raises(ValidationError) as too_many:
        check_form_fields([f"f{n}" for n in range(MAX_FORM_FIELDS + 1)])
    assert too_many.value.code == "too_many_form_fields"


def test_field_values_are_bounded_and_reasons_are_cut_not_refused() -> None:
    assert clean_field_value("city", "  Lyon ") == "Lyon"
    with pytest.raises(ValidationError):
        clean_field_value("city", "x" * 501)
    assert clean_reason(None) is None and clean_reason("  ") is None
    assert clean_reason(" bye\x00 ") == "bye"
    assert clean_reason("y" * 2000) == "y" * MAX_REASON_CHARS


def test_the_confirmation_mail_passes_names_as_variables_on_one_line() -> None:
    form = PublicForm(
        list_id=1,
        user_id=2,
        public_id="p" * 32,
        list_name="{{ secret }}\r\nBcc: x@y",
        description=None,
        owner_name="Ann\tCo",
        owner_email="ann@example.com",
        double_opt_in=True,
        fields=(),
    )
    draft = confirmation_draft(
        form, sender=form.owner_email, to="v@example.org", confirm_url="https://h/confirm/t"
    )
    assert "{{ secret }}" not in (draft.subject or "") + (draft.html or "") + (draft.text or "")
    assert draft.variables["list_name"] == "{{ secret }} Bcc: x@y"
    assert draft.variables["owner_name"] == "Ann Co" and draft.from_name == "Ann Co"
    assert "{{ custom.confirm_url }}" in (draft.text or "")
    assert draft.variables["confirm_url"] == "https://h/confirm/t"
