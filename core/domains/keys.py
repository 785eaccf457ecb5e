"""DKIM key sets: generated, sealed at rest bound to their row and column, and opened to sign.

A sealed key's associated data names the column it is stored in (the SecretBox binds
`<table>:<column>:<row id>`), so `openmailer keys rotate` can re-encrypt each column as it does
any other, and a promoted rotation's keys are sealed again for the active columns.
"""

from __future__ import annotations

from dataclasses import dataclass

from openmailer.core.domains.model import DkimKeySet
from openmailer.core.ports.accounts import SecretBox
from openmailer.core.ports.domains import DkimKeyGenerator

TABLE = "domains"
ACTIVE_COLUMNS = ("dkim_private_key", "dkim_ed25519_private_key")
PENDING_COLUMNS = ("dkim_pending_private_key", "dkim_pending_ed25519_private_key")
SEALED_COLUMNS = (*ACTIVE_COLUMNS, *PENDING_COLUMNS)


@dataclass(frozen=True, slots=True)
class SigningKeyMaterial:
    """What the send path hands `sender_rs.SigningKey.from_pem(domain, selector, private_pem)`."""

    domain: str
    selector: str
    algorithm: str  # "rsa-sha256" or "ed25519-sha256"
    private_pem: str


def _columns(pending: bool) -> tuple[str, str]:
    return PENDING_COLUMNS if pending else ACTIVE_COLUMNS


async def generate_key_set(
    domain_id: int,
    selector: str,
    *,
    pending: bool,
    keys: DkimKeyGenerator,
    secret_box: SecretBox,
) -> DkimKeySet:
    rsa, ed25519 = await keys.rsa(), await keys.ed25519()
    rsa_column, ed_column = _columns(pending)
    return DkimKeySet(
        selector=selector,
        rsa_public_key=rsa.public_key,
        rsa_private_key_sealed=secret_box.seal(
            rsa.private_pem.encode(), table=TABLE, column=rsa_column, row_id=domain_id
        ),
        ed25519_public_key=ed25519.public_key,
        ed25519_private_key_sealed=secret_box.seal(
            ed25519.private_pem.encode(), table=TABLE, column=ed_column, row_id=domain_id
        ),
    )


def open_key_set(
    domain_id: int, keys: DkimKeySet, *, pending: bool, secret_box: SecretBox
) -> tuple[str, str]:
    """(RSA PEM, Ed25519 PEM)."""
    rsa_column, ed_column = _columns(pending)
    return (
        secret_box.open(
            keys.rsa_private_key_sealed, table=TABLE, column=rsa_column, row_id=domain_id
        ).decode(),
        secret_box.open(
            keys.ed25519_private_key_sealed, table=TABLE, column=ed_column, row_id=domain_id
        ).decode(),
    )


def reseal_as_active(domain_id: int, keys: DkimKeySet, *, secret_box: SecretBox) -> DkimKeySet:
    rsa_pem, ed_pem = open_key_set(domain_id, keys, pending=True, secret_box=secret_box)
    rsa_column, ed_column = ACTIVE_COLUMNS
    return DkimKeySet(
        selector=keys.selector,
        rsa_public_key=keys.rsa_public_key,
        rsa_private_key_sealed=secret_box.seal(
            rsa_pem.encode(), table=TABLE, column=rsa_column, row_id=domain_id
        ),
        ed25519_public_key=keys.ed25519_public_key,
        ed25519_private_key_sealed=secret_box.seal(
            ed_pem.encode(), table=TABLE, column=ed_column, row_id=domain_id
        ),
    )
