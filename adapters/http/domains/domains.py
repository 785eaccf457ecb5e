"""`/api/v1/domains`: the caller's sending domains, their DNS records, verification, rotation.

The spec's scopes name no domains: reading them is `read:campaigns` and changing them
`write:campaigns`, since a domain is what a campaign sends from (docs/api.md, Domains). Private
keys are never in a response.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from openmailer.adapters.http.pages import OffsetPage
from openmailer.adapters.http.pagination import PageParameters, ResourceId
from openmailer.adapters.http.security import CurrentPrincipal, access
from openmailer.adapters.http.services import service_dependency
from openmailer.core.accounts.scopes import Scope
from openmailer.core.domains.checks import CheckResult
from openmailer.core.domains.model import CheckState, Domain
from openmailer.core.domains.records import records_to_publish
from openmailer.core.domains.service import DomainsService
from openmailer.core.domains.services.verification import VerificationReport

DomainsApi = NamedDependency[DomainsService]


class DomainCreate(msgspec.Struct):
    """A domain name (IDNA allowed: `bücher.example`), without a trailing dot."""

    domain_name: Annotated[str, msgspec.Meta(min_length=3, max_length=253)]


class DnsRecordRead(msgspec.Struct):
    purpose: str
    type: str
    name: str
    value: str
    pending: bool


class CheckStateRead(msgspec.Struct):
    verified: bool
    last_checked_at: datetime | None

    @classmethod
    def of(cls, state: CheckState) -> CheckStateRead:
        return cls(verified=state.verified, last_checked_at=state.last_checked_at)


class RecordCheckStateRead(msgspec.Struct):
    """`record`: what the last answered check found published."""

    verified: bool
    last_checked_at: datetime | None
    record: str | None

    @classmethod
    def of(cls, state: CheckState) -> RecordCheckStateRead:
        return cls(state.verified, state.last_checked_at, state.record)


class DomainChecksRead(msgspec.Struct):
    ownership: CheckStateRead
    dkim: CheckStateRead
    spf: RecordCheckStateRead
    dmarc: RecordCheckStateRead


class DomainRead(msgspec.Struct):
    id: int
    domain_name: str
    status: str
    dkim_selector: str | None
    dkim_ed25519_selector: str | None
    # A rotation waiting for its records: mail is signed with the active selector until then.
    pending_dkim_selector: str | None
    records: list[DnsRecordRead]
    checks: DomainChecksRead
    verified_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, domain: Domain) -> DomainRead:
        return cls(
            id=domain.id,
            domain_name=domain.name,
            status=domain.status.value,
            dkim_selector=domain.dkim.selector if domain.dkim else None,
            dkim_ed25519_selector=domain.dkim.ed25519_selector if domain.dkim else None,
            pending_dkim_selector=domain.pending_dkim.selector if domain.pending_dkim else None,
            records=[
                DnsRecordRead(r.purpose.value, r.type, r.name, r.value, r.pending)
                for r in records_to_publish(domain)
            ],
            checks=DomainChecksRead(
                ownership=CheckStateRead.of(domain.ownership),
                dkim=CheckStateRead.of(domain.dkim_check),
                spf=RecordCheckStateRead.of(domain.spf),
                dmarc=RecordCheckStateRead.of(domain.dmarc),
            ),
            verified_at=domain.verified_at,
            created_at=domain.created_at,
            updated_at=domain.updated_at,
        )


class CheckRead(msgspec.Struct):
    """`outcome`: pass, fail, or unknown (no answer from DNS: a timeout, SERVFAIL; the stored
    state and the status are left as they were)."""

    outcome: str
    detail: str
    record: str | None

    @classmethod
    def of(cls, result: CheckResult) -> CheckRead:
        return cls(result.outcome.value, result.detail, result.record)


class VerificationRead(msgspec.Struct):
    domain: DomainRead
    ownership: CheckRead
    dkim: CheckRead
    spf: CheckRead
    dmarc: CheckRead
    pending_dkim: CheckRead | None

    @classmethod
    def of(cls, report: VerificationReport) -> VerificationRead:
        return cls(
            domain=DomainRead.of(report.domain),
            ownership=CheckRead.of(report.ownership),
            dkim=CheckRead.of(report.dkim),
            spf=CheckRead.of(report.spf),
            dmarc=CheckRead.of(report.dmarc),
            pending_dkim=CheckRead.of(report.pending_dkim) if report.pending_dkim else None,
        )


class DomainController(Controller):
    path = "/domains"
    tags = ["domains"]
    dependencies = {"domains": service_dependency("domains")}

    @post(
        "",
        operation_id="createDomain",
        status_code=HTTP_201_CREATED,
        **access(Scope.WRITE_CAMPAIGNS),
    )
    async def create(
        self, principal: CurrentPrincipal, domains: DomainsApi, data: JSONBody[DomainCreate]
    ) -> DomainRead:
        """A PENDING domain with new DKIM keys (RSA-2048 and Ed25519); `records` are what to
        publish. 409 when the name is registered already."""
        return DomainRead.of(await domains.add_domain(principal, data.domain_name))

    @get("", operation_id="listDomains", **access(Scope.READ_CAMPAIGNS))
    async def list_domains(
        self, principal: CurrentPrincipal, domains: DomainsApi, pagination: PageParameters
    ) -> OffsetPage[DomainRead]:
        """The caller's domains, oldest first."""
        page = await domains.list_domains(
            principal, limit=pagination.limit, offset=pagination.offset
        )
        return OffsetPage.of(page, DomainRead.of)

    @get("/{domain_id:int}", operation_id="getDomain", **access(Scope.READ_CAMPAIGNS))
    async def get_domain(
        self, principal: CurrentPrincipal, domains: DomainsApi, domain_id: ResourceId
    ) -> DomainRead:
        return DomainRead.of(await domains.get_domain(principal, domain_id))

    @delete(
        "/{domain_id:int}",
        operation_id="deleteDomain",
        status_code=HTTP_204_NO_CONTENT,
        **access(Scope.WRITE_CAMPAIGNS),
    )
    async def delete_domain(
        self, principal: CurrentPrincipal, domains: DomainsApi, domain_id: ResourceId
    ) -> None:
        await domains.delete_domain(principal, domain_id)

    @post(
        "/{domain_id:int}/verify",
        operation_id="verifyDomain",
        status_code=HTTP_200_OK,
        **access(Scope.WRITE_CAMPAIGNS),
    )
    async def verify(
        self, principal: CurrentPrincipal, domains: DomainsApi, domain_id: ResourceId
    ) -> VerificationRead:
        """Looks the records up now: each check's outcome, and the status it leads to. A check
        DNS did not answer is `unknown` and changes nothing."""
        return VerificationRead.of(await domains.verify_domain(principal, domain_id))

    @post(
        "/{domain_id:int}/rotate-dkim",
        operation_id="rotateDomainDkim",
        status_code=HTTP_200_OK,
        **access(Scope.WRITE_CAMPAIGNS),
    )
    async def rotate_dkim(
        self, principal: CurrentPrincipal, domains: DomainsApi, domain_id: ResourceId
    ) -> DomainRead:
        """New keys under a new selector (`pending_dkim_selector`): publish its records; mail is
        signed with the current keys until a verification finds them."""
        return DomainRead.of(await domains.rotate_dkim(principal, domain_id))
