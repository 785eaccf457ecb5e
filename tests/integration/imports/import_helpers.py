"""Uploading a CSV over HTTP, running its job in the test, and reading what it left."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.core.accounts.model import User
from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.imports.service import ImportsService
from tests.integration.accounts.accounts_helpers import Caller, engine_of
from tests.integration.audience.audience_helpers import foreign_list

_names = itertools.count(1)


async def create_list(client: httpx.AsyncClient, caller: Caller) -> int:
    response = await client.post(
        "/api/v1/lists",
        json={"name": f"import list {next(_names)}", "double_opt_in_enabled": False},
        headers=caller.headers,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def upload(
    client: httpx.AsyncClient, caller: Caller, body: bytes, list_id: int, **fields: str
) -> httpx.Response:
    return await client.post(
        "/api/v1/imports",
        files={"file": ("contacts.csv", body, "text/csv")},
        data={"list_id": str(list_id), **fields},
        headers=caller.headers,
    )


async def imported(
    client: httpx.AsyncClient,
    caller: Caller,
    imports: ImportsService,
    body: bytes,
    list_id: int,
    *,
    batch_rows: int = 1000,
    **fields: str,
) -> dict[str, Any]:
    """Upload, run the job here (as a worker would), and answer GET /imports/{id}."""
    response = await upload(client, caller, body, list_id, **fields)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "QUEUED"
    job_id = response.json()["id"]
    await imports.run(job_id, batch_rows=batch_rows)
    job = await client.get(f"/api/v1/imports/{job_id}", headers=caller.headers)
    assert job.status_code == 200, job.text
    body_of_job: dict[str, Any] = job.json()
    return body_of_job


async def rejections(client: httpx.AsyncClient, caller: Caller, job_id: int) -> dict[int, str]:
    """Every rejected row by line, following the keyset pages."""
    found: dict[int, str] = {}
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["after"] = cursor
        page = await client.get(
            f"/api/v1/imports/{job_id}/errors", params=params, headers=caller.headers
        )
        assert page.status_code == 200, page.text
        found.update({item["line_number"]: item["reason"] for item in page.json()["items"]})
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return found


async def contacts_of(engine: AsyncEngine, user_id: int) -> dict[str, dict[str, Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT email, first_name, last_name, status, tags, custom_fields, source"
                " FROM contacts WHERE user_id = :user_id"
            ),
            {"user_id": user_id},
        )
        return {row.email: dict(row._mapping) for row in rows}


async def assert_counts_fresh(engine: AsyncEngine, list_id: int) -> tuple[int, int]:
    """The list's cached counts equal a fresh count; returns them."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT l.total_contacts, l.active_contacts,"
                    " (SELECT count(*) FROM contact_list_memberships m"
                    "   WHERE m.list_id = l.id AND m.status = 'ACTIVE') AS total,"
                    " (SELECT count(*) FROM contact_list_memberships m JOIN contacts c"
                    "   ON c.id = m.contact_id WHERE m.list_id = l.id AND m.status = 'ACTIVE'"
                    "   AND c.status = 'SUBSCRIBED') AS active"
                    " FROM contact_lists l WHERE l.id = :list_id"
                ),
                {"list_id": list_id},
            )
        ).one()
    assert (row.total_contacts, row.active_contacts) == (row.total, row.active)
    return row.total, row.active


async def foreign_import(accounts: Accounts, owner: User) -> int:
    """Another user's import, for the every-route walk."""
    from openmailer.adapters.bootstrap import DatabaseResources, build_imports
    from openmailer.adapters.workers.import_queue import NoQueue
    from openmailer.core.imports.service import FileData, FormField

    list_id = await foreign_list(accounts, owner)
    settings: Any = type(
        "S", (), {"secret_keys": (), "redis_url": None, "import_max_bytes": 1 << 20}
    )()
    imports = build_imports(
        DatabaseResources(settings=settings, engine=engine_of(accounts)), queue=NoQueue()
    )

    async def form() -> Any:
        yield FormField("list_id", str(list_id))
        yield FileData(b"email\nforeign@example.com\n", "foreign.csv")

    job = await imports.receive_for(owner.id, form())
    assert isinstance(job.id, int)
    return job.id


def csv_bytes(*lines: str, newline: str = "\n") -> bytes:
    return (newline.join(lines) + newline).encode()
