"""Which forms a chain's provider types need: one rendering per form, one signing profile for
every raw provider."""

from __future__ import annotations

import pytest

from openmailer.core.sending.contract import MessageForm, ProviderType
from openmailer.core.sending.services.forms import FormsNeeded, forms_needed, subject_of

pytestmark = pytest.mark.unit


def kind(name: str, form: MessageForm, profile: str = "default") -> ProviderType:
    return ProviderType(
        name=name,
        configuration=dict,
        message_form=form,
        open_client=lambda configuration, context: None,  # type: ignore[arg-type,return-value]
        signing_profile=profile,  # type: ignore[arg-type]
    )


SMTP = kind("SMTP", MessageForm.RAW_MIME)
SES = kind("SES", MessageForm.RAW_MIME, "ses")
SENDGRID = kind("SENDGRID", MessageForm.PARTS)


@pytest.mark.parametrize(
    ("chain", "needed"),
    [
        ([], FormsNeeded(raw_profile="default", parts=False)),  # the outbox keeps raw MIME
        ([SMTP], FormsNeeded(raw_profile="default", parts=False)),
        ([SES], FormsNeeded(raw_profile="ses", parts=False)),
        ([SENDGRID], FormsNeeded(raw_profile=None, parts=True)),
        # SES's profile signs fewer headers and verifies on any path: used for every raw one.
        ([SMTP, SES], FormsNeeded(raw_profile="ses", parts=False)),
        ([SMTP, SENDGRID], FormsNeeded(raw_profile="default", parts=True)),
        ([SENDGRID, SES, SMTP], FormsNeeded(raw_profile="ses", parts=True)),
    ],
)
def test_forms_needed(chain: list[ProviderType], needed: FormsNeeded) -> None:
    assert forms_needed(chain) == needed


@pytest.mark.parametrize(
    ("raw", "subject"),
    [
        # An encoded, folded subject; the body's "Subject:" line is not a header.
        (
            b"From: a@example.com\r\nSubject: =?utf-8?q?Caf=C3=A9?=\r\n =?utf-8?q?_news?=\r\n"
            b"To: b@example.com\r\n\r\nSubject: not this one\r\n" + b"x" * 30_000 + b"\r\n",
            "Café news",
        ),
        (b"From: a@example.com\r\n\r\nSubject: a body line\r\n", ""),
        # A message without a body (no blank line at all) is all headers.
        (b"From: a@example.com\r\nSubject: Hello\r\n", "Hello"),
        # Bare LF line ends: the parser finds the end of the headers itself.
        (b"Subject: Plain\nFrom: a@example.com\n\nSubject: no\r\n\r\n", "Plain"),
    ],
)
def test_subject_is_read_from_the_headers_only(raw: bytes, subject: str) -> None:
    assert subject_of(raw) == subject
