"""The provider chain on fakes: order, failover of transient outcomes only, breakers, limits
(taken before, given back after), and the provider health it records."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from openmailer.core.pages import Page
from openmailer.core.sending.chain import (
    ALL_OPEN,
    NO_PROVIDER,
    NO_ROOM,
    ChainPorts,
    ProviderChain,
    failover_order,
)
from openmailer.core.sending.contract import CheckReport, OutgoingMessage
from openmailer.core.sending.model import (
    BreakerAdmission,
    BreakerTransition,
    LimitGrant,
    Provider,
)
from openmailer.core.sending.outcomes import OutcomeKind, RecipientOutcome

NOW = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)
Answer = Callable[[OutgoingMessage, str], RecipientOutcome]


def provider(provider_id: int, **fields: object) -> Provider:
    values: dict[str, object] = {
        "id": provider_id,
        "user_id": 1,
        "provider_type": "SMTP",
        "provider_name": f"p{provider_id}",
        "sealed_configuration": f"sealed-{provider_id}",
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


def accept(message: OutgoingMessage, recipient: str) -> RecipientOutcome:
    return RecipientOutcome.accepted(message.message_id, recipient, f"id-{recipient}")


def later(message: OutgoingMessage, recipient: str) -> RecipientOutcome:
    return RecipientOutcome.transient(message.message_id, recipient, "451 later")


def refuse(message: OutgoingMessage, recipient: str) -> RecipientOutcome:
    return RecipientOutcome.permanent(message.message_id, recipient, "550 no such user")


class FakeClient:
    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.batches: list[list[OutgoingMessage]] = []

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[RecipientOutcome]:
        self.batches.append(list(messages))
        return [self.answer(m, r) for m in messages for r in m.recipients]

    async def check(self) -> CheckReport:
        return CheckReport(ok=True)

    async def aclose(self) -> None:
        pass

    @property
    def recipients(self) -> list[str]:
        return [r for batch in self.batches for m in batch for r in m.recipients]


class FakeClients:
    def __init__(self, clients: dict[int, FakeClient]) -> None:
        self.clients = clients

    async def client_for(self, provider: Provider) -> FakeClient:
        return self.clients[provider.id]

    async def aclose(self) -> None:
        pass


class FakeBreaker:
    """Opens after `threshold` failures in a row; `cooled` lets one probe through."""

    def __init__(self, threshold: int = 2) -> None:
        self.threshold = threshold
        self.failures: dict[int, int] = {}
        self.open: set[int] = set()
        self.cooled: set[int] = set()

    async def admit(self, provider_id: int) -> BreakerAdmission:
        if provider_id not in self.open:
            return BreakerAdmission(True)
        if provider_id in self.cooled:
            self.cooled.discard(provider_id)
            return BreakerAdmission(True, probe=True)
        return BreakerAdmission(False)

    async def record_failure(self, provider_id: int, *, probe: bool) -> BreakerTransition | None:
        self.failures[provider_id] = self.failures.get(provider_id, 0) + 1
        tripped = self.failures[provider_id] >= self.threshold and provider_id not in self.open
        if probe or tripped:
            self.open.add(provider_id)
            return BreakerTransition.OPENED
        return None

    async def record_success(self, provider_id: int, *, probe: bool) -> BreakerTransition | None:
        self.failures[provider_id] = 0
        if probe:
            self.open.discard(provider_id)
            return BreakerTransition.CLOSED
        return None


class FakeLimits:
    def __init__(self, room: dict[int, int]) -> None:
        self.room = room
        self.given_back: dict[int, int] = {}

    async def take(self, provider: Provider, count: int) -> LimitGrant:
        granted = min(count, self.room.get(provider.id, count))
        if provider.id in self.room:
            self.room[provider.id] -= granted
        return LimitGrant(provider.id, granted, (f"c{provider.id}",))

    async def give_back(self, grant: LimitGrant, count: int) -> None:
        self.given_back[grant.provider_id] = self.given_back.get(grant.provider_id, 0) + count
        if grant.provider_id in self.room:
            self.room[grant.provider_id] += count


class FakeProviders:
    def __init__(self, providers: list[Provider]) -> None:
        self.providers = providers
        self.health: list[tuple[int, str | None]] = []

    async def list_for_user(self, user_id: int, *, limit: int, offset: int) -> Page[Provider]:
        items = self.providers[offset : offset + limit]
        return Page(items=items, total=len(self.providers), limit=limit, offset=offset)

    async def record_health(self, provider_id: int, *, error: str | None, at: datetime) -> None:
        self.health.append((provider_id, error))


class Clock:
    def now(self) -> datetime:
        return NOW


def chain_of(
    answers: dict[int, Answer],
    *,
    room: dict[int, int] | None = None,
    threshold: int = 2,
) -> tuple[ProviderChain, dict[int, FakeClient], FakeBreaker, FakeLimits, FakeProviders]:
    clients = {pid: FakeClient(answer) for pid, answer in answers.items()}
    breaker, limits = FakeBreaker(threshold), FakeLimits(room or {})
    providers = FakeProviders([provider(pid) for pid in answers])
    ports = ChainPorts(providers, FakeClients(clients), breaker, limits, Clock())  # type: ignore[arg-type]
    return ProviderChain(ports), clients, breaker, limits, providers


def message(number: int, *recipients: str) -> OutgoingMessage:
    return OutgoingMessage(
        message_id=f"<m{number}@x>",
        sender="news@acme.example",
        recipients=recipients or (f"r{number}@example.net",),
        subject="s",
        raw=b"raw",
    )


def test_the_order_is_named_then_default_then_priority_then_id() -> None:
    mixed = [
        provider(1, priority=5),
        provider(2, priority=1),
        provider(3, priority=1),
        provider(4, priority=9, is_default=True),
    ]
    assert [p.id for p in failover_order(mixed)] == [4, 2, 3, 1]
    assert [p.id for p in failover_order(mixed, first=1)] == [1, 4, 2, 3]


async def test_only_active_providers_that_are_not_disabled_are_in_the_chain() -> None:
    chain, *_ = chain_of({})
    chain.ports.providers.providers[:] = [  # type: ignore[attr-defined]
        provider(1, is_active=False, is_default=True),
        provider(2, status="DISABLED"),
        provider(3, status="ERROR", priority=4),
        *[provider(10 + n, priority=n) for n in range(150)],  # more than a page
    ]
    ordered = await chain.providers_of(1)
    assert [p.id for p in ordered[:2]] == [10, 11] and len(ordered) == 151
    assert 3 in {p.id for p in ordered} and not {1, 2} & {p.id for p in ordered}


async def test_transient_recipients_fail_over_and_permanent_ones_never_do() -> None:
    def mixed(m: OutgoingMessage, r: str) -> RecipientOutcome:
        return {"a": accept, "b": later, "c": refuse}[r[0]](m, r)

    chain, clients, _, limits, _ = chain_of({1: mixed, 2: accept})
    batch = [message(1, "a1@x.y", "b1@x.y"), message(2, "c2@x.y"), message(3, "b3@x.y")]
    results = await chain.send([provider(1), provider(2)], batch)
    kinds = [[(d.outcome.kind, d.provider_id) for d in per] for per in results]
    assert kinds == [
        [(OutcomeKind.ACCEPTED, 1), (OutcomeKind.ACCEPTED, 2)],
        [(OutcomeKind.PERMANENT, 1)],
        [(OutcomeKind.ACCEPTED, 2)],
    ]
    # Only the transient recipients went on, in their own messages.
    assert clients[2].recipients == ["b1@x.y", "b3@x.y"]
    # Provider 1 sent one of four: three given back; provider 2 sent all it was given.
    assert limits.given_back == {1: 3}


async def test_an_ambiguous_failure_is_final_and_counted_as_sent() -> None:
    def lost(m: OutgoingMessage, r: str) -> RecipientOutcome:
        return RecipientOutcome.transient(m.message_id, r, "dropped after DATA", ambiguous=True)

    chain, clients, _, limits, _ = chain_of({1: lost, 2: accept})
    ((delivery,),) = await chain.send([provider(1), provider(2)], [message(1)])
    assert delivery.outcome.ambiguous and delivery.provider_id == 1
    assert clients[2].batches == [] and limits.given_back == {}


async def test_a_failing_provider_opens_its_breaker_and_is_then_skipped() -> None:
    chain, clients, breaker, _, providers = chain_of({1: later, 2: accept}, threshold=2)
    chain_providers = [provider(1), provider(2)]
    for number in range(3):
        ((delivery,),) = await chain.send(chain_providers, [message(number)])
        assert delivery.provider_id == 2 and delivery.outcome.kind is OutcomeKind.ACCEPTED
    assert len(clients[1].batches) == 2  # the third message did not try provider 1
    assert providers.health == [(1, "451 later")]  # one write, when it opened

    # After the cool-down one probe goes through; provider 1 answers again: closed.
    clients[1].answer = accept
    breaker.cooled.add(1)
    ((delivery,),) = await chain.send(chain_providers, [message(9)])
    assert delivery.provider_id == 1 and 1 not in breaker.open
    assert providers.health[-1] == (1, None)


async def test_a_failed_probe_reopens_and_the_batch_goes_on_to_the_next() -> None:
    chain, _, breaker, _, providers = chain_of({1: later, 2: accept}, threshold=1)
    breaker.open.add(1)
    breaker.cooled.add(1)
    ((delivery,),) = await chain.send([provider(1), provider(2)], [message(1)])
    assert delivery.provider_id == 2 and 1 in breaker.open
    assert providers.health == [(1, "451 later")]


async def test_a_provider_without_room_is_skipped_and_a_partial_grant_sends_what_fits() -> None:
    chain, clients, breaker, limits, _ = chain_of({1: accept, 2: accept}, room={1: 2})
    batch = [message(n) for n in range(5)]
    results = await chain.send([provider(1), provider(2)], batch)
    assert [per[0].provider_id for per in results] == [1, 1, 2, 2, 2]
    assert len(clients[1].recipients) == 2 and breaker.failures.get(1, 0) == 0
    ((delivery,),) = await chain.send([provider(1), provider(2)], [message(6)])
    assert delivery.provider_id == 2  # provider 1 is full: skipped, not failed
    assert breaker.failures.get(1, 0) == 0 and limits.room[1] == 0


async def test_what_a_partial_grant_left_out_says_there_was_no_room() -> None:
    chain, clients, _, _, _ = chain_of({1: accept}, room={1: 2})
    results = await chain.send([provider(1)], [message(n) for n in range(3)])
    assert [per[0].outcome.kind for per in results[:2]] == [OutcomeKind.ACCEPTED] * 2
    assert results[2][0].outcome.detail == NO_ROOM and results[2][0].provider_id is None
    assert len(clients[1].recipients) == 2


async def test_a_message_larger_than_the_room_left_is_not_split() -> None:
    chain, clients, _, limits, _ = chain_of({1: accept}, room={1: 1})
    ((a, b),) = await chain.send([provider(1)], [message(1, "a@x.y", "b@x.y")])
    assert b.outcome.detail == NO_ROOM and b.provider_id is None
    assert a.outcome.kind is OutcomeKind.TRANSIENT and a.outcome.detail == NO_ROOM
    assert clients[1].batches == [] and limits.room[1] == 1  # what was taken went back


async def test_when_every_provider_is_skipped_the_outcome_says_why_and_is_transient() -> None:
    chain, _, breaker, _, _ = chain_of({1: accept, 2: accept}, room={1: 0, 2: 0})
    ((full,),) = await chain.send([provider(1), provider(2)], [message(1)])
    assert full.outcome.kind is OutcomeKind.TRANSIENT and full.outcome.detail == NO_ROOM
    assert full.provider_id is None

    chain, _, breaker, _, _ = chain_of({1: accept})
    breaker.open.add(1)
    ((shut,),) = await chain.send([provider(1)], [message(1)])
    assert shut.outcome.detail == ALL_OPEN
    ((none,),) = await chain.send([], [message(1)])
    assert none.outcome.detail == NO_PROVIDER


async def test_a_client_that_raises_is_a_transient_failure_of_its_provider() -> None:
    def broken(m: OutgoingMessage, r: str) -> RecipientOutcome:
        raise RuntimeError("plugin bug")

    chain, _, breaker, limits, _ = chain_of({1: broken, 2: accept})
    ((delivery,),) = await chain.send([provider(1), provider(2)], [message(1)])
    assert delivery.provider_id == 2 and breaker.failures[1] == 1 and limits.given_back == {1: 1}


async def test_one_greylisted_recipient_among_accepted_ones_is_not_a_provider_failure() -> None:
    def greylist(m: OutgoingMessage, r: str) -> RecipientOutcome:
        return later(m, r) if r.startswith("grey") else accept(m, r)

    chain, _, breaker, _, _ = chain_of({1: greylist, 2: accept})
    results = await chain.send([provider(1), provider(2)], [message(1), message(2, "grey@x.y")])
    assert [per[0].provider_id for per in results] == [1, 2]
    assert breaker.failures[1] == 0
