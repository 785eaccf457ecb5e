"""`EmailValidatorAddresses`: the EmailAddresses port on the `email-validator` package.

Syntax only (RFC 5321/5322 and the internationalized forms): deliverability checks, which ask
DNS, stay off, so a request never waits on a resolver. The stored form is the trimmed address
with its domain lower-cased and IDNA-encoded (ASCII), the local part as given (NFC).
"""

from __future__ import annotations

import re

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from openmailer.core.errors import ValidationError

MAX_STORED_CHARS = 255  # contacts.email is VARCHAR(255)
# The plainest addresses (an ASCII dot-atom at a name of letter-digit-hyphen labels under an
# alphabetic top-level label, within every length limit), which the library accepts unchanged
# but for the domain's case: they skip it, since an import checks a million of them and the
# library takes tens of microseconds each. Anything else (IDNA, quoting, special-use names,
# odd lengths) is the library's to judge; a test holds the two to the same answers.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN = re.compile(rf"({_ATOM}(?:\.{_ATOM})*)@((?:{_LABEL}\.)+([A-Za-z]{{2,63}}))")
_SPECIAL_USE = frozenset(SPECIAL_USE_DOMAIN_NAMES)


def plain_address(address: str) -> str | None:
    """The stored form of a plain address (see `_PLAIN`), or None: ask the library."""
    match = _PLAIN.fullmatch(address)
    if match is None or len(address) > 254 or len(match[1]) > 64:
        return None
    domain = match[2].lower()
    if match[3].lower() in _SPECIAL_USE or "xn--" in domain or len(domain) > 253:
        return None
    return f"{match[1]}@{domain}"


class EmailValidatorAddresses:
    def normalize(self, raw: str) -> str:
        stripped = raw.strip()
        plain = plain_address(stripped)
        if plain is not None:
            return plain
        try:
            valid = validate_email(stripped, check_deliverability=False)
        except EmailNotValidError as error:
            raise ValidationError(
                f"not a valid email address: {error}", field="email", code="invalid_email"
            ) from None
        address = f"{valid.local_part}@{valid.ascii_domain.lower()}"
        if len(address) > MAX_STORED_CHARS:
            raise ValidationError("the address is too long", field="email", code="invalid_email")
        return address
