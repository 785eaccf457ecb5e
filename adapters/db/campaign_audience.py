"""A campaign's audience in SQL: who it reaches (a list's active members and/or a segment's
matches), who is excluded and why, and the statement that materialises its recipients (one
`INSERT … SELECT … ON CONFLICT DO NOTHING` per part of the audience, the parts at once).

Only SUBSCRIBED contacts receive a campaign: UNSUBSCRIBED, BOUNCED and COMPLAINED are
suppressed, PENDING have not confirmed (double opt-in). A contact whose address matches a GDPR
tombstone (`erased_contacts`) is excluded too: erasure deletes the contact, but the same
address may have been added again by a path that did not consult the tombstones. The tombstone
is an HMAC-SHA256 under the installation's key; it is computed in SQL from the key's inner and
outer pads (RFC 2104 with PostgreSQL's built-in `sha256`), so the check stays one set-based
statement however large the audience.

The breakdown and the materialisation share one definition of the audience (`_Audience`), so
preflight's `recipients` is exactly the number of rows a start inserts. A list's members are
outer-joined, not tested with `id IN (members)`: in the breakdown's select list, or beside a
segment in an OR, that IN is a subplan, which PostgreSQL hashes only while the members fit in
`work_mem`; past that (a list of a million) it rescans the members for every contact, and a
preflight that took 7 ms at 10,000 members did not finish in two minutes at 1,000,000. The join
is a hash join at any size (a membership is unique per contact and list, so no row doubles).
The user's tombstones are joined the same way (their distinct hashes, so no row doubles either).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    FromClause,
    LargeBinary,
    Table,
    and_,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.types import Text

from openmailer.adapters.crypto.secret_box import AesGcmSecretBox
from openmailer.adapters.db.contact_erasure import RECIPIENTS, TOMBSTONES, tombstone_key
from openmailer.adapters.db.custom_field_indexes import plan_audience
from openmailer.adapters.db.segment_sql import CONTACTS, MEMBERSHIPS, audience_where
from openmailer.adapters.db.tables.campaigns import EmailCampaign
from openmailer.adapters.db.unit_of_work import OwnTransactions, Statements, statements_on
from openmailer.core.campaigns.model import AudienceBreakdown, AudienceSource
from openmailer.core.registry import Registry
from openmailer.core.segments.operators import SegmentOperator

CAMPAIGNS = cast(Table, EmailCampaign.__table__)
HMAC_BLOCK_BYTES = 64  # SHA-256's block size
# A start that adds this many recipients refreshes the table's statistics at once. Until then
# the planner believes the campaign has (next to) no PENDING rows, and the claim walks the
# `status` index over every PENDING row of every campaign and sorts them: 239 ms a claim, most
# of the send's time, for the benchmark's 1M recipients, until autovacuum's own ANALYZE (after
# a tenth of the table has changed) minutes later; with fresh statistics it reads the
# campaign's unsent rows in id order and stops after the batch (~1 ms). The ANALYZE samples at
# most 30,000 pages, ~60 ms at 2M rows.
ANALYZE_AFTER_ROWS = 10_000
# A start inserts its recipients in this many transactions at once, each a part of the audience
# (contact id modulo the parts), committed before the campaign records its total and template
# version, which the send path waits for: the insert is CPU-bound (index entries, foreign-key
# checks), and one statement uses one core. A start that dies between them leaves rows but no
# version; the next materialisation (ON CONFLICT DO NOTHING) completes them.
MATERIALISE_PARTS = 2


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """The inner and outer padded keys of HMAC-SHA256 (RFC 2104) for a key of at most 64 bytes."""
    padded = key.ljust(HMAC_BLOCK_BYTES, b"\0")
    return bytes(b ^ 0x36 for b in padded), bytes(b ^ 0x5C for b in padded)


def address_digest_sql(key: bytes) -> ColumnElement[bytes]:
    """`contact_erasure.digest(key, email)` in SQL, over `contacts.email`."""
    inner, outer = hmac_pads(key)
    address = func.convert_to(func.lower(CONTACTS.c.email), "UTF8")
    inner_hash = func.sha256(literal(inner, LargeBinary).op("||")(address))
    return cast(
        ColumnElement[bytes],
        func.sha256(literal(outer, LargeBinary).op("||")(inner_hash)),
    )


@dataclass(frozen=True)
class _Audience:
    """The audience's predicates over `contacts`, for one user."""

    user_id: int
    contacts: FromClause  # `contacts`, outer-joined to the list's active members if any
    in_list: ColumnElement[bool]
    in_segment: ColumnElement[bool]
    erased: ColumnElement[bool]

    @property
    def candidate(self) -> ColumnElement[bool]:
        return and_(CONTACTS.c.user_id == self.user_id, or_(self.in_list, self.in_segment))

    @property
    def eligible(self) -> ColumnElement[bool]:
        return and_(self.candidate, CONTACTS.c.status == "SUBSCRIBED", not_(self.erased))


class SqlAlchemyCampaignAudience:
    def __init__(
        self,
        target: AsyncEngine | Statements,
        operators: Registry[SegmentOperator],
        box: AesGcmSecretBox,
        *,
        parts: int = MATERIALISE_PARTS,
    ) -> None:
        self._db = statements_on(target)
        self._parts = parts
        self._operators = operators
        self._key = tombstone_key(box)

    async def _audience(
        self, conn: AsyncConnection, user_id: int, source: AudienceSource
    ) -> _Audience:
        indexed = await plan_audience(conn)
        in_list: ColumnElement[bool] = false()
        contacts: FromClause = CONTACTS
        if source.list_id is not None:
            members = (
                select(MEMBERSHIPS.c.contact_id)
                .where(MEMBERSHIPS.c.list_id == source.list_id, MEMBERSHIPS.c.status == "ACTIVE")
                .subquery("members")
            )
            contacts = CONTACTS.outerjoin(members, members.c.contact_id == CONTACTS.c.id)
            in_list = members.c.contact_id.is_not(None)
        in_segment: ColumnElement[bool] = false()
        if source.segment is not None:
            # audience_where's first term is the user's contacts, already in `candidate`
            where = audience_where(
                user_id,
                source.segment,
                self._operators,
                list_id=source.segment_list_id,
                indexed=indexed,
            )
            in_segment = func.coalesce(and_(*where[1:]), false())
        contacts, erased = await self._erased(conn, user_id, contacts)
        return _Audience(user_id, contacts, in_list, in_segment, erased)

    async def _erased(
        self, conn: AsyncConnection, user_id: int, contacts: FromClause
    ) -> tuple[FromClause, ColumnElement[bool]]:
        """`contacts` outer-joined to the user's tombstones (each address once: an address
        erased twice has two), and whether a contact's address is one of them. Joined for the
        reason the list's members are (the module's docstring): tested with `IN`, the
        tombstones would be rescanned for every contact once they outgrow `work_mem`."""
        mine = TOMBSTONES.c.user_id == user_id
        # Most users never erased anyone: no key is needed to say so.
        if not await conn.scalar(select(exists().where(mine))):
            return contacts, false()
        key = await self._key.get(conn, create=False)
        if key is None:
            return contacts, false()
        hashes = select(TOMBSTONES.c.address_hash).where(mine).distinct().subquery("erased")
        joined = contacts.outerjoin(hashes, hashes.c.address_hash == address_digest_sql(key))
        return joined, hashes.c.address_hash.is_not(None)

    async def breakdown(self, user_id: int, source: AudienceSource) -> AudienceBreakdown:
        async with self._db.read() as conn:
            audience = await self._audience(conn, user_id, source)
            status = CONTACTS.c.status
            rows = (
                select(
                    status.label("status"),
                    audience.in_list.label("in_list"),
                    audience.in_segment.label("in_segment"),
                    audience.erased.label("erased"),
                )
                .select_from(audience.contacts)
                .where(audience.candidate)
                .subquery()
            )
            r = rows.c

            def counted(*where: Any) -> Any:
                return func.count().filter(and_(*where)) if where else func.count()

            subscribed = r.status == "SUBSCRIBED"
            figures = (
                await conn.execute(
                    select(
                        counted(r.in_list),
                        counted(r.in_segment),
                        counted(r.in_list, r.in_segment),
                        counted(),
                        counted(r.status == "UNSUBSCRIBED"),
                        counted(r.status == "BOUNCED"),
                        counted(r.status == "COMPLAINED"),
                        counted(r.status == "PENDING"),
                        counted(subscribed, r.erased),
                        counted(subscribed, not_(r.erased)),
                    )
                )
            ).one()
        return AudienceBreakdown(*(int(value or 0) for value in figures))

    async def materialise(
        self, user_id: int, campaign_id: int, source: AudienceSource, *, template_version: int
    ) -> int:
        mine = and_(CAMPAIGNS.c.id == campaign_id, CAMPAIGNS.c.created_by == user_id)
        async with self._db.write() as conn:
            # Concurrent materialisations of one campaign run one after the other. FOR NO KEY
            # UPDATE: the parts' foreign-key checks take the row FOR KEY SHARE, which FOR
            # UPDATE would make them wait for this transaction, and it for them.
            locked = await conn.scalar(
                select(CAMPAIGNS.c.id).where(mine).with_for_update(key_share=True)
            )
            if locked is None:
                return 0
            if self._parts > 1 and isinstance(self._db, OwnTransactions):
                inserted = await self._insert_parts(user_id, campaign_id, source)
            else:
                inserted = await self._insert(conn, user_id, campaign_id, source, part=None)
            total = int(
                await conn.scalar(
                    select(func.count())
                    .select_from(RECIPIENTS)
                    .where(RECIPIENTS.c.campaign_id == campaign_id)
                )
                or 0
            )
            # the send path reads a campaign as materialised once its template version is set
            await conn.execute(
                update(CAMPAIGNS)
                .where(mine)
                .values(
                    total_recipients=total,
                    template_version=template_version,
                    updated_at=text("CURRENT_TIMESTAMP"),
                )
            )
        if inserted >= ANALYZE_AFTER_ROWS:
            async with self._db.write() as conn:
                await conn.execute(text("ANALYZE campaign_recipients"))
        return total

    async def _insert_parts(self, user_id: int, campaign_id: int, source: AudienceSource) -> int:
        """Every part at once, each in its own transaction; the first part's error is raised
        as itself (the others are cancelled), for the callers that judge it (a retry)."""
        try:
            async with asyncio.TaskGroup() as parts:
                started = [
                    parts.create_task(self._insert_own_part(user_id, campaign_id, source, part))
                    for part in range(self._parts)
                ]
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from failed
        return sum(task.result() for task in started)

    async def _insert_own_part(
        self, user_id: int, campaign_id: int, source: AudienceSource, part: int
    ) -> int:
        async with self._db.write() as conn:
            return await self._insert(conn, user_id, campaign_id, source, part=part)

    async def _insert(
        self,
        conn: AsyncConnection,
        user_id: int,
        campaign_id: int,
        source: AudienceSource,
        *,
        part: int | None,
    ) -> int:
        """The audience's rows (those of one part: contact id modulo the parts) inserted."""
        audience = await self._audience(conn, user_id, source)
        # `{campaign_id}-{32 hex}`: 122 random bits from PostgreSQL's cryptographic generator
        # (unguessable, unlike md5(random()); built in since PostgreSQL 13, no pgcrypto), after
        # the campaign, so a click finds its links by campaign without first looking the
        # recipient up (adapters/db/tracking_links.py).
        tracking_id = literal(f"{campaign_id}-", Text) + func.replace(
            func.gen_random_uuid().cast(Text), "-", ""
        )
        eligible = audience.eligible
        if part is not None:
            eligible = and_(eligible, CONTACTS.c.id % self._parts == part)
        rows = (
            select(literal(campaign_id), CONTACTS.c.id, literal("PENDING"), tracking_id)
            .select_from(audience.contacts)
            .where(eligible)
        )
        inserted = await conn.execute(
            insert(RECIPIENTS)
            .from_select(["campaign_id", "contact_id", "status", "tracking_id"], rows)
            .on_conflict_do_nothing(constraint="unique_campaign_contact")
        )
        return int(inserted.rowcount)
