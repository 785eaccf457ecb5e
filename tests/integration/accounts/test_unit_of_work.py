"""The SQLAlchemy unit of work on PostgreSQL: all or nothing, and a failed statement inside it
(a taken username) undoes only itself."""

from __future__ import annotations

import os

import httpx
import pytest
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.db.accounts_uow import SqlAlchemyAccountsUnitOfWork
from openmailer.core.accounts.model import NewUser, Role
from openmailer.core.errors import Conflict

pytestmark = pytest.mark.integration


def new_user(name: str) -> NewUser:
    return NewUser(
        username=name,
        email=f"{name}@example.com",
        password_hash="x",
        role=Role.USER,
        subscription_plan="FREE",
        monthly_email_limit=1_000,
    )


class Abort(Exception):
    pass


@pytest.fixture
def engine(app: Litestar, client: httpx.AsyncClient) -> AsyncEngine:
    """The app's engine (the `client` fixture runs the app's lifespan, which opens it)."""
    engine: AsyncEngine = app.state.resources.engine
    return engine


async def test_leaving_by_an_exception_rolls_back_every_repository(engine: AsyncEngine) -> None:
    name = f"uow_abort_{os.getpid()}"
    with pytest.raises(Abort):
        async with SqlAlchemyAccountsUnitOfWork(engine) as uow:
            user = await uow.users.add(new_user(name))
            await uow.users.set_plan(user.id, "PRO", 100_000)
            assert (await uow.users.get(user.id)) is not None  # visible inside
            raise Abort

    async with SqlAlchemyAccountsUnitOfWork(engine) as uow:
        assert await uow.users.find_by_login(name) is None


async def test_a_conflict_inside_undoes_itself_and_the_rest_commits(engine: AsyncEngine) -> None:
    taken, fresh = f"uow_taken_{os.getpid()}", f"uow_fresh_{os.getpid()}"
    async with SqlAlchemyAccountsUnitOfWork(engine) as uow:
        await uow.users.add(new_user(taken))
    async with SqlAlchemyAccountsUnitOfWork(engine) as uow:
        with pytest.raises(Conflict):
            await uow.users.add(new_user(taken))
        await uow.users.add(new_user(fresh))

    async with SqlAlchemyAccountsUnitOfWork(engine) as uow:
        assert await uow.users.find_by_login(fresh) is not None


async def test_a_unit_of_work_is_entered_once(engine: AsyncEngine) -> None:
    uow = SqlAlchemyAccountsUnitOfWork(engine)
    async with uow:
        with pytest.raises(RuntimeError, match="entered once"):
            await uow.__aenter__()
