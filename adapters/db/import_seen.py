"""The addresses of a job's committed batches, for finding duplicates across its batches.

`import_seen_addresses` is keyed by a 64-bit hash of the lower-cased address (migration 039;
the address is compared too, so a collision is only a comparison more). A batch's kept
addresses are written in the batch's own transaction (`remember`), so a batch rolled back and
read again finds none of its own lines there; the run's memory (`core.imports.seen`) asks
about the few addresses it cannot rule out (`remembered_lines`).
"""

from __future__ import annotations

from typing import Any

from openmailer.core.imports.model import StagedContact

# each input row's remembered line, when its address is remembered: an index probe per row
# (as a join it was once planned as a hash over all the job's rows, 650 ms for a few rows)
REMEMBERED_LINES = (
    "SELECT i.line, f.first_line FROM unnest($2::bigint[], $3::text[]) AS i(line, address)"
    " CROSS JOIN LATERAL (SELECT min(seen.line_number) AS first_line"
    " FROM import_seen_addresses seen WHERE seen.job_id = $1"
    " AND seen.address_key = hashtextextended(i.address, 0) AND seen.address = i.address) f"
    " WHERE f.first_line IS NOT NULL"
)
REMEMBER = (
    "INSERT INTO import_seen_addresses (job_id, address_key, line_number, address)"
    " SELECT $1, hashtextextended(i.address, 0), i.line, i.address"
    " FROM unnest($2::bigint[], $3::text[]) AS i(line, address) ORDER BY 2"
)


def _lines_and_addresses(contacts: list[StagedContact]) -> tuple[list[int], list[str]]:
    return [contact.line for contact in contacts], [contact.email.lower() for contact in contacts]


async def remembered_lines(
    driver: Any, job_id: int, contacts: list[StagedContact]
) -> dict[int, int]:
    """`driver` is an asyncpg connection."""
    lines, addresses = _lines_and_addresses(contacts)
    rows = await driver.fetch(REMEMBERED_LINES, job_id, lines, addresses)
    return {row["line"]: row["first_line"] for row in rows}


async def remember(driver: Any, job_id: int, contacts: list[StagedContact]) -> None:
    if contacts:
        await driver.execute(REMEMBER, job_id, *_lines_and_addresses(contacts))
