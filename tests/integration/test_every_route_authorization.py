"""Every operation in the OpenAPI document: no credential -> 401, missing scope -> 403, another
user's resource -> 404. New routes are covered as soon as they are in the document; a path
parameter this test cannot yet make a foreign resource for fails the test, on purpose."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import httpx
import pytest
from litestar import Litestar

from openmailer.core.accounts.model import User
from openmailer.core.accounts.scopes import ALL_SCOPES, Access
from openmailer.core.accounts.service import AccountsPorts as Accounts
from tests.integration.accounts.accounts_helpers import (
    Caller,
    api_key_for,
    forget_failed_authentications,
    make_user,
    session_for,
)
from tests.integration.audience.audience_helpers import foreign_contact, foreign_list
from tests.integration.campaigns.campaign_helpers import foreign_campaign
from tests.integration.domains.domains_helpers import foreign_domain
from tests.integration.imports.import_helpers import foreign_import
from tests.integration.messages.messages_helpers import foreign_message
from tests.integration.segments.segment_helpers import foreign_segment
from tests.integration.sending.sending_helpers import foreign_outbox_message, foreign_provider
from tests.integration.templates.templates_helpers import first_version, foreign_template

pytestmark = [pytest.mark.integration, pytest.mark.contract]

Operation = tuple[str, str, str]  # method, path template, requirement


def operations(app: Litestar) -> tuple[list[Operation], list[tuple[str, str]]]:
    document = app.openapi_schema.to_schema()
    protected, public = [], []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            security = operation.get("security") or []
            if not security:
                public.append((method, path))
                continue
            roles = security[0]["BearerAuth"]
            protected.append((method, path, roles[0] if roles else Access.AUTHENTICATED.value))
    return protected, public


async def foreign_api_key(accounts: Accounts, owner: User) -> int:
    caller = await api_key_for(accounts, owner, ["read:contacts"])
    key = await accounts.api_keys.find_by_digest(_digest(caller.token))
    assert key is not None
    return key.id


def _digest(token: str) -> str:
    from openmailer.core.accounts.credentials import digest

    return digest(token)


# Path parameter -> a resource of that kind owned by the given user. Add one per new kind.
FOREIGN_RESOURCES: dict[str, Callable[[Accounts, User], Awaitable[int]]] = {
    "key_id": foreign_api_key,
    "domain_id": foreign_domain,
    "segment_id": foreign_segment,
    "provider_id": foreign_provider,
    "outbox_id": foreign_outbox_message,
    "contact_id": foreign_contact,
    "list_id": foreign_list,
    "message_id": foreign_message,
    "template_id": foreign_template,
    "version": first_version,  # of the foreign template_id beside it
    "campaign_id": foreign_campaign,
    "import_id": foreign_import,
}
# Admin routes see every user's resources by design; tenancy does not apply to them.
ADMIN_PARAMETERS = {"user_id"}


async def request(client: httpx.AsyncClient, method: str, path: str, caller: Caller | None):
    headers = caller.headers if caller else {}
    body = {} if method in {"post", "put", "patch"} else None
    return await client.request(method.upper(), path, headers=headers, json=body)


async def sufficient_caller(accounts: Accounts, requirement: str) -> Caller:
    if requirement == Access.ADMIN:
        return await session_for(accounts, await make_user(accounts, admin=True))
    if requirement in ALL_SCOPES:
        return await api_key_for(accounts, await make_user(accounts), [requirement])
    return await session_for(accounts, await make_user(accounts))


async def insufficient_caller(accounts: Accounts, requirement: str) -> Caller | None:
    if requirement == Access.ADMIN:
        return await session_for(accounts, await make_user(accounts))
    if requirement == Access.SESSION:
        return await api_key_for(accounts, await make_user(accounts), sorted(ALL_SCOPES))
    if requirement in ALL_SCOPES:
        others = sorted(ALL_SCOPES - {requirement})
        return await api_key_for(accounts, await make_user(accounts), others)
    return None  # AUTHENTICATED: any valid credential is enough


async def test_the_document_lists_protected_routes(app: Litestar) -> None:
    protected, public = operations(app)
    assert len(protected) >= 10
    assert ("post", "/api/v1/auth/login") in public


async def test_every_protected_route_refuses_a_missing_or_bad_credential(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    protected, _ = operations(app)
    for method, template, _requirement in protected:
        await forget_failed_authentications(app.state.resources.redis)
        path = re.sub(r"\{[^}]+\}", "1", template)
        for bad in (
            None,
            Caller(user=None, token="om_live_" + "x" * 56),  # type: ignore[arg-type]
            Caller(user=None, token="not-a-token"),
        ):  # type: ignore[arg-type]
            response = await request(client, method, path, bad)
            assert response.status_code == 401, (method, template, bad, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["www-authenticate"].startswith("Bearer")


async def test_every_protected_route_refuses_a_credential_without_its_scope(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    protected, _ = operations(app)
    checked = 0
    for method, template, requirement in protected:
        caller = await insufficient_caller(accounts, requirement)
        if caller is None:
            continue
        path = re.sub(r"\{[^}]+\}", "1", template)
        response = await request(client, method, path, caller)
        assert response.status_code == 403, (method, template, requirement, response.text)
        checked += 1
    assert checked >= 9


async def test_every_route_with_a_resource_id_hides_other_users_resources(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    protected, _ = operations(app)
    owner = await make_user(accounts)
    checked = 0
    for method, template, requirement in protected:
        parameters = re.findall(r"\{([^}:]+)(?::[^}]+)?\}", template)
        if not parameters or requirement == Access.ADMIN:
            continue
        unknown = [name for name in parameters if name not in FOREIGN_RESOURCES]
        assert not unknown, f"{method} {template}: add a FOREIGN_RESOURCES entry for {unknown}"
        path = template
        for name in parameters:
            foreign_id = await FOREIGN_RESOURCES[name](accounts, owner)
            path = re.sub(r"\{" + name + r"(:[^}]+)?\}", str(foreign_id), path)
        caller = await sufficient_caller(accounts, requirement)
        response = await request(client, method, path, caller)
        assert response.status_code == 404, (method, template, response.text)
        checked += 1
    assert checked >= 1


async def test_admin_parameters_are_only_on_admin_routes(app: Litestar) -> None:
    protected, _ = operations(app)
    for _method, template, requirement in protected:
        if any(f"{{{name}" in template for name in ADMIN_PARAMETERS):
            assert requirement == Access.ADMIN, template


async def test_public_routes_do_not_ask_for_a_credential(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    _, public = operations(app)
    for method, path in public:
        response = await request(client, method, path, None)
        assert response.status_code != 401, (method, path)
