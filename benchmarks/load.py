"""The deployment load suite (`benchmarks/locustfile.py`), headless and bounded, with figures.

    python -m benchmarks.load [--quick] [--json] [--host URL --targets FILE]

Without `--host` it starts a local platform of its own (benchmarks/load_platform.py: a fresh
database and Redis index, `openmailer up` pinned to CPU 0, the data the users need), runs locust
pinned to CPU 1 at a fixed offered rate (users times requests per second per user) for a bounded
time, checks what the platform did with it (the outbox holds the test key's messages, the
providers' events were stored and processed), stops it, drops its data, then measures the same
run's bare-handler reference (benchmarks/bare_pixel.py, as benchmarks/tracking.py does). With
`--host` it drives a deployment the tester owns, with the keys and ids of the targets file
(docs/load-testing.md): it creates contacts there and deletes them; the sections whose records
the API cannot delete (sends, tracking, webhook events) run only with `--accept-records`.

Prints requests per second and p50/p95/p99 per endpoint, the error count and the reasons, the
offered rate and the bare reference; `--json` adds one JSON object as the last line (keys in
benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import psutil

from benchmarks.load_platform import local_platform
from benchmarks.load_requests import DEFAULT_WEIGHTS, TargetsError, class_weight, load_targets
from benchmarks.tracking import free_port, served
from benchmarks.tracking import run_locust as run_tracking_locust
from benchmarks.unsubscribe import cpu_seconds

ROOT = Path(__file__).resolve().parents[1]
# The full run's offered rate (users times user_rps) is the documented one, at which the error
# count must be zero (docs/load-testing.md). One request a second per user, so that a user falls
# behind its schedule only past a second of latency. A warm-up at the same rate comes first
# (caches, connection pools, the SNS certificate, the worker starting): its errors count, its
# latencies do not.
FULL: dict[str, Any] = {
    "users": 75,
    "user_rps": 1.0,
    "seconds": 60,
    "warm_up_seconds": 10,
    "recipients": 2000,
    "bare_seconds": 20,
}
QUICK: dict[str, Any] = {
    "users": 50,
    "user_rps": 1.0,
    "seconds": 10,
    "warm_up_seconds": 5,
    "recipients": 200,
    "bare_seconds": 5,
}
# A tenant's API quota per minute on ENTERPRISE (core/accounts/plans.py), shared by its keys.
API_QUOTA_PER_SECOND = 6000 / 60
# What each targets section leaves on a deployment that the API cannot take back.
RECORDS_LEFT = {
    "messages": "an outbox message and an email log per send of the om_test_ key",
    "recipients": "opens, clicks and unsubscribes on the campaign whose URLs you gave",
    "ses": "a webhook event per post on the SES provider",
    "sendgrid": "a webhook event per event on the SendGrid provider",
}
# The share of the offered rate a run must reach for its figures to be read as "at that rate".
RATE_REACHED = 0.9
# Locust starts the users evenly over the first second (spawn rate = users), so that their
# requests do not fall in step: a run offers users x user_rps x (seconds - half of that).
SPAWN_SECONDS = 1.0


def run_locust(
    host: str,
    targets_file: Path,
    users: int,
    user_rps: float,
    seconds: int,
    folder: Path,
    label: str = "load",
) -> dict[str, Any]:
    prefix = folder / label
    pinned = bool(shutil.which("taskset")) and (os.cpu_count() or 1) > 1
    locust = shutil.which("locust", path=str(Path(sys.executable).parent)) or "locust"
    completed = _output_of(
        [
            *(["taskset", "-c", "1"] if pinned else []),
            locust,
            "-f",
            str(ROOT / "benchmarks" / "locustfile.py"),
            "--headless",
            "-u",
            str(users),
            "-r",
            str(users),
            "-t",
            f"{seconds}s",
            "--stop-timeout",
            "5",
            "--csv",
            str(prefix),
            "--only-summary",
            "--host",
            host,
        ],
        env=os.environ | {"LOAD_TARGETS": str(targets_file), "LOAD_USER_RPS": str(user_rps)},
        timeout=seconds + 240,
    )
    stats_path = Path(f"{prefix}_stats.csv")
    if not stats_path.exists():
        raise RuntimeError(f"locust wrote no figures: {completed[-3000:]}")
    with stats_path.open() as stats_file:
        rows = list(csv.DictReader(stats_file))
    with open(f"{prefix}_failures.csv") as failures_file:
        failures = [
            {
                "endpoint": row["Name"],
                "error": row["Error"],
                "occurrences": int(row["Occurrences"]),
            }
            for row in csv.DictReader(failures_file)
        ]
    endpoints = {row["Name"]: _figures(row, seconds) for row in rows if row["Name"] != "Aggregated"}
    total = next(_figures(row, seconds) for row in rows if row["Name"] == "Aggregated")
    return {
        "endpoints": endpoints,
        "total_requests": total["requests"],
        "total_rps": total["rps"],
        "p50_ms": total["p50_ms"],
        "p95_ms": total["p95_ms"],
        "p99_ms": total["p99_ms"],
        "errors": total["errors"],
        "failures": failures,
        "pinned": pinned,
    }


def _output_of(command: list[str], *, env: dict[str, str], timeout: int) -> str:
    """The command's output (stdout and stderr), whatever its exit status: locust exits 1 when
    any request failed, and the failures are what the figures report."""
    completed = subprocess.run(
        command, env=env, cwd=ROOT, capture_output=True, check=False, timeout=timeout
    )
    return (completed.stdout + completed.stderr).decode(errors="replace")


def _percentile(row: dict[str, str], column: str) -> float | None:
    value = row[column]
    return None if value in ("", "N/A") else float(value)


def _figures(row: dict[str, str], seconds: int) -> dict[str, Any]:
    """The row's figures; the rate over the whole run (locust's own divides by the time between
    the first and last request, which flatters a run whose users fell behind)."""
    requests = int(row["Request Count"])
    return {
        "requests": requests,
        "rps": round(requests / seconds, 1),
        "p50_ms": _percentile(row, "50%"),
        "p95_ms": _percentile(row, "95%"),
        "p99_ms": _percentile(row, "99%"),
        "errors": int(row["Failure Count"]),
    }


async def platform_checks(database_url: str) -> dict[str, int]:
    """What the platform did with the load: messages kept in the outbox (nothing sent), the
    providers' events stored and, once the worker caught up (up to 30 s), processed."""
    conn = await asyncpg.connect(database_url)
    try:
        deadline = time.monotonic() + 30
        pending = "SELECT count(*) FROM webhook_events WHERE NOT processed"
        while await conn.fetchval(pending) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.5)  # another process's progress: polled, nothing to await
        return {
            "outbox_messages": await conn.fetchval("SELECT count(*) FROM outbox_messages"),
            "webhook_events_stored": await conn.fetchval("SELECT count(*) FROM webhook_events"),
            "webhook_events_unprocessed": await conn.fetchval(pending),
            "deliveries_recorded": await conn.fetchval(
                "SELECT count(*) FROM email_logs WHERE status = 'DELIVERED'"
            ),
        }
    finally:
        await conn.close()


def api_rate_offered(users: int, user_rps: float) -> float:
    """The API clients' share of the offered rate, as locust splits users by class weight."""
    weights = {name: class_weight(name) for name in DEFAULT_WEIGHTS}
    return users * weights["API"] / max(sum(weights.values()), 1) * user_rps


def warmed_up_run(
    host: str,
    targets_file: Path,
    settings: dict[str, Any],
    folder: Path,
    platform_pid: int | None = None,
) -> dict[str, Any]:
    """The measured run after a warm-up at the same rate; the warm-up's errors are reported.
    With the local platform's process, its CPU time per request of the measured run too."""
    rate = (settings["users"], settings["user_rps"])
    warm_up = run_locust(host, targets_file, *rate, settings["warm_up_seconds"], folder, "warm_up")
    roles = _platform_roles(platform_pid) if platform_pid is not None else {}
    before = {role: cpu_seconds(processes) for role, processes in roles.items()}
    figures = run_locust(host, targets_file, *rate, settings["seconds"], folder)
    if roles:
        requests = max(figures["total_requests"], 1)
        by_role = {
            role: round((cpu_seconds(processes) - before[role]) * 1000 / requests, 2)
            for role, processes in roles.items()
        }
        figures["cpu_ms_per_request_by_process"] = by_role
        figures["platform_cpu_ms_per_request"] = round(sum(by_role.values()), 2)
    figures["warm_up"] = {
        "seconds": settings["warm_up_seconds"],
        "requests": warm_up["total_requests"],
        "errors": warm_up["errors"],
        "failures": warm_up["failures"],
    }
    return figures


def _platform_roles(pid: int) -> dict[str, list[psutil.Process]]:
    """`openmailer up`'s children by what they run (its own loop only waits)."""
    roles: dict[str, list[psutil.Process]] = {"api": [], "worker": [], "scheduler": []}
    for child in psutil.Process(pid).children(recursive=True):
        command = " ".join(child.cmdline())
        role = next((r for r in ("scheduler", "api") if f"cli {r}" in command), "worker")
        roles[role].append(child)
    return roles


async def measure_local(settings: dict[str, Any], folder: Path) -> dict[str, Any]:
    async with local_platform(settings["recipients"], folder) as platform:
        figures = await asyncio.to_thread(
            warmed_up_run, platform.host, platform.targets_file, settings, folder, platform.pid
        )
        figures["checks"] = await platform_checks(platform.database_url)
        paths_file = folder / "paths.json"
        paths_file.write_text(json.dumps(platform.tracking_paths))
    # The reference, with the platform stopped: the bare handler alone on CPU 0, driven flat
    # out by the tracking benchmark's locustfile (16 users, no wait) on CPU 1.
    port = free_port()
    with served("benchmarks.bare_pixel:create_bare_app", dict(os.environ), port, "/t/o/x.gif"):
        bare = await asyncio.to_thread(
            run_tracking_locust, "bare", port, paths_file, settings["bare_seconds"], folder
        )
    figures["bare_rps"] = bare["per_second"]
    figures["bare_p99_ms"] = bare["p99_ms"]
    return figures


def report(figures: dict[str, Any]) -> None:
    print(
        f"{'endpoint':<18}{'requests':>9}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}"
        f"{'p99 ms':>8}{'errors':>8}"
    )
    for name, row in sorted(figures["endpoints"].items()):
        print(
            f"{name:<18}{row['requests']:>9,}{row['rps']:>8.1f}{row['p50_ms'] or 0:>8g}"
            f"{row['p95_ms'] or 0:>8g}{row['p99_ms'] or 0:>8g}{row['errors']:>8}"
        )
    print(
        f"{'all':<18}{figures['total_requests']:>9,}{figures['total_rps']:>8.1f}"
        f"{figures['p50_ms'] or 0:>8g}{figures['p95_ms'] or 0:>8g}{figures['p99_ms'] or 0:>8g}"
        f"{figures['errors']:>8}"
    )
    print(
        f"offered {figures['rate_target']:g} req/s ({figures['users']} users times"
        f" {figures['user_rps']:g}/s for {figures['seconds']} s: {figures['offered_requests']:,}"
        f" requests), achieved {figures['total_rps']:g} ({figures['total_requests']:,});"
        f" errors {figures['errors']}"
        + ("" if figures["pinned"] else " (not pinned: one core or no taskset)")
    )
    warm_up = figures["warm_up"]
    print(
        f"warm-up before it: {warm_up['requests']:,} requests in {warm_up['seconds']} s,"
        f" errors {warm_up['errors']}"
    )
    for failure in figures["failures"] + warm_up["failures"]:
        print(f"  {failure['occurrences']} times {failure['endpoint']}: {failure['error'][:160]}")
    if figures.get("bare_rps") is not None:
        print(
            f"bare Litestar pixel on the same machine: {figures['bare_rps']:,} req/s flat out,"
            f" p99 {figures['bare_p99_ms']} ms"
        )
    if "checks" in figures:
        print("platform: " + ", ".join(f"{k} {v}" for k, v in figures["checks"].items()))
        by_role = ", ".join(
            f"{role} {ms}" for role, ms in figures["cpu_ms_per_request_by_process"].items()
        )
        print(
            f"platform CPU per request (not PostgreSQL's or Redis'):"
            f" {figures['platform_cpu_ms_per_request']} ms ({by_role})"
        )
    print(
        "target met: zero errors at the offered rate"
        if figures["target_met"]
        else "target NOT met (errors, or the offered rate not reached)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="50 users for 10 s (default 75 for 60 s)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object as the last line")
    parser.add_argument("--host", help="a deployment you own (needs --targets)")
    parser.add_argument(
        "--targets",
        type=Path,
        default=Path(os.environ["LOAD_TARGETS"]) if os.environ.get("LOAD_TARGETS") else None,
        help="the targets file for --host (default: the LOAD_TARGETS environment variable)",
    )
    parser.add_argument("--users", type=int, help="simulated users")
    parser.add_argument("--user-rps", type=float, help="requests per second per user")
    parser.add_argument("--seconds", type=int, help="how long the load runs")
    parser.add_argument(
        "--accept-records",
        action="store_true",
        help="with --host: run the sections whose records the API cannot delete (see docs)",
    )
    args = parser.parse_args()
    settings = dict(QUICK if args.quick else FULL)
    for name in ("users", "user_rps", "seconds"):
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    if settings["users"] < 1 or settings["user_rps"] <= 0 or settings["seconds"] < 1:
        parser.error("--users, --user-rps and --seconds must be positive")
    if args.host and not args.targets:
        parser.error("--host needs --targets FILE: the keys and ids of your deployment")
    if args.targets and not args.host:
        parser.error("--targets goes with --host (without it the suite makes its own)")
    try:
        api_rate = api_rate_offered(settings["users"], settings["user_rps"])
    except TargetsError as error:
        parser.error(str(error))
    if api_rate > API_QUOTA_PER_SECOND * RATE_REACHED:
        print(
            f"warning: the API clients' share, {api_rate:g} req/s, is near or over one"
            f" ENTERPRISE tenant's quota ({API_QUOTA_PER_SECOND:g}/s): expect 429s",
            file=sys.stderr,
        )
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        if args.host:
            try:
                targets = load_targets(args.targets)
            except TargetsError as error:
                parser.error(str(error))
            lasting = [name for name in RECORDS_LEFT if getattr(targets, name) is not None]
            if lasting and not args.accept_records:
                parser.error(
                    "these sections leave records the API cannot delete: "
                    + "; ".join(f"{name}: {RECORDS_LEFT[name]}" for name in lasting)
                    + ". Point them at a load-test account and pass --accept-records,"
                    " or remove them (docs/load-testing.md)"
                )
            figures = warmed_up_run(args.host, args.targets.resolve(), settings, folder)
            figures |= {"bare_rps": None, "bare_p99_ms": None}
        else:
            figures = asyncio.run(measure_local(settings, folder))
    rate_target = round(settings["users"] * settings["user_rps"], 1)
    offered_requests = rate_target * (settings["seconds"] - SPAWN_SECONDS / 2)
    figures |= {
        "host": args.host or "local",
        "quick": args.quick,
        "users": settings["users"],
        "user_rps": settings["user_rps"],
        "seconds": settings["seconds"],
        "rate_target": rate_target,
        "offered_requests": round(offered_requests),
        "api_rate_offered": round(api_rate, 1),
        "load_average": round(os.getloadavg()[0], 2),
        "target_met": figures["errors"] == 0
        and figures["warm_up"]["errors"] == 0
        and figures["total_requests"] >= RATE_REACHED * offered_requests,
    }
    report(figures)
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
