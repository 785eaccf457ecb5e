"""Whole-campaign benchmark: start to SENT through `openmailer worker` to Postfix's smtp-sink,
against this machine's ceiling (sender_rs alone rendering and signing the same messages on two
threads), measured in the same run.

    python -m benchmarks.campaign [--quick] [--full] [--json]

A database of its own (dropped at the end) and a Redis database index of its own (emptied at
the end) hold an account with history (benchmarks/campaign_setup.py): one user with a VERIFIED
domain (RSA-2048 + Ed25519 keys, dual signing as sent), an SMTP provider pointing at smtp-sink on
loopback, the 20 KB template with 15 tracked links (benchmarks/workload.py), 1,000,000 subscribed
contacts and an earlier campaign sent to all of them. Then, in that database, one campaign per
size to a list of that many of the contacts, in turn (so each finds the smaller ones' rows too):
started through the send service (as `POST /campaigns/{id}/send` does) and sent by one
`openmailer worker` (two processes, started for that size); the clock runs from the start to SENT,
and the start's own share (materialising the recipients) is timed too. Sizes: 10,000 and 100,000
recipients, and 1,000,000 with `--full`; `--quick`: 3,000 in an account of 100,000 contacts.
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
from typing import Any

import asyncpg
import redis

import sender_rs
from benchmarks import cpu_split
from benchmarks.campaign_setup import Platform, add_campaign, build_platform
from benchmarks.workload import recipients_data
from openmailer.adapters.bootstrap import builtin_areas, open_resources
from openmailer.adapters.bootstrap.campaign_sending import build_campaign_sending
from openmailer.adapters.db.migrate import upgrade_async
from openmailer.adapters.settings import load_settings
from openmailer.core.accounts.model import Principal
from openmailer.core.accounts.scopes import Scope
from tests.conftest import _claim_redis_database
from tests.integration.sending.postfix_sink import PostfixSink

SERVER_URL = os.environ.get(
    "OPENMAILER_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_SERVER = os.environ.get("OPENMAILER_BENCH_REDIS_URL", "redis://127.0.0.1:6379")
TARGET = 0.55
TARGET_DROP = 0.10
# Starting a 1M-recipient campaign (materialising its recipients), with --full.
START_TARGET_SECONDS = 15.0
CEILING_BATCH = 1_000
CORES = os.cpu_count() or 1
CPU_ROLES = {"python": "worker Python", "postgresql": "PostgreSQL", "smtp_sink": "smtp-sink"}


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


async def start_and_wait(
    env: dict[str, str], user_id: int, campaign_id: int
) -> tuple[float, float]:
    """Starts the campaign; answers the seconds until its recipients were materialised (the
    worker's prepare: `total_recipients` is written in the same transaction) and until SENT."""
    settings = load_settings(env)
    async with open_resources(settings) as resources:
        service = build_campaign_sending(resources, builtin_areas().segment_operators)
        user = await service.delivery.users.get(user_id)
        assert user is not None
        principal = Principal(user=user, scopes=frozenset({Scope.SEND_CAMPAIGNS.value}))
        started = time.perf_counter()
        await service.start(principal, campaign_id)
        materialised: float | None = None
        while True:
            campaign = await service.delivery.campaigns.get(user_id, campaign_id)
            assert campaign is not None
            if materialised is None and campaign.total_recipients > 0:
                materialised = time.perf_counter() - started
            if campaign.status.value == "SENT":
                done = time.perf_counter() - started
                return (materialised if materialised is not None else done), done
            if campaign.status.value in {"FAILED", "CANCELLED", "PAUSED"}:
                raise RuntimeError(f"the campaign ended {campaign.status.value}")
            await asyncio.sleep(0.05 if materialised is None else 0.1)


async def run_size(
    url: str, env: dict[str, str], redis_url: str, platform: Platform, recipients: int
) -> dict[str, Any]:
    """One campaign of `recipients` through a worker started for it (so its peak RSS is this
    size's), in the database that holds the earlier sizes' campaigns too."""
    campaign_id = await add_campaign(url, platform, recipients)
    log_path = os.environ.get(
        "OPENMAILER_BENCH_WORKER_LOG", f"/tmp/om_bench_campaign_worker_{os.getpid()}.log"
    )
    worker = start_worker(env, log_path)
    try:
        await wait_for_workers(redis_url, processes=2)
        before = cpu_split.sample(worker.pid)
        materialised, seconds = await start_and_wait(env, platform.user_id, campaign_id)
        after = cpu_split.sample(worker.pid)
        return {
            "recipients": recipients,
            "seconds": round(seconds, 2),
            "rate": round(recipients / seconds, 1),
            "start_seconds": round(materialised, 2),
            "worker_peak_rss_kib": peak_rss_kib(worker.pid),
            "busy_seconds": where_the_time_goes(log_path),
            "cpu_us_per_message": cpu_split.per_unit_us(before, after, recipients),
        }
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)
        # The next size's worker counts as started only once its own processes beat.
        client = redis.Redis.from_url(redis_url)
        client.delete("openmailer:__heartbeats__")
        client.close()


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


async def _on_server(statement: str) -> None:
    conn = await asyncpg.connect(SERVER_URL)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def measure(quick: bool, full: bool) -> dict[str, Any]:
    base = 100_000 if quick else 1_000_000
    sizes = [3_000] if quick else [10_000, 100_000] + ([1_000_000] if full else [])
    index, claims = _claim_redis_database()
    redis_url = f"{REDIS_SERVER}/{index}"
    name = f"om_bench_campaign_{os.getpid()}"
    url = SERVER_URL.rsplit("/", 1)[0] + f"/{name}"
    env = {
        "OPENMAILER_DATABASE_URL": url,
        "OPENMAILER_REDIS_URL": redis_url,
        "OPENMAILER_SECRET_KEYS": f"bench:{base64.b64encode(os.urandom(32)).decode()}",
        "OPENMAILER_LOG_LEVEL": "WARNING",
    }
    sink = PostfixSink()
    try:
        asyncio.run(_on_server(f'CREATE DATABASE "{name}"'))
        asyncio.run(upgrade_async(url))
        platform = asyncio.run(build_platform(url, env, sink.port, base))
        runs = [asyncio.run(run_size(url, env, redis_url, platform, size)) for size in sizes]
        keys = [
            sender_rs.SigningKey.from_pem(k.domain, k.selector, k.private_pem)
            for k in platform.keys
        ]
        ceilings = [ceiling(keys, 3.0 if quick else 8.0) for _ in range(2 if quick else 3)]
        top = statistics.median(ceilings)
        rates = [run["rate"] for run in runs]
        drop = 1 - rates[-1] / rates[0]
        start_target_met = full is False or runs[-1]["start_seconds"] < START_TARGET_SECONDS
        return {
            "base_contacts": base,
            "history_seconds": round(platform.history_seconds, 1),
            "sizes": runs,
            "ceiling_two_threads_per_s": round(top, 1),
            # the ceiling's render on its two threads, and what a message may cost on the
            # whole machine for the campaign to reach the target ratio
            "ceiling_render_us_per_message": round(2e6 / top, 1),
            "cpu_budget_us_per_message_at_target": round(CORES * 1e6 / (TARGET * top), 1),
            "campaign_per_s": rates[-1],
            "ratio": round(rates[-1] / top, 3),
            "throughput_drop_smallest_to_largest": round(drop, 3),
            "target_ratio": TARGET,
            "target_drop": TARGET_DROP,
            "target_start_seconds_1m": START_TARGET_SECONDS,
            "targets_met": rates[-1] / top >= TARGET and drop <= TARGET_DROP and start_target_met,
        }
    finally:
        sink.stop()
        asyncio.run(_on_server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        client = redis.Redis.from_url(redis_url)
        client.flushdb()
        client.close()
        claims.delete(f"openmailer:test-run-database:{index}")
        claims.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--quick", action="store_true", help="3,000 recipients in a 100,000-contact account"
    )
    parser.add_argument("--full", action="store_true", help="also 1,000,000 recipients")
    args = parser.parse_args()
    figures = measure(args.quick, args.full)
    if args.json:
        print(json.dumps(figures))
        return
    print(
        f"an account of {figures['base_contacts']:,} contacts and an earlier campaign to all of "
        f"them (generated in {figures['history_seconds']} s)"
    )
    for run in figures["sizes"]:
        print(
            f"{run['recipients']:>9,} recipients: {run['seconds']} s start to SENT, "
            f"{run['rate']:,} msg/s; recipients materialised {run['start_seconds']} s after "
            f"the start; worker peak RSS {run['worker_peak_rss_kib'] // 1024} MiB"
        )
        busy = run["busy_seconds"]
        total = sum(busy.values()) or 1.0
        print(
            "    where the lanes' time goes: "
            + ", ".join(f"{name} {value / total:.0%}" for name, value in busy.items())
        )
        cpu = run["cpu_us_per_message"]
        print(
            "    CPU per message on the whole machine (µs): "
            + ", ".join(f"{CPU_ROLES.get(name, name)} {value:,.0f}" for name, value in cpu.items())
            + f" = {sum(cpu.values()):,.0f}"
        )
    print(
        f"ceiling (sender_rs alone, 2 threads): {figures['ceiling_two_threads_per_s']:,} msg/s; "
        f"campaign at {figures['ratio']:.0%} of it (target {TARGET:.0%}: "
        f"{'met' if figures['ratio'] >= TARGET else 'NOT met'})"
    )
    print(
        f"at the target a message may cost {figures['cpu_budget_us_per_message_at_target']:,.0f}"
        f" µs of the machine's {CORES} cores in all; the ceiling's render alone takes "
        f"{figures['ceiling_render_us_per_message']:,.0f}"
    )
    print(
        f"throughput from the smallest to the largest size: "
        f"{-figures['throughput_drop_smallest_to_largest']:+.1%} (a drop of at most "
        f"{TARGET_DROP:.0%} allowed); all targets {'met' if figures['targets_met'] else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
