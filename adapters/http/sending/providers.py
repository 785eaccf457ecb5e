"""`/api/v1/providers`: the caller's sending providers. Configurations are sealed at rest and
never returned: settings that are not credentials are shown, credentials only as set/unset."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from openmailer.adapters.http.pages import OffsetPage
from openmailer.adapters.http.pagination import PageParameters, ResourceId
from openmailer.adapters.http.security import CurrentPrincipal, access
from openmailer.adapters.http.sending.dependencies import (
    SENDING_DEPENDENCIES,
    SendingApi,
)
from openmailer.adapters.http.strict_input import strict_body
from openmailer.core.accounts.scopes import Scope
from openmailer.core.events.model import EVENT_SOURCES
from openmailer.core.sending.contract import PROVIDER_TYPE_PATTERN, CheckReport
from openmailer.core.sending.model import ProviderDraft, ProviderView

ProviderTypeName = Annotated[str, msgspec.Meta(pattern=PROVIDER_TYPE_PATTERN, examples=["SMTP"])]
ProviderName = Annotated[
    str, msgspec.Meta(pattern=r"^[^\x00-\x1f\x7f]{1,255}$", examples=["office relay"])
]
Configuration = Annotated[
    dict[str, Any],
    msgspec.Meta(
        max_length=64,
        description="validated by the type's schema; a wrong field is a 422 naming it",
        examples=[{"host": "smtp.example.com", "port": 587, "username": "u", "password": "p"}],
    ),
]
# Litestar drops a constraint whose value is 0 from the document; `extra` states it.
Priority = Annotated[
    int, msgspec.Meta(ge=0, le=1_000_000, extra_json_schema={"extra": {"minimum": 0}})
]
Limit = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]


class ProviderCreate(msgspec.Struct):
    provider_type: ProviderTypeName
    provider_name: ProviderName
    configuration: Configuration
    is_active: bool = True
    is_default: bool = False
    priority: Priority = 0
    daily_limit: Limit | None = None
    monthly_limit: Limit | None = None


class ProviderUpdate(msgspec.Struct):
    """Omitted fields stay. `configuration` is merged into the stored one (a field set to null
    is removed); `daily_limit: null` removes the limit."""

    provider_name: ProviderName | msgspec.UnsetType = msgspec.UNSET
    configuration: Configuration | msgspec.UnsetType = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET
    is_default: bool | msgspec.UnsetType = msgspec.UNSET
    priority: Priority | msgspec.UnsetType = msgspec.UNSET
    daily_limit: Limit | msgspec.UnsetType | None = msgspec.UNSET
    monthly_limit: Limit | msgspec.UnsetType | None = msgspec.UNSET


class ProviderRead(msgspec.Struct):
    id: int
    provider_type: str
    provider_name: str
    settings: dict[str, Any]
    credentials: dict[str, Literal["set", "unset"]]
    is_active: bool
    is_default: bool
    priority: int
    daily_limit: int | None
    monthly_limit: int | None
    status: str
    last_error: str | None
    last_error_at: datetime | None
    domain_id: int | None
    created_at: datetime
    updated_at: datetime
    # Where the provider posts its events (docs/webhooks.md), after the public base URL;
    # null for types that report none.
    webhook_path: str | None = None

    @classmethod
    def of(cls, view: ProviderView) -> ProviderRead:
        p = view.provider
        return cls(
            id=p.id,
            provider_type=p.provider_type,
            provider_name=p.provider_name,
            settings=view.settings,
            credentials={
                name: "set" if present else "unset" for name, present in view.credentials.items()
            },
            is_active=p.is_active,
            is_default=p.is_default,
            priority=p.priority,
            daily_limit=p.daily_limit,
            monthly_limit=p.monthly_limit,
            status=p.status,
            last_error=p.last_error,
            last_error_at=p.last_error_at,
            domain_id=p.domain_id,
            created_at=p.created_at,
            updated_at=p.updated_at,
            webhook_path=(
                f"/webhooks/{p.webhook_token}" if p.provider_type in EVENT_SOURCES else None
            ),
        )


class ProviderCheck(msgspec.Struct):
    """`ok: false` names the step that failed (`connect`, `tls`, `ehlo`, `auth`, ...) and what
    the service answered; the provider's `status` and `last_error` keep it."""

    ok: bool
    stage: str | None
    detail: str | None

    @classmethod
    def of(cls, report: CheckReport) -> ProviderCheck:
        return cls(ok=report.ok, stage=report.stage, detail=report.detail)


class ProviderController(Controller):
    path = "/providers"
    tags = ["providers"]
    dependencies = SENDING_DEPENDENCIES

    @post(
        "",
        operation_id="createProvider",
        status_code=HTTP_201_CREATED,
        **access(Scope.WRITE_CAMPAIGNS),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        principal: CurrentPrincipal,
        sending: SendingApi,
        data: JSONBody[ProviderCreate],
    ) -> ProviderRead:
        """A provider of an installed type; `is_default: true` makes it the caller's one
        default (the old default is unset in the same transaction)."""
        data = await strict_body(request, ProviderCreate)
        view = await sending.create_provider(
            principal,
            ProviderDraft(
                provider_type=data.provider_type,
                provider_name=data.provider_name,
                configuration=data.configuration,
                is_active=data.is_active,
                is_default=data.is_default,
                priority=data.priority,
                daily_limit=data.daily_limit,
                monthly_limit=data.monthly_limit,
            ),
        )
        return ProviderRead.of(view)

    @get("", operation_id="listProviders", **access(Scope.READ_CAMPAIGNS))
    async def list_providers(
        self, principal: CurrentPrincipal, sending: SendingApi, pagination: PageParameters
    ) -> OffsetPage[ProviderRead]:
        """The caller's providers, oldest first (failover tries lower `priority` first)."""
        page = await sending.list_providers(
            principal, limit=pagination.limit, offset=pagination.offset
        )
        return OffsetPage.of(page, ProviderRead.of)

    @get("/{provider_id:int}", operation_id="getProvider", **access(Scope.READ_CAMPAIGNS))
    async def get_provider(
        self, principal: CurrentPrincipal, sending: SendingApi, provider_id: ResourceId
    ) -> ProviderRead:
        """One of the caller's providers."""
        return ProviderRead.of(await sending.get_provider(principal, provider_id))

    @patch("/{provider_id:int}", operation_id="updateProvider", **access(Scope.WRITE_CAMPAIGNS))
    async def update(
        self,
        request: Request[Any, Any, Any],
        principal: CurrentPrincipal,
        sending: SendingApi,
        provider_id: ResourceId,
        data: JSONBody[ProviderUpdate],
    ) -> ProviderRead:
        """Change what is given; the configuration is validated again and sealed anew."""
        data = await strict_body(request, ProviderUpdate)
        changes = {
            name: getattr(data, name)
            for name in data.__struct_fields__
            if getattr(data, name) is not msgspec.UNSET
        }
        return ProviderRead.of(await sending.update_provider(principal, provider_id, changes))

    @delete(
        "/{provider_id:int}",
        operation_id="deleteProvider",
        status_code=HTTP_204_NO_CONTENT,
        **access(Scope.WRITE_CAMPAIGNS),
    )
    async def delete_provider(
        self, principal: CurrentPrincipal, sending: SendingApi, provider_id: ResourceId
    ) -> None:
        """Delete one of the caller's providers (409 while campaigns use it)."""
        await sending.delete_provider(principal, provider_id)

    @post(
        "/{provider_id:int}/test",
        operation_id="testProvider",
        status_code=HTTP_200_OK,
        **access(Scope.WRITE_CAMPAIGNS),
    )
    async def test(
        self, principal: CurrentPrincipal, sending: SendingApi, provider_id: ResourceId
    ) -> ProviderCheck:
        """Check the credentials against the real service, sending nothing (SMTP: connect,
        EHLO, STARTTLS, AUTH); a failure answers 200 with `ok: false` and what failed."""
        return ProviderCheck.of(await sending.check_provider(principal, provider_id))
