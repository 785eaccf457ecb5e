"""The messages area's rules without I/O: header inputs, request fingerprints, which provider
a message goes through, and the retries of one delivery."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from openmailer.core.errors import ValidationError
from openmailer.core.messages.model import MessageDraft, check_draft, check_idempotency_key
from openmailer.core.messages.services import send
from openmailer.core.pages import Page
from openmailer.core.sending.contract import OutgoingMessage
from openmailer.core.sending.model import Provider
from openmailer.core.sending.outcomes import RecipientOutcome

DRAFT = MessageDraft(from_email="orders@acme.example", to="ada@example.net", subject="Hi", text="x")
NOW = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)


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


def provider(provider_id: int, **fields: object) -> Provider:
    values: dict[str, object] = {
        "id": provider_id,
        "user_id": 1,
        "provider_type": "SMTP",
        "provider_name": f"p{provider_id}",
        "sealed_configuration": "",
        "is_active": True,
        "is_default": False,
        "priority": 0,
        "daily_limit": None,
        "monthly_limit": None,
        "status": "ACTIVE",
        "last_error": None,
        "last_error_at": None,
        "created_at": NOW,
        "updated_at": NOW,
        **fields,
    }
    return Provider(**values)  # type: ignore[arg-type]


class ListedProviders:
    def __init__(self, providers: list[Provider]) -> None:
        self.providers = providers

    async def list_for_user(self, user_id: int, *, limit: int, offset: int) -> Page[Provider]:
        items = self.providers[offset : offset + limit]
        return Page(items=items, total=len(self.providers), limit=limit, offset=offset)


async def test_the_default_active_provider_wins_else_the_lowest_priority() -> None:
    choose = send.default_provider
    assert (
        await choose(
            1,
            ListedProviders([]),
        )
        is None
    )  # type: ignore[arg-type]
    mixed = [
        provider(1, priority=5),
        provider(2, priority=1),
        provider(3, priority=0, is_active=False),
    ]
    assert (await choose(1, ListedProviders(mixed))).id == 2  # type: ignore[arg-type, union-attr]
    mixed.append(provider(4, priority=9, is_default=True))
    assert (await choose(1, ListedProviders(mixed))).id == 4  # type: ignore[arg-type, union-attr]
    disabled = [provider(5, is_default=True, status="DISABLED"), provider(6, priority=3)]
    assert (await choose(1, ListedProviders(disabled))).id == 6  # type: ignore[arg-type, union-attr]


class ScriptedClient:
    def __init__(self, *outcomes: RecipientOutcome) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0

    async def send_batch(self, messages: list[OutgoingMessage]) -> list[RecipientOutcome]:
        self.calls += 1
        return [self.outcomes.pop(0)]


MESSAGE = OutgoingMessage(message_id="<m@x>", sender="a@b.c", recipients=("d@e.f",), subject="s")


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(send, "FIRST_BACKOFF_SECONDS", 0.0)


async def test_a_transient_refusal_is_retried_a_bounded_number_of_times() -> None:
    later = RecipientOutcome.transient("<m@x>", "d@e.f", "451 later")
    client = ScriptedClient(*[later] * 5)
    outcome = await send._deliver(client, MESSAGE)  # type: ignore[arg-type]
    assert outcome.detail == "451 later" and client.calls == send.MAX_ATTEMPTS

    client = ScriptedClient(later, RecipientOutcome.accepted("<m@x>", "d@e.f", "Q1"))
    assert (await send._deliver(client, MESSAGE)).provider_message_id == "Q1"  # type: ignore[arg-type]
    assert client.calls == 2


async def test_permanent_and_ambiguous_failures_are_never_retried() -> None:
    for outcome in (
        RecipientOutcome.permanent("<m@x>", "d@e.f", "550 no"),
        RecipientOutcome.transient("<m@x>", "d@e.f", "lost after DATA", ambiguous=True),
    ):
        client = ScriptedClient(outcome, RecipientOutcome.accepted("<m@x>", "d@e.f", "Q1"))
        assert await send._deliver(client, MESSAGE) == outcome  # type: ignore[arg-type]
        assert client.calls == 1


def test_the_limit_resets_at_the_next_month() -> None:
    assert send._seconds_to_next_month(datetime(2026, 12, 31, 22, 0, tzinfo=UTC)) == 2 * 3600
    assert send._seconds_to_next_month(datetime(2026, 11, 30, 23, 0, tzinfo=UTC)) == 3600
