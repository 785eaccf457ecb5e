"""The accounts area bound to its ports once: what controllers, actors and commands call.

`AccountsPorts` is typed by the Protocols only, so the composition root can bind real adapters
and tests can bind the in-memory fakes. Each method passes the right ports to a use case in
`core.accounts.services`; callers translate their input and output, nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

from openmailer.core.accounts.model import ApiKey, Principal, User
from openmailer.core.accounts.plans import RATE_WINDOW_SECONDS
from openmailer.core.accounts.services import (
    access,
    admission,
    api_keys,
    auth,
    two_factor,
    users,
)
from openmailer.core.errors import RateLimited
from openmailer.core.pages import Page
from openmailer.core.ports.accounts import (
    ApiKeyRepository,
    ApiKeyUsage,
    Clock,
    PasswordHasher,
    RateDecision,
    RateLimiter,
    SecretBox,
    SessionStore,
    TotpReplayGuard,
    UserRepository,
)
from openmailer.core.ports.unit_of_work import AccountsUnitOfWork

audit = logging.getLogger("openmailer.audit")


@dataclass(frozen=True)
class AccountsPorts:
    users: UserRepository
    api_keys: ApiKeyRepository
    sessions: SessionStore
    api_key_usage: ApiKeyUsage
    replay_guard: TotpReplayGuard
    rate_limiter: RateLimiter
    hasher: PasswordHasher
    secret_box: SecretBox
    clock: Clock
    unit_of_work: Callable[[], AccountsUnitOfWork]


class UserAdminService:
    """User administration that needs only the user table and the hasher (the CLI's commands,
    which must run with no Redis configured)."""

    def __init__(self, users_port: UserRepository, hasher_port: PasswordHasher) -> None:
        self.users_port = users_port
        self.hasher_port = hasher_port

    async def create_user(
        self, username: str, email: str, password: str, *, admin: bool = False, plan: str = "FREE"
    ) -> User:
        return await users.create_user(
            username,
            email,
            password,
            admin=admin,
            plan=plan,
            users=self.users_port,
            hasher=self.hasher_port,
        )

    async def ensure_first_admin(self) -> tuple[str, str] | None:
        return await users.ensure_first_admin(users=self.users_port, hasher=self.hasher_port)

    async def get_user(self, user_id: int) -> User:
        return await users.get_user(user_id, users=self.users_port)

    async def list_users(self, *, limit: int, offset: int) -> Page[User]:
        return await users.list_users(limit=limit, offset=offset, users=self.users_port)


class SecretChecks(TypedDict):
    """The ports every check of a password or TOTP code under the lockout takes."""

    users: UserRepository
    hasher: PasswordHasher
    secret_box: SecretBox
    replay_guard: TotpReplayGuard
    clock: Clock


class AccountsService(UserAdminService):
    def __init__(self, ports: AccountsPorts) -> None:
        super().__init__(ports.users, ports.hasher)
        self.ports = ports
        self._secret_checks = SecretChecks(
            users=ports.users,
            hasher=ports.hasher,
            secret_box=ports.secret_box,
            replay_guard=ports.replay_guard,
            clock=ports.clock,
        )

    # --- access -------------------------------------------------------------------------------

    async def authenticate(self, bearer: str) -> Principal:
        p = self.ports
        return await access.authenticate(
            bearer,
            users=p.users,
            api_keys=p.api_keys,
            sessions=p.sessions,
            usage=p.api_key_usage,
            clock=p.clock,
        )

    async def admit_public(self, client_ip: str) -> RateDecision:
        """Counts a request to a public route against its client IP's quota."""
        return await admission.admit_public(client_ip, rate_limiter=self.ports.rate_limiter)

    async def admit(self, bearer: str, client_ip: str) -> admission.Admission:
        """Authenticates and counts the request against the user's plan quota, whatever the
        credential; refuses the address first if its failed authentications are spent."""
        return await admission.admit_credential(
            bearer, client_ip, authenticate=self.authenticate, rate_limiter=self.ports.rate_limiter
        )

    @staticmethod
    def refuse_if_spent(decision: RateDecision) -> None:
        if not decision.allowed:
            raise RateLimited(
                f"rate limit of {decision.limit} requests per {RATE_WINDOW_SECONDS}s exceeded; "
                f"retry in {decision.reset_seconds}s",
                retry_after_seconds=decision.reset_seconds,
            )

    # --- sessions and passwords ---------------------------------------------------------------

    async def login(
        self, identifier: str, password: str, *, totp_code: str | None, client_ip: str | None
    ) -> auth.LoginResult:
        return await auth.login(
            identifier,
            password,
            totp_code=totp_code,
            client_ip=client_ip,
            sessions=self.ports.sessions,
            **self._secret_checks,
        )

    async def logout(self, principal: Principal) -> None:
        await auth.logout(principal, sessions=self.ports.sessions)

    async def change_password(
        self,
        principal: Principal,
        current_password: str,
        new_password: str,
        *,
        totp_code: str | None = None,
    ) -> None:
        await auth.change_password(
            principal,
            current_password,
            new_password,
            totp_code=totp_code,
            sessions=self.ports.sessions,
            **self._secret_checks,
        )

    # --- two-factor ---------------------------------------------------------------------------

    async def begin_two_factor(self, principal: Principal, password: str) -> two_factor.Enrolment:
        return await two_factor.begin_enrolment(principal, password, **self._secret_checks)

    async def confirm_two_factor(self, principal: Principal, password: str, code: str) -> None:
        await two_factor.confirm_enrolment(
            principal, password, code, sessions=self.ports.sessions, **self._secret_checks
        )

    async def disable_two_factor(self, principal: Principal, password: str, code: str) -> None:
        await two_factor.disable(
            principal, password, code, sessions=self.ports.sessions, **self._secret_checks
        )

    async def reset_two_factor(self, actor: Principal, user_id: int) -> User:
        """An administrator's reset of another user's (or their own) 2FA, written to the audit
        log with both ids."""
        user = await two_factor.reset_by_admin(
            actor,
            user_id,
            users=self.ports.users,
            replay_guard=self.ports.replay_guard,
            sessions=self.ports.sessions,
        )
        audit.info(
            "two_factor_reset",
            extra={"actor_user_id": actor.user.id, "target_user_id": user_id},
        )
        return user

    # --- API keys -----------------------------------------------------------------------------

    async def create_api_key(
        self,
        principal: Principal,
        name: str,
        scopes: list[str],
        *,
        test: bool = False,
        expires_at: datetime | None = None,
    ) -> tuple[ApiKey, str]:
        return await api_keys.create_api_key(
            principal,
            name,
            scopes,
            test=test,
            expires_at=expires_at,
            api_keys=self.ports.api_keys,
            clock=self.ports.clock,
        )

    async def list_api_keys(self, principal: Principal, *, limit: int, offset: int) -> Page[ApiKey]:
        return await api_keys.list_api_keys(
            principal,
            limit=limit,
            offset=offset,
            api_keys=self.ports.api_keys,
            usage=self.ports.api_key_usage,
        )

    async def revoke_api_key(self, principal: Principal, key_id: int) -> None:
        await api_keys.revoke_api_key(principal, key_id, api_keys=self.ports.api_keys)

    # --- user administration ------------------------------------------------------------------

    async def update_user(
        self,
        actor: Principal,
        user_id: int,
        *,
        account_status: str | None = None,
        subscription_plan: str | None = None,
    ) -> User:
        return await users.update_user(
            actor,
            user_id,
            account_status=account_status,
            subscription_plan=subscription_plan,
            uow=self.ports.unit_of_work(),
            sessions=self.ports.sessions,
        )
