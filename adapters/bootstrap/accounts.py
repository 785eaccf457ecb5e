"""The accounts area bound to its adapters."""

from __future__ import annotations

from typing import TYPE_CHECKING

from openmailer.adapters.crypto.passwords import DEFAULT_ROUNDS, BcryptPasswordHasher
from openmailer.adapters.crypto.secret_box import AesGcmSecretBox
from openmailer.adapters.db.accounts_uow import SqlAlchemyAccountsUnitOfWork
from openmailer.adapters.db.api_keys import SqlAlchemyApiKeyRepository
from openmailer.adapters.db.users import SqlAlchemyUserRepository
from openmailer.adapters.redis.api_key_usage import RedisApiKeyUsage
from openmailer.adapters.redis.rate_limiter import RedisRateLimiter
from openmailer.adapters.redis.sessions import RedisSessionStore
from openmailer.adapters.redis.totp_guard import RedisTotpReplayGuard
from openmailer.core.accounts.service import AccountsPorts, AccountsService, UserAdminService

if TYPE_CHECKING:
    pass


from openmailer.adapters.bootstrap.resources import (
    DatabaseResources,
    Resources,
    SystemClock,
)

# --- accounts and access -------------------------------------------------------------------


def build_accounts(
    resources: Resources, *, password_rounds: int = DEFAULT_ROUNDS
) -> AccountsService:
    """The accounts area bound to real adapters. `password_rounds` is bcrypt's cost; tests
    lower it, production keeps the default (12)."""
    engine = resources.engine
    return AccountsService(
        AccountsPorts(
            users=SqlAlchemyUserRepository(engine),
            api_keys=SqlAlchemyApiKeyRepository(engine),
            sessions=RedisSessionStore(resources.redis),
            api_key_usage=RedisApiKeyUsage(resources.redis),
            replay_guard=RedisTotpReplayGuard(resources.redis),
            rate_limiter=RedisRateLimiter(resources.redis),
            hasher=BcryptPasswordHasher(password_rounds),
            secret_box=AesGcmSecretBox(resources.settings.secret_keys),
            clock=SystemClock(),
            unit_of_work=lambda: SqlAlchemyAccountsUnitOfWork(engine),
        )
    )


def build_user_admin(
    database: DatabaseResources, *, password_rounds: int = DEFAULT_ROUNDS
) -> UserAdminService:
    """User administration on PostgreSQL alone, for the commands that must not need Redis."""
    return UserAdminService(
        SqlAlchemyUserRepository(database.engine), BcryptPasswordHasher(password_rounds)
    )
