"""One batch of an import merged into the contacts, set-based, in the batch's transaction.

The batch arrives without duplicates (`import_seen` dropped the later lines of an address,
inside the batch and against the job's earlier batches). Subscribing, the addresses the account
does not hold yet are COPied straight into the contacts and the known ones that change nothing
are left alone (`import_new_contacts`); the rest, and the whole batch of the other modes (or
when a concurrent writer takes one of the new addresses), is COPied (asyncpg's binary COPY on
the transaction's own connection) into a staging table that lives until the commit. Then
one statement per mode merges the staged rows and moves the memberships (an INSERT … SELECT …
ON CONFLICT with a data-modifying CTE, or an UPDATE … FROM): tags are unioned, custom fields
merged with `||`, names kept where the file has none.

The list's counts then move by what that statement changed (`count_merged`, after the batch's
turn: the previous batch committed), not by a recount of the whole list, which would grow
with it: subscribing and updating only add ACTIVE memberships to the one list and change no
contact's status. Unsubscribing changes statuses, so every list of those contacts is
recounted (`list_counts.recount`, which locks them in id order).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from openmailer.adapters.db.address_clash import execute_through_address_clashes
from openmailer.adapters.db.import_new_contacts import (
    copy_new_contacts,
    custom_fields_text,
    known_addresses,
)
from openmailer.adapters.db.list_counts import add_members, lists_of, recount
from openmailer.core.imports.model import ImportMode, Rejection, StagedContact

STAGING = "import_staging"
STAGING_COLUMNS = ("line", "address", "email", "first_name", "last_name", "custom_fields", "tags")
REJECTION_COLUMNS = ("job_id", "line_number", "reason", "excerpt")

CREATE_STAGING = text(
    f"CREATE TEMP TABLE {STAGING} (line bigint NOT NULL, address text NOT NULL,"
    " email text NOT NULL, first_name text, last_name text, custom_fields jsonb NOT NULL,"
    " tags text[] NOT NULL) ON COMMIT DROP"
)
# The statements below are put together from this module's constants only (no input).
# The ON CONFLICT target is idx_contacts_user_email_lower (migration 024).
_MERGE_FIELDS = (
    "first_name = coalesce(excluded.first_name, c.first_name),"
    " last_name = coalesce(excluded.last_name, c.last_name),"
    " custom_fields = coalesce(c.custom_fields, '{}'::jsonb) || excluded.custom_fields,"
    " tags = CASE WHEN cardinality(excluded.tags) = 0 THEN c.tags ELSE ARRAY("
    "SELECT DISTINCT tag FROM unnest(coalesce(c.tags, '{}'::text[]) || excluded.tags) AS tag"
    " ORDER BY tag) END,"
)
# the memberships made ACTIVE by the statement, and those of them whose contact is SUBSCRIBED
_JOINED_COUNTS = (
    " (SELECT count(*) FROM joined) AS joined, (SELECT count(*) FROM joined JOIN merged"
    " ON merged.id = joined.contact_id WHERE merged.status = 'SUBSCRIBED') AS joined_subscribed"
)
_JOIN_LIST = (
    "joined AS (INSERT INTO contact_list_memberships"
    " (contact_id, list_id, status, subscribed_at, created_at)"
    " SELECT id, :list_id, 'ACTIVE', :now, :now FROM merged ORDER BY id"
    " ON CONFLICT (contact_id, list_id) DO UPDATE SET status = 'ACTIVE',"
    " unsubscribed_at = NULL, subscribed_at = excluded.subscribed_at"
    " WHERE contact_list_memberships.status <> 'ACTIVE' RETURNING contact_id)"
)
# Subscribing: a known contact the file would change nothing of (names as stored or empty,
# custom fields and tags already contained) is not written again, only locked (FOR SHARE: its
# status cannot change before the commit, which the list's counts rely on); a rewrite would add
# a version of the row to every index. A contact edited meanwhile is rechecked on its new
# version and, if the file would change it now, merged like any other.
# Both lookups are one index probe per staged row (a LATERAL subquery, and a scalar one the
# planner keeps per row): as joins they were planned as hashes over all the user's contacts
# and the list's memberships, whose cost grows with the account, batch after batch.
_UNCHANGED = (
    "unchanged AS (SELECT c.id, c.status, s.address"
    f" FROM (SELECT * FROM {STAGING} ORDER BY address) s CROSS JOIN LATERAL"
    " (SELECT k.id, k.status FROM contacts k"
    " WHERE k.user_id = :user_id AND lower((k.email)::text) = s.address"
    " AND (s.first_name IS NULL OR s.first_name = k.first_name)"
    " AND (s.last_name IS NULL OR s.last_name = k.last_name)"
    " AND k.custom_fields @> s.custom_fields"
    " AND (cardinality(s.tags) = 0 OR k.tags @> s.tags) FOR SHARE) c)"
)
# A contact this statement inserted is seen by no other transaction until the commit, so no
# membership of it can exist or appear meanwhile: those join with a plain INSERT, which skips
# the speculative insertion ON CONFLICT costs per row. The known contacts join as above, but
# for those already ACTIVE members (as of the statement's start: a removal committed since
# then is as if it followed the import, and counts itself).
_JOIN_LIST_NEW_OR_KNOWN = (
    "joined_new AS (INSERT INTO contact_list_memberships"
    " (contact_id, list_id, status, subscribed_at, created_at)"
    " SELECT id, :list_id, 'ACTIVE', :now, :now FROM merged WHERE inserted ORDER BY id"
    " RETURNING contact_id), "
    + _JOIN_LIST.replace("joined AS", "joined_known AS").replace(
        "FROM merged ORDER BY id",
        "FROM touched t WHERE NOT inserted AND (SELECT m.status"
        " FROM contact_list_memberships m WHERE m.contact_id = t.id"
        " AND m.list_id = :list_id) IS DISTINCT FROM 'ACTIVE' ORDER BY id",
    )
    + ", joined AS (SELECT contact_id FROM joined_new"
    " UNION ALL SELECT contact_id FROM joined_known)"
)
SUBSCRIBE = text(
    f"WITH {_UNCHANGED}, merged AS (INSERT INTO contacts AS c (user_id, email, first_name,"
    " last_name, status, source, custom_fields, tags, created_at, updated_at)"
    " SELECT :user_id, email, first_name, last_name, 'SUBSCRIBED', 'CSV_IMPORT', custom_fields,"
    f" tags, :now, :now FROM {STAGING} s"
    " WHERE NOT EXISTS (SELECT 1 FROM unchanged u WHERE u.address = s.address) ORDER BY address"
    " ON CONFLICT (user_id, lower((email)::text)) DO UPDATE SET "
    f"{_MERGE_FIELDS} updated_at = excluded.updated_at"
    " RETURNING c.id, c.status, (c.xmax = 0) AS inserted),"
    " touched AS (SELECT id, status, inserted FROM merged"
    " UNION ALL SELECT id, status, false FROM unchanged), "
    f"{_JOIN_LIST_NEW_OR_KNOWN}"
    " SELECT count(*) FILTER (WHERE inserted) AS inserted,"
    " count(*) FILTER (WHERE NOT inserted) AS updated,"
    + _JOINED_COUNTS.replace("merged", "touched")
    + " FROM touched"
)
UPDATE_ONLY = text(
    "WITH merged AS (UPDATE contacts c SET "
    + _MERGE_FIELDS.replace("excluded.", "s.")
    + f" updated_at = :now FROM {STAGING} s"
    " WHERE c.user_id = :user_id AND lower(c.email) = s.address RETURNING c.id, c.status), "
    f"{_JOIN_LIST}"
    f" SELECT 0 AS inserted, count(*) AS updated, {_JOINED_COUNTS} FROM merged"
)
_STILL_REACHABLE = "c.status IN ('PENDING', 'SUBSCRIBED')"
UNSUBSCRIBE = text(
    "WITH merged AS (INSERT INTO contacts AS c (user_id, email, first_name, last_name, status,"
    " source, custom_fields, tags, unsubscribed_at, created_at, updated_at)"
    " SELECT :user_id, email, first_name, last_name, 'UNSUBSCRIBED', 'CSV_IMPORT',"
    f" custom_fields, tags, :now, :now, :now FROM {STAGING} ORDER BY address"
    " ON CONFLICT (user_id, lower((email)::text)) DO UPDATE SET"
    f" status = CASE WHEN {_STILL_REACHABLE} THEN 'UNSUBSCRIBED' ELSE c.status END,"
    f" unsubscribed_at = CASE WHEN {_STILL_REACHABLE} THEN excluded.unsubscribed_at"
    " ELSE c.unsubscribed_at END, updated_at = excluded.updated_at"
    " RETURNING c.id, (c.xmax = 0) AS inserted), "
    "left_list AS (UPDATE contact_list_memberships m SET status = 'REMOVED',"
    " unsubscribed_at = :now FROM merged"
    " WHERE m.contact_id = merged.id AND m.list_id = :list_id AND m.status = 'ACTIVE'"
    " RETURNING 1)"
    " SELECT count(*) FILTER (WHERE inserted) AS inserted,"
    " count(*) FILTER (WHERE NOT inserted) AS updated,"
    " coalesce(array_agg(id) FILTER (WHERE NOT inserted), '{}') AS existing FROM merged"
)
STATEMENT_OF = {
    ImportMode.SUBSCRIBE: SUBSCRIBE,
    ImportMode.UPDATE_ONLY: UPDATE_ONLY,
    ImportMode.UNSUBSCRIBE: UNSUBSCRIBE,
}


async def driver_of(conn: AsyncConnection) -> Any:
    """The asyncpg connection under the SQLAlchemy one (already inside its transaction)."""
    raw = await conn.get_raw_connection()
    return raw.driver_connection


def staged_record(contact: StagedContact) -> tuple[Any, ...]:
    return (
        contact.line,
        contact.email.lower(),
        contact.email,
        contact.first_name,
        contact.last_name,
        custom_fields_text(contact.custom_fields),
        contact.tags,
    )


@dataclass(frozen=True, slots=True)
class Merged:
    """What a batch's merge statement did, for its counters and the list's counts."""

    inserted: int
    updated: int
    skipped: int
    joined: int = 0  # memberships made ACTIVE
    joined_subscribed: int = 0  # … of them of SUBSCRIBED contacts
    existing: tuple[int, ...] = ()  # unsubscribing: the contacts that were there already


async def merge_batch(
    conn: AsyncConnection,
    *,
    user_id: int,
    list_id: int,
    mode: ImportMode,
    contacts: list[StagedContact],
    now: datetime,
    likely_new: bool = False,
) -> Merged:
    if not contacts:
        return Merged(inserted=0, updated=0, skipped=0)
    driver = await driver_of(conn)
    if mode is ImportMode.SUBSCRIBE:
        # A batch most likely new to the account is COPied without the probe first (an index
        # probe per address); an address the account holds fails the COPY on the unique key,
        # which leaves nothing behind, and the batch goes the probing way.
        if likely_new and await copy_new_contacts(
            conn, driver, user_id=user_id, list_id=list_id, contacts=contacts, now=now
        ):
            added = len(contacts)
            return Merged(added, 0, 0, joined=added, joined_subscribed=added)
        known = await known_addresses(driver, user_id, list_id, contacts)
        new = [contact for contact in contacts if contact.email.lower() not in known]
        if not new or await copy_new_contacts(
            conn, driver, user_id=user_id, list_id=list_id, contacts=new, now=now
        ):
            rest = [contact for contact in contacts if known.get(contact.email.lower()) is False]
            merged = await _merge_staged(conn, driver, user_id, list_id, mode, rest, now)
            added, settled = len(new), len(contacts) - len(new) - len(rest)
            # a settled row counts as the statement counts an unchanged one: updated
            return Merged(
                merged.inserted + added,
                merged.updated + settled,
                merged.skipped,
                joined=merged.joined + added,
                joined_subscribed=merged.joined_subscribed + added,
            )
    return await _merge_staged(conn, driver, user_id, list_id, mode, contacts, now)


async def _merge_staged(
    conn: AsyncConnection,
    driver: Any,
    user_id: int,
    list_id: int,
    mode: ImportMode,
    contacts: list[StagedContact],
    now: datetime,
) -> Merged:
    """`contacts` merged by the mode's all-purpose statement, from a staging table."""
    if not contacts:
        return Merged(inserted=0, updated=0, skipped=0)
    await conn.execute(CREATE_STAGING)
    await driver.copy_records_to_table(
        STAGING, records=map(staged_record, contacts), columns=STAGING_COLUMNS
    )
    if mode is ImportMode.UPDATE_ONLY:
        # its UPDATE … FROM joins the staging rows: the planner needs to know how many
        await conn.execute(text(f"ANALYZE {STAGING}"))
    parameters = {"user_id": user_id, "list_id": list_id, "now": now}
    merging = await execute_through_address_clashes(conn, STATEMENT_OF[mode], parameters)
    result = merging.one()
    await conn.execute(text(f"DROP TABLE {STAGING}"))
    inserted, updated = int(result.inserted), int(result.updated)
    if mode is ImportMode.UNSUBSCRIBE:
        return Merged(
            inserted, updated, len(contacts) - inserted - updated, existing=tuple(result.existing)
        )
    return Merged(
        inserted,
        updated,
        len(contacts) - inserted - updated,
        joined=int(result.joined),
        joined_subscribed=int(result.joined_subscribed),
    )


async def count_merged(
    conn: AsyncConnection, list_id: int, mode: ImportMode, merged: Merged
) -> None:
    if mode is ImportMode.UNSUBSCRIBE:
        # their status changed: every list they are a member of counts them differently (one
        # recount, so that all of them are locked in id order)
        if merged.inserted or merged.updated:
            await recount(conn, [list_id, *await lists_of(conn, list(merged.existing))])
    else:
        await add_members(conn, list_id, total=merged.joined, subscribed=merged.joined_subscribed)


async def record_rejections(
    conn: AsyncConnection, job_id: int, rejections: list[Rejection]
) -> None:
    if not rejections:
        return
    driver = await driver_of(conn)
    await driver.copy_records_to_table(
        "import_rejections",
        records=[
            (job_id, rejection.line, rejection.reason, rejection.excerpt.replace("\x00", ""))
            for rejection in rejections
        ],
        columns=REJECTION_COLUMNS,
    )
