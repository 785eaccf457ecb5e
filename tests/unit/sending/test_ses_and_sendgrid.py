"""SES's error classification for every code it maps, SendGrid's Retry-After and request body,
their configurations naming a wrong field, and their registration through the hook."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from openmailer.adapters.providers.configurations import MsgspecProviderConfigurations
from openmailer.adapters.providers.sendgrid import (
    DEFAULT_RETRY_AFTER_SECONDS,
    SENDGRID,
    mail_send_body,
    retry_after_seconds,
)
from openmailer.adapters.providers.ses import (
    PERMANENT_CODES,
    SES,
    TRANSIENT_CODES,
    classify_ses_error,
)
from openmailer.core.errors import ValidationError
from openmailer.core.sending.contract import MessageForm, OutgoingMessage, RenderedParts
from openmailer.core.sending.outcomes import OutcomeKind
from openmailer.plugins.manager import load_areas

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("code", sorted(TRANSIENT_CODES))
def test_ses_transient_codes(code: str) -> None:
    assert classify_ses_error(code, 400) is OutcomeKind.TRANSIENT


@pytest.mark.parametrize("code", sorted(PERMANENT_CODES))
def test_ses_permanent_codes(code: str) -> None:
    assert classify_ses_error(code, 400) is OutcomeKind.PERMANENT


def test_the_documented_codes_are_mapped_one_way_only() -> None:
    assert {"Throttling", "ThrottlingException", "ServiceUnavailable", "InternalFailure"} <= (
        TRANSIENT_CODES
    )
    assert {"RequestTimeout", "AccountSendingPausedException"} <= TRANSIENT_CODES
    assert {"MessageRejected", "MailFromDomainNotVerified", "InvalidParameterValue"} <= (
        PERMANENT_CODES
    )
    assert not TRANSIENT_CODES & PERMANENT_CODES


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (500, OutcomeKind.TRANSIENT),
        (502, OutcomeKind.TRANSIENT),
        (503, OutcomeKind.TRANSIENT),
        (408, OutcomeKind.TRANSIENT),
        (429, OutcomeKind.TRANSIENT),
        (400, OutcomeKind.PERMANENT),
        (403, OutcomeKind.TRANSIENT),  # refused credentials: the provider's failure, not the mail's
        (401, OutcomeKind.TRANSIENT),
        (None, OutcomeKind.PERMANENT),
    ],
)
def test_unknown_ses_codes_go_by_http_status(status: int | None, kind: OutcomeKind) -> None:
    assert classify_ses_error("SomethingNew", status) is kind


def test_retry_after_as_seconds_or_an_http_date() -> None:
    now = datetime(2026, 12, 2, 10, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Wed, 02 Dec 2026 10:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("Wed, 02 Dec 2026 09:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds(None) == DEFAULT_RETRY_AFTER_SECONDS
    assert retry_after_seconds("soon") == DEFAULT_RETRY_AFTER_SECONDS


def test_the_body_keeps_sendgrids_reserved_headers_out() -> None:
    message = OutgoingMessage(
        message_id="<m@acme.example>",
        sender="news@acme.example",
        recipients=("a@example.org",),
        subject="Hi",
        parts=RenderedParts(
            subject="Hi",
            html="<p>Hi</p>",
            headers=(
                ("From", '"Acme, Inc." <news@acme.example>'),
                ("To", "a@example.org"),
                ("Date", "Wed, 02 Dec 2026 10:00:00 +0000"),
                ("List-Id", "<acme.example>"),
            ),
        ),
    )
    configuration = MsgspecProviderConfigurations().validate(SENDGRID, {"api_key": "SG.k"})
    body = mail_send_body(message, configuration)
    assert body["from"] == {"email": "news@acme.example", "name": "Acme, Inc."}
    assert body["headers"] == {"List-Id": "<acme.example>"}
    assert body["content"] == [{"type": "text/html", "value": "<p>Hi</p>"}]


SES_VALID = {
    "region": "eu-west-1",
    "access_key_id": "AKIAIOSFODNN7EXAMPLE",
    "secret_access_key": "s",
}


@pytest.mark.parametrize(
    ("provider_type", "raw", "field"),
    [
        (SES, {**SES_VALID, "region": "Europe"}, "configuration.region"),
        (SES, {k: v for k, v in SES_VALID.items() if k != "region"}, "configuration.region"),
        (SES, {**SES_VALID, "endpoint_url": "ftp://x.example"}, "configuration.endpoint_url"),
        (SES, {**SES_VALID, "access_key_id": "short"}, "configuration.access_key_id"),
        (SES, {**SES_VALID, "max_concurrency": 0}, "configuration.max_concurrency"),
        (SES, {**SES_VALID, "secret": "x"}, "configuration.secret"),
        (SENDGRID, {}, "configuration.api_key"),
        (SENDGRID, {"api_key": "has space"}, "configuration.api_key"),
        (SENDGRID, {"api_key": "k", "base_url": "javascript:x"}, "configuration.base_url"),
        (SENDGRID, {"api_key": "k", "sandbox_mode": "yes"}, "configuration.sandbox_mode"),
    ],
)
def test_a_wrong_field_is_named(provider_type: object, raw: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        MsgspecProviderConfigurations().validate(provider_type, raw)  # type: ignore[arg-type]
    assert raised.value.field == field


def test_ses_and_sendgrid_register_through_the_hook_with_their_forms() -> None:
    providers = load_areas().providers
    assert providers.plugin_of("SES") == "sending" and providers.plugin_of("SENDGRID") == "sending"
    assert providers["SES"].message_form is MessageForm.RAW_MIME
    assert providers["SES"].signing_profile == "ses"
    assert providers["SENDGRID"].message_form is MessageForm.PARTS
    assert providers["SES"].secret_fields == {"secret_access_key", "session_token"}
    assert providers["SENDGRID"].secret_fields == {"api_key"}
