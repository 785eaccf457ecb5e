"""The messages area's rules without I/O: header inputs, request fingerprints and the retries
of one delivery (the provider order is tested with the chain, tests/unit/sending)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from openmailer.core.errors import ValidationError
from openmailer.core.messages.model import (
    MAX_RECIPIENTS,
    MessageDraft,
    check_draft,
    check_idempotency_key,
)
from openmailer.core.messages.services import send
from openmailer.core.sending.chain import Delivery
from openmailer.core.sending.contract import OutgoingMessage
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
    """Each call is one pass through the provider chain with the messages still waiting; each
    message answers the next outcome scripted for its address."""

    def __init__(self, scripts: dict[str, list[RecipientOutcome]]) -> None:
        self.scripts = scripts
        self.batches: list[list[str]] = []

    @property
    def calls(self) -> int:
        return len(self.batches)

    async def __call__(self, batch: Sequence[OutgoingMessage]) -> list[Delivery]:
        self.batches.append([m.recipients[0] for m in batch])
        return [Delivery(self.scripts[m.recipients[0]].pop(0), provider_id=7) for m in batch]


def outgoing(*addresses: str) -> list[OutgoingMessage]:
    return [OutgoingMessage(f"<{a}>", "s@acme.example", (a,), "Hi") for a in addresses]


async def deliver(attempts: ScriptedAttempts, *addresses: str) -> dict[str, Delivery]:
    results: dict[str, Delivery] = {}
    await send._deliver(attempts, outgoing(*addresses), results)
    return {key.strip("<>"): delivery for key, delivery in results.items()}


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(send, "FIRST_BACKOFF_SECONDS", 0.0)


async def test_a_transient_refusal_is_retried_a_bounded_number_of_times() -> None:
    later = RecipientOutcome.transient("<d@e.f>", "d@e.f", "451 later")
    attempts = ScriptedAttempts({"d@e.f": [later] * 5})
    assert (await deliver(attempts, "d@e.f"))["d@e.f"].outcome.detail == "451 later"
    assert attempts.calls == send.MAX_ATTEMPTS

    attempts = ScriptedAttempts(
        {"d@e.f": [later, RecipientOutcome.accepted("<d@e.f>", "d@e.f", "Q1")]}
    )
    assert (await deliver(attempts, "d@e.f"))["d@e.f"].outcome.provider_message_id == "Q1"
    assert attempts.calls == 2


async def test_permanent_and_ambiguous_failures_are_never_retried() -> None:
    for outcome in (
        RecipientOutcome.permanent("<d@e.f>", "d@e.f", "550 no"),
        RecipientOutcome.transient("<d@e.f>", "d@e.f", "lost after DATA", ambiguous=True),
    ):
        accepted = RecipientOutcome.accepted("<d@e.f>", "d@e.f", "Q1")
        attempts = ScriptedAttempts({"d@e.f": [outcome, accepted]})
        assert (await deliver(attempts, "d@e.f"))["d@e.f"].outcome == outcome
        assert attempts.calls == 1


async def test_only_the_messages_with_a_transient_outcome_are_sent_again() -> None:
    def accepted(address: str) -> RecipientOutcome:
        return RecipientOutcome.accepted(f"<{address}>", address, "Q")

    attempts = ScriptedAttempts(
        {
            "a@x.example": [accepted("a@x.example")],
            "b@x.example": [
                RecipientOutcome.transient("<b@x.example>", "b@x.example", "451"),
                accepted("b@x.example"),
            ],
            "c@x.example": [RecipientOutcome.permanent("<c@x.example>", "c@x.example", "550")],
        }
    )
    results = await deliver(attempts, "a@x.example", "b@x.example", "c@x.example")
    assert attempts.batches == [["a@x.example", "b@x.example", "c@x.example"], ["b@x.example"]]
    assert results["b@x.example"].outcome.provider_message_id == "Q"
    assert results["c@x.example"].outcome.detail == "550"


def test_a_list_of_recipients_is_bounded_distinct_and_each_an_address() -> None:
    many = tuple(f"r{i}@example.net" for i in range(MAX_RECIPIENTS))
    check_draft(replace(DRAFT, to=many))
    with pytest.raises(ValidationError) as too_many:
        check_draft(replace(DRAFT, to=(*many, "one.more@example.net")))
    assert too_many.value.code == "too_many_recipients"
    with pytest.raises(ValidationError) as empty:
        check_draft(replace(DRAFT, to=()))
    assert empty.value.code == "no_recipient"
    with pytest.raises(ValidationError) as twice:
        check_draft(replace(DRAFT, to=("ada@example.net", "ADA@Example.net")))
    assert twice.value.code == "duplicate_recipient" and twice.value.field == "/to/1"
    with pytest.raises(ValidationError) as injected:
        check_draft(replace(DRAFT, to=("ada@example.net", "b@x.example\r\nBcc: c@x.example")))
    assert injected.value.code == "header_injection" and injected.value.field == "/to/1"
    with pytest.raises(ValidationError) as not_one:
        check_draft(replace(DRAFT, to=("ada@example.net", "nobody")))
    assert not_one.value.field == "/to/1"


def test_the_limit_resets_at_the_next_month() -> None:
    assert send._seconds_to_next_month(datetime(2026, 12, 31, 22, 0, tzinfo=UTC)) == 2 * 3600
    assert send._seconds_to_next_month(datetime(2026, 11, 30, 23, 0, tzinfo=UTC)) == 3600
