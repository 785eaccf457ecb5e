"""Every kind of bad CSV the issue names: good rows import, bad rows are listed by line, a
fatal problem imports nothing."""

from __future__ import annotations

import dataclasses
import json

import httpx
import pytest

from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.imports.service import ImportsService
from tests.integration.accounts.accounts_helpers import Caller, engine_of
from tests.integration.imports.import_helpers import (
    assert_counts_fresh,
    contacts_of,
    create_list,
    csv_bytes,
    imported,
    rejections,
    upload,
)

pytestmark = pytest.mark.integration


async def test_bom_crlf_and_quoted_newlines(
    client: httpx.AsyncClient, accounts: Accounts, caller: Caller, imports: ImportsService
) -> None:
    list_id = await create_list(client, caller)
    body = b"\xef\xbb\xbf" + csv_bytes(
        "email,first_name,note",
        'ann@example.com,Ann,"two\r\nlines"',
        '"bob@example.com","B, ""Bobby""",plain',
        "bad address,Nope,x",
        newline="\r\n",
    )
    mapping = json.dumps(
        {"email": "email", "first_name": "first_name", "note": "custom_fields.note"}
    )
    # a batch of one row: the quoted newline and the BOM cross batch and chunk boundaries
    job = await imported(client, caller, imports, body, list_id, batch_rows=1, mapping=mapping)
    assert (job["status"], job["inserted"], job["rejected"]) == ("COMPLETED", 2, 1), job
    # the header is line 1; ann's record spans lines 2-3, so the bad row is line 5
    assert list(await rejections(client, caller, job["id"])) == [5]
    contacts = await contacts_of(engine_of(accounts), caller.user.id)
    assert contacts["ann@example.com"]["custom_fields"] == {"note": "two\r\nlines"}
    assert contacts["bob@example.com"]["first_name"] == 'B, "Bobby"'


@pytest.mark.parametrize("delimiter", [";", "\t"])
async def test_semicolon_and_tab_delimiters_are_detected_or_given(
    client: httpx.AsyncClient,
    accounts: Accounts,
    caller: Caller,
    imports: ImportsService,
    delimiter: str,
) -> None:
    list_id = await create_list(client, caller)
    rows = ["email", "first_name", "last_name"], ["cy@example.com", "Cy", "Lo, Jr"]
    body = csv_bytes(*(delimiter.join(row) for row in rows))
    detected = await imported(client, caller, imports, body, list_id)
    assert (detected["delimiter"], detected["inserted"]) == (delimiter, 1), detected
    given = "\\t" if delimiter == "\t" else delimiter
    again = await imported(client, caller, imports, body, list_id, delimiter=given)
    assert (again["delimiter"], again["updated"], again["rejected"]) == (delimiter, 1, 0)
    contacts = await contacts_of(engine_of(accounts), caller.user.id)
    assert contacts["cy@example.com"]["last_name"] == "Lo, Jr"


async def test_duplicates_inside_the_file_are_rejected_across_batches(
    client: httpx.AsyncClient, accounts: Accounts, caller: Caller, imports: ImportsService
) -> None:
    list_id = await create_list(client, caller)
    body = csv_bytes(
        "email,first_name",
        "dee@example.com,First",
        "eli@example.com,Eli",
        "DEE@example.com,Second",
        "dee@example.com,Third",
    )
    job = await imported(client, caller, imports, body, list_id, batch_rows=2)
    assert (job["inserted"], job["updated"], job["rejected"]) == (2, 0, 2), job
    reasons = await rejections(client, caller, job["id"])
    assert reasons == {
        4: "duplicate of line 2 (same address)",
        5: "duplicate of line 2 (same address)",
    }
    contacts = await contacts_of(engine_of(accounts), caller.user.id)
    assert contacts["dee@example.com"]["first_name"] == "First"
    assert await assert_counts_fresh(engine_of(accounts), list_id) == (2, 2)


async def test_invalid_addresses_over_long_fields_and_wrong_widths_are_listed(
    client: httpx.AsyncClient, accounts: Accounts, caller: Caller, imports: ImportsService
) -> None:
    list_id = await create_list(client, caller)
    body = csv_bytes(
        "email,first_name,tags",
        "fine@example.com,Fine,a|b",
        "no-at-sign,X,",
        f"long@example.com,{'n' * 300},",
        f"{'l' * 400}@example.com,X,",
        "tag@example.com,X," + "t" * 150,
        "narrow@example.com,X",
        "",
        "wide@example.com,X,,extra",
    )
    job = await imported(client, caller, imports, body, list_id)
    assert (job["rows_read"], job["inserted"], job["rejected"]) == (7, 1, 6), job
    reasons = await rejections(client, caller, job["id"])
    assert sorted(reasons) == [3, 4, 5, 6, 7, 9]
    assert "not a valid email address" in reasons[3]
    assert "first_name is longer than 255" in reasons[4]
    assert "longer than 320" in reasons[5]
    assert "tag" in reasons[6]
    assert reasons[7] == "expected 3 fields, found 2"
    assert reasons[9] == "expected 3 fields, found 4"
    assert set(await contacts_of(engine_of(accounts), caller.user.id)) == {"fine@example.com"}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (csv_bytes("name,city", "Ann,Lyon"), "no column holds the email address"),
        (csv_bytes("email", "ann@example.com") + b"\x89PNG\r\n\x1a\n\x00\x00", "binary"),
        ("email\nzoé@example.com\n".encode("latin-1"), "not UTF-8"),
        (b"", "empty"),
    ],
    ids=["no-email-column", "binary", "latin-1", "empty"],
)
async def test_a_fatal_problem_fails_the_job_and_imports_nothing(
    client: httpx.AsyncClient,
    accounts: Accounts,
    caller: Caller,
    imports: ImportsService,
    body: bytes,
    error: str,
) -> None:
    list_id = await create_list(client, caller)
    good_rows = (
        csv_bytes(*(f"ok{n}@example.com" for n in range(5))) if body.startswith(b"email") else b""
    )
    # the garbage comes after good rows, in a later batch: still nothing is imported
    body = (
        body[: body.index(b"\n") + 1] + good_rows + body[body.index(b"\n") + 1 :]
        if good_rows
        else body
    )
    job = await imported(client, caller, imports, body, list_id, batch_rows=2)
    assert job["status"] == "FAILED", job
    assert error in job["error"]
    assert (job["inserted"], job["updated"]) == (0, 0)
    assert await contacts_of(engine_of(accounts), caller.user.id) == {}
    assert await assert_counts_fresh(engine_of(accounts), list_id) == (0, 0)


async def test_a_mapped_column_missing_from_the_header_fails_the_job(
    client: httpx.AsyncClient, caller: Caller, imports: ImportsService
) -> None:
    list_id = await create_list(client, caller)
    body = csv_bytes("email", "ann@example.com")
    mapping = json.dumps({"email": "email", "Phone": "custom_fields.phone"})
    job = await imported(client, caller, imports, body, list_id, mapping=mapping)
    assert job["status"] == "FAILED" and "'Phone'" in job["error"], job


async def test_a_file_over_the_limit_is_413_and_nothing_is_kept(
    client: httpx.AsyncClient,
    caller: Caller,
    imports: ImportsService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(imports, "ports", dataclasses.replace(imports.ports, max_upload_bytes=1000))
    list_id = await create_list(client, caller)
    streamed = csv_bytes("email", *(f"row{n}@example.com" for n in range(200)))  # ~4 KB
    announced = b"email\n" + b"x" * (3 * 1024 * 1024)  # past the limit and the form's overhead
    for body in (streamed, announced):
        response = await upload(client, caller, body, list_id)
        assert response.status_code == 413, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    listed = await client.get("/api/v1/imports", headers=caller.headers)
    assert listed.json()["total"] == 0


async def test_an_erased_address_is_rejected_with_the_reason(
    client: httpx.AsyncClient, accounts: Accounts, caller: Caller, imports: ImportsService
) -> None:
    created = await client.post(
        "/api/v1/contacts", json={"email": "gone@example.com"}, headers=caller.headers
    )
    assert created.status_code == 201
    erased = await client.post(
        f"/api/v1/contacts/{created.json()['id']}/erase", headers=caller.headers
    )
    assert erased.status_code == 200, erased.text
    list_id = await create_list(client, caller)
    body = csv_bytes("email", "Gone@Example.com", "kept@example.com")
    job = await imported(client, caller, imports, body, list_id)
    assert (job["inserted"], job["rejected"]) == (1, 1), job
    reasons = await rejections(client, caller, job["id"])
    assert "erased" in reasons[2]
    assert set(await contacts_of(engine_of(accounts), caller.user.id)) == {"kept@example.com"}
