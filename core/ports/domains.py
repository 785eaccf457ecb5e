"""Ports of the domains area: DNS lookups, DKIM key generation and the domains table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from openmailer.core.domains.checks import TxtLookup
from openmailer.core.domains.model import CheckState, DkimKeySet, Domain, DomainStatus
from openmailer.core.pages import Page


class DnsResolver(Protocol):
    async def txt(self, name: str) -> TxtLookup:
        """Never raises for DNS trouble: a timeout, SERVFAIL or NXDOMAIN is the lookup's
        `problem`, so each check reports its own."""
        ...


@dataclass(frozen=True, slots=True)
class GeneratedKey:
    """`private_pem`: PKCS#8 PEM; `public_key`: base64 DER of the public key, as `p=` carries
    it (SubjectPublicKeyInfo for RSA, the 32 raw bytes for Ed25519, RFC 8463)."""

    private_pem: str
    public_key: str


class DkimKeyGenerator(Protocol):
    async def rsa(self) -> GeneratedKey:
        """A 2048-bit RSA key (off the event loop: generating one takes a while)."""
        ...

    async def ed25519(self) -> GeneratedKey: ...


@dataclass(frozen=True, slots=True)
class NewDomain:
    """`id` comes from `DomainRepository.new_id()` first: the sealed keys are bound to it."""

    id: int
    user_id: int
    name: str
    verification_token: str
    dkim: DkimKeySet


@dataclass(frozen=True, slots=True)
class VerificationRecord:
    """What one verification run stores; a check left None got no answer and stays as it was."""

    status: DomainStatus
    checked_at: datetime
    verified_at: datetime | None
    ownership: CheckState | None
    spf: CheckState | None
    dkim: CheckState | None
    dmarc: CheckState | None


class DomainRepository(Protocol):
    async def new_id(self) -> int:
        """An id no domain has or will have (the table's sequence)."""
        ...

    async def add(self, domain: NewDomain) -> Domain:
        """Raises Conflict when the name is taken (by anyone: names are unique, spec table 4)."""
        ...

    async def get(self, user_id: int, domain_id: int) -> Domain | None:
        """Only the owner's domain: another user's is None, as if it did not exist."""
        ...

    async def get_any(self, domain_id: int) -> Domain | None:
        """Whoever owns it: for the scheduler's re-verification and the send path."""
        ...

    async def find_by_name(self, user_id: int, name: str) -> Domain | None:
        """The user's domain of that (lower-case) name: the From domain of a send."""
        ...

    async def list_for_user(self, user_id: int, *, limit: int, offset: int) -> Page[Domain]: ...

    async def ids_after(self, after_id: int, *, limit: int) -> list[int]:
        """Ids of every domain above `after_id`, ascending: the re-verification's batches."""
        ...

    async def delete(self, user_id: int, domain_id: int) -> bool: ...

    async def set_pending_dkim(self, user_id: int, domain_id: int, keys: DkimKeySet) -> bool:
        """Stores a rotation's key set, replacing an earlier pending one; False when the user
        has no such domain."""
        ...

    async def promote_pending_dkim(self, domain_id: int, keys: DkimKeySet) -> bool:
        """`keys` (the pending set, sealed again for the active columns) becomes the active set
        and the pending one is cleared, if the pending set is still `keys.selector`'s (a rotation
        started again meanwhile is not promoted); the old active set is dropped."""
        ...

    async def record_verification(self, domain_id: int, record: VerificationRecord) -> None: ...


__all__ = [
    "DkimKeyGenerator",
    "DnsResolver",
    "DomainRepository",
    "GeneratedKey",
    "NewDomain",
    "VerificationRecord",
]
