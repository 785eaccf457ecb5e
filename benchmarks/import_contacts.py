"""CSV import throughput against its ceiling, measured in the same run.

    python -m benchmarks.import_contacts [--quick] [--json]

In a database of its own (created on OPENMAILER_BENCH_DATABASE_URL's server, default
postgresql://postgres@127.0.0.1:5432/postgres, dropped at the end): generated rows (names, 3
custom fields, 2 tags) are imported end to end (the CSV file stored as an upload, then the job
run: parse, check, COPY into staging, merge, memberships, list counts) into an empty account,
then a second file, half new and half existing addresses, into that account. The ceiling of
each is a bare COPY of the same rows (server-side, from a file in COPY format) into a copy of
`contacts` with all its indexes: the initial ceiling into the empty copy, the incremental one
(new addresses only, a COPY cannot update) into the copy holding the first load.
Targets: initial >= 70% of its ceiling, incremental >= 50%. Peak RSS is this process's.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg

from benchmarks import cpu_split
from openmailer.adapters.bootstrap import (
    DatabaseResources,
    build_audience,
    build_imports,
    build_user_admin,
)
from openmailer.adapters.cli.imports import file_form
from openmailer.adapters.db.engine import create_engine
from openmailer.adapters.db.migrate import upgrade_async
from openmailer.adapters.settings import load_settings
from openmailer.adapters.workers.import_queue import NoQueue
from openmailer.core.accounts.model import Principal
from openmailer.core.imports.service import ImportsService

SERVER_URL = os.environ.get(
    "OPENMAILER_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
INITIAL_TARGET = 0.70
INCREMENTAL_TARGET = 0.50
CITIES = ("Lyon", "Paris", "Berlin", "Lisbon", "Oslo")
PLANS = ("free", "pro", "team")
TAGS = ("news", "vip", "beta", "events", "promo")
CPU_ROLES = {"python": "importer (Python)", "postgresql": "PostgreSQL"}


def row(n: int) -> list[str]:
    return [
        f"person{n}@example{n % 97}.com",
        f"First{n}",
        f"Last{n}",
        CITIES[n % len(CITIES)],
        PLANS[n % len(PLANS)],
        str(n % 1000),
        f"{TAGS[n % 5]}|{TAGS[(n + 2) % 5]}",
    ]


def write_import_csv(path: Path, numbers: range) -> None:
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["email", "first_name", "last_name", "city", "plan", "score", "tags"])
        writer.writerows(row(n) for n in numbers)


def write_copy_csv(path: Path, numbers: range, user_id: int) -> None:
    """The same rows as the ceiling's COPY reads them: contacts' own columns."""
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        for n in numbers:
            email, first, last, city, plan, score, tags = row(n)
            custom = json.dumps({"city": city, "plan": plan, "score": score})
            writer.writerow(
                [
                    user_id,
                    email,
                    first,
                    last,
                    "SUBSCRIBED",
                    "CSV_IMPORT",
                    custom,
                    "{" + tags.replace("|", ",") + "}",
                ]
            )


MAPPING = json.dumps(
    {
        "email": "email",
        "first_name": "first_name",
        "last_name": "last_name",
        "city": "custom_fields.city",
        "plan": "custom_fields.plan",
        "score": "custom_fields.score",
        "tags": "tags",
    }
)


Timed = tuple[float, dict[str, float]]  # seconds, and CPU µs a row per role (cpu_split)


async def timed_import(
    imports: ImportsService, user_id: int, list_id: int, path: Path, rows: int
) -> Timed:
    before, started = cpu_split.sample(os.getpgid(0)), time.perf_counter()
    fields = {"list_id": str(list_id), "mapping": MAPPING}
    job = await imports.receive_for(user_id, file_form(path, fields))
    finished = await imports.run(job.id)
    elapsed = time.perf_counter() - started
    assert finished is not None and finished.error is None, finished
    return elapsed, cpu_split.per_unit_us(before, cpu_split.sample(os.getpgid(0)), rows)


async def timed_copy(conn: asyncpg.Connection, path: Path, rows: int) -> Timed:
    before, started = cpu_split.sample(os.getpgid(0)), time.perf_counter()
    await conn.copy_to_table(
        "ceiling",
        source=str(path),
        format="csv",
        columns=[
            "user_id",
            "email",
            "first_name",
            "last_name",
            "status",
            "source",
            "custom_fields",
            "tags",
        ],
    )
    elapsed = time.perf_counter() - started
    return elapsed, cpu_split.per_unit_us(before, cpu_split.sample(os.getpgid(0)), rows)


async def measure(initial: int, incremental: int) -> dict[str, Any]:
    name = f"om_bench_import_{os.getpid()}"
    server = await asyncpg.connect(SERVER_URL)
    await server.execute(f'CREATE DATABASE "{name}"')
    url = SERVER_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = create_engine(url, connect_args={"command_timeout": 600})
    try:
        await upgrade_async(url)
        settings = load_settings({"OPENMAILER_DATABASE_URL": url})
        database = DatabaseResources(settings, engine)
        user = await build_user_admin(database).create_user(
            "bench", "bench@example.com", "a long password"
        )
        principal = Principal(user=user, scopes=frozenset({"write:contacts"}))
        contact_list = await build_audience(database).create_list(
            principal, "bench", double_opt_in=False
        )
        imports = build_imports(database, queue=NoQueue())
        conn = await asyncpg.connect(url)
        await conn.execute("CREATE TABLE ceiling (LIKE contacts INCLUDING ALL)")
        with tempfile.TemporaryDirectory() as folder:
            files = Path(folder)
            first = range(initial)
            # half of the second file is already imported, half is new
            second = range(initial - incremental // 2, initial + incremental // 2)
            new_only = range(initial, initial + incremental)
            write_import_csv(files / "initial.csv", first)
            write_import_csv(files / "incremental.csv", second)
            write_copy_csv(files / "initial.copy", first, user.id)
            write_copy_csv(files / "incremental.copy", new_only, user.id)
            copy_initial, copy_initial_cpu = await timed_copy(conn, files / "initial.copy", initial)
            import_initial, import_initial_cpu = await timed_import(
                imports, user.id, contact_list.id, files / "initial.csv", initial
            )
            copy_incremental, copy_incremental_cpu = await timed_copy(
                conn, files / "incremental.copy", incremental
            )
            import_incremental, import_incremental_cpu = await timed_import(
                imports, user.id, contact_list.id, files / "incremental.csv", incremental
            )
        counted = await conn.fetchrow(
            "SELECT total_contacts, (SELECT count(*) FROM contacts) AS contacts"
            " FROM contact_lists WHERE id = $1",
            contact_list.id,
        )
        await conn.close()
    finally:
        await engine.dispose()
        await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await server.close()
    expected = initial + incremental // 2
    assert counted["contacts"] == expected and counted["total_contacts"] == expected, counted
    initial_rate, initial_ceiling = initial / import_initial, initial / copy_initial
    incremental_rate, incremental_ceiling = (
        incremental / import_incremental,
        incremental / copy_incremental,
    )
    figures: dict[str, Any] = {
        "initial_rows": initial,
        "initial_rows_per_s": round(initial_rate),
        "initial_ceiling_rows_per_s": round(initial_ceiling),
        "initial_fraction_of_ceiling": round(initial_rate / initial_ceiling, 3),
        "initial_target_fraction": INITIAL_TARGET,
        "incremental_rows": incremental,
        "incremental_rows_per_s": round(incremental_rate),
        "incremental_ceiling_rows_per_s": round(incremental_ceiling),
        "incremental_fraction_of_ceiling": round(incremental_rate / incremental_ceiling, 3),
        "incremental_target_fraction": INCREMENTAL_TARGET,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        # CPU µs a row on the whole machine, per role (benchmarks/cpu_split.py)
        "initial_cpu_us_per_row": _importing(import_initial_cpu),
        "initial_ceiling_cpu_us_per_row": _importing(copy_initial_cpu),
        "incremental_cpu_us_per_row": _importing(import_incremental_cpu),
        "incremental_ceiling_cpu_us_per_row": _importing(copy_incremental_cpu),
    }
    figures["targets_met"] = (
        figures["initial_fraction_of_ceiling"] >= INITIAL_TARGET
        and figures["incremental_fraction_of_ceiling"] >= INCREMENTAL_TARGET
    )
    return figures


def _importing(cpu: dict[str, float]) -> dict[str, float]:
    """The roles an import has: no render, no SMTP (their few ticks are other processes')."""
    return {role: cpu[role] for role in ("python", "postgresql", "other", "idle")}


def _cpu_line(label: str, cpu: dict[str, float]) -> str:
    parts = ", ".join(f"{CPU_ROLES.get(k, k)} {v:,.1f}" for k, v in cpu.items())
    return f"    {label} CPU a row on the whole machine (µs): {parts}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50k then 10k rows")
    parser.add_argument("--json", action="store_true", help="one JSON object as the last line")
    args = parser.parse_args()
    initial, incremental = (50_000, 10_000) if args.quick else (1_000_000, 100_000)
    figures = asyncio.run(measure(initial, incremental))
    print(f"initial load, {initial:,} rows into an empty account:")
    print(
        f"  import {figures['initial_rows_per_s']:,} rows/s, bare COPY "
        f"{figures['initial_ceiling_rows_per_s']:,} rows/s: "
        f"{figures['initial_fraction_of_ceiling']:.0%} (target >= {INITIAL_TARGET:.0%})"
    )
    print(_cpu_line("import:", figures["initial_cpu_us_per_row"]))
    print(_cpu_line("COPY:  ", figures["initial_ceiling_cpu_us_per_row"]))
    print(f"incremental, {incremental:,} rows (half new) into that account:")
    print(
        f"  import {figures['incremental_rows_per_s']:,} rows/s, bare COPY "
        f"{figures['incremental_ceiling_rows_per_s']:,} rows/s: "
        f"{figures['incremental_fraction_of_ceiling']:.0%} (target >= {INCREMENTAL_TARGET:.0%})"
    )
    print(_cpu_line("import:", figures["incremental_cpu_us_per_row"]))
    print(_cpu_line("COPY:  ", figures["incremental_ceiling_cpu_us_per_row"]))
    print(f"peak RSS of the importing process: {figures['peak_rss_mib']} MiB")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
