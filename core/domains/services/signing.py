"""The keys the send path signs a domain's mail with."""

from __future__ import annotations

from openmailer.core.domains.keys import SigningKeyMaterial, open_key_set
from openmailer.core.domains.model import Domain
from openmailer.core.ports.accounts import SecretBox


def signing_keys_for(domain: Domain, *, secret_box: SecretBox) -> tuple[SigningKeyMaterial, ...]:
    """The active key set, RSA then Ed25519 (dual signing; `sender_rs.render_batch` signs with
    every key given). A pending rotation is never used: its records may not be published yet,
    and a receiver would fail a signature whose key it cannot find. Empty for a domain with no
    key. Raises SecretUnavailable when a key cannot be opened (fail closed: never send unsigned
    mail believing it signed)."""
    keys = domain.dkim
    if keys is None:
        return ()
    rsa_pem, ed25519_pem = open_key_set(domain.id, keys, pending=False, secret_box=secret_box)
    return (
        SigningKeyMaterial(domain.name, keys.selector, "rsa-sha256", rsa_pem),
        SigningKeyMaterial(domain.name, keys.ed25519_selector, "ed25519-sha256", ed25519_pem),
    )
