"""Configured providers: create, read, change, delete, check their credentials, open a client.

The configuration is validated by its type's schema, then sealed with the secret box bound to
its row (`email_providers.configuration.<id>`); it is never returned, and its credentials are
shown only as set or unset.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from openmailer.core.accounts.model import Principal
from openmailer.core.errors import NotFound, ValidationError
from openmailer.core.pages import Page
from openmailer.core.ports.accounts import Clock, SecretBox
from openmailer.core.ports.sending import (
    UPDATABLE_PROVIDER_COLUMNS,
    NewProviderRecord,
    OutboxStore,
    ProviderClient,
    ProviderConfigurations,
    ProviderContext,
    ProviderRepository,
)
from openmailer.core.registry import Registry
from openmailer.core.sending.contract import CheckReport, ProviderType
from openmailer.core.sending.model import Provider, ProviderDraft, ProviderView

CONFIGURATION_COLUMN = {"table": "email_providers", "column": "configuration"}
MAX_ERROR_CHARS = 2000


def provider_type_of(name: str, provider_types: Registry[ProviderType]) -> ProviderType:
    found = provider_types.get(name)
    if found is None:
        known = ", ".join(sorted(provider_types)) or "none"
        raise ValidationError(
            f"unknown provider type {name!r}; installed: {known}",
            field="provider_type",
            code="unknown_provider_type",
        )
    return found


def _sealer(secret_box: SecretBox, plaintext: bytes) -> Callable[[int], str]:
    def seal(row_id: int) -> str:
        return secret_box.seal(plaintext, row_id=row_id, **CONFIGURATION_COLUMN)

    return seal


def _configuration_of(
    provider: Provider,
    provider_type: ProviderType,
    *,
    configurations: ProviderConfigurations,
    secret_box: SecretBox,
) -> Any:
    data = secret_box.open(
        provider.sealed_configuration, row_id=provider.id, **CONFIGURATION_COLUMN
    )
    return configurations.decode(provider_type, data)


def view_of(
    provider: Provider,
    *,
    provider_types: Registry[ProviderType],
    configurations: ProviderConfigurations,
    secret_box: SecretBox,
) -> ProviderView:
    provider_type = provider_types.get(provider.provider_type)
    if provider_type is None:
        # Its plugin was uninstalled: the row stays readable, its configuration opaque.
        return ProviderView(provider, settings={}, credentials={})
    values = configurations.as_dict(
        _configuration_of(
            provider, provider_type, configurations=configurations, secret_box=secret_box
        )
    )
    secrets = provider_type.secret_fields
    return ProviderView(
        provider,
        settings={name: value for name, value in values.items() if name not in secrets},
        credentials={name: values.get(name) not in (None, "") for name in sorted(secrets)},
    )


async def create_provider(
    principal: Principal,
    draft: ProviderDraft,
    *,
    providers: ProviderRepository,
    provider_types: Registry[ProviderType],
    configurations: ProviderConfigurations,
    secret_box: SecretBox,
) -> ProviderView:
    provider_type = provider_type_of(draft.provider_type, provider_types)
    configuration = configurations.validate(provider_type, draft.configuration)
    record = NewProviderRecord(
        user_id=principal.user.id,
        provider_type=provider_type.name,
        provider_name=draft.provider_name,
        is_active=draft.is_active,
        is_default=draft.is_default,
        priority=draft.priority,
        daily_limit=draft.daily_limit,
        monthly_limit=draft.monthly_limit,
    )
    provider = await providers.add(
        record, seal=_sealer(secret_box, configurations.encode(configuration))
    )
    return view_of(
        provider,
        provider_types=provider_types,
        configurations=configurations,
        secret_box=secret_box,
    )


async def get_provider(
    principal: Principal, provider_id: int, *, providers: ProviderRepository
) -> Provider:
    provider = await providers.get(principal.user.id, provider_id)
    if provider is None:
        raise NotFound(f"no provider {provider_id}", code="provider_not_found")
    return provider


async def list_providers(
    principal: Principal, *, limit: int, offset: int, providers: ProviderRepository
) -> Page[Provider]:
    return await providers.list_for_user(principal.user.id, limit=limit, offset=offset)


async def update_provider(
    principal: Principal,
    provider_id: int,
    changes: Mapping[str, Any],
    *,
    providers: ProviderRepository,
    provider_types: Registry[ProviderType],
    configurations: ProviderConfigurations,
    secret_box: SecretBox,
) -> Provider:
    """`changes` names only what changes. A `configuration` is merged into the stored one
    (so a password need not be sent again to change the host; a field set to null is removed)
    and the result validated whole."""
    unknown = set(changes) - UPDATABLE_PROVIDER_COLUMNS
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    current = await get_provider(principal, provider_id, providers=providers)
    columns = dict(changes)
    if "configuration" in columns:
        provider_type = provider_type_of(current.provider_type, provider_types)
        merged = configurations.as_dict(
            _configuration_of(
                current, provider_type, configurations=configurations, secret_box=secret_box
            )
        )
        for name, value in columns["configuration"].items():
            if value is None:
                merged.pop(name, None)
            else:
                merged[name] = value
        configuration = configurations.validate(provider_type, merged)
        columns["configuration"] = secret_box.seal(
            configurations.encode(configuration), row_id=current.id, **CONFIGURATION_COLUMN
        )
    if not columns:
        return current
    updated = await providers.update(principal.user.id, provider_id, columns)
    if updated is None:
        raise NotFound(f"no provider {provider_id}", code="provider_not_found")
    return updated


async def delete_provider(
    principal: Principal, provider_id: int, *, providers: ProviderRepository
) -> None:
    if not await providers.delete(principal.user.id, provider_id):
        raise NotFound(f"no provider {provider_id}", code="provider_not_found")


async def open_client(
    provider: Provider,
    *,
    provider_types: Registry[ProviderType],
    configurations: ProviderConfigurations,
    secret_box: SecretBox,
    outbox: OutboxStore,
    clock: Clock,
) -> tuple[ProviderType, ProviderClient]:
    """The client of a stored provider, for its owner's sends (the caller closes it)."""
    provider_type = provider_type_of(provider.provider_type, provider_types)
    configuration = _configuration_of(
        provider, provider_type, configurations=configurations, secret_box=secret_box
    )
    context = ProviderContext(
        user_id=provider.user_id, provider_id=provider.id, outbox=outbox, clock=clock
    )
    return provider_type, provider_type.open_client(configuration, context)


async def check_provider(
    principal: Principal,
    provider_id: int,
    *,
    providers: ProviderRepository,
    provider_types: Registry[ProviderType],
    configurations: ProviderConfigurations,
    secret_box: SecretBox,
    outbox: OutboxStore,
    clock: Clock,
) -> CheckReport:
    """Checks the credentials against the real service; the answer is kept as the provider's
    status and last error."""
    provider = await get_provider(principal, provider_id, providers=providers)
    _, client = await open_client(
        provider,
        provider_types=provider_types,
        configurations=configurations,
        secret_box=secret_box,
        outbox=outbox,
        clock=clock,
    )
    try:
        report = await client.check()
    finally:
        await client.aclose()
    error = None
    if not report.ok:
        error = f"{report.stage or 'check'}: {report.detail or 'failed'}"[:MAX_ERROR_CHARS]
    await providers.record_check(principal.user.id, provider_id, error=error, at=clock.now())
    return report
