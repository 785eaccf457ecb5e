"""The local platform `benchmarks.load` measures when no `--host` is given, and its data.

A database of its own on the machine's PostgreSQL (`OPENMAILER_BENCH_DATABASE_URL`) and a Redis
database index claimed the way the test runs claim theirs, both emptied at the end; SNS played
by a loopback server serving the certificate of a key made here (`OPENMAILER_SNS_ENDPOINT_
OVERRIDE`, as the webhooks tests do); then `openmailer up` (API, worker, scheduler) pinned to
CPU 0. The data: the campaign owner on the ENTERPRISE plan with a live API key and an om_test_
key, a list holding the campaign's contacts, a segment, a SENT campaign whose pixel, click and
unsubscribe URLs are those its mail carries (`benchmarks.tracking.seed`), an SES and a SendGrid
provider made through the API, and one email log per recipient naming a provider message id,
so that the providers' delivery reports find their message.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import redis

from benchmarks.load_requests import private_key_pem
from benchmarks.tracking import (
    HTML,
    REDIS_CLAIM,
    REDIS_SERVER,
    SERVER_URL,
    claim_redis,
    free_port,
    seed,
)
from openmailer.adapters.bootstrap import open_resources
from openmailer.adapters.bootstrap.accounts import build_accounts
from openmailer.adapters.db.migrate import upgrade_async
from openmailer.adapters.settings import load_settings
from openmailer.core.accounts.model import Principal
from openmailer.core.accounts.plans import Plan, limits_for
from tests.integration.sending.http_peers import Answer, Received, ScriptedServer
from tests.webhook_signing import CERT_PATH, CERT_URL, TOPIC_ARN, SendgridSigner, SnsSigner

ROOT = Path(__file__).resolve().parents[1]
LIVE_SCOPES = ["read:contacts", "write:contacts", "read:campaigns", "write:campaigns"]
CAMPAIGN_HTML = HTML.replace("</body>", '<a href="{{ unsubscribe_url }}">Unsubscribe</a></body>')
CONTACT_DOMAIN = "load.example"
START_TIMEOUT_SECONDS = 120
CONFIRMED = (
    b"<ConfirmSubscriptionResponse><ConfirmSubscriptionResult/></ConfirmSubscriptionResponse>"
)


@dataclass(frozen=True)
class LocalPlatform:
    host: str
    targets_file: Path
    tracking_paths: dict[str, list[str]]
    database_url: str
    pid: int  # `openmailer up`, the parent of the API, worker and scheduler


def _sns_peer(signer: SnsSigner) -> ScriptedServer:
    certificate = signer.certificate_pem

    def respond(request: Received) -> Answer:
        if request.method == "GET" and request.path == CERT_PATH:
            return Answer(200, certificate, (("Content-Type", "application/x-pem-file"),))
        if request.method == "GET" and "Action=ConfirmSubscription" in request.path:
            return Answer(200, CONFIRMED, (("Content-Type", "text/xml"),))
        return Answer(404)

    return ScriptedServer(respond=respond).start()


def _start_up(port: int, env: dict[str, str], log: Any) -> subprocess.Popen[bytes]:
    """`openmailer up` on the given services, its whole tree on CPU 0."""
    command = [
        *(["taskset", "-c", "0"] if shutil.which("taskset") else []),
        str(Path(sys.executable).with_name("openmailer")),
        "up",
        "--port",
        str(port),
        "--worker-processes",
        "1",
        "--worker-threads",
        "4",
    ]
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=log)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"openmailer up exited: {log.read()[-3000:].decode()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
                if answer.status == 200:
                    return process
        except OSError:
            pass
        time.sleep(0.3)
    process.terminate()
    raise RuntimeError("openmailer up did not answer /health in time")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=40)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def _keys(env: dict[str, str], user_id: int) -> tuple[str, str]:
    """The owner on ENTERPRISE (the largest API quota), a live key and an om_test_ key."""
    async with open_resources(load_settings(env)) as resources:
        accounts = build_accounts(resources)
        plan = Plan.ENTERPRISE
        user = await accounts.ports.users.set_plan(
            user_id, plan, limits_for(plan).monthly_email_limit
        )
        assert user is not None
        owner = Principal(user=user, scopes=frozenset())
        _, live = await accounts.create_api_key(owner, "load live", LIVE_SCOPES)
        _, test = await accounts.create_api_key(owner, "load test", ["send:campaigns"], test=True)
    return live, test


async def _through_api(
    host: str, key: str, contact_ids: list[int], sendgrid_public_key: str
) -> dict[str, Any]:
    """The list, segment and providers, made as a tenant would make them."""
    async with httpx.AsyncClient(
        base_url=host, headers={"Authorization": f"Bearer {key}"}, timeout=30
    ) as api:

        async def made(path: str, body: dict[str, Any]) -> dict[str, Any]:
            response = await api.post(path, json=body)
            if response.status_code not in (200, 201):
                raise RuntimeError(f"POST {path}: {response.status_code} {response.text}")
            answer: dict[str, Any] = response.json()
            return answer

        news = await made("/api/v1/lists", {"name": "load news"})
        await made(f"/api/v1/lists/{news['id']}/members", {"contact_ids": contact_ids})
        segment = await made(
            "/api/v1/segments",
            {
                "name": "load-test contacts",
                "conditions": {
                    "operator": "AND",
                    "rules": [{"field": "tags", "operator": "contains", "value": "load-test"}],
                },
            },
        )
        ses = await made(
            "/api/v1/providers",
            {
                "provider_type": "SES",
                "provider_name": "ses events",
                "configuration": {
                    "region": "eu-west-1",
                    "access_key_id": "AKIAIOSFODNN7EXAMPLE",
                    "secret_access_key": "load-test",
                    "sns_topic_arns": [TOPIC_ARN],
                },
            },
        )
        sendgrid = await made(
            "/api/v1/providers",
            {
                "provider_type": "SENDGRID",
                "provider_name": "sendgrid events",
                "configuration": {
                    "api_key": "SG.load-test",
                    "webhook_verification_key": sendgrid_public_key,
                },
            },
        )
    return {"list": news, "segment": segment, "ses": ses, "sendgrid": sendgrid}


async def _email_logs(
    url: str, campaign_id: int, owner: int, providers: list[int]
) -> dict[int, list[list[str]]]:
    """One SENT log per recipient, the providers in turn; per provider, the (message id,
    address) pairs its delivery reports will name."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT r.id, r.tracking_id, c.email FROM campaign_recipients r"
            " JOIN contacts c ON c.id = r.contact_id WHERE r.campaign_id = $1 ORDER BY r.id",
            campaign_id,
        )
        deliveries: dict[int, list[list[str]]] = {p: [] for p in providers}
        logs = []
        for index, row in enumerate(rows):
            provider = providers[index % len(providers)]
            message_id = f"load-{row['tracking_id']}"
            deliveries[provider].append([message_id, row["email"]])
            logs.append((owner, campaign_id, row["id"], provider, row["email"], message_id))
        await conn.executemany(
            "INSERT INTO email_logs (user_id, campaign_id, recipient_id, provider_id, email_type,"
            " recipient_email, status, provider_message_id)"
            " VALUES ($1, $2, $3, $4, 'CAMPAIGN', $5, 'SENT', $6)",
            logs,
        )
        return deliveries
    finally:
        await conn.close()


async def _owner_and_contacts(url: str, campaign_id: int) -> tuple[int, list[int]]:
    """The campaign's owner (the tenant of the whole load) and its contacts' ids."""
    conn = await asyncpg.connect(url)
    try:
        owner = await conn.fetchval(
            "SELECT created_by FROM email_campaigns WHERE id = $1", campaign_id
        )
        rows = await conn.fetch("SELECT id FROM contacts WHERE user_id = $1 ORDER BY id", owner)
        return int(owner), [row["id"] for row in rows]
    finally:
        await conn.close()


def _empty(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        client.flushdb()
    finally:
        client.close()


@asynccontextmanager
async def local_platform(recipients: int, scratch: Path) -> AsyncIterator[LocalPlatform]:
    """The platform, up and holding its data; everything is stopped, dropped and emptied when
    the block ends, whatever ended it."""
    name = f"om_bench_load_{os.getpid()}"
    server = await asyncpg.connect(SERVER_URL)
    await server.execute(f'CREATE DATABASE "{name}"')
    try:
        index, claims = claim_redis()
        url = SERVER_URL.rsplit("/", 1)[0] + f"/{name}"
        redis_url = f"{REDIS_SERVER}/{index}"
        try:
            _empty(redis_url)
            async with _running(url, redis_url, recipients, scratch) as platform:
                yield platform
        finally:
            _empty(redis_url)
            claims.delete(REDIS_CLAIM.format(index))
            claims.close()
    finally:
        await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await server.close()


@asynccontextmanager
async def _running(
    url: str, redis_url: str, recipients: int, scratch: Path
) -> AsyncIterator[LocalPlatform]:
    sns_signer, sendgrid_signer = SnsSigner(), SendgridSigner()
    sns_peer = _sns_peer(sns_signer)
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    env = os.environ | {
        # Loopback: TLS to PostgreSQL is a cost only a network needs (benchmarks/README.md).
        "OPENMAILER_DATABASE_URL": f"{url}?sslmode=disable",
        "OPENMAILER_REDIS_URL": redis_url,
        "OPENMAILER_SECRET_KEYS": "load:" + base64.b64encode(os.urandom(32)).decode(),
        "OPENMAILER_TRUSTED_PROXIES": "127.0.0.1/32",
        "OPENMAILER_SNS_ENDPOINT_OVERRIDE": sns_peer.url,
        "OPENMAILER_BASE_URL": host,
        "OPENMAILER_DATA_DIR": str(scratch / "data"),
        "OPENMAILER_LOG_LEVEL": "WARNING",
        "OPENMAILER_ENV": "development",
    }
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in the finally below)
    platform: subprocess.Popen[bytes] | None = None
    try:
        await upgrade_async(url)
        campaign_id, paths = await seed(url, load_settings(env), recipients, html=CAMPAIGN_HTML)
        platform = await asyncio.to_thread(_start_up, port, env, log)
        owner, contact_ids = await _owner_and_contacts(url, campaign_id)
        live_key, test_key = await _keys(env, owner)
        made = await _through_api(host, live_key, contact_ids, sendgrid_signer.public_key)
        ses_id, sendgrid_id = int(made["ses"]["id"]), int(made["sendgrid"]["id"])
        deliveries = await _email_logs(url, campaign_id, owner, [ses_id, sendgrid_id])
        targets = {
            "api": {
                "key": live_key,
                "list_id": made["list"]["id"],
                "segment_id": made["segment"]["id"],
                "contact_domain": CONTACT_DOMAIN,
            },
            "messages": {
                "test_key": test_key,
                "from_email": "orders@shop.example",
                "to_domain": CONTACT_DOMAIN,
            },
            "recipients": paths,
            "ses": {
                "webhook_path": made["ses"]["webhook_path"],
                "private_key_pem": private_key_pem(sns_signer.key),
                "cert_url": CERT_URL,
                "topic_arn": TOPIC_ARN,
                "deliveries": deliveries[ses_id],
            },
            "sendgrid": {
                "webhook_path": made["sendgrid"]["webhook_path"],
                "private_key_pem": private_key_pem(sendgrid_signer.key),
                "deliveries": deliveries[sendgrid_id],
            },
        }
        targets_file = scratch / "targets.json"
        targets_file.write_text(json.dumps(targets))
        yield LocalPlatform(host, targets_file, paths, url, platform.pid)
    finally:
        if platform is not None:
            await asyncio.to_thread(_stop, platform)
        log.close()
        sns_peer.stop()
