"""`SqlAlchemySuppressions`: which addresses of a transactional send belong to a contact of the
sender's that must get no more mail (BOUNCED, COMPLAINED), found by the
`idx_contacts_user_email_lower` index in one query."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.db.list_counts import CONTACTS
from openmailer.adapters.db.unit_of_work import Statements, statements_on
from openmailer.core.messages.model import SUPPRESSING_STATUSES


class SqlAlchemySuppressions:
    def __init__(self, target: AsyncEngine | Statements) -> None:
        self._db = statements_on(target)

    async def of(self, user_id: int, addresses: Sequence[str]) -> dict[str, str]:
        wanted = sorted({address.strip().lower() for address in addresses})
        address = func.lower(CONTACTS.c.email)
        statement = select(address, CONTACTS.c.status).where(
            CONTACTS.c.user_id == user_id,
            address.in_(wanted),
            CONTACTS.c.status.in_(SUPPRESSING_STATUSES),
        )
        async with self._db.read() as conn:
            return {row[0]: row[1] for row in await conn.execute(statement)}
