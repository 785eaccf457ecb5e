"""A subscribing batch's new addresses written with COPY, as a bare load would write them.

Most rows of a large import are addresses the account does not hold yet. For those the
all-purpose merge statement (`import_merge.SUBSCRIBE`) pays for what they cannot need: a staging
copy, a speculative insertion per row (ON CONFLICT), a CTE materialised and returned. Here they
are found with one probe (an index lookup per address, read-only), given ids from the contacts'
sequence, and COPied into `contacts`, their memberships into `contact_list_memberships` after
them: nobody else sees those contacts before the commit, so no membership of them can exist.

The probe also reads what decides whether the file changes a known contact: one it changes
nothing of, already an ACTIVE member of the list, is settled and left alone (the statement would
lock it FOR SHARE, which rewrites the row). The other known rows go to the statement.

An address another writer inserts between the probe and the COPY makes the COPY fail on a unique
key (after waiting for that writer's commit); the savepoint is rolled back and the caller merges
the whole batch with the all-purpose statement instead, which handles every such race.

A batch the run expects to be all new (`Batch.likely_new`: its committed batches were) skips the
probe and is COPied whole; an address the account holds fails that COPY the same way, and the
batch is then probed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from openmailer.core.imports.model import StagedContact

# Each address looked up by index: a LATERAL subquery with a LIMIT, which the planner keeps per
# row (as a join, with thousands of addresses, it is planned as a hash over all the user's
# contacts: 2.5 s a batch in an account of 1M). A known contact comes with what decides whether
# the file would change it, and whether it is an ACTIVE member of the list.
KNOWN = (
    "SELECT a.address, c.first_name, c.last_name, c.custom_fields::text AS custom_fields,"
    " c.tags, (SELECT m.status FROM contact_list_memberships m WHERE m.contact_id = c.id"
    " AND m.list_id = $2) = 'ACTIVE' AS member"
    " FROM unnest($3::text[]) AS a(address) CROSS JOIN LATERAL (SELECT k.id, k.first_name,"
    " k.last_name, k.custom_fields, k.tags FROM contacts k"
    " WHERE k.user_id = $1 AND lower(k.email::text) = a.address LIMIT 1) c"
)
NEW_IDS = "SELECT array_agg(nextval('contacts_id_seq')) FROM generate_series(1, $1)"
CONTACT_COLUMNS = (
    "id",
    "user_id",
    "email",
    "first_name",
    "last_name",
    "status",
    "source",
    "custom_fields",
    "tags",
    "created_at",
    "updated_at",
)
MEMBERSHIP_COLUMNS = ("contact_id", "list_id", "status", "subscribed_at", "created_at")
_JSON = msgspec.json.Encoder()
_DECODE = msgspec.json.Decoder().decode


def custom_fields_text(fields: dict[str, Any]) -> str:
    """A row's custom fields as the jsonb column's text (msgspec: json.dumps took a tenth of
    a large import's Python time)."""
    return _JSON.encode(fields).decode()


async def known_addresses(
    driver: Any, user_id: int, list_id: int, contacts: Sequence[StagedContact]
) -> dict[str, bool]:
    """The lower-cased addresses of `contacts` the user already has a contact for, each with
    whether it is settled: an ACTIVE member of the list already, which the file changes nothing
    of (see `_changes_nothing`). A settled row needs neither a lock nor a write."""
    addresses = [contact.email.lower() for contact in contacts]
    rows = await driver.fetch(KNOWN, user_id, list_id, addresses)
    if not rows:
        return {}
    staged = dict(zip(addresses, contacts, strict=True))
    return {
        row["address"]: bool(row["member"]) and _changes_nothing(staged[row["address"]], row)
        for row in rows
    }


def _changes_nothing(contact: StagedContact, stored: Any) -> bool:
    """What the merge statement's `unchanged` decides, in Python, erring towards False (a row
    that is not settled is merged by the statement, which decides for itself): names as stored
    or empty, custom fields contained, tags contained."""
    if contact.first_name is not None and contact.first_name != stored["first_name"]:
        return False
    if contact.last_name is not None and contact.last_name != stored["last_name"]:
        return False
    if contact.tags and not set(contact.tags) <= set(stored["tags"] or ()):
        return False
    if not contact.custom_fields:
        return True
    held = _DECODE(stored["custom_fields"] or "{}")
    return isinstance(held, dict) and all(
        type(value) is str and held.get(key) == value
        for key, value in contact.custom_fields.items()
    )


async def copy_new_contacts(
    conn: AsyncConnection,
    driver: Any,
    *,
    user_id: int,
    list_id: int,
    contacts: Sequence[StagedContact],
    now: datetime,
) -> bool:
    """Insert `contacts` (addresses the probe did not find, or a batch likely new) as
    SUBSCRIBED ACTIVE members of the list; False, with nothing written, when the account holds
    one of the addresses (another writer's, or one the batch was not probed for)."""
    # in address order, as the merge statement inserts: two writers meet in the same order
    ordered = sorted(contacts, key=lambda contact: contact.email.lower())
    try:
        async with conn.begin_nested():
            ids = await driver.fetchval(NEW_IDS, len(ordered))
            await driver.copy_records_to_table(
                "contacts",
                records=[
                    (
                        contact_id,
                        user_id,
                        contact.email,
                        contact.first_name,
                        contact.last_name,
                        "SUBSCRIBED",
                        "CSV_IMPORT",
                        custom_fields_text(contact.custom_fields),
                        contact.tags,
                        now,
                        now,
                    )
                    for contact_id, contact in zip(ids, ordered, strict=True)
                ],
                columns=CONTACT_COLUMNS,
            )
            await driver.copy_records_to_table(
                "contact_list_memberships",
                records=[(contact_id, list_id, "ACTIVE", now, now) for contact_id in ids],
                columns=MEMBERSHIP_COLUMNS,
            )
    except asyncpg.UniqueViolationError:
        return False
    return True
