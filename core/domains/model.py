"""A sending domain, its DKIM key sets and its status.

Each key set is an RSA-2048 key at `<selector>._domainkey` and an Ed25519 key at
`<selector>-ed25519._domainkey` (dual signing, RFC 8463). A domain has its active set and, while a
rotation waits for DNS, a pending one; mail is signed with the active set until the pending
set's records verify, then the pending set becomes the active one.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from openmailer.core.errors import ValidationError

ED25519_SELECTOR_SUFFIX = "-ed25519"
VERIFICATION_LABEL = "_openmailer"
VERIFICATION_PREFIX = "openmailer-verification="
MAX_DOMAIN_LENGTH = 253
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TLD = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")


class DomainStatus(StrEnum):
    PENDING = "PENDING"
    VERIFIED = "VERIFIED"
    FAILED = "FAILED"
    SUSPENDED = "SUSPENDED"


@dataclass(frozen=True, slots=True)
class DkimKeySet:
    """Public keys as the base64 DER of a DKIM `p=` tag; private keys sealed (SecretBox)."""

    selector: str
    rsa_public_key: str
    rsa_private_key_sealed: str
    ed25519_public_key: str
    ed25519_private_key_sealed: str

    @property
    def ed25519_selector(self) -> str:
        return self.selector + ED25519_SELECTOR_SUFFIX


@dataclass(frozen=True, slots=True)
class CheckState:
    """What the last answered check of one record found."""

    verified: bool = False
    last_checked_at: datetime | None = None
    record: str | None = None


@dataclass(frozen=True, slots=True)
class Domain:
    id: int
    user_id: int
    name: str
    status: DomainStatus
    verification_token: str
    dkim: DkimKeySet | None
    pending_dkim: DkimKeySet | None
    ownership: CheckState
    spf: CheckState
    dkim_check: CheckState
    dmarc: CheckState
    verified_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @property
    def verification_name(self) -> str:
        return f"{VERIFICATION_LABEL}.{self.name}"

    @property
    def verification_value(self) -> str:
        return VERIFICATION_PREFIX + self.verification_token


def normalize_domain_name(raw: str) -> str:
    """The A-label (IDNA, ASCII) form in lower case: `Bücher.Example` -> `xn--bcher-kva.example`.

    Refused: a trailing dot (names are stored and published without one), fewer than two labels,
    labels that are not letters, digits and inner hyphens, a top-level label of digits.
    """
    name = raw.strip()
    if not name or name != raw:
        raise ValidationError("a domain name without surrounding blanks", field="domain_name")
    if name.endswith("."):
        raise ValidationError(
            "write the domain name without a trailing dot",
            field="domain_name",
            code="invalid_domain",
        )
    try:
        ascii_name = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValidationError(
            f"{raw!r} is not a valid internationalized domain name",
            field="domain_name",
            code="invalid_domain",
        ) from None
    labels = ascii_name.split(".")
    if (
        len(labels) < 2
        or len(ascii_name) > MAX_DOMAIN_LENGTH
        or not all(_LABEL.match(label) for label in labels)
        or not _TLD.match(labels[-1])
    ):
        raise ValidationError(
            f"{raw!r} is not a domain name of at least two labels (e.g. mail.example.com)",
            field="domain_name",
            code="invalid_domain",
        )
    return ascii_name


def new_verification_token() -> str:
    return secrets.token_hex(24)


def new_selector(now: datetime) -> str:
    """A selector never used before on the domain: the date and a random part (`om20250601a1b2c3`),
    so a rotation's record never collides with the one it replaces."""
    return f"om{now:%Y%m%d}{secrets.token_hex(3)}"
