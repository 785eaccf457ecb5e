"""The messages area's rules without I/O: header inputs, request fingerprints and the retries
of one delivery (the provider order is tested with the chain, tests/unit/sending)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from openmailer.core.errors import ValidationError
from openmailer.core.messages.model import MessageDraft, check_draft, check_idempotency_key
from openmailer.core.messages.services import send
from openmailer.core.sending.chain import Delivery
from openmailer.core.sending.outcomes import RecipientOutcome

DRAFT = MessageDraft(from_email="orders@acme.example", to="ada@example.net", subject="Hi", text="x")


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"subject": "a\r\nBcc: b@c.d"}, "subject", "header_injection"),
        ({"from_name": "A\nB"}, "from_name", "header_injection"),
        ({"reply_to": "a@b.c\0"}, "reply_to", "header_injection"),
        ({"to": "x" * 250 + "@b.example"}, "to", "header_too_long"),
        ({"from_name": "n" * 201}, "from_name", "header_too_long"),
        ({"to": "not-an-address"}, "to", None),
        ({"html": None, "text": None}, "html", "no_content"),
        ({"template_id": 7}, "template_id", "template_and_content"),
        ({"template_version": 2}, "template_version", "template_version_without_template"),
        ({"subject": None}, "subject", None),
    ],
)
def test_bad_header_inputs_name_their_field(
    changes: dict[str, object], field: str, code: str | None
) -> None:
    with pytest.raises(ValidationError) as raised:
        check_draft(replace(DRAFT, **changes))  # type: ignore[arg-type]
    assert raised.value.field == field
    if code is not None:
        assert raised.value.code == code


def test_a_good_draft_passes_and_its_fingerprint_follows_its_content() -> None:
    check_draft(DRAFT)
    by_template = replace(DRAFT, subject=None, text=None, template_id=7, template_version=2)
    check_draft(by_template)
    assert by_template.fingerprint() != replace(by_template, template_version=3).fingerprint()
    assert DRAFT.fingerprint() == replace(DRAFT).fingerprint()
    assert DRAFT.fingerprint() != replace(DRAFT, variables={"a": 1}).fingerprint()
    assert DRAFT.fingerprint() != replace(DRAFT, to="grace@example.net").fingerprint()


@pytest.mark.parametrize("key", ["", "k" * 256, "caf\u00e9", "a\tb"])
def test_idempotency_keys_are_bounded_printable_ascii(key: str) -> None:
    with pytest.raises(ValidationError):
        check_idempotency_key(key)
    check_idempotency_key("order-42/shipped")


class ScriptedAttempts:
    """Each call is one pass through the provider chain, answering the next scripted outcome."""

    def __init__(self, *outcomes: RecipientOutcome) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0

    async def __call__(self) -> Delivery:
        self.calls += 1
        return Delivery(self.outcomes.pop(0), provider_id=7)


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(send, "FIRST_BACKOFF_SECONDS", 0.0)


async def test_a_transient_refusal_is_retried_a_bounded_number_of_times() -> None:
    later = RecipientOutcome.transient("<m@x>", "d@e.f", "451 later")
    attempts = ScriptedAttempts(*[later] * 5)
    delivery = await send._deliver(attempts)
    assert delivery.outcome.detail == "451 later" and attempts.calls == send.MAX_ATTEMPTS

    attempts = ScriptedAttempts(later, RecipientOutcome.accepted("<m@x>", "d@e.f", "Q1"))
    assert (await send._deliver(attempts)).outcome.provider_message_id == "Q1"
    assert attempts.calls == 2


async def test_permanent_and_ambiguous_failures_are_never_retried() -> None:
    for outcome in (
        RecipientOutcome.permanent("<m@x>", "d@e.f", "550 no"),
        RecipientOutcome.transient("<m@x>", "d@e.f", "lost after DATA", ambiguous=True),
    ):
        attempts = ScriptedAttempts(outcome, RecipientOutcome.accepted("<m@x>", "d@e.f", "Q1"))
        assert (await send._deliver(attempts)).outcome == outcome
        assert attempts.calls == 1


def test_the_limit_resets_at_the_next_month() -> None:
    assert send._seconds_to_next_month(datetime(2026, 12, 31, 22, 0, tzinfo=UTC)) == 2 * 3600
    assert send._seconds_to_next_month(datetime(2026, 11, 30, 23, 0, tzinfo=UTC)) == 3600
