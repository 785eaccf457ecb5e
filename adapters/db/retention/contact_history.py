"""Contact history, per each user's choice (1 year / 3 years / forever; default forever):
memberships the contact left (REMOVED, counted from when it was removed) and the recorded
status overrides (migration 024), older than the choice.

A contact's current status is never history: the contact row, its status and unsubscribe time
are not touched, so an unsubscribe outlives every retention period. REMOVED memberships are not
in the lists' counts (those count ACTIVE ones), so the counts stay as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.db.list_counts import LISTS, MEMBERSHIPS
from openmailer.adapters.db.retention.batches import in_batches
from openmailer.adapters.db.retention.choices import SETTINGS, cutoff_of_choice
from openmailer.adapters.db.retention.fixed_periods import deleting
from openmailer.adapters.db.tables.contacts import ContactStatusOverride
from openmailer.core.retention.model import RetentionRun
from openmailer.core.retention.policy import DEFAULT_SETTINGS, ContactHistory

OVERRIDES = cast(Table, ContactStatusOverride.__table__)


async def purge_contact_history(engine: AsyncEngine, run: RetentionRun) -> Mapping[str, int]:
    kept_since = cutoff_of_choice(
        SETTINGS.c.contact_history, ContactHistory, DEFAULT_SETTINGS.contact_history, run.now
    )
    left_memberships = (
        select(MEMBERSHIPS.c.id)
        .select_from(
            MEMBERSHIPS.join(LISTS, LISTS.c.id == MEMBERSHIPS.c.list_id).outerjoin(
                SETTINGS, SETTINGS.c.user_id == LISTS.c.user_id
            )
        )
        .where(
            MEMBERSHIPS.c.status == "REMOVED",
            func.coalesce(MEMBERSHIPS.c.unsubscribed_at, MEMBERSHIPS.c.created_at) < kept_since,
        )
    )
    overrides = (
        select(OVERRIDES.c.id)
        .select_from(OVERRIDES.outerjoin(SETTINGS, SETTINGS.c.user_id == OVERRIDES.c.user_id))
        .where(OVERRIDES.c.created_at < kept_since)
    )
    return {
        "contact_list_memberships": await in_batches(
            engine, run, MEMBERSHIPS, left_memberships, deleting(MEMBERSHIPS)
        ),
        "contact_status_overrides": await in_batches(
            engine, run, OVERRIDES, overrides, deleting(OVERRIDES)
        ),
    }
