"""`SqlAlchemyProviderRepository`: the `email_providers` table (configurations stay sealed)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Sequence, Table, case, delete, func, insert, select, true, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openmailer.adapters.db.tables.sending import EmailProvider
from openmailer.adapters.db.unit_of_work import Statements, statements_on
from openmailer.adapters.db.users import from_db_time, to_db_time
from openmailer.core.errors import Conflict
from openmailer.core.pages import Page
from openmailer.core.ports.sending import UPDATABLE_PROVIDER_COLUMNS, NewProviderRecord
from openmailer.core.sending.model import Provider, ProviderStatus

PROVIDERS = cast(Table, EmailProvider.__table__)  # a mapped class's __table__ is typed FromClause
ID_SEQUENCE = Sequence("email_providers_id_seq")
# idx_user_default_provider: two defaults set at once, the second one's commit fails.
DEFAULT_TAKEN = Conflict(
    "another default provider was set at the same time; try again", code="default_provider_taken"
)


def _to_provider(row: RowMapping) -> Provider:
    now = datetime.now(UTC)
    return Provider(
        id=row["id"],
        user_id=row["user_id"],
        domain_id=row["domain_id"],
        provider_type=row["provider_type"],
        provider_name=row["provider_name"],
        sealed_configuration=row["configuration"],
        is_active=row["is_active"] is not False,
        is_default=row["is_default"] is True,
        priority=row["priority"] or 0,
        daily_limit=row["daily_limit"],
        monthly_limit=row["monthly_limit"],
        status=row["status"] or ProviderStatus.ACTIVE.value,
        last_error=row["last_error"],
        last_error_at=from_db_time(row["last_error_at"]),
        webhook_token=row["webhook_token"],
        created_at=from_db_time(row["created_at"]) or now,
        updated_at=from_db_time(row["updated_at"]) or now,
    )


async def _unset_default(conn: AsyncConnection, user_id: int, *, keep: int) -> None:
    await conn.execute(
        update(PROVIDERS)
        .where(PROVIDERS.c.user_id == user_id, PROVIDERS.c.is_default == true())
        .where(PROVIDERS.c.id != keep)
        .values(is_default=False, updated_at=func.now())
    )


class SqlAlchemyProviderRepository:
    def __init__(self, target: AsyncEngine | Statements) -> None:
        self._db = statements_on(target)

    async def add(self, record: NewProviderRecord, *, seal: Callable[[int], str]) -> Provider:
        try:
            async with self._db.write() as conn:
                # The id first: the sealed configuration is bound to its row.
                provider_id = int(await conn.scalar(ID_SEQUENCE.next_value()) or 0)
                if record.is_default:
                    await _unset_default(conn, record.user_id, keep=provider_id)
                values = {
                    "id": provider_id,
                    "user_id": record.user_id,
                    "provider_type": record.provider_type,
                    "provider_name": record.provider_name,
                    "configuration": seal(provider_id),
                    "is_active": record.is_active,
                    "is_default": record.is_default,
                    "priority": record.priority,
                    "daily_limit": record.daily_limit,
                    "monthly_limit": record.monthly_limit,
                }
                row = (
                    await conn.execute(insert(PROVIDERS).values(values).returning(PROVIDERS))
                ).one()
        except IntegrityError:
            raise DEFAULT_TAKEN from None
        return _to_provider(row._mapping)

    async def get(self, user_id: int, provider_id: int) -> Provider | None:
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    select(PROVIDERS).where(
                        PROVIDERS.c.id == provider_id, PROVIDERS.c.user_id == user_id
                    )
                )
            ).first()
        return None if row is None else _to_provider(row._mapping)

    async def find_by_webhook_token(self, token: str) -> Provider | None:
        """The provider whose webhook URL this is (any user's: the token is the credential)."""
        async with self._db.read() as conn:
            row = (
                await conn.execute(select(PROVIDERS).where(PROVIDERS.c.webhook_token == token))
            ).first()
        return None if row is None else _to_provider(row._mapping)

    async def list_for_user(self, user_id: int, *, limit: int, offset: int) -> Page[Provider]:
        mine = PROVIDERS.c.user_id == user_id
        async with self._db.read() as conn:
            total = await conn.scalar(select(func.count()).select_from(PROVIDERS).where(mine))
            rows = await conn.execute(
                select(PROVIDERS).where(mine).order_by(PROVIDERS.c.id).limit(limit).offset(offset)
            )
            items = [_to_provider(row._mapping) for row in rows]
        return Page(items=items, total=int(total or 0), limit=limit, offset=offset)

    async def update(
        self, user_id: int, provider_id: int, changes: Mapping[str, Any]
    ) -> Provider | None:
        unknown = set(changes) - UPDATABLE_PROVIDER_COLUMNS
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        try:
            async with self._db.write() as conn:
                if changes.get("is_default") is True:
                    await _unset_default(conn, user_id, keep=provider_id)
                row = (
                    await conn.execute(
                        update(PROVIDERS)
                        .where(PROVIDERS.c.id == provider_id, PROVIDERS.c.user_id == user_id)
                        .values({**changes, "updated_at": func.now()})
                        .returning(PROVIDERS)
                    )
                ).first()
        except IntegrityError:
            raise DEFAULT_TAKEN from None
        return None if row is None else _to_provider(row._mapping)

    async def delete(self, user_id: int, provider_id: int) -> bool:
        statement = (
            delete(PROVIDERS)
            .where(PROVIDERS.c.id == provider_id, PROVIDERS.c.user_id == user_id)
            .returning(PROVIDERS.c.id)
        )
        try:
            async with self._db.write() as conn:
                return (await conn.execute(statement)).first() is not None
        except IntegrityError:
            # email_campaigns.provider_id has no ON DELETE action (the spec's).
            raise Conflict(
                "campaigns use this provider; point them at another one first",
                code="provider_in_use",
            ) from None

    async def record_check(
        self, user_id: int, provider_id: int, *, error: str | None, at: datetime
    ) -> None:
        mine = (PROVIDERS.c.id == provider_id) & (PROVIDERS.c.user_id == user_id)
        if error is None:
            statement = (
                update(PROVIDERS)
                .where(mine, PROVIDERS.c.status == ProviderStatus.ERROR.value)
                .values(status=ProviderStatus.ACTIVE.value, updated_at=func.now())
            )
        else:
            statement = (
                update(PROVIDERS)
                .where(mine)
                .values(
                    status=ProviderStatus.ERROR.value,
                    last_error=error,
                    last_error_at=to_db_time(at),
                    updated_at=func.now(),
                )
            )
        async with self._db.write() as conn:
            await conn.execute(statement)

    async def record_health(self, provider_id: int, *, error: str | None, at: datetime) -> None:
        mine = PROVIDERS.c.id == provider_id
        if error is None:
            statement = (
                update(PROVIDERS)
                .where(mine, PROVIDERS.c.status == ProviderStatus.ERROR.value)
                .values(status=ProviderStatus.ACTIVE.value)
            )
        else:
            # A DISABLED provider stays disabled; its last error is still worth keeping.
            statement = (
                update(PROVIDERS)
                .where(mine)
                .values(
                    status=case(
                        (PROVIDERS.c.status == ProviderStatus.DISABLED.value, PROVIDERS.c.status),
                        else_=ProviderStatus.ERROR.value,
                    ),
                    last_error=error,
                    last_error_at=to_db_time(at),
                )
            )
        async with self._db.write() as conn:
            await conn.execute(statement)
