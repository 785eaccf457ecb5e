"""The webhooks tests' app: every installed area on the tests' database and Redis, with SNS
played by a loopback server (`OPENMAILER_SNS_ENDPOINT_OVERRIDE`): it serves the signing
certificate made by the tests and answers subscription confirmations. Nothing leaves the
machine."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from litestar import Litestar

from openmailer.adapters.http.app import create_app, make_lifespan
from openmailer.adapters.settings import Settings
from tests.integration.campaigns.conftest import world
from tests.integration.conftest import TEST_PASSWORD_ROUNDS
from tests.integration.sending.http_peers import Answer, Received, ScriptedServer
from tests.webhook_signing import CERT_PATH, SendgridSigner, SnsSigner

__all__ = ["world"]  # the campaigns tests' tenants, for a campaign sent end to end

CONFIRMED = (
    b"<ConfirmSubscriptionResponse><ConfirmSubscriptionResult/></ConfirmSubscriptionResponse>"
)


@pytest.fixture(scope="session")
def sns_signer() -> SnsSigner:
    return SnsSigner()


@pytest.fixture(scope="session")
def sendgrid_signer() -> SendgridSigner:
    return SendgridSigner()


@pytest.fixture(scope="session")
def sns_peer(sns_signer: SnsSigner) -> Iterator[ScriptedServer]:
    certificate = sns_signer.certificate_pem

    def respond(request: Received) -> Answer:
        if request.method == "GET" and request.path == CERT_PATH:
            return Answer(200, certificate, (("Content-Type", "application/x-pem-file"),))
        if request.method == "GET" and "Action=ConfirmSubscription" in request.path:
            return Answer(200, CONFIRMED, (("Content-Type", "text/xml"),))
        return Answer(404)

    server = ScriptedServer(respond=respond).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def webhook_settings(accounts_settings: Settings, sns_peer: ScriptedServer) -> Settings:
    return dataclasses.replace(accounts_settings, sns_endpoint_override=sns_peer.url)


@pytest.fixture(scope="session")
def webhook_app(webhook_settings: Settings) -> Litestar:
    return create_app(webhook_settings, password_rounds=TEST_PASSWORD_ROUNDS)


@pytest.fixture(scope="session")
async def webhook_client(
    webhook_app: Litestar, webhook_settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=webhook_app, client=("198.51.100.7", 40000))
    lifespan = make_lifespan(webhook_settings, password_rounds=TEST_PASSWORD_ROUNDS)
    async with (
        lifespan(webhook_app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as test_client,
    ):
        yield test_client
