"""One set of fakes on one clock, and shortcuts for the services most tests arrange with."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest

from openmailer.core.accounts import totp
from openmailer.core.accounts.model import AccountStatus, Principal, User
from openmailer.core.accounts.plans import Plan
from openmailer.core.accounts.service import AccountsPorts, AccountsService
from openmailer.core.accounts.services import admission, auth
from tests.unit.accounts.fake_unit_of_work import InMemoryAccountsUnitOfWork
from tests.unit.accounts.fakes import (
    FakeClock,
    FakePasswordHasher,
    FakeSecretBox,
    InMemoryApiKeyRepository,
    InMemoryApiKeyUsage,
    InMemoryRateLimiter,
    InMemorySessionStore,
    InMemoryTotpReplayGuard,
    InMemoryUserRepository,
)

PASSWORD = "correct horse battery"

# Stored changes that leave a user unable to sign in (`User.may_sign_in` is False).
BLOCKED = [
    pytest.param({"account_status": AccountStatus.SUSPENDED}, id="suspended"),
    pytest.param({"account_status": AccountStatus.EXPIRED}, id="expired"),
    pytest.param({"enabled": False}, id="disabled"),
]


@dataclass
class Accounts:
    clock: FakeClock = field(default_factory=FakeClock)
    hasher: FakePasswordHasher = field(default_factory=FakePasswordHasher)
    secret_box: FakeSecretBox = field(default_factory=FakeSecretBox)
    replay_guard: InMemoryTotpReplayGuard = field(default_factory=InMemoryTotpReplayGuard)
    usage: InMemoryApiKeyUsage = field(default_factory=InMemoryApiKeyUsage)
    users: InMemoryUserRepository = field(init=False)
    api_keys: InMemoryApiKeyRepository = field(init=False)
    sessions: InMemorySessionStore = field(init=False)
    rate_limiter: InMemoryRateLimiter = field(init=False)
    units_of_work: list[InMemoryAccountsUnitOfWork] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.users = InMemoryUserRepository(self.clock)
        self.api_keys = InMemoryApiKeyRepository(self.clock)
        self.sessions = InMemorySessionStore(self.clock)
        self.rate_limiter = InMemoryRateLimiter(self.clock)

    def unit_of_work(self) -> InMemoryAccountsUnitOfWork:
        uow = InMemoryAccountsUnitOfWork(self.users, self.api_keys)
        self.units_of_work.append(uow)
        return uow

    def service(self) -> AccountsService:
        """The accounts area bound to these fakes, as the composition root binds real ports."""
        return AccountsService(
            AccountsPorts(
                users=self.users,
                api_keys=self.api_keys,
                sessions=self.sessions,
                api_key_usage=self.usage,
                replay_guard=self.replay_guard,
                rate_limiter=self.rate_limiter,
                hasher=self.hasher,
                secret_box=self.secret_box,
                clock=self.clock,
                unit_of_work=self.unit_of_work,
            )
        )

    async def add_user(
        self, username: str = "ann", *, admin: bool = False, plan: str = Plan.FREE
    ) -> User:
        return await self.service().create_user(
            username, f"{username}@example.com", PASSWORD, admin=admin, plan=plan
        )

    async def login(
        self,
        identifier: str,
        password: str = PASSWORD,
        *,
        totp_code: str | None = None,
        client_ip: str | None = "203.0.113.7",
    ) -> auth.LoginResult:
        return await self.service().login(
            identifier, password, totp_code=totp_code, client_ip=client_ip
        )

    async def authenticate(self, bearer: str) -> Principal:
        return await self.service().authenticate(bearer)

    async def admit(self, bearer: str, client_ip: str = "203.0.113.7") -> admission.Admission:
        return await admission.admit_credential(
            bearer, client_ip, authenticate=self.authenticate, rate_limiter=self.rate_limiter
        )

    async def sign_in(self, user: User, *, totp_code: str | None = None) -> Principal:
        """A login session's principal, as the HTTP layer resolves it from the bearer token."""
        result = await self.login(user.username, totp_code=totp_code)
        return await self.authenticate(result.token)

    async def reload(self, principal: Principal) -> Principal:
        """The principal of the caller's next request: it sees the user as stored now."""
        user = await self.users.get(principal.user.id)
        assert user is not None
        return replace(principal, user=user)

    async def stored(self, user: User) -> User:
        found = await self.users.get(user.id)
        assert found is not None
        return found


def totp_code(secret: str, clock: FakeClock) -> str:
    """What the user's authenticator app shows at the clock's time."""
    return totp.hotp(totp.decode_secret(secret), totp.time_step(clock.now().timestamp()))


def wrong_totp_code(secret: str, clock: FakeClock) -> str:
    """A well-formed code that no step within the accepted drift would produce."""
    key = totp.decode_secret(secret)
    now_step = totp.time_step(clock.now().timestamp())
    valid = {totp.hotp(key, step) for step in range(now_step - 1, now_step + 2)}
    return next(code for code in (f"{n:06d}" for n in range(4)) if code not in valid)
