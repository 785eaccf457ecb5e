"""Whole-campaign benchmark: start to SENT through `openmailer worker` to Postfix's smtp-sink,
against this machine's ceiling (sender_rs alone rendering and signing the same messages on two
threads), measured in the same run.

    python -m benchmarks.campaign [--quick] [--json]

A database of its own (dropped at the end) and a Redis database index of its own (emptied at
the end); one user with a VERIFIED domain (RSA-2048 + Ed25519 keys, dual signing as sent), an
SMTP provider pointing at smtp-sink on loopback, the 20 KB template with 15 tracked links
(benchmarks/workload.py) and N subscribed contacts in a list. The campaign is started through
the send service (as `POST /campaigns/{id}/send` does) and one `openmailer worker` (two
processes) sends it; the clock runs from the start to SENT. Sizes: 10,000 and 100,000
recipients (`--quick`: 3,000).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import asyncpg
import redis

import sender_rs
from benchmarks.workload import SUBJECT, html_template, recipients_data
from openmailer.adapters.bootstrap import (
    DatabaseResources,
    build_user_admin,
    builtin_areas,
    open_resources,
)
from openmailer.adapters.bootstrap.campaign_sending import build_campaign_sending
from openmailer.adapters.crypto.dkim_keys import CryptographyDkimKeyGenerator
from openmailer.adapters.crypto.secret_box import AesGcmSecretBox
from openmailer.adapters.db.domains import SqlAlchemyDomainRepository
from openmailer.adapters.db.engine import create_engine
from openmailer.adapters.db.migrate import upgrade_async
from openmailer.adapters.db.providers import SqlAlchemyProviderRepository
from openmailer.adapters.settings import load_settings
from openmailer.core.accounts.model import Principal
from openmailer.core.accounts.scopes import Scope
from openmailer.core.domains.keys import SigningKeyMaterial
from openmailer.core.domains.services import domains
from openmailer.core.domains.services.signing import signing_keys_for
from openmailer.core.ports.sending import NewProviderRecord
from openmailer.core.sending.services.providers import CONFIGURATION_COLUMN
from tests.conftest import _claim_redis_database
from tests.integration.sending.postfix_sink import PostfixSink

SERVER_URL = os.environ.get(
    "OPENMAILER_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_SERVER = os.environ.get("OPENMAILER_BENCH_REDIS_URL", "redis://127.0.0.1:6379")
TARGET = 0.55
DOMAIN_NAME = "bench-campaign.example"
CEILING_BATCH = 1_000


def ceiling(keys: list[sender_rs.SigningKey], seconds: float) -> float:
    """Messages per second of sender_rs alone on two threads, the same template and keys."""
    from benchmarks.workload import campaign_content

    template = sender_rs.compile_template(campaign_content())
    batch = [
        sender_rs.Recipient(
            str(r["tracking_id"]),
            str(r["email"]),
            unsubscribe_token=str(r["unsubscribe_token"]),
            first_name=str(r["first_name"]),
            custom=r["custom"],  # type: ignore[arg-type]
        )
        for r in recipients_data(CEILING_BATCH)
    ]
    sender_rs.render_batch(template, batch, keys, threads=2)
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        done += len(sender_rs.render_batch(template, batch, keys, threads=2))
    return done / elapsed


def peak_rss_kib(group: int) -> int:
    """The largest VmHWM among the processes of a process group (the worker's)."""
    peak = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            if int(fields[2]) != group:
                continue
            with open(f"/proc/{entry}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
        except (OSError, IndexError, ValueError):
            continue
    return peak


@dataclass
class Made:
    user_id: int
    campaign_id: int
    keys: tuple[SigningKeyMaterial, ...]


async def setup(url: str, env: dict[str, str], sink_port: int, recipients: int) -> Made:
    settings = load_settings(env)
    engine = create_engine(url, connect_args={"command_timeout": 600})
    database = DatabaseResources(settings, engine)
    box = AesGcmSecretBox(settings.secret_keys)
    try:
        user = await build_user_admin(database).create_user(
            "bench", "bench@example.com", "a long password"
        )
        principal = Principal(user=user, scopes=frozenset())
        domain = await domains.add_domain(
            principal,
            DOMAIN_NAME,
            domains=SqlAlchemyDomainRepository(engine),
            keys=CryptographyDkimKeyGenerator(),
            secret_box=box,
            clock=_Clock(),
        )
        configuration = json.dumps(
            {"host": "127.0.0.1", "port": sink_port, "use_tls": False, "pool_size": 8}
        ).encode()
        await SqlAlchemyProviderRepository(engine).add(
            NewProviderRecord(
                user_id=user.id,
                provider_type="SMTP",
                provider_name="smtp-sink",
                is_active=True,
                is_default=True,
                priority=0,
                daily_limit=None,
                monthly_limit=None,
            ),
            seal=lambda row_id: box.seal(configuration, row_id=row_id, **CONFIGURATION_COLUMN),
        )
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(
                "UPDATE domains SET status = 'VERIFIED', spf_verified = true, "
                "dkim_verified = true WHERE id = $1",
                domain.id,
            )
            await conn.execute(
                "UPDATE users SET monthly_email_limit = 100000000 WHERE id = $1", user.id
            )
            template_id = await conn.fetchval(
                "INSERT INTO email_templates (name, subject, body, created_by) "
                "VALUES ('bench', $1, $2, $3) RETURNING id",
                SUBJECT,
                html_template(),
                user.id,
            )
            list_id = await conn.fetchval(
                "INSERT INTO contact_lists (user_id, name) VALUES ($1, 'bench') RETURNING id",
                user.id,
            )
            await conn.execute(
                """
                WITH added AS (
                    INSERT INTO contacts (user_id, email, status, first_name, custom_fields)
                    SELECT $1, 'reader' || i || '@bench.example', 'SUBSCRIBED', 'Reader' || i,
                           jsonb_build_object('city', 'Lyon')
                    FROM generate_series(1, $2) AS i
                    RETURNING id
                )
                INSERT INTO contact_list_memberships (contact_id, list_id, status)
                SELECT id, $3, 'ACTIVE' FROM added
                """,
                user.id,
                recipients,
                list_id,
            )
            campaign_id = await conn.fetchval(
                "INSERT INTO email_campaigns (name, template_id, created_by, from_email, "
                "from_name, domain_id, list_id, send_speed) "
                "VALUES ('bench', $1, $2, $3, 'Acme News', $4, $5, 10000) RETURNING id",
                template_id,
                user.id,
                f"news@{DOMAIN_NAME}",
                domain.id,
                list_id,
            )
            await conn.execute("VACUUM ANALYZE")
        finally:
            await conn.close()
        stored = await SqlAlchemyDomainRepository(engine).get(user.id, domain.id)
        assert stored is not None
        return Made(user.id, campaign_id, signing_keys_for(stored, secret_box=box))
    finally:
        await engine.dispose()


class _Clock:
    def now(self) -> Any:
        from datetime import UTC, datetime

        return datetime.now(UTC)


async def start_and_wait(env: dict[str, str], user_id: int, campaign_id: int) -> float:
    settings = load_settings(env)
    async with open_resources(settings) as resources:
        service = build_campaign_sending(resources, builtin_areas().segment_operators)
        user = await service.delivery.users.get(user_id)
        assert user is not None
        principal = Principal(user=user, scopes=frozenset({Scope.SEND_CAMPAIGNS.value}))
        started = time.perf_counter()
        await service.start(principal, campaign_id)
        while True:
            campaign = await service.delivery.campaigns.get(user_id, campaign_id)
            assert campaign is not None
            if campaign.status.value == "SENT":
                return time.perf_counter() - started
            if campaign.status.value in {"FAILED", "CANCELLED", "PAUSED"}:
                raise RuntimeError(f"the campaign ended {campaign.status.value}")
            await asyncio.sleep(0.1)


async def run_size(recipients: int, redis_url: str) -> tuple[dict[str, Any], Made]:
    name = f"om_bench_campaign_{os.getpid()}_{recipients}"
    admin = await asyncpg.connect(SERVER_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = SERVER_URL.rsplit("/", 1)[0] + f"/{name}"
    keys = base64.b64encode(os.urandom(32)).decode()
    env = {
        "OPENMAILER_DATABASE_URL": url,
        "OPENMAILER_REDIS_URL": redis_url,
        "OPENMAILER_SECRET_KEYS": f"bench:{keys}",
        "OPENMAILER_LOG_LEVEL": "WARNING",
    }
    sink = PostfixSink()
    worker = None
    log_path = os.environ.get(
        "OPENMAILER_BENCH_WORKER_LOG", f"/tmp/om_bench_campaign_worker_{os.getpid()}.log"
    )
    try:
        await upgrade_async(url)
        made = await setup(url, env, sink.port, recipients)
        worker = start_worker(env, log_path)
        await wait_for_workers(redis_url, processes=2)
        seconds = await start_and_wait(env, made.user_id, made.campaign_id)
        figures = {
            "recipients": recipients,
            "seconds": round(seconds, 2),
            "rate": round(recipients / seconds, 1),
            "worker_peak_rss_kib": peak_rss_kib(worker.pid),
        }
        figures["busy_seconds"] = where_the_time_goes(log_path)
        return figures, made
    finally:
        if worker is not None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=60)
        sink.stop()
        await _drop(name)


async def wait_for_workers(redis_url: str, *, processes: int, within: float = 120) -> None:
    """Until the worker's processes fetch from the broker (each records a heartbeat there):
    booting them takes seconds on a loaded machine and is not the campaign's time."""
    client = redis.Redis.from_url(redis_url)
    try:
        deadline = time.monotonic() + within
        while client.zcard("openmailer:__heartbeats__") < processes:
            if time.monotonic() > deadline:
                raise RuntimeError("the worker did not start")
            await asyncio.sleep(0.2)
    finally:
        client.close()


def start_worker(env: dict[str, str], log_path: str) -> subprocess.Popen[bytes]:
    """`openmailer worker --processes 2` in a session of its own (its peak RSS is read per
    process group)."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("OPENMAILER_")}
    log = open(log_path, "wb")  # noqa: SIM115 (the worker's, closed with it)
    return subprocess.Popen(
        [sys.executable, "-m", "openmailer.adapters.cli", "worker", "--processes", "2"],
        env=inherited | env,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )


_BATCH_LINE = re.compile(r"campaign_batch campaign=\d+ claimed=(\d+) (.*)$")


def where_the_time_goes(log_path: str) -> dict[str, float]:
    """The worker's per-batch timings (one `campaign_batch` log line each) summed per step:
    seconds of the lanes' time, which overlap (their sum exceeds the wall-clock time)."""
    totals: dict[str, float] = {}
    with open(log_path, errors="replace") as log:
        for line in log:
            found = _BATCH_LINE.search(line.strip())
            if found is None:
                continue
            for pair in found.group(2).split():
                name, _, value = pair.partition("=")
                totals[name.removesuffix("_s")] = totals.get(name.removesuffix("_s"), 0) + float(
                    value
                )
    return {name: round(value, 2) for name, value in totals.items()}


async def _drop(name: str) -> None:
    conn = await asyncpg.connect(SERVER_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def measure(quick: bool) -> dict[str, Any]:
    index, claims = _claim_redis_database()
    redis_url = f"{REDIS_SERVER}/{index}"
    try:
        sizes = [3_000] if quick else [10_000, 100_000]
        results = [asyncio.run(run_size(size, redis_url)) for size in sizes]
        runs = [figures for figures, _ in results]
        keys = [
            sender_rs.SigningKey.from_pem(k.domain, k.selector, k.private_pem)
            for k in results[-1][1].keys
        ]
        ceilings = [ceiling(keys, 3.0 if quick else 8.0) for _ in range(2 if quick else 3)]
        top = statistics.median(ceilings)
        rates = [run["rate"] for run in runs]
        return {
            "sizes": runs,
            "ceiling_two_threads_per_s": round(top, 1),
            "campaign_per_s": rates[-1],
            "ratio": round(rates[-1] / top, 3),
            "throughput_drop_smallest_to_largest": round(1 - rates[-1] / rates[0], 3),
            "target_ratio": TARGET,
            "targets_met": rates[-1] / top >= TARGET,
        }
    finally:
        client = redis.Redis.from_url(redis_url)
        client.flushdb()
        client.close()
        claims.delete(f"openmailer:test-run-database:{index}")
        claims.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="3,000 recipients only")
    args = parser.parse_args()
    figures = measure(args.quick)
    if args.json:
        print(json.dumps(figures))
        return
    for run in figures["sizes"]:
        print(
            f"{run['recipients']:>9,} recipients: {run['seconds']} s start to SENT, "
            f"{run['rate']:,} msg/s; worker peak RSS {run['worker_peak_rss_kib'] // 1024} MiB"
        )
        busy = run["busy_seconds"]
        total = sum(busy.values()) or 1.0
        print(
            "    where the lanes' time goes: "
            + ", ".join(f"{name} {value / total:.0%}" for name, value in busy.items())
        )
    print(
        f"ceiling (sender_rs alone, 2 threads): {figures['ceiling_two_threads_per_s']:,} msg/s; "
        f"campaign at {figures['ratio']:.0%} of it (target {TARGET:.0%}: "
        f"{'met' if figures['targets_met'] else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
