"""The outcome classification, configuration validation naming fields, and the contract's
registration through the plugin manager (built-ins exactly as a third party)."""

from __future__ import annotations

import pytest

from openmailer.adapters.providers.configurations import MsgspecProviderConfigurations
from openmailer.adapters.providers.smtp import SMTP
from openmailer.core.errors import ValidationError
from openmailer.core.sending.contract import MessageForm, ProviderType
from openmailer.core.sending.outcomes import OutcomeKind, RecipientOutcome
from openmailer.core.sending.policies import classify_smtp_reply
from openmailer.plugins.manager import load_areas

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (250, OutcomeKind.ACCEPTED),
        (251, OutcomeKind.ACCEPTED),
        (421, OutcomeKind.TRANSIENT),  # service closing: try later
        (450, OutcomeKind.TRANSIENT),
        (451, OutcomeKind.TRANSIENT),  # greylisting, throttling
        (452, OutcomeKind.TRANSIENT),
        (550, OutcomeKind.PERMANENT),
        (552, OutcomeKind.PERMANENT),
        (554, OutcomeKind.PERMANENT),
        (-1, OutcomeKind.TRANSIENT),  # no reply at all: never give a recipient up on it
        (354, OutcomeKind.TRANSIENT),  # not a final reply
    ],
)
def test_smtp_replies_map_to_the_three_outcomes(code: int, kind: OutcomeKind) -> None:
    assert classify_smtp_reply(code) is kind


def test_only_transient_outcomes_are_retryable() -> None:
    assert RecipientOutcome.transient("<m>", "a@x.org", "451", ambiguous=True).retryable
    assert not RecipientOutcome.permanent("<m>", "a@x.org", "550").retryable
    assert not RecipientOutcome.accepted("<m>", "a@x.org", "Q1").retryable


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"host": "smtp.example.com", "port": 70000}, "configuration.port"),
        ({"host": "smtp.example.com", "port": True}, "configuration.port"),
        ({"host": "bad host!"}, "configuration.host"),
        ({}, "configuration.host"),
        ({"host": "h", "passwrd": "x"}, "configuration.passwrd"),
    ],
)
def test_a_wrong_configuration_field_is_named(raw: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        MsgspecProviderConfigurations().validate(SMTP, raw)
    assert raised.value.field == field


def test_configurations_round_trip_through_json() -> None:
    configurations = MsgspecProviderConfigurations()
    valid = configurations.validate(SMTP, {"host": "smtp.example.com", "password": "p"})
    decoded = configurations.decode(SMTP, configurations.encode(valid))
    assert configurations.as_dict(decoded)["password"] == "p"
    assert configurations.as_dict(decoded)["port"] == 587


def test_built_in_and_third_party_providers_register_through_the_hook() -> None:
    providers = load_areas().providers
    assert providers.plugin_of("SMTP") == "sending"
    assert providers.plugin_of("OUTBOX") == "sending"
    assert providers.plugin_of("RECORDING") == "test_provider"
    assert providers["SMTP"].message_form is MessageForm.RAW_MIME
    assert providers["RECORDING"].message_form is MessageForm.PARTS


def test_a_provider_type_name_must_fit_the_column() -> None:
    with pytest.raises(ValueError, match="upper-case"):
        ProviderType("smtp", dict, MessageForm.RAW_MIME, open_client=lambda c, x: None)  # type: ignore[arg-type]
