"""A fresh audience service on the in-memory fakes for every test."""

from __future__ import annotations

from datetime import datetime

import pytest

from openmailer.core.accounts.model import AccountStatus, Principal, Role, User
from openmailer.core.audience.service import AudiencePorts, AudienceService
from tests.unit.audience.fakes import (
    NOW,
    FakeAddresses,
    InMemoryAudienceUnitOfWork,
    InMemoryContactErasures,
    InMemoryContactExports,
    InMemoryContactListRepository,
    InMemoryContactRepository,
    Store,
)


class FixedClock:
    def now(self) -> datetime:
        return NOW


def principal(user_id: int) -> Principal:
    user = User(
        id=user_id,
        username=f"user{user_id}",
        email=f"user{user_id}@example.com",
        password_hash="x",
        enabled=True,
        role=Role.USER,
        account_status=AccountStatus.ACTIVE,
        subscription_plan="FREE",
        subscription_expires_at=None,
        api_enabled=True,
        monthly_email_limit=1000,
        monthly_emails_sent=0,
        last_login_at=None,
        last_login_ip=None,
        failed_login_attempts=0,
        account_locked_until=None,
        two_factor_enabled=False,
        two_factor_secret=None,
        created_at=NOW,
        updated_at=NOW,
    )
    return Principal(user=user, scopes=frozenset({"read:contacts", "write:contacts"}))


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def audience(store: Store) -> AudienceService:
    return AudienceService(
        AudiencePorts(
            contacts=InMemoryContactRepository(store),
            lists=InMemoryContactListRepository(store),
            addresses=FakeAddresses(),
            clock=FixedClock(),
            unit_of_work=lambda: InMemoryAudienceUnitOfWork(store),
            erasures=InMemoryContactErasures(store),
            exports=InMemoryContactExports(store),
        )
    )


@pytest.fixture
def ann() -> Principal:
    return principal(1)


@pytest.fixture
def bob() -> Principal:
    return principal(2)
