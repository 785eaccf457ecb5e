"""The campaign send path bound to its ports once: what the send controllers, the workers'
actors and the scheduler's periodic jobs call (core/campaigns/services/control.py and
delivery.py)."""

from __future__ import annotations

from collections.abc import Sequence

from openmailer.core.accounts.model import Principal
from openmailer.core.campaigns.model import Campaign
from openmailer.core.campaigns.services import control
from openmailer.core.campaigns.services.control import TestResult
from openmailer.core.campaigns.services.delivery import BatchSender, DeliveryPorts
from openmailer.core.campaigns.services.preflight import PreflightPorts
from openmailer.core.ports.campaign_sending import Lane


class CampaignSendingService:
    def __init__(self, delivery: DeliveryPorts, preflight: PreflightPorts) -> None:
        self.delivery = delivery
        self.preflight = preflight
        self.batches = BatchSender(delivery)

    async def start(self, principal: Principal, campaign_id: int) -> Campaign:
        return await control.start(
            principal, campaign_id, delivery=self.delivery, preflight=self.preflight
        )

    async def pause(self, principal: Principal, campaign_id: int) -> Campaign:
        return await control.pause(principal, campaign_id, delivery=self.delivery)

    async def resume(self, principal: Principal, campaign_id: int) -> Campaign:
        return await control.resume(principal, campaign_id, delivery=self.delivery)

    async def retry_failed(self, principal: Principal, campaign_id: int) -> tuple[Campaign, int]:
        return await control.retry_failed(principal, campaign_id, delivery=self.delivery)

    async def send_test(
        self, principal: Principal, campaign_id: int, emails: Sequence[str]
    ) -> list[TestResult]:
        return await control.send_test(principal, campaign_id, emails, delivery=self.delivery)

    # --- workers and the scheduler ---------------------------------------------------------

    async def prepare(self, user_id: int, campaign_id: int) -> int | None:
        return await control.prepare(
            user_id, campaign_id, delivery=self.delivery, preflight=self.preflight
        )

    async def send_batch(self, user_id: int, campaign_id: int, lane: Lane | None = None) -> None:
        await self.batches.run(user_id, campaign_id, lane)

    async def reconcile(self) -> list[int]:
        return await control.reconcile(delivery=self.delivery)

    async def start_due(self) -> list[int]:
        return await control.start_due(delivery=self.delivery, preflight=self.preflight)
