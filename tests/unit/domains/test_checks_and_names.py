"""The verification policy and domain-name rules, on plain values."""

from __future__ import annotations

import pytest

from openmailer.core.domains.checks import (
    LookupProblem,
    Outcome,
    TxtLookup,
    check_dkim_key,
    check_dmarc,
    check_spf,
    next_status,
)
from openmailer.core.domains.model import DomainStatus, normalize_domain_name
from openmailer.core.errors import ValidationError

pytestmark = pytest.mark.unit


def txt(*records: str) -> TxtLookup:
    return TxtLookup(records=records)


@pytest.mark.parametrize(
    ("records", "outcome"),
    [
        (("v=spf1 a mx ~all",), Outcome.PASS),
        (("v=spf1 include:_spf.provider.example -all",), Outcome.PASS),
        (("v=spf1 ?all", "google-site-verification=x"), Outcome.PASS),
        (("v=spf1 -all",), Outcome.FAIL),
        (("v=spf1 +all",), Outcome.FAIL),
        (("v=spf1 a ~all", "v=spf1 mx ~all"), Outcome.FAIL),
        (("not spf",), Outcome.FAIL),
    ],
)
def test_spf(records: tuple[str, ...], outcome: Outcome) -> None:
    assert check_spf("example.com", txt(*records)).outcome is outcome


@pytest.mark.parametrize(
    ("records", "outcome"),
    [
        (("v=DMARC1; p=none",), Outcome.PASS),
        (("v=DMARC1; p=reject; rua=mailto:d@example.com",), Outcome.PASS),
        (("v=DMARC1; rua=mailto:d@example.com",), Outcome.FAIL),
        (("v=DMARC1; p=maybe",), Outcome.FAIL),
        (("v=DMARC1; p=none", "v=DMARC1; p=reject"), Outcome.FAIL),
    ],
)
def test_dmarc(records: tuple[str, ...], outcome: Outcome) -> None:
    assert check_dmarc("example.com", txt(*records)).outcome is outcome


def test_dkim_compares_the_published_key_ignoring_folding_whitespace() -> None:
    assert check_dkim_key("s", "d.example", "rsa", "AB+C", txt("v=DKIM1; p=AB +C")).outcome is (
        Outcome.PASS
    )
    assert check_dkim_key(
        "s", "d.example", "rsa", "AB+C", txt("v=DKIM1; k=rsa; p=XYZ")
    ).outcome is (Outcome.FAIL)
    assert check_dkim_key("s", "d.example", "ed25519", "K", txt("v=DKIM1; p=K")).outcome is (
        Outcome.FAIL
    )


@pytest.mark.parametrize(
    ("problem", "outcome"),
    [
        (LookupProblem.NXDOMAIN, Outcome.FAIL),
        (LookupProblem.NO_RECORDS, Outcome.FAIL),
        (LookupProblem.TIMEOUT, Outcome.UNKNOWN),
        (LookupProblem.SERVFAIL, Outcome.UNKNOWN),
        (LookupProblem.UNREACHABLE, Outcome.UNKNOWN),
    ],
)
def test_an_unanswered_lookup_is_unknown_an_answered_empty_one_fails(
    problem: LookupProblem, outcome: Outcome
) -> None:
    assert check_spf("example.com", TxtLookup(problem=problem)).outcome is outcome


def test_status_moves_on_answers_only_and_never_lifts_a_suspension() -> None:
    passed, failed, unknown = Outcome.PASS, Outcome.FAIL, Outcome.UNKNOWN
    assert next_status(DomainStatus.PENDING, [passed] * 4) is DomainStatus.VERIFIED
    assert next_status(DomainStatus.VERIFIED, [passed, failed]) is DomainStatus.FAILED
    assert next_status(DomainStatus.VERIFIED, [passed, unknown]) is DomainStatus.VERIFIED
    assert next_status(DomainStatus.FAILED, [passed] * 4) is DomainStatus.VERIFIED
    assert next_status(DomainStatus.SUSPENDED, [passed] * 4) is DomainStatus.SUSPENDED


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("Mail.Example.COM", "mail.example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("a-b.co.uk", "a-b.co.uk"),
    ],
)
def test_names_are_stored_as_lower_case_a_labels(raw: str, stored: str) -> None:
    assert normalize_domain_name(raw) == stored


@pytest.mark.parametrize(
    "raw",
    [
        "example.com.",
        "localhost",
        "a..example",
        "-a.example",
        "a_b.example",
        "1.2.3.4",
        " a.example",
    ],
)
def test_invalid_names_are_refused(raw: str) -> None:
    with pytest.raises(ValidationError) as refused:
        normalize_domain_name(raw)
    assert refused.value.field == "domain_name"
