"""Each user's retention choices in SQL: the cutoff a user's choice sets, for a whole table at
once (a user without a `user_retention_settings` row has the defaults), as an SQLAlchemy
expression (`cutoff_of_choice`) or, for statements written as text, a JOIN giving every row its
owner's cutoff (`cutoff_join`: every finite choice becomes one (choice, cutoff) pair bound as two
arrays; a "forever" choice has no pair, so that user's rows never join and are never aged)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, case, func, literal
from sqlalchemy.types import DateTime

from openmailer.adapters.db.tables.retention import UserRetentionSettings
from openmailer.core.retention.policy import (
    CampaignReports,
    ClickLogs,
    ContactHistory,
    cutoff,
    days,
)

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


Choice = CampaignReports | ClickLogs | ContactHistory

_JOIN = """
LEFT JOIN user_retention_settings settings ON settings.user_id = {owner}
JOIN unnest(CAST(:cutoff_choices AS TEXT[]), CAST(:cutoff_instants AS TIMESTAMP[]))
  AS cutoff(choice, before) ON cutoff.choice = coalesce(settings.{setting}, :cutoff_default)
"""


def cutoff_join(setting: str, owner: str) -> str:
    """A JOIN giving each row of `owner`'s user `cutoff.before`, the instant before which its
    rows have aged (bind `cutoff_parameters`). `setting` is a column of user_retention_settings,
    `owner` an SQL expression: both constants of the calling module, never input."""
    return _JOIN.format(setting=setting, owner=owner)


def cutoff_parameters(
    now: datetime,
    choices: type[CampaignReports] | type[ClickLogs] | type[ContactHistory],
    default: Choice,
) -> dict[str, object]:
    finite = [(choice.value, age) for choice in choices if (age := days(choice)) is not None]
    return {
        "cutoff_choices": [choice for choice, _ in finite],
        "cutoff_instants": [cutoff(now, age) for _, age in finite],
        "cutoff_default": default.value,
    }
