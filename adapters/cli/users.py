"""`openmailer users create|list`, and the first administrator that `openmailer up` creates."""

from __future__ import annotations

import argparse
import asyncio
import getpass

from openmailer.adapters.bootstrap import DatabaseResources, open_database
from openmailer.adapters.crypto.passwords import DEFAULT_ROUNDS, BcryptPasswordHasher
from openmailer.adapters.db.users import SqlAlchemyUserRepository
from openmailer.adapters.settings import load_settings
from openmailer.core.accounts.errors import DomainError
from openmailer.core.accounts.plans import Plan
from openmailer.core.accounts.services import users


def _user_ports(
    database: DatabaseResources,
) -> tuple[SqlAlchemyUserRepository, BcryptPasswordHasher]:
    """The two ports these commands use; the full `Accounts` bundle would need Redis too."""
    return SqlAlchemyUserRepository(database.engine), BcryptPasswordHasher(DEFAULT_ROUNDS)


async def ensure_first_admin(database: DatabaseResources) -> tuple[str, str] | None:
    """(username, generated password) when it created the first admin; None if one exists."""
    repository, hasher = _user_ports(database)
    return await users.ensure_first_admin(users=repository, hasher=hasher)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("users", help="create and list users")
    commands = parser.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    create = commands.add_parser("create", help="create a user")
    create.add_argument("--username", required=True)
    create.add_argument("--email", required=True)
    create.add_argument("--password", help="prompted for when omitted (keeps it out of history)")
    create.add_argument("--admin", action="store_true", help="role ADMIN")
    create.add_argument("--plan", default=Plan.FREE.value, choices=[plan.value for plan in Plan])
    create.set_defaults(handler=run_create)
    listing = commands.add_parser("list", help="list users")
    listing.set_defaults(handler=run_list)


def run_create(args: argparse.Namespace) -> int:
    password = args.password or getpass.getpass("password: ")

    async def create() -> str:
        async with open_database(load_settings()) as database:
            repository, hasher = _user_ports(database)
            user = await users.create_user(
                args.username,
                args.email,
                password,
                admin=args.admin,
                plan=args.plan,
                users=repository,
                hasher=hasher,
            )
            plan = user.subscription_plan
            return f"created user {user.username} (id {user.id}, {user.role}, {plan})"

    try:
        print(asyncio.run(create()))
    except DomainError as error:
        print(f"openmailer users create: {error.detail}")
        return 1
    return 0


def run_list(args: argparse.Namespace) -> int:
    async def listing() -> list[str]:
        async with open_database(load_settings()) as database:
            repository, _ = _user_ports(database)
            page = await users.list_users(limit=100, offset=0, users=repository)
            return [
                f"{user.id}\t{user.username}\t{user.email}\t{user.role}\t{user.account_status}"
                f"\t{user.subscription_plan}"
                for user in page.items
            ]

    print("\n".join(asyncio.run(listing())))
    return 0
