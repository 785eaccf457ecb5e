"""The declarative base and the naming convention that reproduces the spec's constraint names.

PostgreSQL's own default names are used for primary keys, foreign keys and single-column UNIQUE
constraints (`users_pkey`, `domains_user_id_fkey`, `users_username_key`), so the schema reads as if
the spec's SQL had been run verbatim. Index names follow the spec's `idx_<table>_<column>`
pattern; the spec's other names (`idx_memberships_list`, `unique_contact_per_user`, ...) are given
explicitly.
CHECK constraints are named `ck_<table>_<column>`: declare them with `enum_check(column, values)`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, MetaData, TextClause, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "pk": "%(table_name)s_pkey",
    "fk": "%(table_name)s_%(column_0_name)s_fkey",
    "uq": "%(table_name)s_%(column_0_name)s_key",
    "ix": "idx_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}

CURRENT_TIMESTAMP = text("CURRENT_TIMESTAMP")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def integer_default(value: int) -> TextClause:
    """An unquoted numeric server default, as the spec writes it: `DEFAULT 0`, not `DEFAULT '0'`."""
    return text(str(value))


def enum_check(column: str, values: Iterable[str]) -> CheckConstraint:
    """`CHECK (column IN (...))`, named `ck_<table>_<column>` by the naming convention."""
    allowed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=column)


def subset_check(column: str, values: Iterable[str]) -> CheckConstraint:
    """`CHECK (column <@ ARRAY[...]::text[])`: every element of an array column is allowed."""
    allowed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} <@ ARRAY[{allowed}]::text[]", name=column)


def timestamp_now_column() -> Mapped[datetime]:
    """`TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP` (created_at, updated_at, clicked_at).

    No trigger maintains updated_at: the repositories set it on every change.
    """
    return mapped_column(DateTime(), nullable=False, server_default=CURRENT_TIMESTAMP)
