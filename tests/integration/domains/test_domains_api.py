"""`/api/v1/domains` on real PostgreSQL and a local authoritative DNS server (dnslib)."""

from __future__ import annotations

import time

import httpx
import pytest
from litestar import Litestar

from openmailer.adapters.bootstrap import DatabaseResources, build_domains
from openmailer.adapters.crypto.secret_box import AesGcmSecretBox
from openmailer.adapters.settings import Settings
from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.domains.service import DomainsService
from tests.dns_server import Zone, silent_server
from tests.integration.accounts.accounts_helpers import Caller, api_key_for, make_user
from tests.integration.domains.conftest import settings_asking
from tests.integration.domains.domains_helpers import unique_domain_name

pytestmark = pytest.mark.integration

WRITE = ["write:campaigns", "read:campaigns"]


async def caller(accounts: Accounts) -> Caller:
    return await api_key_for(accounts, await make_user(accounts), WRITE)


async def create(client: httpx.AsyncClient, who: Caller, name: str) -> httpx.Response:
    return await client.post("/api/v1/domains", headers=who.headers, json={"domain_name": name})


def publish_all(zone: Zone, body: dict, *, pending: bool | None = None) -> None:
    """Publishes the records the API asked for (only the pending ones, or not, if given)."""
    by_name: dict[str, list[str]] = {}
    for record in body["records"]:
        if pending is None or record["pending"] == pending or record["purpose"] != "dkim":
            by_name.setdefault(record["name"], []).append(record["value"])
    for name, values in by_name.items():
        zone.publish(name, *values)


async def test_a_new_domain_answers_its_records_and_never_its_private_keys(
    client: httpx.AsyncClient, accounts: Accounts, domains: DomainsService, app: Litestar
) -> None:
    who = await caller(accounts)
    name = unique_domain_name()
    response = await create(client, who, name)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "PENDING" and body["domain_name"] == name
    records = {(r["purpose"], r["name"]): r["value"] for r in body["records"]}
    selector, ed_selector = body["dkim_selector"], body["dkim_ed25519_selector"]
    assert ed_selector == f"{selector}-ed25519"
    assert records[("dkim", f"{selector}._domainkey.{name}")].startswith("v=DKIM1; k=rsa; p=MII")
    assert records[("dkim", f"{ed_selector}._domainkey.{name}")].startswith(
        "v=DKIM1; k=ed25519; p="
    )
    assert records[("spf", name)].startswith("v=spf1 ")
    assert records[("dmarc", f"_dmarc.{name}")].startswith("v=DMARC1; p=")
    assert records[("verification", f"_openmailer.{name}")].startswith("openmailer-verification=")

    stored = await domains.ports.domains.get_any(body["id"])
    assert stored is not None and stored.dkim is not None
    sealed = stored.dkim.rsa_private_key_sealed
    assert sealed.startswith("v1:") and "PRIVATE KEY" not in sealed
    box = AesGcmSecretBox(app.state.resources.settings.secret_keys)
    pem = box.open(sealed, table="domains", column="dkim_private_key", row_id=body["id"])
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    listed = await client.get("/api/v1/domains", headers=who.headers)
    for text in (response.text, listed.text):
        assert "PRIVATE" not in text and sealed not in text
    assert [d["id"] for d in listed.json()["items"]] == [body["id"]]


@pytest.mark.parametrize("name", ["example.com.", "localhost", "bad_label.example", "-a.example"])
async def test_names_are_validated(
    client: httpx.AsyncClient, accounts: Accounts, domains: DomainsService, name: str
) -> None:
    response = await create(client, await caller(accounts), name)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "domain_name"


async def test_idna_names_are_stored_as_a_labels_and_unique_per_user_and_overall(
    client: httpx.AsyncClient, accounts: Accounts, domains: DomainsService
) -> None:
    who, other = await caller(accounts), await caller(accounts)
    label = unique_domain_name("bücher")
    response = await create(client, who, label.upper().replace("Ü", "ü"))
    assert response.status_code == 201, response.text
    assert response.json()["domain_name"] == label.encode("idna").decode()
    assert (await create(client, who, label)).status_code == 409
    # Names are unique across users (spec table 4): one domain, one owner.
    assert (await create(client, other, label)).status_code == 409
    domain_id = response.json()["id"]
    for method, path in (
        ("GET", f"/api/v1/domains/{domain_id}"),
        ("POST", f"/api/v1/domains/{domain_id}/verify"),
        ("POST", f"/api/v1/domains/{domain_id}/rotate-dkim"),
        ("DELETE", f"/api/v1/domains/{domain_id}"),
    ):
        assert (await client.request(method, path, headers=other.headers)).status_code == 404
    assert (
        await client.delete(f"/api/v1/domains/{domain_id}", headers=who.headers)
    ).status_code == 204
    assert (
        await client.get(f"/api/v1/domains/{domain_id}", headers=who.headers)
    ).status_code == 404


async def test_published_records_verify_and_a_lost_record_fails_the_domain_hourly(
    client: httpx.AsyncClient, accounts: Accounts, domains: DomainsService, zone: Zone
) -> None:
    who = await caller(accounts)
    body = (await create(client, who, unique_domain_name())).json()
    verify = f"/api/v1/domains/{body['id']}/verify"

    nothing = (await client.post(verify, headers=who.headers)).json()
    assert nothing["domain"]["status"] == "FAILED"
    assert {nothing[c]["outcome"] for c in ("ownership", "dkim", "spf", "dmarc")} == {"fail"}

    publish_all(zone, body)
    report = (await client.post(verify, headers=who.headers)).json()
    assert [report[c]["outcome"] for c in ("ownership", "dkim", "spf", "dmarc")] == ["pass"] * 4
    assert report["dmarc"]["detail"] == "DMARC policy p=none"
    domain = report["domain"]
    assert domain["status"] == "VERIFIED" and domain["verified_at"] is not None
    for check in ("ownership", "dkim", "spf", "dmarc"):
        assert domain["checks"][check]["verified"] is True
        assert domain["checks"][check]["last_checked_at"] is not None
    assert domain["checks"]["spf"]["record"].startswith("v=spf1")

    zone.remove(f"{body['dkim_selector']}._domainkey.{body['domain_name']}")
    assert await domains.reverify_all() >= 1
    after = (await client.get(f"/api/v1/domains/{body['id']}", headers=who.headers)).json()
    assert after["status"] == "FAILED"
    assert after["checks"]["dkim"]["verified"] is False
    assert after["checks"]["spf"]["verified"] is True


async def test_servfail_is_reported_per_check_and_changes_nothing(
    client: httpx.AsyncClient, accounts: Accounts, domains: DomainsService, zone: Zone
) -> None:
    who = await caller(accounts)
    body = (await create(client, who, unique_domain_name())).json()
    publish_all(zone, body)
    zone.servfail.add(f"_dmarc.{body['domain_name']}")
    report = (await client.post(f"/api/v1/domains/{body['id']}/verify", headers=who.headers)).json()
    assert report["dmarc"]["outcome"] == "unknown" and "servfail" in report["dmarc"]["detail"]
    assert report["spf"]["outcome"] == "pass"
    assert report["domain"]["status"] == "PENDING"
    assert report["domain"]["checks"]["dmarc"]["last_checked_at"] is None
    assert report["domain"]["checks"]["spf"]["last_checked_at"] is not None


async def test_a_server_that_never_answers_times_out_per_check(
    client: httpx.AsyncClient,
    accounts: Accounts,
    app: Litestar,
    accounts_settings: Settings,
    domains: DomainsService,
) -> None:
    who = await caller(accounts)
    body = (await create(client, who, unique_domain_name())).json()
    with silent_server() as port:
        settings = settings_asking(accounts_settings, port, timeout=0.3)
        app.state.services["domains"] = build_domains(
            DatabaseResources(settings, app.state.resources.engine)
        )
        started = time.monotonic()
        response = await client.post(f"/api/v1/domains/{body['id']}/verify", headers=who.headers)
        elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    report = response.json()
    assert {report[c]["outcome"] for c in ("ownership", "dkim", "spf", "dmarc")} == {"unknown"}
    assert "timeout" in report["spf"]["detail"]
    assert report["domain"]["status"] == "PENDING"
    assert elapsed < 3


async def test_scopes_are_the_campaign_scopes(
    client: httpx.AsyncClient, accounts: Accounts, domains: DomainsService
) -> None:
    user = await make_user(accounts)
    reader = await api_key_for(accounts, user, ["read:campaigns"])
    assert (await client.get("/api/v1/domains", headers=reader.headers)).status_code == 200
    assert (await create(client, reader, unique_domain_name())).status_code == 403


async def test_the_area_registers_the_hourly_reverification() -> None:
    from openmailer.adapters.bootstrap import builtin_areas

    areas = builtin_areas()
    assert areas.periodic_jobs["reverify-domains"].interval_seconds == 3600
    assert areas.periodic_jobs["reverify-domains"].actor == "reverify_domains"
    assert areas.actors["reverify_domains"].queue == "maintenance"
