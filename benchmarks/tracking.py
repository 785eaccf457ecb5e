"""Open pixel and click redirect with events persisted, against a bare Litestar handler.

One uvicorn process (pinned to CPU 0) serves, in turn, the bare handler of
`benchmarks/bare_pixel.py` (events in memory: the ceiling) and the real app (pixel, then
redirect: token verified, one XADD per hit, the redirect's URL cached); locust headless
(`benchmarks/tracking_locustfile.py`, FastHttpUser, pinned to CPU 1) drives each for a bounded
time. After each real phase the buffer is drained into PostgreSQL with the worker's own code and
every event the load generator saw answered is looked for in `tracking_events`, and the
database vacuumed and checkpointed before the next phase.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import csv
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import redis

import sender_rs
from openmailer.adapters.bootstrap import build_tracking_drain, builtin_areas, open_resources
from openmailer.adapters.crypto.secret_box import AesGcmSecretBox
from openmailer.adapters.db.engine import create_engine
from openmailer.adapters.db.installation_keys import tracking_key
from openmailer.adapters.db.migrate import upgrade_async
from openmailer.adapters.redis.tracking_stream import STREAM_KEY
from openmailer.adapters.settings import Settings, load_settings
from openmailer.core.campaigns.tokens import TokenPurpose, issue_token
from openmailer.core.ports.rendering import CampaignContent
from openmailer.core.tracking.service import drain

SERVER_URL = os.environ.get(
    "OPENMAILER_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_SERVER = os.environ.get("OPENMAILER_BENCH_REDIS_URL", "redis://127.0.0.1:6379")
# The claim the test runs use, so a benchmark never shares a Redis database with one.
REDIS_CLAIM = "openmailer:test-run-database:{}"
BASE_URL = "http://bench.example"
TARGET_FRACTION = 0.55
TARGET_P99_MS = 25.0
USERS = 16
ROOT = Path(__file__).resolve().parents[1]
LINKS = [f"https://shop.example/item/{n}?utm=mail" for n in range(3)]
HTML = (
    "<html><body><p>Hi</p>"
    + "".join(f'<a href="{url}">item</a> ' for url in LINKS)
    + "</body></html>"
)


def claim_redis() -> tuple[int, redis.Redis]:
    claims = redis.Redis.from_url(f"{REDIS_SERVER}/0")
    for index in range(1, 16):
        if claims.set(REDIS_CLAIM.format(index), os.getpid(), nx=True, ex=3600):
            return index, claims
    raise RuntimeError("every Redis database 1-15 is held by a test run")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def seed(
    url: str, settings: Settings, recipients: int, html: str = HTML
) -> tuple[int, dict[str, list[str]]]:
    """A sent campaign: its recipients, links and the tracking URLs of each one's mail (pixel,
    click, and unsubscribe when `html` has `{{ unsubscribe_url }}`)."""
    engine = create_engine(url)
    try:
        secret = await tracking_key(AesGcmSecretBox(settings.secret_keys)).get_or_create(engine)
    finally:
        await engine.dispose()
    compiled = sender_rs.compile_template(
        CampaignContent(
            campaign_id="bench",
            subject="Hello",
            html=html,
            from_email="news@shop.example",
            list_id="news.shop.example",
            base_url=BASE_URL,
            tracking_secret=secret,
        )
    )
    sent_at = (datetime.now(UTC) - timedelta(hours=1)).replace(tzinfo=None)
    conn = await asyncpg.connect(url)
    try:
        user = await conn.fetchval(
            "INSERT INTO users (username, email, password) VALUES ('bench', 'b@x.example',"
            " 'x') RETURNING id"
        )
        template = await conn.fetchval(
            "INSERT INTO email_templates (name, subject, body, created_by)"
            " VALUES ('bench', 's', 'b', $1) RETURNING id",
            user,
        )
        campaign = await conn.fetchval(
            "INSERT INTO email_campaigns (name, template_id, created_by, status, sent_count)"
            " VALUES ('bench', $1, $2, 'SENT', $3) RETURNING id",
            template,
            user,
            recipients,
        )
        for link in compiled.links:
            await conn.execute(
                "INSERT INTO campaign_links (campaign_id, original_url, short_code, link_index)"
                " VALUES ($1, $2, $3, $4)",
                campaign,
                link.url,
                f"b{link.index}",
                link.index,
            )
        # the format campaign_audience.py materialises: the campaign, then 32 random hex
        tracking_ids = [f"{campaign}-{os.urandom(16).hex()}" for _ in range(recipients)]
        contacts = await conn.fetch(
            "INSERT INTO contacts (user_id, email) SELECT $1, 'r' || n || '@x.example'"
            " FROM generate_series(1, $2) n RETURNING id",
            user,
            recipients,
        )
        await conn.executemany(
            "INSERT INTO campaign_recipients (campaign_id, contact_id, status, tracking_id,"
            " sent_at) VALUES ($1, $2, 'SENT', $3, $4)",
            [
                (campaign, row["id"], tid, sent_at)
                for row, tid in zip(contacts, tracking_ids, strict=True)
            ],
        )
    finally:
        await conn.close()
    rendered = sender_rs.render_batch(
        compiled,
        [
            sender_rs.Recipient(
                t,
                f"{t}@x.example",
                unsubscribe_token=issue_token(secret, TokenPurpose.UNSUBSCRIBE, t),
            )
            for t in tracking_ids
        ],
        output="parts",
    )
    paths: dict[str, list[str]] = {"pixel": [], "click": [], "unsubscribe": []}
    for parts in rendered:
        assert isinstance(parts, sender_rs.RenderedParts)
        for found in re.findall(r'(?:href|src)="([^"]+)"', parts.html):
            path = found.removeprefix(BASE_URL)
            if path.startswith("/t/o/"):
                paths["pixel"].append(path)
            elif path.startswith("/t/c/"):
                paths["click"].append(path)
            elif path.startswith("/u/"):
                paths["unsubscribe"].append(path)
    return int(campaign), paths


@contextmanager
def served(factory: str, env: dict[str, str], port: int, probe: str) -> Iterator[None]:
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed with the server, below)
    server = subprocess.Popen(
        [
            *(["taskset", "-c", "0"] if shutil.which("taskset") else []),
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            factory,
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
            "--no-server-header",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(f"GET {probe} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                    if s.recv(64):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"{factory} did not start: {log.read()[-2000:].decode()}")
            time.sleep(0.2)
        yield
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def run_locust(
    target: str, port: int, paths_file: Path, seconds: int, folder: Path
) -> dict[str, Any]:
    prefix = folder / target
    locust = shutil.which("locust", path=str(Path(sys.executable).parent)) or "locust"
    subprocess.run(
        [
            *(["taskset", "-c", "1"] if shutil.which("taskset") else []),
            locust,
            "-f",
            str(ROOT / "benchmarks" / "tracking_locustfile.py"),
            "--headless",
            "-u",
            str(USERS),
            "-r",
            str(USERS),
            "-t",
            f"{seconds}s",
            "--stop-timeout",
            "5",
            "--csv",
            str(prefix),
            "--only-summary",
            "--host",
            f"http://127.0.0.1:{port}",
        ],
        env=os.environ | {"TRACKING_TARGET": target, "TRACKING_PATHS": str(paths_file)},
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=seconds + 60,
    )
    with open(f"{prefix}_stats.csv") as stats_file:
        row = next(r for r in csv.DictReader(stats_file) if r["Name"] == target)
    return {
        "requests": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "per_second": round(float(row["Requests/s"])),
        "p50_ms": float(row["50%"]),
        "p99_ms": float(row["99%"]),
    }


async def drained(settings: Settings, url: str, campaign: int) -> tuple[dict[str, int], float]:
    handlers = builtin_areas().tracking_handlers
    async with open_resources(settings) as resources:
        started = time.perf_counter()
        await drain(build_tracking_drain(resources, handlers))
        elapsed = time.perf_counter() - started
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT kind, count(*) FROM tracking_events WHERE campaign_id = $1 GROUP BY kind",
            campaign,
        )
        # The drain's aftermath (autovacuum of rows updated thousands of times, a checkpoint)
        # would otherwise run on these two cores during the next phase, charged to it.
        await conn.execute("VACUUM ANALYZE")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()
    return {row["kind"]: row["count"] for row in rows}, elapsed


@dataclass(frozen=True)
class SeededPlatform:
    url: str
    env: dict[str, str]
    settings: Settings
    campaign: int
    paths: dict[str, list[str]]


@asynccontextmanager
async def seeded_platform(prefix: str, recipients: int) -> AsyncIterator[SeededPlatform]:
    """A database and a Redis index of the benchmark's own, migrated and seeded with a SENT
    campaign of `recipients` (the environment an API process needs to serve it); dropped and
    emptied afterwards."""
    name = f"{prefix}_{os.getpid()}"
    server = await asyncpg.connect(SERVER_URL)
    await server.execute(f'CREATE DATABASE "{name}"')
    url = SERVER_URL.rsplit("/", 1)[0] + f"/{name}"
    index, claims = claim_redis()
    redis_url = f"{REDIS_SERVER}/{index}"
    env = os.environ | {
        "OPENMAILER_DATABASE_URL": url,
        "OPENMAILER_REDIS_URL": redis_url,
        "OPENMAILER_SECRET_KEYS": "k1:" + base64.b64encode(os.urandom(32)).decode(),
        "OPENMAILER_TRUSTED_PROXIES": "127.0.0.1/32",
        "OPENMAILER_ENV": "production",
    }
    settings = load_settings(env)
    stream = redis.Redis.from_url(redis_url)
    try:
        stream.delete(STREAM_KEY)
        await upgrade_async(url)
        campaign, paths = await seed(url, settings, recipients)
        yield SeededPlatform(url, env, settings, campaign, paths)
    finally:
        stream.delete(STREAM_KEY)
        stream.close()
        claims.delete(REDIS_CLAIM.format(index))
        claims.close()
        await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await server.close()


async def measure(seconds: int, recipients: int) -> dict[str, Any]:
    figures: dict[str, Any] = {"seconds_per_phase": seconds, "users": USERS}
    async with seeded_platform("om_bench_tracking", recipients) as platform:
        env, paths = platform.env, platform.paths
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            paths_file = folder / "paths.json"
            paths_file.write_text(json.dumps(paths))
            port = free_port()
            with served("benchmarks.bare_pixel:create_bare_app", env, port, paths["pixel"][0]):
                figures["bare"] = run_locust("bare", port, paths_file, seconds, folder)
            app = "openmailer.adapters.http.app:create_app"
            for target, kind in (("pixel", "open"), ("click", "click")):
                port = free_port()
                with served(app, env, port, "/health"):
                    phase = run_locust(target, port, paths_file, seconds, folder)
                counts, elapsed = await drained(platform.settings, platform.url, platform.campaign)
                answered = phase["requests"] - phase["failures"]
                phase["events_in_postgresql"] = counts.get(kind, 0)
                phase["every_event_persisted"] = counts.get(kind, 0) >= answered
                phase["drain_events_per_second"] = round(counts.get(kind, 0) / elapsed)
                phase["fraction_of_bare"] = round(
                    phase["per_second"] / max(figures["bare"]["per_second"], 1), 3
                )
                figures[target] = phase
    figures["targets_met"] = all(
        figures[t]["fraction_of_bare"] >= TARGET_FRACTION
        and figures[t]["p99_ms"] <= TARGET_P99_MS
        and figures[t]["every_event_persisted"]
        for t in ("pixel", "click")
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 s per phase, 200 recipients")
    parser.add_argument("--json", action="store_true", help="one JSON object as the last line")
    args = parser.parse_args()
    seconds, recipients = (8, 200) if args.quick else (30, 2000)
    figures = asyncio.run(measure(seconds, recipients))
    bare = figures["bare"]
    print(f"bare Litestar pixel: {bare['per_second']:,} req/s, p99 {bare['p99_ms']} ms")
    for target in ("pixel", "click"):
        phase = figures[target]
        print(
            f"{target}: {phase['per_second']:,} req/s = {phase['fraction_of_bare']:.0%} of bare"
            f" (target >= {TARGET_FRACTION:.0%}), p99 {phase['p99_ms']} ms"
            f" (target <= {TARGET_P99_MS:g}), {phase['failures']} failures;"
            f" {phase['events_in_postgresql']:,} events in PostgreSQL for"
            f" {phase['requests'] - phase['failures']:,} answered"
            f" (drained at {phase['drain_events_per_second']:,}/s)"
        )
    print("targets met" if figures["targets_met"] else "targets NOT met")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
