"""`POST /api/v1/messages` delivered through an SES provider (moto's SES on loopback): the
signed message SES stored is the one we rendered, and it verifies against the published keys."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import dkim
import httpx
import pytest

from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.domains.service import DomainsService
from tests.dns_server import Zone
from tests.integration.domains.test_dkim_keys import dnsfunc_asking
from tests.integration.messages.messages_helpers import (
    message_body,
    send,
    sender,
    verified_domain,
)
from tests.integration.sending.http_peers import (
    MOTO_ACCESS_KEY,
    MOTO_REGION,
    MOTO_SECRET_KEY,
    MotoSes,
    moto_raw_messages,
    start_moto,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoSes]:
    peer = start_moto()
    yield peer
    peer.stop()


async def test_a_transactional_message_is_delivered_by_ses(
    client: httpx.AsyncClient,
    accounts: Accounts,
    domains: DomainsService,
    zone: Zone,
    zone_and_port: tuple[Zone, int],
    moto: MotoSes,
) -> None:
    who = await sender(accounts)
    domain = (await verified_domain(client, who, zone))["domain_name"]
    boto3.client(
        "ses",
        region_name=MOTO_REGION,
        endpoint_url=moto.url,
        aws_access_key_id=MOTO_ACCESS_KEY,
        aws_secret_access_key=MOTO_SECRET_KEY,
    ).verify_domain_identity(Domain=domain)
    provider = await client.post(
        "/api/v1/providers",
        headers=who.headers,
        json={
            "provider_type": "SES",
            "provider_name": "ses",
            "is_default": True,
            "configuration": {
                "region": MOTO_REGION,
                "access_key_id": MOTO_ACCESS_KEY,
                "secret_access_key": MOTO_SECRET_KEY,
                "endpoint_url": moto.url,
                "timeout_seconds": 5,
            },
        },
    )
    assert provider.status_code == 201, provider.text

    response = await send(client, who, message_body(domain))
    assert response.status_code == 201, response.text
    sent = response.json()
    assert sent["status"] == "SENT" and sent["provider_id"] == provider.json()["id"]
    (stored,) = [m for m in moto_raw_messages(moto.url) if m["id"] == sent["provider_message_id"]]
    assert stored["source"] == f"orders@{domain}"
    assert "ada@example.net" in stored["destinations"]
    raw = stored["raw_data"].encode()
    assert b"Thanks, Ada: order 42 ships today." in raw
    lookup = dnsfunc_asking(zone_and_port[1])
    assert raw.count(b"DKIM-Signature:") == 2
    for idx in range(2):
        assert dkim.DKIM(raw).verify(idx=idx, dnsfunc=lookup)
