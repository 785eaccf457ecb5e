"""A campaign to the recording SMTP sink, sent by real workers, and what the sink saw: shared by
the worker reliability and the service restart tests."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from tests.integration.accounts.accounts_helpers import Caller, session_for
from tests.integration.campaign_sending.send_helpers import audience, linked_template
from tests.integration.campaign_sending.worker_helpers import RecordingHandler
from tests.integration.campaigns.campaign_helpers import add_domain, create_campaign
from tests.integration.campaigns.conftest import World
from tests.integration.sending.failover_helpers import smtp_provider_at
from tests.integration.sending.smtp_sink import CountingController

BATCH = 25
LEASE_SECONDS = 3
# The runs are at 20,000 recipients (OPENMAILER_TEST_RELIABILITY_RECIPIENTS=20000); CI's
# at 1,500, enough for the kills and pauses to land mid-campaign while the suite stays short.
RECIPIENTS = int(os.environ.get("OPENMAILER_TEST_RELIABILITY_RECIPIENTS", "1500"))


def share(fraction: float) -> int:
    """That fraction of the campaign's recipients."""
    return max(1, int(RECIPIENTS * fraction))


def patience(seconds: float) -> float:
    """A wait written for 1,500 recipients, grown with the campaign."""
    return seconds * max(1.0, RECIPIENTS / 1500)


@dataclass
class Sink:
    controller: CountingController
    handler: RecordingHandler


async def smtp_campaign(world: World, sink: Sink, recipients: int, **fields: Any) -> int:
    owner = world.owner
    admin: Caller = await session_for(world.accounts, owner.user)  # providers need a session
    await smtp_provider_at(world.client, admin, sink.controller.port, is_default=True)
    domain_id, domain = await add_domain(world.accounts, owner.user, verified=True)
    list_id = await audience(world.engine, owner.user, recipients)
    campaign = await create_campaign(
        world.client,
        owner.caller,
        template_id=await linked_template(world.engine, owner.user),
        list_id=list_id,
        domain_id=domain_id,
        from_email=f"news@{domain}",
        **{"send_speed": 5000, **fields},
    )
    return int(campaign["id"])


async def send(world: World, campaign_id: int) -> None:
    response = await world.client.post(
        f"/api/v1/campaigns/{campaign_id}/send", headers=world.owner.caller.headers
    )
    assert response.status_code == 202, response.text


async def campaign(world: World, campaign_id: int) -> dict[str, Any]:
    response = await world.client.get(
        f"/api/v1/campaigns/{campaign_id}", headers=world.owner.caller.headers
    )
    result: dict[str, Any] = response.json()
    return result


async def expected_message_ids(world: World, campaign_id: int) -> set[str]:
    async with world.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT tracking_id FROM campaign_recipients WHERE campaign_id = :c"),
            {"c": campaign_id},
        )
        return {row.tracking_id for row in rows}


def sent_tracking_ids(handler: RecordingHandler, campaign_id: int) -> dict[str, int]:
    return {
        message_id[1:].split(".", 1)[0]: count
        for message_id, count in handler.message_ids.items()
        if f".{campaign_id}@" in message_id
    }


async def finished(world: World, campaign_id: int) -> bool:
    return (await campaign(world, campaign_id))["status"] == "SENT"
