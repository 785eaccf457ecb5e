"""Authentication, authorization and rate limiting for every route, from one declaration.

Each `/api` route declares its requirement with `**access(...)` (a scope such as
`Scope.READ_ANALYTICS`, or `Access.PUBLIC / AUTHENTICATED / SESSION / ADMIN`). That one value feeds
the guard (401 without a valid credential, 403 without the scope), the OpenAPI `security` entry and
the documented problem responses. `create_app` refuses to start if an `/api` route declares nothing.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler

from openmailer.adapters.http.errors import problem_specs
from openmailer.adapters.http.request_context import remember_rate_decision
from openmailer.core.accounts.model import Principal
from openmailer.core.accounts.scopes import Access, Requirement
from openmailer.core.accounts.service import AccountsService
from openmailer.core.accounts.services.access import authorize
from openmailer.core.errors import Unauthorized

# Handler parameters resolved by the app-level dependencies of the same names.
CurrentPrincipal = NamedDependency[Principal]
AccountsApi = NamedDependency[AccountsService]

BEARER_SCHEME = "BearerAuth"
ACCESS_OPT = "access"
NEVER_THROTTLED_OPT = "never_throttled"
PUBLIC_PROBLEMS = (400, 401, 422, 429, 503)
PROTECTED_PROBLEMS = (400, 401, 403, 404, 409, 422, 429, 503)


def access(requirement: Requirement, *, never_throttled: bool = False) -> dict[str, Any]:
    """Keyword arguments for a route decorator that declare who may call it. A
    `never_throttled` route (logout) is counted in the quota but never refused by it: ending a
    session must work however many requests the user has made."""
    if requirement is Access.PUBLIC:
        return {
            "opt": {ACCESS_OPT: requirement},
            "security": [],
            "responses": problem_specs(*PUBLIC_PROBLEMS),
        }
    # OpenAPI 3.1 lets non-OAuth schemes list required roles: ours is the requirement itself.
    roles = [] if requirement is Access.AUTHENTICATED else [requirement.value]
    return {
        "opt": {ACCESS_OPT: requirement, NEVER_THROTTLED_OPT: never_throttled},
        "security": [{BEARER_SCHEME: roles}],
        "responses": problem_specs(*PROTECTED_PROBLEMS),
    }


def declared_requirement(handler: BaseRouteHandler) -> Requirement | None:
    value = handler.opt.get(ACCESS_OPT)
    return value if isinstance(value, Access | str) else None  # type: ignore[return-value]


def accounts_of(connection: ASGIConnection[Any, Any, Any, Any]) -> AccountsService:
    accounts: AccountsService = connection.app.state.accounts
    return accounts


async def enforce_access(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """The app-wide guard. Routes outside `/api` (health, schema) declare nothing and pass."""
    requirement = declared_requirement(handler)
    if requirement is None:
        return
    accounts = accounts_of(connection)
    client = connection.client.host if connection.client else "unknown"
    if requirement is Access.PUBLIC:
        decision = await accounts.admit_public(client)
        remember_rate_decision(connection.scope, decision)
        accounts.refuse_if_spent(decision)
        return
    admission = await accounts.admit(bearer_token(connection), client)
    connection.scope["state"]["principal"] = admission.principal
    connection.scope["state"]["user_id"] = admission.principal.user.id
    remember_rate_decision(connection.scope, admission.decision)
    if not handler.opt.get(NEVER_THROTTLED_OPT):
        accounts.refuse_if_spent(admission.decision)
    authorize(admission.principal, requirement)


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "send `Authorization: Bearer <API key or session token>`", code="missing_credential"
        )
    return token.strip()


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    principal: Principal = request.scope["state"]["principal"]
    return principal
