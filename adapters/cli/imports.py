"""`openmailer import FILE --user NAME --list NAME`: a CSV import run in this process.

The file is stored and run by the same code a worker runs (no worker needed), with a progress
bar of the bytes committed, and the job's counters printed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from openmailer.adapters.bootstrap import build_imports, open_database
from openmailer.adapters.settings import load_settings
from openmailer.adapters.workers.import_queue import NoQueue
from openmailer.core.errors import DomainError
from openmailer.core.imports.model import ImportJob, ImportMode
from openmailer.core.imports.service import FileData, FormField, FormPart

READ_BYTES = 1024 * 1024


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("import", help="import contacts from a CSV file into a list")
    parser.add_argument("file", type=Path, help="the CSV file (UTF-8, a header row)")
    parser.add_argument("--user", required=True, help="the owner's username or email")
    parser.add_argument("--list", required=True, dest="list_name", help="the list's name")
    parser.add_argument(
        "--mode", default=ImportMode.SUBSCRIBE.value, choices=[mode.value for mode in ImportMode]
    )
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="COLUMN=FIELD",
        help="map a column to email, first_name, last_name, tags or custom_fields.KEY "
        "(repeatable; default: columns named so)",
    )
    parser.add_argument("--delimiter", help="',', ';' or '\\t' (detected when omitted)")
    parser.set_defaults(handler=run_import)


def mapping_of(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        column, separator, target = pair.partition("=")
        if not separator:
            raise ValueError(f"--map takes COLUMN=FIELD, not {pair!r}")
        mapping[column.strip()] = target.strip()
    return mapping


async def file_form(path: Path, fields: dict[str, str]) -> AsyncIterator[FormPart]:
    for name, value in fields.items():
        yield FormField(name, value)
    with path.open("rb") as file:
        while data := file.read(READ_BYTES):
            yield FileData(data, path.name)


def summary(job: ImportJob) -> str:
    counters = job.counters
    lines = [
        f"import {job.id}: {job.status.value}",
        f"  rows read {counters.rows_read}, inserted {counters.inserted}, "
        f"updated {counters.updated}, skipped {counters.skipped}, rejected {counters.rejected}",
    ]
    if job.error:
        lines.append(f"  error: {job.error}")
    if counters.rejected:
        lines.append(f"  rejected rows: GET /api/v1/imports/{job.id}/errors")
    return "\n".join(lines)


def run_import(args: argparse.Namespace) -> int:
    async def run() -> ImportJob | None:
        async with open_database(load_settings()) as database:
            imports = build_imports(database, queue=NoQueue())
            user_id, list_id = await imports.owner_and_list(args.user, args.list_name)
            fields = {"list_id": str(list_id), "mode": args.mode}
            if args.map:
                fields["mapping"] = json.dumps(mapping_of(args.map))
            if args.delimiter:
                fields["delimiter"] = args.delimiter
            job = await imports.receive_for(user_id, file_form(args.file, fields))
            with Progress(
                TextColumn("importing"),
                BarColumn(),
                DownloadColumn(),
                TextColumn("{task.fields[rows]} rows"),
                TimeRemainingColumn(),
            ) as progress:
                task = progress.add_task("import", total=job.upload_bytes, rows=0)

                def advance(current: ImportJob) -> None:
                    progress.update(
                        task, completed=current.committed_offset, rows=current.counters.rows_read
                    )

                finished = await imports.run(job.id, on_progress=advance)
                progress.update(task, completed=job.upload_bytes)
            return finished

    if not args.file.is_file():
        print(f"openmailer import: no such file: {args.file}")
        return 1
    try:
        job = asyncio.run(run())
    except (DomainError, ValueError) as error:
        print(f"openmailer import: {getattr(error, 'detail', error)}")
        return 1
    if job is None:
        print("openmailer import: the job is being run elsewhere")
        return 1
    print(summary(job))
    return 0 if job.error is None else 1
