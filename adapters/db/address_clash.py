"""Writing contacts while another transaction writes the same address.

Contacts have two unique keys: the spec's `unique_contact_per_user (user_id, email)` and
`idx_contacts_user_email_lower (user_id, lower(email))`, which the upserts name as their ON
CONFLICT target. PostgreSQL takes one arbiter only: when another transaction has inserted the
same address, not yet committed, the insert waits on the other key and then fails on it instead
of updating. Run again once the other has committed, the statement sees the row through its
arbiter and updates it, so the statement runs in a savepoint and is repeated on that clash.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Executable
from sqlalchemy.engine import Result
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

EXACT_ADDRESS_KEY = "unique_contact_per_user"
# Each repeat follows a commit of the same address by another writer; three are already rare.
ATTEMPTS = 4


def is_exact_address_clash(error: IntegrityError) -> bool:
    cause = getattr(error.orig, "__cause__", None)
    constraint = getattr(cause, "constraint_name", None)
    return constraint == EXACT_ADDRESS_KEY or (
        constraint is None and EXACT_ADDRESS_KEY in str(error.orig)
    )


async def execute_through_address_clashes(
    conn: AsyncConnection, statement: Executable, parameters: Any = None
) -> Result[Any]:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            async with conn.begin_nested():
                return await conn.execute(statement, parameters)
        except IntegrityError as error:
            if attempt == ATTEMPTS or not is_exact_address_clash(error):
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")
