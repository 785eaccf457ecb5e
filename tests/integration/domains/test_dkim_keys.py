"""The generated keys sign with the send core, verify in dkimpy against the records the local DNS
server publishes, switch on rotation only once the new records verify, and rotate with
`openmailer keys rotate`'s re-encryption."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import dkim
import dns.resolver
import httpx
import pytest
from litestar import Litestar

import sender_rs
from openmailer.adapters.bootstrap import DatabaseResources, build_domains
from openmailer.adapters.crypto.rotation import rotate_sealed_columns
from openmailer.adapters.crypto.secret_box import AesGcmSecretBox
from openmailer.core.accounts.model import Principal
from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.domains.keys import SEALED_COLUMNS
from openmailer.core.domains.service import DomainsService
from tests.dns_server import Zone
from tests.integration.accounts.accounts_helpers import api_key_for, make_user
from tests.integration.domains.domains_helpers import unique_domain_name
from tests.integration.domains.test_domains_api import create, publish_all
from tests.sender_rs.sender_helpers import compile_default, recipient

pytestmark = pytest.mark.integration


def dnsfunc_asking(port: int) -> Callable[..., bytes | None]:
    """dkimpy's lookup, answered by the test DNS server over the wire."""
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [dns.nameserver.Do53Nameserver("127.0.0.1", port)]
    resolver.lifetime = 2

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        try:
            answer = resolver.resolve(name.decode(), "TXT")
        except dns.exception.DNSException:
            return None
        return b"".join(b"".join(rdata.strings) for rdata in answer)

    return lookup


async def signed_message(domains: DomainsService, domain_id: int) -> tuple[bytes, list[str]]:
    materials = await domains.signing_keys_for(domain_id)
    keys = [sender_rs.SigningKey.from_pem(m.domain, m.selector, m.private_pem) for m in materials]
    domain = materials[0].domain
    template = compile_default(from_email=f"news@{domain}", list_id=f"news.{domain}")
    [message] = sender_rs.render_batch(template, [recipient()], keys, threads=1)
    assert isinstance(message, sender_rs.RenderedMessage)
    return message.data, [m.selector for m in materials]


async def test_keys_sign_with_sender_rs_and_verify_in_dkimpy_then_rotate(
    client: httpx.AsyncClient,
    accounts: Accounts,
    domains: DomainsService,
    zone: Zone,
    zone_and_port: tuple[Zone, int],
) -> None:
    who = await api_key_for(accounts, await make_user(accounts), ["write:campaigns"])
    body = (await create(client, who, unique_domain_name())).json()
    publish_all(zone, body)
    lookup = dnsfunc_asking(zone_and_port[1])

    message, selectors = await signed_message(domains, body["id"])
    assert selectors == [body["dkim_selector"], body["dkim_ed25519_selector"]]
    for idx in (0, 1):  # RSA, then Ed25519
        assert dkim.DKIM(message).verify(idx=idx, dnsfunc=lookup)
    tampered = message.replace(b"Hello", b"Jello", 1)
    with pytest.raises(dkim.ValidationError):
        dkim.DKIM(tampered).verify(idx=0, dnsfunc=lookup)

    rotated = (
        await client.post(f"/api/v1/domains/{body['id']}/rotate-dkim", headers=who.headers)
    ).json()
    new_selector = rotated["pending_dkim_selector"]
    assert new_selector not in {None, body["dkim_selector"]}
    assert rotated["dkim_selector"] == body["dkim_selector"]
    # Until the new records verify, mail is signed with the old keys.
    verify = f"/api/v1/domains/{body['id']}/verify"
    report = (await client.post(verify, headers=who.headers)).json()
    assert report["pending_dkim"]["outcome"] == "fail"
    assert (await signed_message(domains, body["id"]))[1][0] == body["dkim_selector"]

    publish_all(zone, rotated, pending=True)
    report = (await client.post(verify, headers=who.headers)).json()
    assert report["pending_dkim"]["outcome"] == "pass"
    assert report["domain"]["dkim_selector"] == new_selector
    assert report["domain"]["pending_dkim_selector"] is None
    assert report["domain"]["status"] == "VERIFIED"
    message, selectors = await signed_message(domains, body["id"])
    assert selectors == [new_selector, f"{new_selector}-ed25519"]
    for idx in (0, 1):
        assert dkim.DKIM(message).verify(idx=idx, dnsfunc=lookup)


async def test_keys_rotate_re_encrypts_the_sealed_dkim_keys(
    app: Litestar, accounts: Accounts, domains: DomainsService
) -> None:
    settings = app.state.resources.settings
    older, newest = settings.secret_keys
    # A domain sealed while `older` was the newest key, as before a key rotation.
    before = dataclasses.replace(settings, secret_keys=(newest, older))
    service = build_domains(DatabaseResources(before, app.state.resources.engine))
    owner = Principal(user=await make_user(accounts), scopes=frozenset())
    domain = await service.add_domain(owner, unique_domain_name())
    rotated = await service.rotate_dkim(owner, domain.id)
    assert rotated.pending_dkim is not None and rotated.dkim is not None
    assert rotated.dkim.rsa_private_key_sealed.startswith(f"v1:{older.key_id}:")

    assert (
        await rotate_sealed_columns(
            app.state.resources.engine, AesGcmSecretBox(settings.secret_keys)
        )
        >= 4
    )
    stored = await domains.ports.domains.get_any(domain.id)
    assert stored is not None and stored.dkim is not None and stored.pending_dkim is not None
    sealed = (
        stored.dkim.rsa_private_key_sealed,
        stored.dkim.ed25519_private_key_sealed,
        stored.pending_dkim.rsa_private_key_sealed,
        stored.pending_dkim.ed25519_private_key_sealed,
    )
    box = AesGcmSecretBox((newest,))  # the old key can now be dropped
    for column, value in zip(SEALED_COLUMNS, sealed, strict=True):
        assert value.startswith(f"v1:{newest.key_id}:")
        assert box.open(value, table="domains", column=column, row_id=domain.id).startswith(
            b"-----BEGIN PRIVATE KEY-----"
        )
