"""Each user's retention choices in SQL: the cutoff a user's choice sets, for a whole table at
once (a user without a `user_retention_settings` row has the defaults)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, case, func, literal
from sqlalchemy.types import DateTime

from openmailer.adapters.db.tables.retention import UserRetentionSettings
from openmailer.core.retention.policy import cutoff, days

SETTINGS = cast(Table, UserRetentionSettings.__table__)


def cutoff_of_choice(
    choice: ColumnElement[Any], choices: type[StrEnum], default: StrEnum, now: datetime
) -> ColumnElement[datetime]:
    """The instant before which a user's rows are past their choice: `choice` is that user's
    column of SETTINGS (outer-joined: NULL means no row, the default). NULL for "forever", so
    `age < cutoff` is never true for them."""
    chosen = func.coalesce(choice, default.value)
    whens = []
    for option in choices:
        age = days(option)  # type: ignore[arg-type]
        if age is not None:
            whens.append((chosen == option.value, literal(cutoff(now, age), DateTime())))
    return case(*whens, else_=literal(None, DateTime()))
