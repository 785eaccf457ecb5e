"""The domains area bound to its ports once: what controllers, actors and the send path call."""

from __future__ import annotations

from dataclasses import dataclass

from openmailer.core.accounts.model import Principal
from openmailer.core.domains.keys import SigningKeyMaterial
from openmailer.core.domains.model import Domain
from openmailer.core.domains.services import domains, signing, verification
from openmailer.core.domains.services.verification import VerificationReport
from openmailer.core.errors import NotFound
from openmailer.core.pages import Page
from openmailer.core.ports.accounts import Clock, SecretBox
from openmailer.core.ports.domains import DkimKeyGenerator, DnsResolver, DomainRepository


@dataclass(frozen=True)
class DomainsPorts:
    domains: DomainRepository
    dns: DnsResolver
    keys: DkimKeyGenerator
    secret_box: SecretBox
    clock: Clock


class DomainsService:
    def __init__(self, ports: DomainsPorts) -> None:
        self.ports = ports

    async def add_domain(self, principal: Principal, name: str) -> Domain:
        p = self.ports
        return await domains.add_domain(
            principal,
            name,
            domains=p.domains,
            keys=p.keys,
            secret_box=p.secret_box,
            clock=p.clock,
        )

    async def get_domain(self, principal: Principal, domain_id: int) -> Domain:
        return await domains.get_domain(principal, domain_id, domains=self.ports.domains)

    async def list_domains(self, principal: Principal, *, limit: int, offset: int) -> Page[Domain]:
        return await domains.list_domains(
            principal, limit=limit, offset=offset, domains=self.ports.domains
        )

    async def delete_domain(self, principal: Principal, domain_id: int) -> None:
        await domains.delete_domain(principal, domain_id, domains=self.ports.domains)

    async def rotate_dkim(self, principal: Principal, domain_id: int) -> Domain:
        p = self.ports
        return await domains.rotate_dkim(
            principal,
            domain_id,
            domains=p.domains,
            keys=p.keys,
            secret_box=p.secret_box,
            clock=p.clock,
        )

    async def verify_domain(self, principal: Principal, domain_id: int) -> VerificationReport:
        domain = await self.get_domain(principal, domain_id)
        return await self._verify(domain)

    async def _verify(self, domain: Domain) -> VerificationReport:
        p = self.ports
        return await verification.verify(
            domain, domains=p.domains, dns=p.dns, secret_box=p.secret_box, clock=p.clock
        )

    async def reverify_all(self) -> int:
        """The scheduler's hourly run over every domain."""
        p = self.ports
        return await verification.reverify_all(
            domains=p.domains, dns=p.dns, secret_box=p.secret_box, clock=p.clock
        )

    async def signing_keys_for(self, domain_id: int) -> tuple[SigningKeyMaterial, ...]:
        """For the send path, which has already checked the campaign's owner."""
        domain = await self.ports.domains.get_any(domain_id)
        if domain is None:
            raise NotFound(f"no domain {domain_id}", code="domain_not_found")
        return signing.signing_keys_for(domain, secret_box=self.ports.secret_box)
