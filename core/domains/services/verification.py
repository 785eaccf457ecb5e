"""Checking a domain's published records, storing each result, and moving its status."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from datetime import datetime

from openmailer.core.domains import checks
from openmailer.core.domains.checks import CheckResult, Outcome
from openmailer.core.domains.keys import reseal_as_active
from openmailer.core.domains.model import CheckState, DkimKeySet, Domain, DomainStatus
from openmailer.core.domains.records import dkim_name
from openmailer.core.ports.accounts import Clock, SecretBox
from openmailer.core.ports.domains import DnsResolver, DomainRepository, VerificationRecord

log = logging.getLogger(__name__)
REVERIFY_BATCH = 100


@dataclass(frozen=True, slots=True)
class VerificationReport:
    domain: Domain
    ownership: CheckResult
    dkim: CheckResult
    spf: CheckResult
    dmarc: CheckResult
    # The pending rotation's keys, when there is one; PASS promoted them to the active set.
    pending_dkim: CheckResult | None


async def _check_key_set(keys: DkimKeySet, domain: str, dns: DnsResolver) -> CheckResult:
    rsa, ed25519 = await asyncio.gather(
        dns.txt(dkim_name(keys.selector, domain)),
        dns.txt(dkim_name(keys.ed25519_selector, domain)),
    )
    return checks.check_dkim(keys, domain, rsa, ed25519)


def _state(result: CheckResult, checked_at: datetime) -> CheckState | None:
    """None for an unanswered check: what was stored before stands."""
    if result.outcome is Outcome.UNKNOWN:
        return None
    return CheckState(
        verified=result.outcome is Outcome.PASS, last_checked_at=checked_at, record=result.record
    )


async def verify(
    domain: Domain,
    *,
    domains: DomainRepository,
    dns: DnsResolver,
    secret_box: SecretBox,
    clock: Clock,
) -> VerificationReport:
    """Every lookup runs at once; none raises (the resolver reports DNS trouble per lookup)."""
    name = domain.name
    ownership_txt, spf_txt, dmarc_txt = await asyncio.gather(
        dns.txt(domain.verification_name), dns.txt(name), dns.txt(f"_dmarc.{name}")
    )
    pending_result = None
    if (pending := domain.pending_dkim) is not None:
        pending_result = await _check_key_set(pending, name, dns)
        if pending_result.outcome is Outcome.PASS:
            promoted = reseal_as_active(domain.id, pending, secret_box=secret_box)
            if await domains.promote_pending_dkim(domain.id, promoted):
                log.info(
                    "dkim_rotated", extra={"domain_id": domain.id, "selector": pending.selector}
                )
                domain = replace(domain, dkim=promoted, pending_dkim=None)
    active = domain.dkim
    dkim = (
        await _check_key_set(active, name, dns)
        if active is not None
        else CheckResult(Outcome.FAIL, "no DKIM key")
    )
    ownership = checks.check_ownership(domain, ownership_txt)
    spf = checks.check_spf(name, spf_txt)
    dmarc = checks.check_dmarc(name, dmarc_txt)

    now = clock.now()
    status = checks.next_status(domain.status, [r.outcome for r in (ownership, dkim, spf, dmarc)])
    verified_at = domain.verified_at
    if status is DomainStatus.VERIFIED and domain.status is not DomainStatus.VERIFIED:
        verified_at = now
    record = VerificationRecord(
        status=status,
        checked_at=now,
        verified_at=verified_at,
        ownership=_state(ownership, now),
        spf=_state(spf, now),
        dkim=_state(dkim, now),
        dmarc=_state(dmarc, now),
    )
    await domains.record_verification(domain.id, record)
    stored = await domains.get_any(domain.id)
    return VerificationReport(
        domain=stored or domain,
        ownership=ownership,
        dkim=dkim,
        spf=spf,
        dmarc=dmarc,
        pending_dkim=pending_result,
    )


async def reverify_all(
    *,
    domains: DomainRepository,
    dns: DnsResolver,
    secret_box: SecretBox,
    clock: Clock,
    batch: int = REVERIFY_BATCH,
) -> int:
    """Every domain, `batch` at a time (a batch's lookups run concurrently); the count checked.
    A domain deleted meanwhile is skipped; one that fails unexpectedly is logged and skipped,
    so one bad row cannot stop the hourly run."""
    checked, after = 0, 0
    while ids := await domains.ids_after(after, limit=batch):
        after = ids[-1]

        async def one(domain_id: int) -> bool:
            domain = await domains.get_any(domain_id)
            if domain is None:
                return False
            try:
                await verify(domain, domains=domains, dns=dns, secret_box=secret_box, clock=clock)
            except Exception:
                log.exception("domain_reverification_failed", extra={"domain_id": domain_id})
                return False
            return True

        checked += sum(await asyncio.gather(*(one(domain_id) for domain_id in ids)))
    return checked
