"""The verification policy: what each published record must say, and the status it leads to.

A check PASSes or FAILs on an answer from DNS (a missing name or record is an answer: FAIL). A
lookup that got no answer (timeout, SERVFAIL, refused) is UNKNOWN: it changes nothing, so a DNS
hiccup neither fails a verified domain nor verifies a pending one.

- ownership: a TXT at `_openmailer.<domain>` is exactly `openmailer-verification=<token>`.
- DKIM: at each selector of the key set, a `v=DKIM1` record whose `k=` is ours (absent means rsa)
  and whose `p=` (whitespace removed) equals our public key.
- SPF: exactly one `v=spf1` TXT at the domain (two are a permerror, RFC 7208 4.5), and it
  permits some mail: not `v=spf1 -all` alone (the "sends no mail" record) and not `+all`/`all`,
  which authorizes every host on the internet. Whether it lists the hosts the user's provider
  sends from is not judged: that depends on a provider we do not know here, and DKIM alignment
  carries DMARC on its own.
- DMARC: exactly one `v=DMARC1` TXT at `_dmarc.<domain>` with `p=none|quarantine|reject`.

Status: every check PASS -> VERIFIED; any FAIL -> FAILED; otherwise unchanged. SUSPENDED is an
administrator's decision and verification never lifts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from openmailer.core.domains.model import DkimKeySet, Domain, DomainStatus
from openmailer.core.domains.records import dkim_name, tag_list


class LookupProblem(StrEnum):
    """Why a TXT lookup has no records. NXDOMAIN and NO_RECORDS are answers; the rest are not."""

    NXDOMAIN = "nxdomain"
    NO_RECORDS = "no_records"
    TIMEOUT = "timeout"
    SERVFAIL = "servfail"
    UNREACHABLE = "unreachable"


ANSWERED = frozenset({LookupProblem.NXDOMAIN, LookupProblem.NO_RECORDS})


@dataclass(frozen=True, slots=True)
class TxtLookup:
    """The TXT strings at a name (each record's character-strings joined), or why there are none."""

    records: tuple[str, ...] = ()
    problem: LookupProblem | None = None
    detail: str = ""


class Outcome(StrEnum):
    PASS = "pass"  # noqa: S105 (an outcome, not a password)
    FAIL = "fail"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class CheckResult:
    outcome: Outcome
    detail: str
    record: str | None = None


def _unanswered(lookup: TxtLookup, name: str) -> CheckResult | None:
    if lookup.problem is None or lookup.records:
        return None
    if lookup.problem in ANSWERED:
        what = "does not exist" if lookup.problem is LookupProblem.NXDOMAIN else "has no TXT record"
        return CheckResult(Outcome.FAIL, f"{name} {what}")
    return CheckResult(
        Outcome.UNKNOWN, f"{name}: no answer ({lookup.problem}) {lookup.detail}".strip()
    )


def check_ownership(domain: Domain, lookup: TxtLookup) -> CheckResult:
    name = domain.verification_name
    if (unanswered := _unanswered(lookup, name)) is not None:
        return unanswered
    if domain.verification_value in (record.strip() for record in lookup.records):
        return CheckResult(Outcome.PASS, "verification token found", domain.verification_value)
    return CheckResult(Outcome.FAIL, f"{name} does not hold {domain.verification_value}")


def check_dkim_key(
    selector: str, domain: str, algorithm: str, public_key: str, lookup: TxtLookup
) -> CheckResult:
    name = dkim_name(selector, domain)
    if (unanswered := _unanswered(lookup, name)) is not None:
        return unanswered
    for record in lookup.records:
        tags = tag_list(record)
        if tags.get("v", "DKIM1") != "DKIM1" or tags.get("k", "rsa").lower() != algorithm:
            continue
        if tags.get("p") == public_key:
            return CheckResult(Outcome.PASS, f"{name} publishes our {algorithm} key", record)
        return CheckResult(Outcome.FAIL, f"{name} publishes a different {algorithm} key", record)
    return CheckResult(Outcome.FAIL, f"{name} has no DKIM {algorithm} record")


def check_dkim(keys: DkimKeySet, domain: str, rsa: TxtLookup, ed25519: TxtLookup) -> CheckResult:
    """Both keys of the set: the worse outcome of the two, with both details."""
    results = (
        check_dkim_key(keys.selector, domain, "rsa", keys.rsa_public_key, rsa),
        check_dkim_key(keys.ed25519_selector, domain, "ed25519", keys.ed25519_public_key, ed25519),
    )
    outcome = next(
        (o for o in (Outcome.FAIL, Outcome.UNKNOWN) if any(r.outcome is o for r in results)),
        Outcome.PASS,
    )
    found = [r.record for r in results if r.record is not None]
    return CheckResult(outcome, "; ".join(r.detail for r in results), "\n".join(found) or None)


def _is_spf(record: str) -> bool:
    return record.lower() == "v=spf1" or record.lower().startswith("v=spf1 ")


def check_spf(domain: str, lookup: TxtLookup) -> CheckResult:
    if (unanswered := _unanswered(lookup, domain)) is not None:
        return unanswered
    spf = [record.strip() for record in lookup.records if _is_spf(record.strip())]
    if not spf:
        return CheckResult(Outcome.FAIL, f"{domain} has no v=spf1 record")
    if len(spf) > 1:
        return CheckResult(
            Outcome.FAIL, f"{domain} has {len(spf)} v=spf1 records (a permerror); merge them"
        )
    terms = spf[0].lower().split()[1:]
    if any(term in {"all", "+all"} for term in terms):
        return CheckResult(Outcome.FAIL, "SPF `+all` authorizes every host; use ~all", spf[0])
    if terms == ["-all"] or not terms:
        return CheckResult(Outcome.FAIL, "this SPF record permits no sender", spf[0])
    return CheckResult(Outcome.PASS, "SPF record present and permits senders", spf[0])


def check_dmarc(domain: str, lookup: TxtLookup) -> CheckResult:
    name = f"_dmarc.{domain}"
    if (unanswered := _unanswered(lookup, name)) is not None:
        return unanswered
    dmarc = [r.strip() for r in lookup.records if tag_list(r).get("v") == "DMARC1"]
    if len(dmarc) != 1:
        count = "no" if not dmarc else str(len(dmarc))
        return CheckResult(Outcome.FAIL, f"{name} has {count} v=DMARC1 records; publish one")
    policy = tag_list(dmarc[0]).get("p", "").lower()
    if policy not in {"none", "quarantine", "reject"}:
        return CheckResult(Outcome.FAIL, "DMARC record has no valid p= policy", dmarc[0])
    return CheckResult(Outcome.PASS, f"DMARC policy p={policy}", dmarc[0])


def next_status(current: DomainStatus, outcomes: list[Outcome]) -> DomainStatus:
    if current is DomainStatus.SUSPENDED:
        return current
    if all(outcome is Outcome.PASS for outcome in outcomes):
        return DomainStatus.VERIFIED
    if any(outcome is Outcome.FAIL for outcome in outcomes):
        return DomainStatus.FAILED
    return current
