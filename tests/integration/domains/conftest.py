"""The domains tests' DNS: a local authoritative server the app's domain service asks."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from litestar import Litestar

from openmailer.adapters.bootstrap import DatabaseResources, build_domains
from openmailer.adapters.settings import Settings
from openmailer.core.domains.service import DomainsService
from tests.dns_server import Zone, dns_server


@pytest.fixture(scope="module")
def zone_and_port() -> Iterator[tuple[Zone, int]]:
    with dns_server() as served:
        yield served


@pytest.fixture
def zone(zone_and_port: tuple[Zone, int]) -> Iterator[Zone]:
    served, _ = zone_and_port
    yield served
    served.txt.clear()
    served.servfail.clear()


def settings_asking(settings: Settings, port: int, *, timeout: float = 2.0) -> Settings:
    return dataclasses.replace(
        settings, dns_nameservers=(("127.0.0.1", port),), dns_timeout=timeout
    )


@pytest.fixture
async def domains(
    app: Litestar,
    client: httpx.AsyncClient,
    accounts_settings: Settings,
    zone_and_port: tuple[Zone, int],
) -> AsyncIterator[DomainsService]:
    """The app's domains service, asking the test DNS server, for this test."""
    resources = app.state.resources
    settings = settings_asking(accounts_settings, zone_and_port[1])
    service = build_domains(DatabaseResources(settings, resources.engine))
    bound = app.state.services["domains"]
    app.state.services["domains"] = service
    yield service
    app.state.services["domains"] = bound
