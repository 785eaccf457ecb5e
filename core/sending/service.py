"""The sending area bound to its ports once: what controllers, actors and commands call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openmailer.core.accounts.model import Principal
from openmailer.core.pages import KeysetPage, Page
from openmailer.core.ports.accounts import Clock, SecretBox
from openmailer.core.ports.sending import (
    OutboxStore,
    ProviderClient,
    ProviderConfigurations,
    ProviderRepository,
)
from openmailer.core.registry import Registry
from openmailer.core.sending.contract import CheckReport, ProviderType
from openmailer.core.sending.model import OutboxMessage, Provider, ProviderDraft, ProviderView
from openmailer.core.sending.services import outbox, providers


@dataclass(frozen=True)
class SendingPorts:
    providers: ProviderRepository
    outbox: OutboxStore
    configurations: ProviderConfigurations
    secret_box: SecretBox
    clock: Clock
    provider_types: Registry[ProviderType]


class SendingService:
    def __init__(self, ports: SendingPorts) -> None:
        self.ports = ports

    @property
    def _configured(self) -> dict[str, Any]:
        p = self.ports
        return {
            "provider_types": p.provider_types,
            "configurations": p.configurations,
            "secret_box": p.secret_box,
        }

    # --- providers ----------------------------------------------------------------------------

    def view(self, provider: Provider) -> ProviderView:
        return providers.view_of(provider, **self._configured)

    async def create_provider(self, principal: Principal, draft: ProviderDraft) -> ProviderView:
        return await providers.create_provider(
            principal, draft, providers=self.ports.providers, **self._configured
        )

    async def get_provider(self, principal: Principal, provider_id: int) -> ProviderView:
        provider = await providers.get_provider(
            principal, provider_id, providers=self.ports.providers
        )
        return self.view(provider)

    async def list_providers(
        self, principal: Principal, *, limit: int, offset: int
    ) -> Page[ProviderView]:
        page = await providers.list_providers(
            principal, limit=limit, offset=offset, providers=self.ports.providers
        )
        return Page(
            items=[self.view(item) for item in page.items],
            total=page.total,
            limit=page.limit,
            offset=page.offset,
        )

    async def update_provider(
        self, principal: Principal, provider_id: int, changes: Mapping[str, Any]
    ) -> ProviderView:
        provider = await providers.update_provider(
            principal, provider_id, changes, providers=self.ports.providers, **self._configured
        )
        return self.view(provider)

    async def delete_provider(self, principal: Principal, provider_id: int) -> None:
        await providers.delete_provider(principal, provider_id, providers=self.ports.providers)

    async def check_provider(self, principal: Principal, provider_id: int) -> CheckReport:
        return await providers.check_provider(
            principal,
            provider_id,
            providers=self.ports.providers,
            outbox=self.ports.outbox,
            clock=self.ports.clock,
            **self._configured,
        )

    async def open_client(
        self, principal: Principal, provider_id: int
    ) -> tuple[ProviderType, ProviderClient]:
        """The client of one of the caller's providers; the caller closes it (`aclose`)."""
        provider = await providers.get_provider(
            principal, provider_id, providers=self.ports.providers
        )
        return await providers.open_client(
            provider, outbox=self.ports.outbox, clock=self.ports.clock, **self._configured
        )

    # --- outbox -------------------------------------------------------------------------------

    async def list_outbox(
        self, principal: Principal, *, limit: int, cursor: str | None
    ) -> KeysetPage[OutboxMessage]:
        return await outbox.list_outbox(
            principal, limit=limit, cursor=cursor, outbox=self.ports.outbox
        )

    async def get_outbox_message(self, principal: Principal, outbox_id: int) -> OutboxMessage:
        return await outbox.get_outbox_message(principal, outbox_id, outbox=self.ports.outbox)
