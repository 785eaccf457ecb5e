"""`SqlAlchemyDomainRepository`: the `domains` table (private keys arrive and leave sealed)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select, text, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.db.tables.sending import Domain as DomainRow
from openmailer.adapters.db.unit_of_work import Statements, statements_on
from openmailer.adapters.db.users import from_db_time, to_db_time
from openmailer.core.domains.model import CheckState, DkimKeySet, Domain, DomainStatus
from openmailer.core.errors import Conflict
from openmailer.core.pages import Page
from openmailer.core.ports.domains import NewDomain, VerificationRecord

DOMAINS = cast(Table, DomainRow.__table__)  # a mapped class's __table__ is typed FromClause
ACTIVE = {
    "selector": "dkim_selector",
    "rsa_public_key": "dkim_public_key",
    "rsa_private_key_sealed": "dkim_private_key",
    "ed25519_public_key": "dkim_ed25519_public_key",
    "ed25519_private_key_sealed": "dkim_ed25519_private_key",
}
PENDING = {
    "selector": "dkim_pending_selector",
    "rsa_public_key": "dkim_pending_public_key",
    "rsa_private_key_sealed": "dkim_pending_private_key",
    "ed25519_public_key": "dkim_pending_ed25519_public_key",
    "ed25519_private_key_sealed": "dkim_pending_ed25519_private_key",
}


def _key_set(row: RowMapping, columns: dict[str, str]) -> DkimKeySet | None:
    values = {field: row[column] for field, column in columns.items()}
    return None if any(value is None for value in values.values()) else DkimKeySet(**values)


def _key_columns(keys: DkimKeySet | None, columns: dict[str, str]) -> dict[str, Any]:
    return {column: None if keys is None else getattr(keys, f) for f, column in columns.items()}


def _check(row: RowMapping, prefix: str, *, record: bool = True) -> CheckState:
    return CheckState(
        verified=row[f"{prefix}_verified"] is True,
        last_checked_at=from_db_time(row[f"{prefix}_last_checked_at"]),
        record=row[f"{prefix}_record"] if record else None,
    )


def _to_domain(row: RowMapping) -> Domain:
    now = datetime.now(UTC)
    return Domain(
        id=row["id"],
        user_id=row["user_id"],
        name=row["domain_name"],
        status=DomainStatus(row["status"]),
        verification_token=row["verification_token"] or "",
        dkim=_key_set(row, ACTIVE),
        pending_dkim=_key_set(row, PENDING),
        ownership=_check(row, "ownership", record=False),
        spf=_check(row, "spf"),
        # The spec has no dkim_record column; what the check found is in its detail.
        dkim_check=_check(row, "dkim", record=False),
        dmarc=_check(row, "dmarc"),
        verified_at=from_db_time(row["verified_at"]),
        created_at=from_db_time(row["created_at"]) or now,
        updated_at=from_db_time(row["updated_at"]) or now,
    )


def _check_values(prefix: str, state: CheckState | None, *, record: bool) -> dict[str, Any]:
    if state is None:
        return {}
    values: dict[str, Any] = {
        f"{prefix}_verified": state.verified,
        f"{prefix}_last_checked_at": to_db_time(state.last_checked_at),
    }
    if record:
        values[f"{prefix}_record"] = state.record
    return values


class SqlAlchemyDomainRepository:
    def __init__(self, target: AsyncEngine | Statements) -> None:
        self._db = statements_on(target)

    async def new_id(self) -> int:
        async with self._db.write() as conn:
            value = await conn.scalar(
                text("SELECT nextval(pg_get_serial_sequence('domains', 'id'))")
            )
        return int(value)

    async def add(self, domain: NewDomain) -> Domain:
        values = {
            "id": domain.id,
            "user_id": domain.user_id,
            "domain_name": domain.name,
            "status": DomainStatus.PENDING.value,
            "verification_token": domain.verification_token,
            **_key_columns(domain.dkim, ACTIVE),
        }
        try:
            async with self._db.write() as conn:
                row = (await conn.execute(insert(DOMAINS).values(values).returning(DOMAINS))).one()
        except IntegrityError:
            # the token is 24 random bytes: a clash is the name's
            raise Conflict(
                f"the domain {domain.name} is already registered", code="domain_taken"
            ) from None
        return _to_domain(row._mapping)

    async def get(self, user_id: int, domain_id: int) -> Domain | None:
        statement = select(DOMAINS).where(DOMAINS.c.id == domain_id, DOMAINS.c.user_id == user_id)
        async with self._db.read() as conn:
            row = (await conn.execute(statement)).first()
        return None if row is None else _to_domain(row._mapping)

    async def find_by_name(self, user_id: int, name: str) -> Domain | None:
        statement = select(DOMAINS).where(
            DOMAINS.c.user_id == user_id, DOMAINS.c.domain_name == name
        )
        async with self._db.read() as conn:
            row = (await conn.execute(statement)).first()
        return None if row is None else _to_domain(row._mapping)

    async def get_any(self, domain_id: int) -> Domain | None:
        async with self._db.read() as conn:
            row = (await conn.execute(select(DOMAINS).where(DOMAINS.c.id == domain_id))).first()
        return None if row is None else _to_domain(row._mapping)

    async def list_for_user(self, user_id: int, *, limit: int, offset: int) -> Page[Domain]:
        mine = DOMAINS.c.user_id == user_id
        async with self._db.read() as conn:
            total = await conn.scalar(select(func.count()).select_from(DOMAINS).where(mine))
            rows = await conn.execute(
                select(DOMAINS).where(mine).order_by(DOMAINS.c.id).limit(limit).offset(offset)
            )
            items = [_to_domain(row._mapping) for row in rows]
        return Page(items=items, total=int(total or 0), limit=limit, offset=offset)

    async def ids_after(self, after_id: int, *, limit: int) -> list[int]:
        statement = (
            select(DOMAINS.c.id).where(DOMAINS.c.id > after_id).order_by(DOMAINS.c.id).limit(limit)
        )
        async with self._db.read() as conn:
            return list((await conn.scalars(statement)).all())

    async def delete(self, user_id: int, domain_id: int) -> bool:
        statement = (
            delete(DOMAINS)
            .where(DOMAINS.c.id == domain_id, DOMAINS.c.user_id == user_id)
            .returning(DOMAINS.c.id)
        )
        async with self._db.write() as conn:
            return (await conn.execute(statement)).first() is not None

    async def set_pending_dkim(self, user_id: int, domain_id: int, keys: DkimKeySet) -> bool:
        statement = (
            update(DOMAINS)
            .where(DOMAINS.c.id == domain_id, DOMAINS.c.user_id == user_id)
            .values(**_key_columns(keys, PENDING), updated_at=func.now())
            .returning(DOMAINS.c.id)
        )
        async with self._db.write() as conn:
            return (await conn.execute(statement)).first() is not None

    async def promote_pending_dkim(self, domain_id: int, keys: DkimKeySet) -> bool:
        statement = (
            update(DOMAINS)
            .where(DOMAINS.c.id == domain_id, DOMAINS.c.dkim_pending_selector == keys.selector)
            .values(
                **_key_columns(keys, ACTIVE),
                **_key_columns(None, PENDING),
                updated_at=func.now(),
            )
            .returning(DOMAINS.c.id)
        )
        async with self._db.write() as conn:
            return (await conn.execute(statement)).first() is not None

    async def record_verification(self, domain_id: int, record: VerificationRecord) -> None:
        values: dict[str, Any] = {
            "status": record.status.value,
            "verified_at": to_db_time(record.verified_at),
            "updated_at": to_db_time(record.checked_at),
            **_check_values("ownership", record.ownership, record=False),
            **_check_values("spf", record.spf, record=True),
            **_check_values("dkim", record.dkim, record=False),
            **_check_values("dmarc", record.dmarc, record=True),
        }
        async with self._db.write() as conn:
            await conn.execute(update(DOMAINS).where(DOMAINS.c.id == domain_id).values(values))
