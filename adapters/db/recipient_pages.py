"""`SqlAlchemyRecipientPagesStore`: what the recipient pages read and write.

The unsubscribe is the hot one (every RFC 8058 POST): one durable transaction of one statement
on the contact's own rows — the contact locked through its recipient row and made
UNSUBSCRIBED, its memberships REMOVED — committed before it answers, so the send path's next
claim sees the contact UNSUBSCRIBED. The shared counters (the lists' counts by deltas, exact
under `list_counts`' rules: the lists locked in id order, the delta applied to the latest
committed counts; the campaign's `unsubscribe_count`) follow in a short transaction of their own
once the answer has gone (`move_counts` says why).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    Table,
    Text,
    all_,
    and_,
    any_,
    bindparam,
    case,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from openmailer.adapters.db.list_counts import CONTACTS, LISTS, MEMBERSHIPS, id_array, recount
from openmailer.adapters.db.tables import CampaignRecipient, EmailCampaign, User
from openmailer.adapters.db.users import from_db_time, to_db_time
from openmailer.core.audience.model import ContactStatus
from openmailer.core.recipients.model import (
    ListChoice,
    PendingConfirmation,
    PublicForm,
    Recipient,
    Unsubscribed,
)

RECIPIENTS = cast(Table, CampaignRecipient.__table__)
CAMPAIGNS = cast(Table, EmailCampaign.__table__)
USERS = cast(Table, User.__table__)
log = logging.getLogger("openmailer.recipients")
RECEIVING = ("SUBSCRIBED", "PENDING")
LOCKED = ("BOUNCED", "COMPLAINED")


# One statement, one round trip: the contact locked through its recipient row, made UNSUBSCRIBED
# when it still received mail, its ACTIVE memberships REMOVED; answers the status it had, its
# campaign, whether this call unsubscribed it, and the lists it left.
_UNSUBSCRIBE = text(
    """
    WITH target AS (
        SELECT c.id, c.status, r.campaign_id
        FROM campaign_recipients r JOIN contacts c ON c.id = r.contact_id
        WHERE r.tracking_id = :tracking_id
        FOR NO KEY UPDATE OF c
    ), unsubscribed AS (
        UPDATE contacts SET status = 'UNSUBSCRIBED', unsubscribed_at = :at,
            unsubscribe_reason = :reason, updated_at = :at
        FROM target
        WHERE contacts.id = target.id AND target.status IN ('SUBSCRIBED', 'PENDING')
        RETURNING contacts.id
    ), removed AS (
        UPDATE contact_list_memberships m SET status = 'REMOVED', unsubscribed_at = :at
        FROM target
        WHERE m.contact_id = target.id AND m.status = 'ACTIVE'
        RETURNING m.list_id
    )
    SELECT target.status, target.campaign_id,
        EXISTS (SELECT 1 FROM unsubscribed) AS unsubscribed,
        ARRAY(SELECT list_id FROM removed ORDER BY list_id) AS removed
    FROM target
    """
).bindparams(bindparam("at", type_=DateTime()), bindparam("reason", type_=Text()))


_WITHOUT_FLUSH = text("SET LOCAL synchronous_commit = off")
# One fewer member in each list the contact left (one fewer subscribed one if it was), the lists
# locked in id order as `list_counts` does; one more unsubscribe for the campaign (none when
# `campaign_id` is NULL: the contact did not receive mail any more).
_MOVE_COUNTERS = text(
    """
    WITH locked AS (
        SELECT id FROM contact_lists WHERE id = ANY(:list_ids) ORDER BY id FOR NO KEY UPDATE
    ), lists AS (
        UPDATE contact_lists l
        SET total_contacts = greatest(coalesce(l.total_contacts, 1) - 1, 0),
            active_contacts = greatest(coalesce(l.active_contacts, 1) - :subscribed, 0)
        FROM locked WHERE l.id = locked.id
        RETURNING l.id
    )
    UPDATE email_campaigns SET unsubscribe_count = coalesce(unsubscribe_count, 0) + 1
    WHERE id = :campaign_id
    """
).bindparams(
    bindparam("list_ids", type_=ARRAY(BigInteger())),
    bindparam("subscribed", type_=Integer()),
    bindparam("campaign_id", type_=BigInteger()),
)


class SqlAlchemyRecipientPagesStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def form(self, public_id: str) -> PublicForm | None:
        return await self._form(LISTS.c.public_id == public_id, USERS.c.enabled.is_(True))

    async def form_of_list(self, user_id: int, list_id: int) -> PublicForm | None:
        return await self._form(LISTS.c.id == list_id, LISTS.c.user_id == user_id)

    async def set_form_fields(
        self, user_id: int, list_id: int, fields: tuple[str, ...]
    ) -> PublicForm | None:
        async with self._engine.begin() as conn:
            changed = await conn.execute(
                update(LISTS)
                .where(LISTS.c.id == list_id, LISTS.c.user_id == user_id)
                .values(form_fields=list(fields), updated_at=func.timezone("UTC", func.now()))
            )
        if not changed.rowcount:
            return None
        return await self.form_of_list(user_id, list_id)

    async def _form(self, *where: ColumnElement[bool]) -> PublicForm | None:
        query = (
            select(LISTS, USERS.c.username, USERS.c.email.label("owner_email"))
            .join(USERS, USERS.c.id == LISTS.c.user_id)
            .where(*where)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        if row is None:
            return None
        return PublicForm(
            list_id=row["id"],
            user_id=row["user_id"],
            public_id=row["public_id"],
            list_name=row["name"],
            description=row["description"],
            owner_name=row["username"],
            owner_email=row["owner_email"],
            double_opt_in=row["double_opt_in_enabled"] is not False,
            fields=tuple(row["form_fields"] or ()),
        )

    async def recipient(self, tracking_id: str) -> Recipient | None:
        query = (
            select(
                CONTACTS,
                RECIPIENTS.c.campaign_id,
                USERS.c.username,
                USERS.c.email.label("owner_email"),
            )
            .select_from(RECIPIENTS)
            .join(CONTACTS, CONTACTS.c.id == RECIPIENTS.c.contact_id)
            .join(USERS, USERS.c.id == CONTACTS.c.user_id)
            .where(RECIPIENTS.c.tracking_id == tracking_id)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
            if row is None:
                return None
            lists = await conn.execute(
                select(LISTS.c.id, LISTS.c.name, MEMBERSHIPS.c.status)
                .join(MEMBERSHIPS, MEMBERSHIPS.c.list_id == LISTS.c.id)
                .where(MEMBERSHIPS.c.contact_id == row["id"], LISTS.c.user_id == row["user_id"])
                .order_by(LISTS.c.name, LISTS.c.id)
            )
            choices = tuple(
                ListChoice(list_id=item.id, name=item.name, subscribed=item.status == "ACTIVE")
                for item in lists
            )
        return Recipient(
            contact_id=row["id"],
            user_id=row["user_id"],
            campaign_id=row["campaign_id"],
            owner_name=row["username"],
            owner_email=row["owner_email"],
            email=row["email"],
            first_name=row["first_name"],
            last_name=row["last_name"],
            status=ContactStatus(row["status"]),
            custom_fields=dict(row["custom_fields"] or {}),
            gdpr_consent=bool(row["gdpr_consent"]),
            gdpr_consent_date=from_db_time(row["gdpr_consent_date"]),
            lists=choices,
        )

    async def unsubscribe(
        self, tracking_id: str, *, reason: str | None, at: datetime
    ) -> Unsubscribed | None:
        values = {"tracking_id": tracking_id, "at": to_db_time(at), "reason": reason}
        async with self._engine.begin() as conn:
            target = (await conn.execute(_UNSUBSCRIBE, values)).first()
        if target is None:
            return None
        return Unsubscribed(
            list_ids=tuple(target.removed),
            was_subscribed=target.status == "SUBSCRIBED",
            campaign_id=target.campaign_id if target.unsubscribed else None,
        )

    async def move_counts(self, unsubscribed: Unsubscribed) -> None:
        """In a transaction of its own that does not wait for the WAL flush: these rows are
        shared by every unsubscribe of a campaign (and the campaign's by its send batches), and
        holding their locks through a durable commit would queue each unsubscribe behind the
        others' disk flushes. A crash before it commits leaves a count one off (a cache:
        `list_counts.recount` puts a list right); the unsubscribe itself is already durable."""
        try:
            async with self._engine.begin() as conn:
                await conn.execute(_WITHOUT_FLUSH)
                await conn.execute(
                    _MOVE_COUNTERS,
                    {
                        "list_ids": list(unsubscribed.list_ids),
                        "subscribed": 1 if unsubscribed.was_subscribed else 0,
                        "campaign_id": unsubscribed.campaign_id,
                    },
                )
        except SQLAlchemyError:
            log.exception(
                "unsubscribe_counts_not_moved", extra={"list_ids": list(unsubscribed.list_ids)}
            )

    async def choose_lists(
        self, contact_id: int, user_id: int, subscribed: frozenset[int], *, at: datetime
    ) -> None:
        moment = to_db_time(at)
        async with self._engine.begin() as conn:
            status = await conn.scalar(
                select(CONTACTS.c.status)
                .where(CONTACTS.c.id == contact_id, CONTACTS.c.user_id == user_id)
                .with_for_update(key_share=True)
            )
            if status is None:
                return
            own_lists = select(LISTS.c.id).where(LISTS.c.user_id == user_id)
            changed = await conn.execute(
                update(MEMBERSHIPS)
                .where(
                    MEMBERSHIPS.c.contact_id == contact_id,
                    MEMBERSHIPS.c.list_id.in_(own_lists),
                    or_(
                        and_(
                            MEMBERSHIPS.c.status == "ACTIVE",
                            MEMBERSHIPS.c.list_id != all_(id_array(subscribed)),
                        ),
                        and_(
                            MEMBERSHIPS.c.status != "ACTIVE",
                            MEMBERSHIPS.c.list_id == any_(id_array(subscribed)),
                        ),
                    ),
                )
                .values(
                    status=case((MEMBERSHIPS.c.status == "ACTIVE", "REMOVED"), else_="ACTIVE"),
                    unsubscribed_at=case((MEMBERSHIPS.c.status == "ACTIVE", moment), else_=None),
                    subscribed_at=case(
                        (MEMBERSHIPS.c.status == "ACTIVE", MEMBERSHIPS.c.subscribed_at),
                        else_=moment,
                    ),
                )
                .returning(MEMBERSHIPS.c.list_id)
            )
            touched = [row.list_id for row in changed]
            target = _status_after_choice(status, bool(subscribed))
            if target != status:
                values: dict[str, Any] = {"status": target, "updated_at": moment}
                if target == "UNSUBSCRIBED":
                    values["unsubscribed_at"] = moment
                await conn.execute(
                    update(CONTACTS).where(CONTACTS.c.id == contact_id).values(**values)
                )
                touched += [
                    row.list_id
                    for row in await conn.execute(
                        select(MEMBERSHIPS.c.list_id).where(
                            MEMBERSHIPS.c.contact_id == contact_id,
                            MEMBERSHIPS.c.status == "ACTIVE",
                        )
                    )
                ]
            await recount(conn, touched)

    async def pending_confirmation(self, token: str) -> PendingConfirmation | None:
        query = (
            select(CONTACTS.c.id, CONTACTS.c.email, USERS.c.username)
            .join(USERS, USERS.c.id == CONTACTS.c.user_id)
            .where(CONTACTS.c.confirmation_token == token, CONTACTS.c.status == "PENDING")
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return PendingConfirmation(contact_id=row.id, owner_name=row.username, email=row.email)

    async def claim_confirmation_mail(
        self, contact_id: int, *, at: datetime, not_since: datetime
    ) -> bool:
        async with self._engine.begin() as conn:
            claimed = await conn.execute(
                update(CONTACTS)
                .where(
                    CONTACTS.c.id == contact_id,
                    or_(
                        CONTACTS.c.confirmation_sent_at.is_(None),
                        CONTACTS.c.confirmation_sent_at < to_db_time(not_since),
                    ),
                )
                .values(confirmation_sent_at=to_db_time(at))
            )
        return bool(claimed.rowcount)


def _status_after_choice(status: str, any_list: bool) -> str:
    if status in LOCKED:
        return status
    if not any_list:
        return "UNSUBSCRIBED" if status in RECEIVING else status
    return "SUBSCRIBED" if status == "UNSUBSCRIBED" else status
