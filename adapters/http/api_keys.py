"""`/api/v1/api-keys`: the caller's API keys (login sessions only: a key cannot mint keys)."""

from __future__ import annotations

from litestar import Controller, delete, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from openmailer.adapters.http.pagination import PageParameters, ResourceId
from openmailer.adapters.http.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyList, ApiKeyRead
from openmailer.adapters.http.security import AccountsPorts, CurrentPrincipal, access
from openmailer.core.accounts.scopes import Access
from openmailer.core.accounts.services import api_keys


class ApiKeyController(Controller):
    path = "/api-keys"
    tags = ["api-keys"]

    @post("", operation_id="createApiKey", status_code=HTTP_201_CREATED, **access(Access.SESSION))
    async def create(
        self,
        principal: CurrentPrincipal,
        accounts: AccountsPorts,
        data: JSONBody[ApiKeyCreate],
    ) -> ApiKeyCreated:
        """A new key with the given scopes; `key` is in this response only. `test: true`
        makes an `om_test_` key, whose sends never reach a real provider."""
        key, plaintext = await api_keys.create_api_key(
            principal,
            data.name,
            [scope.value for scope in data.scopes],
            test=data.test,
            expires_at=data.expires_at,
            api_keys=accounts.api_keys,
            clock=accounts.clock,
        )
        return ApiKeyCreated(key=plaintext, api_key=ApiKeyRead.of(key))

    @get("", operation_id="listApiKeys", **access(Access.SESSION))
    async def list_keys(
        self,
        principal: CurrentPrincipal,
        accounts: AccountsPorts,
        pagination: PageParameters,
    ) -> ApiKeyList:
        """The caller's keys (revoked ones included, `is_active: false`), oldest first."""
        page = await api_keys.list_api_keys(
            principal,
            limit=pagination.limit,
            offset=pagination.offset,
            api_keys=accounts.api_keys,
            usage=accounts.api_key_usage,
        )
        return ApiKeyList(
            items=[ApiKeyRead.of(key) for key in page.items],
            total=page.total,
            limit=page.limit,
            offset=page.offset,
        )

    @delete(
        "/{key_id:int}",
        operation_id="revokeApiKey",
        status_code=HTTP_204_NO_CONTENT,
        **access(Access.SESSION),
    )
    async def revoke(
        self,
        principal: CurrentPrincipal,
        accounts: AccountsPorts,
        key_id: ResourceId,
    ) -> None:
        """Revoke one of the caller's keys; it stops working at once."""
        await api_keys.revoke_api_key(principal, key_id, api_keys=accounts.api_keys)
