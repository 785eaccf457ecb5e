"""`/api/v1/api-keys`: the caller's API keys (login sessions only: a key cannot mint keys)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, delete, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from openmailer.adapters.http.accounts.fields import AwareDatetime, KeyName
from openmailer.adapters.http.pages import OffsetPage
from openmailer.adapters.http.pagination import PageParameters, ResourceId
from openmailer.adapters.http.security import AccountsApi, CurrentPrincipal, access
from openmailer.core.accounts.model import ApiKey
from openmailer.core.accounts.scopes import Access, Scope


class ApiKeyCreate(msgspec.Struct):
    name: KeyName
    scopes: Annotated[list[Scope], msgspec.Meta(max_length=8)]
    test: bool = False
    expires_at: AwareDatetime | None = None


class ApiKeyRead(msgspec.Struct):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    test: bool
    is_active: bool
    last_used_at: datetime | None
    expires_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyRead:
        return cls(
            id=key.id,
            name=key.name,
            prefix=key.display_prefix,
            scopes=list(key.scopes),
            test=key.is_test,
            is_active=key.is_active,
            last_used_at=key.last_used_at,
            expires_at=key.expires_at,
            created_at=key.created_at,
        )


class ApiKeyCreated(msgspec.Struct):
    """`key` is shown this once; only its SHA-256 is stored."""

    key: str
    api_key: ApiKeyRead


class ApiKeyController(Controller):
    path = "/api-keys"
    tags = ["api-keys"]

    @post("", operation_id="createApiKey", status_code=HTTP_201_CREATED, **access(Access.SESSION))
    async def create(
        self,
        principal: CurrentPrincipal,
        accounts: AccountsApi,
        data: JSONBody[ApiKeyCreate],
    ) -> ApiKeyCreated:
        """A new key with the given scopes; `key` is in this response only. `test: true`
        makes an `om_test_` key, whose sends never reach a real provider."""
        key, plaintext = await accounts.create_api_key(
            principal,
            data.name,
            [scope.value for scope in data.scopes],
            test=data.test,
            expires_at=data.expires_at,
        )
        return ApiKeyCreated(key=plaintext, api_key=ApiKeyRead.of(key))

    @get("", operation_id="listApiKeys", **access(Access.SESSION))
    async def list_keys(
        self,
        principal: CurrentPrincipal,
        accounts: AccountsApi,
        pagination: PageParameters,
    ) -> OffsetPage[ApiKeyRead]:
        """The caller's keys (revoked ones included, `is_active: false`), oldest first."""
        page = await accounts.list_api_keys(
            principal, limit=pagination.limit, offset=pagination.offset
        )
        return OffsetPage.of(page, ApiKeyRead.of)

    @delete(
        "/{key_id:int}",
        operation_id="revokeApiKey",
        status_code=HTTP_204_NO_CONTENT,
        **access(Access.SESSION),
    )
    async def revoke(
        self,
        principal: CurrentPrincipal,
        accounts: AccountsApi,
        key_id: ResourceId,
    ) -> None:
        """Revoke one of the caller's keys; it stops working at once."""
        await accounts.revoke_api_key(principal, key_id)
