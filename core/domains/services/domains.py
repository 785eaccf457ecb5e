"""Adding, reading, deleting a user's sending domains and rotating their DKIM keys."""

from __future__ import annotations

from openmailer.core.accounts.model import Principal
from openmailer.core.domains import keys as dkim_keys
from openmailer.core.domains.model import (
    Domain,
    new_selector,
    new_verification_token,
    normalize_domain_name,
)
from openmailer.core.errors import NotFound
from openmailer.core.pages import Page
from openmailer.core.ports.accounts import Clock, SecretBox
from openmailer.core.ports.domains import DkimKeyGenerator, DomainRepository, NewDomain


def _not_found(domain_id: int) -> NotFound:
    return NotFound(f"no domain {domain_id}", code="domain_not_found")


async def add_domain(
    principal: Principal,
    raw_name: str,
    *,
    domains: DomainRepository,
    keys: DkimKeyGenerator,
    secret_box: SecretBox,
    clock: Clock,
) -> Domain:
    """A PENDING domain with a new DKIM key set; its records are `records_to_publish`."""
    name = normalize_domain_name(raw_name)
    domain_id = await domains.new_id()
    key_set = await dkim_keys.generate_key_set(
        domain_id, new_selector(clock.now()), pending=False, keys=keys, secret_box=secret_box
    )
    return await domains.add(
        NewDomain(
            id=domain_id,
            user_id=principal.user.id,
            name=name,
            verification_token=new_verification_token(),
            dkim=key_set,
        )
    )


async def get_domain(principal: Principal, domain_id: int, *, domains: DomainRepository) -> Domain:
    domain = await domains.get(principal.user.id, domain_id)
    if domain is None:
        raise _not_found(domain_id)
    return domain


async def list_domains(
    principal: Principal, *, limit: int, offset: int, domains: DomainRepository
) -> Page[Domain]:
    return await domains.list_for_user(principal.user.id, limit=limit, offset=offset)


async def delete_domain(principal: Principal, domain_id: int, *, domains: DomainRepository) -> None:
    if not await domains.delete(principal.user.id, domain_id):
        raise _not_found(domain_id)


async def rotate_dkim(
    principal: Principal,
    domain_id: int,
    *,
    domains: DomainRepository,
    keys: DkimKeyGenerator,
    secret_box: SecretBox,
    clock: Clock,
) -> Domain:
    """A pending key set under a new selector. Mail stays signed with the active set until the
    pending set's records verify; rotating again replaces a pending set that never verified."""
    domain = await get_domain(principal, domain_id, domains=domains)
    taken = {k.selector for k in (domain.dkim, domain.pending_dkim) if k is not None}
    selector = new_selector(clock.now())
    while selector in taken:
        selector = new_selector(clock.now())
    key_set = await dkim_keys.generate_key_set(
        domain.id, selector, pending=True, keys=keys, secret_box=secret_box
    )
    if not await domains.set_pending_dkim(principal.user.id, domain.id, key_set):
        raise _not_found(domain_id)
    return await get_domain(principal, domain_id, domains=domains)
