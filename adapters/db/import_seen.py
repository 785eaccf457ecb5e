"""Duplicates inside one import file, across its batches: the first line of an address wins.

A batch's own duplicates are found with a dict; those of the job's earlier batches in
`import_seen_addresses`, keyed by a 64-bit hash of the address (migration 039; the address
itself is compared too, so a collision is only a comparison more). The batch's first
occurrences then join that table, in their own transaction committed before the batch's
merge: the next batch is checked against them while this one is still merging on another
connection. Remembering ahead of the merge is safe because a batch is always read again from
the same resume point, with the same line numbers: a redone batch finds its own lines there,
which are not duplicates, and its duplicates of earlier lines exactly as the first time.
"""

from __future__ import annotations

from typing import Any

from openmailer.core.imports.model import Rejection, StagedContact

# each input row's remembered line, when its address is remembered (its own line on a redo)
REMEMBERED_LINES = (
    "SELECT i.line, seen.line_number AS first_line"
    " FROM unnest($2::bigint[], $3::text[]) AS i(line, address)"
    " JOIN import_seen_addresses seen ON seen.job_id = $1"
    " AND seen.address_key = hashtextextended(i.address, 0) AND seen.address = i.address"
)
REMEMBER = (
    "INSERT INTO import_seen_addresses (job_id, address_key, line_number, address)"
    " SELECT $1, hashtextextended(i.address, 0), i.line, i.address"
    " FROM unnest($2::bigint[], $3::text[]) AS i(line, address) ORDER BY 2"
    " ON CONFLICT DO NOTHING"
)


def duplicate(line: int, first_line: int, email: str) -> Rejection:
    return Rejection(line, f"duplicate of line {first_line} (same address)", email)


async def first_occurrences(
    driver: Any,
    job_id: int,
    contacts: list[StagedContact],
    *,
    earlier: bool,
    remember: bool,
) -> tuple[list[StagedContact], list[Rejection]]:
    """The contacts whose address no earlier line of the file has, and a rejection for each
    other one. `earlier`: the job has earlier batches to compare with; `remember`: later
    batches follow, which need this one's addresses. `driver` is an asyncpg connection."""
    first_line: dict[str, int] = {}
    firsts: list[StagedContact] = []
    later: list[StagedContact] = []
    for contact in contacts:
        address = contact.email.lower()
        if address in first_line:
            later.append(contact)
        else:
            first_line[address] = contact.line
            firsts.append(contact)
    lines = [contact.line for contact in firsts]
    addresses = list(first_line)  # in the order of `firsts`
    remembered: dict[int, int] = {}
    if earlier and firsts:
        remembered = dict(
            (row["line"], row["first_line"])
            for row in await driver.fetch(REMEMBERED_LINES, job_id, lines, addresses)
        )
    kept: list[StagedContact] = []
    duplicates: list[Rejection] = []
    earliest: dict[str, int] = {}  # the earlier batch's line, for this batch's later copies
    for contact, address in zip(firsts, addresses, strict=True):
        found = remembered.get(contact.line, contact.line)
        if found == contact.line:
            kept.append(contact)
        else:
            earliest[address] = found
            duplicates.append(duplicate(contact.line, found, contact.email))
    for contact in later:
        address = contact.email.lower()
        first = earliest.get(address, first_line[address])
        duplicates.append(duplicate(contact.line, first, contact.email))
    fresh = [contact for contact in kept if contact.line not in remembered]
    if remember and fresh:
        await driver.execute(
            REMEMBER,
            job_id,
            [contact.line for contact in fresh],
            [contact.email.lower() for contact in fresh],
        )
    return kept, duplicates
