"""`SqlAlchemyRecipientPagesStore`: what the recipient pages read and write.

The unsubscribe is the hot one (every RFC 8058 POST): one durable statement on the contact's own
rows, committed before it answers, so the send path's next claim sees the contact UNSUBSCRIBED;
the shared counters (the lists' counts by deltas, exact under `list_counts`' rules; the
campaign's `unsubscribe_count`) follow once the answer has gone. Both go over asyncpg directly
(`unsubscribe_writes`, which says why).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Table,
    all_,
    and_,
    any_,
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from openmailer.adapters.db.list_counts import CONTACTS, LISTS, MEMBERSHIPS, id_array, recount
from openmailer.adapters.db.tables import CampaignRecipient, EmailCampaign, User
from openmailer.adapters.db.unsubscribe_writes import AsyncpgUnsubscribeWrites
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
RECEIVING = ("SUBSCRIBED", "PENDING")
LOCKED = ("BOUNCED", "COMPLAINED")


class SqlAlchemyRecipientPagesStore:
    def __init__(self, engine: AsyncEngine, unsubscribe_writes: AsyncpgUnsubscribeWrites) -> None:
        self._engine = engine
        self._unsubscribe_writes = unsubscribe_writes

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
        return await self._unsubscribe_writes.unsubscribe(tracking_id, reason=reason, at=at)

    async def move_counts(self, unsubscribed: Unsubscribed) -> None:
        await self._unsubscribe_writes.move_counts(unsubscribed)

    async def aclose(self) -> None:
        await self._unsubscribe_writes.aclose()

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
