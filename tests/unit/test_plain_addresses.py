"""The address fast path answers exactly what email-validator answers, or defers to it."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given
from hypothesis import strategies as st

from openmailer.adapters.addresses import EmailValidatorAddresses, plain_address

pytestmark = pytest.mark.unit

PIECES = st.sampled_from(
    ["a", "Z", "0", "-", ".", "_", "+", "xn--", "é", "@", " ", '"', "..", "local", "test", "co"]
)
ADDRESSES = st.lists(PIECES, min_size=1, max_size=12).map("".join)


def library(address: str) -> str | None:
    try:
        valid = validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return None
    return f"{valid.local_part}@{valid.ascii_domain.lower()}"


@given(local=ADDRESSES, domain=ADDRESSES)
def test_the_fast_path_never_disagrees_with_the_library(local: str, domain: str) -> None:
    address = f"{local}@{domain}"
    fast = plain_address(address)
    if fast is not None:
        assert fast == library(address)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("Ann.Lee+news@Example.ORG", "Ann.Lee+news@example.org"),
        ("a@b.co", "a@b.co"),
        ("ann@host.local", None),  # special-use: the library refuses it
        ("ann@xn--bcher-kva.example", None),  # IDNA: the library's to check
        ("ann..lee@example.com", None),
        ("a" * 65 + "@example.com", None),
        ("ann@example.123", None),
    ],
)
def test_plain_addresses_and_what_is_left_to_the_library(
    address: str, expected: str | None
) -> None:
    assert plain_address(address) == expected
    if expected is not None:
        assert EmailValidatorAddresses().normalize(f"  {address} ") == expected
