"""`/api/v1/settings/retention`: how long the caller's data is kept (the spec's "Configurable
Policies"): campaign reports, detailed click logs and contact history.

Reading needs any credential; changing needs a login session, as other account management does
(an API key cannot shorten how long its owner's data lives). A bad choice is 422 naming the
allowed values; a user who never chose has the defaults.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import msgspec
from litestar import Controller, get, patch, put
from litestar.di import NamedDependency
from litestar.params import JSONBody

from openmailer.adapters.http.security import CurrentPrincipal, access
from openmailer.adapters.http.services import service_dependency
from openmailer.core.accounts.scopes import Access
from openmailer.core.retention.policy import (
    CampaignReports,
    ClickLogs,
    ContactHistory,
    RetentionSettings,
)
from openmailer.core.retention.service import RetentionService

RetentionApi = NamedDependency[RetentionService]


def choice_meta(choices: type[StrEnum]) -> msgspec.Meta:
    """A string whose allowed values the document states; the service checks them (422)."""
    allowed = [choice.value for choice in choices]
    return msgspec.Meta(
        description=f"one of {', '.join(allowed)}", extra_json_schema={"enum": allowed}
    )


CampaignReportsChoice = Annotated[str, choice_meta(CampaignReports)]
ClickLogsChoice = Annotated[str, choice_meta(ClickLogs)]
ContactHistoryChoice = Annotated[str, choice_meta(ContactHistory)]


class RetentionSettingsRead(msgspec.Struct):
    campaign_reports: str  # 1y, 2y, forever: then the campaign is archived to its summary
    click_logs: str  # 30d, 90d, 1y: then clicks are aggregated into daily counts
    contact_history: str  # 1y, 3y, forever: left memberships and status overrides

    @classmethod
    def of(cls, settings: RetentionSettings) -> RetentionSettingsRead:
        return cls(
            campaign_reports=settings.campaign_reports.value,
            click_logs=settings.click_logs.value,
            contact_history=settings.contact_history.value,
        )


class RetentionSettingsWrite(msgspec.Struct):
    campaign_reports: CampaignReportsChoice
    click_logs: ClickLogsChoice
    contact_history: ContactHistoryChoice


class RetentionSettingsChange(msgspec.Struct):
    campaign_reports: CampaignReportsChoice | msgspec.UnsetType = msgspec.UNSET
    click_logs: ClickLogsChoice | msgspec.UnsetType = msgspec.UNSET
    contact_history: ContactHistoryChoice | msgspec.UnsetType = msgspec.UNSET


def given(body: msgspec.Struct) -> dict[str, str]:
    return {
        name: value
        for name in body.__struct_fields__
        if (value := getattr(body, name)) is not msgspec.UNSET
    }


class RetentionSettingsController(Controller):
    path = "/settings/retention"
    tags = ["settings"]
    dependencies = {"retention": service_dependency("retention")}

    @get("", operation_id="getRetentionSettings", **access(Access.AUTHENTICATED))
    async def read(
        self, principal: CurrentPrincipal, retention: RetentionApi
    ) -> RetentionSettingsRead:
        """The caller's retention choices (the defaults until changed)."""
        return RetentionSettingsRead.of(await retention.settings_of(principal))

    @put("", operation_id="putRetentionSettings", **access(Access.SESSION))
    async def replace(
        self,
        principal: CurrentPrincipal,
        retention: RetentionApi,
        data: JSONBody[RetentionSettingsWrite],
    ) -> RetentionSettingsRead:
        """Set all three choices; the jobs apply them from their next run."""
        return RetentionSettingsRead.of(await retention.choose(principal, given(data)))

    @patch("", operation_id="changeRetentionSettings", **access(Access.SESSION))
    async def change(
        self,
        principal: CurrentPrincipal,
        retention: RetentionApi,
        data: JSONBody[RetentionSettingsChange],
    ) -> RetentionSettingsRead:
        """Change the choices given; the others stay."""
        return RetentionSettingsRead.of(await retention.choose(principal, given(data)))
