"""The lists' cached counters, recomputed in the transaction of every change that moves them.

`total_contacts` is the list's ACTIVE memberships; `active_contacts` those whose contact is
SUBSCRIBED. Each change (membership added or removed, contact status changed, contact deleted)
calls `recount` after its own writes: the lists' rows are locked in id order first (so two
changes of one list wait for each other and never deadlock on several), then one UPDATE counts
from the memberships. Under READ COMMITTED that UPDATE starts after the lock is held, so it sees
every change committed before, and the changes after it wait and recount in their turn: the
last to commit always writes the fresh count. Changes that add memberships first lock their
contacts FOR SHARE, so a concurrent status change of those contacts waits for them (or they for
it) and one of the two recounts with both visible.

The locks are FOR NO KEY UPDATE (and the contacts' in a read-decide-write, too): inserting a
membership takes FOR KEY SHARE on its list and contact (the foreign keys), which FOR UPDATE
would conflict with, so two concurrent adds to one list would deadlock on their recounts.

A recount reads a list's memberships, which is fine for lists up to a few hundred thousand
members; incremental deltas would be cheaper for huge lists but much harder to keep exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import BigInteger, BindParameter, Table, any_, func, literal, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from openmailer.adapters.db.tables.contacts import Contact, ContactList, ContactListMembership

CONTACTS = cast(Table, Contact.__table__)
LISTS = cast(Table, ContactList.__table__)
MEMBERSHIPS = cast(Table, ContactListMembership.__table__)


def id_array(ids: Iterable[int]) -> BindParameter[Any]:
    """One array parameter (`= ANY(...)`): 10,000 ids stay one bind, not 10,000."""
    return literal(list(ids), ARRAY(BigInteger))


async def recount(conn: AsyncConnection, list_ids: Iterable[int]) -> None:
    ids = sorted(set(list_ids))
    if not ids:
        return
    await conn.execute(
        select(LISTS.c.id)
        .where(LISTS.c.id == any_(id_array(ids)))
        .order_by(LISTS.c.id)
        .with_for_update(key_share=True)
    )
    active_members = (MEMBERSHIPS.c.list_id == LISTS.c.id, MEMBERSHIPS.c.status == "ACTIVE")
    total = select(func.count()).select_from(MEMBERSHIPS).where(*active_members)
    subscribed = (
        select(func.count())
        .select_from(MEMBERSHIPS.join(CONTACTS, CONTACTS.c.id == MEMBERSHIPS.c.contact_id))
        .where(*active_members, CONTACTS.c.status == "SUBSCRIBED")
    )
    await conn.execute(
        update(LISTS)
        .where(LISTS.c.id == any_(id_array(ids)))
        .values(
            total_contacts=total.scalar_subquery(),
            active_contacts=subscribed.scalar_subquery(),
        )
    )


async def lists_of(conn: AsyncConnection, contact_ids: Sequence[int]) -> list[int]:
    """The lists where these contacts are ACTIVE members (their status counts there)."""
    if not contact_ids:
        return []
    rows = await conn.execute(
        select(MEMBERSHIPS.c.list_id)
        .where(
            MEMBERSHIPS.c.contact_id == any_(id_array(contact_ids)),
            MEMBERSHIPS.c.status == "ACTIVE",
        )
        .distinct()
    )
    return [row.list_id for row in rows]


async def recount_lists_of(conn: AsyncConnection, contact_ids: Sequence[int]) -> None:
    await recount(conn, await lists_of(conn, contact_ids))


async def add_members(conn: AsyncConnection, list_id: int, *, total: int, subscribed: int) -> None:
    """Count in `total` memberships this transaction made ACTIVE in the list, `subscribed` of
    them of SUBSCRIBED contacts, whose status it holds locked (it wrote those contacts) and
    leaves unchanged: a large import's batches then cost what they add, not the list's size.

    Exact under the rules above: the UPDATE takes the same lock as `recount`, and under READ
    COMMITTED it adds to the latest committed counts, which are exact for everything but this
    transaction's own memberships (a recount that ran meanwhile could not see them; one that
    runs later waits for this one's commit and sees them)."""
    if not total:
        return
    moved = await conn.execute(
        update(LISTS)
        .where(
            LISTS.c.id == list_id,
            LISTS.c.total_contacts.is_not(None),
            LISTS.c.active_contacts.is_not(None),
        )
        .values(
            total_contacts=LISTS.c.total_contacts + total,
            active_contacts=LISTS.c.active_contacts + subscribed,
        )
    )
    if not moved.rowcount:  # no counts to add to (the columns are nullable): count them
        await recount(conn, [list_id])
