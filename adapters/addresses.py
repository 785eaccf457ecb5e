"""`EmailValidatorAddresses`: the EmailAddresses port on the `email-validator` package.

Syntax only (RFC 5321/5322 and the internationalized forms): deliverability checks, which ask
DNS, stay off, so a request never waits on a resolver. The stored form is the trimmed address
with its domain lower-cased and IDNA-encoded (ASCII), the local part as given (NFC).
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from openmailer.core.errors import ValidationError

MAX_STORED_CHARS = 255  # contacts.email is VARCHAR(255)


class EmailValidatorAddresses:
    def normalize(self, raw: str) -> str:
        try:
            valid = validate_email(raw.strip(), check_deliverability=False)
        except EmailNotValidError as error:
            raise ValidationError(
                f"not a valid email address: {error}", field="email", code="invalid_email"
            ) from None
        address = f"{valid.local_part}@{valid.ascii_domain.lower()}"
        if len(address) > MAX_STORED_CHARS:
            raise ValidationError("the address is too long", field="email", code="invalid_email")
        return address
