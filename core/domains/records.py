"""The DNS records a domain's owner publishes, and how a published TXT record is read."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from openmailer.core.domains.model import DkimKeySet, Domain

# Mail leaves through the provider the user configures, which we cannot know here; `a mx` covers
# a domain that sends through its own hosts, and `~all` softfails the rest rather than failing it.
SPF_SUGGESTION = "v=spf1 a mx ~all"
# `p=none` is enough for the bulk-sender rules (REFERENCE.md); tighten once reports look right.
DMARC_SUGGESTION = "v=DMARC1; p=none; adkim=r; aspf=r"


class RecordPurpose(StrEnum):
    VERIFICATION = "verification"
    DKIM = "dkim"
    SPF = "spf"
    DMARC = "dmarc"


@dataclass(frozen=True, slots=True)
class DnsRecord:
    purpose: RecordPurpose
    type: str
    name: str
    value: str
    # A pending rotation's record: publish it beside the active one, which stays until it verifies.
    pending: bool = False


def dkim_name(selector: str, domain: str) -> str:
    return f"{selector}._domainkey.{domain}"


def dkim_rsa_value(public_key: str) -> str:
    return f"v=DKIM1; k=rsa; p={public_key}"


def dkim_ed25519_value(public_key: str) -> str:
    return f"v=DKIM1; k=ed25519; p={public_key}"


def _dkim_records(keys: DkimKeySet, domain: str, *, pending: bool) -> list[DnsRecord]:
    return [
        DnsRecord(
            RecordPurpose.DKIM,
            "TXT",
            dkim_name(keys.selector, domain),
            dkim_rsa_value(keys.rsa_public_key),
            pending,
        ),
        DnsRecord(
            RecordPurpose.DKIM,
            "TXT",
            dkim_name(keys.ed25519_selector, domain),
            dkim_ed25519_value(keys.ed25519_public_key),
            pending,
        ),
    ]


def records_to_publish(domain: Domain) -> list[DnsRecord]:
    records = [
        DnsRecord(
            RecordPurpose.VERIFICATION, "TXT", domain.verification_name, domain.verification_value
        )
    ]
    if domain.dkim is not None:
        records += _dkim_records(domain.dkim, domain.name, pending=False)
    if domain.pending_dkim is not None:
        records += _dkim_records(domain.pending_dkim, domain.name, pending=True)
    records += [
        DnsRecord(RecordPurpose.SPF, "TXT", domain.name, SPF_SUGGESTION),
        DnsRecord(RecordPurpose.DMARC, "TXT", f"_dmarc.{domain.name}", DMARC_SUGGESTION),
    ]
    return records


def tag_list(record: str) -> dict[str, str]:
    """RFC 6376 tag=value list (DKIM and DMARC records): names lower-cased, values with folding
    whitespace removed; a later duplicate tag does not replace the first."""
    tags: dict[str, str] = {}
    for part in record.split(";"):
        name, sep, value = part.partition("=")
        if sep:
            tags.setdefault(name.strip().lower(), "".join(value.split()))
    return tags
