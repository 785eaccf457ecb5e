"""Contact history per each user's choice: left memberships and status overrides older than the
choice go; a user who keeps history forever (the default) keeps it; the contact, its status and
its unsubscribe stay whatever the choice."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.db.retention.store import SqlAlchemyRetentionSettings
from openmailer.core.retention.policy import ContactHistory, RetentionSettings
from tests.integration.retention.retention_helpers import (
    Seed,
    days_ago,
    dry_then_real_then_again,
    job_named,
)

pytestmark = pytest.mark.integration


async def history_of(seed: Seed, user_id: int) -> dict[str, int]:
    """For each age (400 and 1200 days): an unsubscribed contact in a list it left that long
    ago (`left:<age>`) and an override as old (`override:<age>`); and a membership of 2000 days
    that is still ACTIVE (`active`)."""
    ids = {}
    contact_list = await seed.contact_list(user_id)
    for age in (400, 1200):
        contact = await seed.contact(
            user_id, status="UNSUBSCRIBED", created=days_ago(2000), unsubscribed=days_ago(age)
        )
        ids[f"left:{age}"] = await seed.member(
            contact, contact_list, status="REMOVED", created=days_ago(2000), removed=days_ago(age)
        )
        ids[f"override:{age}"] = await seed.override(contact, user_id, created=days_ago(age))
    old_member = await seed.contact(user_id, created=days_ago(2000))
    ids["active"] = await seed.member(old_member, contact_list, created=days_ago(2000))
    return ids


def named(history: dict[int, dict[str, int]], prefix: str) -> dict[tuple[int, str], int]:
    return {
        (user, name): row
        for user, ids in history.items()
        for name, row in ids.items()
        if name.startswith(prefix)
    }


async def test_each_user_keeps_contact_history_as_long_as_they_chose(engine: AsyncEngine) -> None:
    seed = Seed(engine)
    one_year, three_years, forever, default = [await seed.user() for _ in range(4)]
    settings = SqlAlchemyRetentionSettings(engine)  # the store the settings API writes through
    await settings.put(one_year, RetentionSettings(contact_history=ContactHistory.ONE_YEAR))
    await settings.put(three_years, RetentionSettings(contact_history=ContactHistory.THREE_YEARS))
    await settings.put(forever, RetentionSettings(contact_history=ContactHistory.FOREVER))
    # `default` has no settings row: the default, forever.
    history = {
        user: await history_of(seed, user) for user in (one_year, three_years, forever, default)
    }
    contacts_before = await seed.rows("SELECT id, status, unsubscribed_at FROM contacts")

    dry, real, again = await dry_then_real_then_again(
        job_named("contact-history"),
        engine,
        seed,
        ["contact_list_memberships", "contact_status_overrides"],
        batch_size=2,
    )

    assert dry == real == {"contact_list_memberships": 3, "contact_status_overrides": 3}
    assert again == {"contact_list_memberships": 0, "contact_status_overrides": 0}
    memberships = {**named(history, "left"), **named(history, "active")}
    overrides = named(history, "override")
    gone = {(one_year, "400"), (one_year, "1200"), (three_years, "1200")}
    assert await seed.ids("contact_list_memberships") == {
        row for (user, name), row in memberships.items() if (user, name[5:]) not in gone
    }
    assert await seed.ids("contact_status_overrides") == {
        row for (user, name), row in overrides.items() if (user, name[9:]) not in gone
    }
    # The contacts themselves, their status and their unsubscribe are not history.
    assert await seed.rows("SELECT id, status, unsubscribed_at FROM contacts") == contacts_before
