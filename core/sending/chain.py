"""The provider chain: a user's providers in failover order, each batch sent through the first
that is healthy and has room, what it could not take handed to the next.

Order: the default provider first, then priority ascending, then id (a campaign that names a
provider puts that one first and keeps the rest of the chain behind it). Inactive and DISABLED
providers are left out; ERROR ones stay in (the breaker decides whether they get traffic).

For each provider in turn:

- an open circuit breaker skips it (after the cool-down one caller probes it);
- its daily and monthly limits are taken for the batch's emails before sending (atomically, for
  every worker at once); a provider with no room is skipped, not failed, and a partial grant
  sends the messages that fit;
- the batch goes out; ACCEPTED and PERMANENT outcomes are final (a refusal is the recipient's,
  not the provider's: it never fails over), and so is an ambiguous TRANSIENT (the message may
  have been delivered: another provider could duplicate it). Other TRANSIENT recipients go on
  to the next provider;
- emails that were not sent (refused or handed on) are given back to the limits;
- a batch in which every recipient failed transiently is a failure of the provider for the
  breaker; any other answer is a success. The provider's status and last error are written only
  when its breaker opens or closes, so a failing provider costs one write per cool-down, not one
  per message.

When every provider was skipped, the outcome is TRANSIENT ("no provider has room" or "every
provider's circuit is open"): the send may be retried later, nothing failed.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from openmailer.core.ports.accounts import Clock
from openmailer.core.ports.sending import (
    CircuitBreaker,
    ProviderClients,
    ProviderLimits,
    ProviderRepository,
)
from openmailer.core.sending.contract import OutgoingMessage
from openmailer.core.sending.model import BreakerTransition, Provider, ProviderStatus
from openmailer.core.sending.outcomes import OutcomeKind, RecipientOutcome

log = logging.getLogger("openmailer.sending.chain")

NO_ROOM = "no provider has room (daily or monthly limit reached)"
ALL_OPEN = "every provider's circuit breaker is open"
NO_PROVIDER = "no active provider"
MAX_ERROR_CHARS = 2000
_PAGE = 100


@dataclass(frozen=True)
class ChainPorts:
    providers: ProviderRepository
    clients: ProviderClients
    breaker: CircuitBreaker
    limits: ProviderLimits
    clock: Clock


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of one recipient, and the provider that answered last (the one that accepted
    it, when it was accepted); None when no provider was tried."""

    outcome: RecipientOutcome
    provider_id: int | None


async def active_providers(user_id: int, providers: ProviderRepository) -> list[Provider]:
    active: list[Provider] = []
    offset = 0
    while True:
        page = await providers.list_for_user(user_id, limit=_PAGE, offset=offset)
        active += [
            p for p in page.items if p.is_active and p.status != ProviderStatus.DISABLED.value
        ]
        offset += _PAGE
        if offset >= page.total:
            return active


def failover_order(providers: Sequence[Provider], *, first: int | None = None) -> list[Provider]:
    """`first`: a provider named by the caller (a campaign's), put ahead of the default."""
    return sorted(providers, key=lambda p: (p.id != first, not p.is_default, p.priority, p.id))


@dataclass
class _Pending:
    """A message still to deliver, reduced to the recipients that have no final outcome."""

    index: int
    message: OutgoingMessage

    @property
    def emails(self) -> int:
        return len(self.message.recipients)


class ProviderChain:
    def __init__(self, ports: ChainPorts) -> None:
        self.ports = ports

    async def providers_of(self, user_id: int, *, first: int | None = None) -> list[Provider]:
        """The user's providers in failover order."""
        return failover_order(await active_providers(user_id, self.ports.providers), first=first)

    async def send(
        self, providers: Sequence[Provider], messages: Sequence[OutgoingMessage]
    ) -> list[list[Delivery]]:
        """For each message, one Delivery per recipient, in order."""
        results: list[dict[str, Delivery]] = [{} for _ in messages]
        pending = [_Pending(i, m) for i, m in enumerate(messages)]
        skipped_for_room = skipped_for_breaker = False
        for provider in providers:
            if not pending:
                break
            admission = await self.ports.breaker.admit(provider.id)
            if not admission.allowed:
                skipped_for_breaker = True
                continue
            if admission.probe:
                log.info("provider_circuit_half_open", extra={"provider_id": provider.id})
            grant = await self.ports.limits.take(provider, sum(p.emails for p in pending))
            batch: list[_Pending] = []
            room = grant.granted
            while pending and pending[0].emails <= room:
                room -= pending[0].emails
                batch.append(pending.pop(0))
            # What did not fit is left for the next provider: this one had no room for it.
            skipped_for_room = skipped_for_room or bool(pending)
            if not batch:
                skipped_for_room = True
                if grant.granted:
                    await self.ports.limits.give_back(grant, grant.granted)
                continue
            outcomes = await self._send_through(provider, [p.message for p in batch])
            handed_on, unsent = self._sort_outcomes(provider, batch, outcomes, results)
            if unsent + room:
                await self.ports.limits.give_back(grant, unsent + room)
            await self._judge(provider, outcomes, probe=admission.probe)
            pending = sorted(handed_on + pending, key=lambda p: p.index)
        # Recipients a provider answered keep its (transient) answer; the others say why none
        # was tried.
        detail = NO_ROOM if skipped_for_room else ALL_OPEN if skipped_for_breaker else NO_PROVIDER
        for left in pending:
            for recipient in left.message.recipients:
                if recipient not in results[left.index]:
                    outcome = RecipientOutcome.transient(left.message.message_id, recipient, detail)
                    results[left.index][recipient] = Delivery(outcome, None)
        return [
            [results[i][recipient] for recipient in message.recipients]
            for i, message in enumerate(messages)
        ]

    async def _send_through(
        self, provider: Provider, messages: list[OutgoingMessage]
    ) -> list[RecipientOutcome]:
        try:
            client = await self.ports.clients.client_for(provider)
            return await client.send_batch(messages)
        except Exception as error:  # a plugin that broke its contract (or could not open)
            log.warning(
                "provider_client_failed",
                extra={"provider_id": provider.id, "error": type(error).__name__},
            )
            detail = f"provider client failed: {type(error).__name__}"
            return [
                RecipientOutcome.transient(m.message_id, r, detail)
                for m in messages
                for r in m.recipients
            ]

    @staticmethod
    def _sort_outcomes(
        provider: Provider,
        batch: list[_Pending],
        outcomes: list[RecipientOutcome],
        results: list[dict[str, Delivery]],
    ) -> tuple[list[_Pending], int]:
        """Records the final outcomes; answers the messages handed on (with only the recipients
        to try again) and how many emails were not sent."""
        handed_on: list[_Pending] = []
        unsent = 0
        answers = iter(outcomes)
        for item in batch:
            again: list[str] = []
            for recipient in item.message.recipients:
                outcome = next(answers, None) or RecipientOutcome.transient(
                    item.message.message_id, recipient, "no answer from the provider client"
                )
                results[item.index][recipient] = Delivery(outcome, provider.id)
                if outcome.kind is not OutcomeKind.ACCEPTED and not outcome.ambiguous:
                    unsent += 1
                if outcome.retryable and not outcome.ambiguous:
                    again.append(recipient)
            if again:
                message = dataclasses.replace(item.message, recipients=tuple(again))
                handed_on.append(_Pending(item.index, message))
        return handed_on, unsent

    async def _judge(
        self, provider: Provider, outcomes: list[RecipientOutcome], *, probe: bool
    ) -> None:
        breaker = self.ports.breaker
        failed = bool(outcomes) and all(o.kind is OutcomeKind.TRANSIENT for o in outcomes)
        if failed:
            transition = await breaker.record_failure(provider.id, probe=probe)
            if transition is BreakerTransition.OPENED:
                detail = outcomes[0].detail or "transient failures"
                log.warning(
                    "provider_circuit_opened",
                    extra={"provider_id": provider.id, "probe": probe, "detail": detail},
                )
                await self.ports.providers.record_health(
                    provider.id, error=detail[:MAX_ERROR_CHARS], at=self.ports.clock.now()
                )
            return
        transition = await breaker.record_success(provider.id, probe=probe)
        if transition is BreakerTransition.CLOSED:
            log.info("provider_circuit_closed", extra={"provider_id": provider.id})
            await self.ports.providers.record_health(
                provider.id, error=None, at=self.ports.clock.now()
            )
