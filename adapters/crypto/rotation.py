"""Re-encrypts every sealed column under the newest key (`openmailer keys rotate`).

Each feature adds its sealed columns to SEALED_COLUMNS (TOTP secrets, provider configurations;
DKIM private keys next). Each row is updated only if it still holds the ciphertext that was
read, so a concurrent change is never overwritten; a ciphertext under an unknown key id stops
the rotation (fail closed) before anything of that table is written.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.crypto.secret_box import AesGcmSecretBox
from openmailer.adapters.db.tables.campaigns import TrackingKey
from openmailer.adapters.db.tables.contacts import ErasureKey
from openmailer.adapters.db.tables.sending import Domain as DomainRow
from openmailer.adapters.db.tables.sending import EmailProvider
from openmailer.adapters.db.tables.users import User as UserRow
from openmailer.core.domains.keys import SEALED_COLUMNS as DKIM_SEALED_COLUMNS

# A mapped class's __table__ is typed FromClause; it is a Table.
SEALED_COLUMNS: tuple[tuple[Table, str], ...] = (
    (cast(Table, UserRow.__table__), "two_factor_secret"),
    *((cast(Table, DomainRow.__table__), column) for column in DKIM_SEALED_COLUMNS),
    (cast(Table, EmailProvider.__table__), "configuration"),
    (cast(Table, ErasureKey.__table__), "sealed_key"),
    (cast(Table, TrackingKey.__table__), "sealed_key"),
)


async def rotate_sealed_columns(
    engine: AsyncEngine,
    box: AesGcmSecretBox,
    columns: tuple[tuple[Table, str], ...] = SEALED_COLUMNS,
) -> int:
    """The number of values re-encrypted."""
    rotated = 0
    for table, column_name in columns:
        column = table.c[column_name]
        async with engine.begin() as conn:
            rows = (await conn.execute(select(table.c.id, column).where(column.is_not(None)))).all()
            for row_id, sealed in rows:
                if not box.needs_rotation(sealed):
                    continue
                where = {"table": table.name, "column": column_name, "row_id": row_id}
                plaintext = box.open(sealed, **where)
                await conn.execute(
                    update(table)
                    .where(table.c.id == row_id, column == sealed)
                    .values({column_name: box.seal(plaintext, **where)})
                )
                rotated += 1
    return rotated
