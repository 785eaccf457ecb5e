"""`openmailer users create|list`, and the first administrator that `openmailer up` creates."""

from __future__ import annotations

import argparse
import asyncio
import getpass

from openmailer.adapters.bootstrap import build_user_admin, open_database
from openmailer.adapters.settings import Settings, load_settings
from openmailer.core.accounts.model import normalise_email, normalise_username
from openmailer.core.accounts.plans import Plan
from openmailer.core.errors import DomainError


def first_admin_step(settings: Settings) -> list[str]:
    """`openmailer up`'s start-up step: on the first start, an admin with a generated password."""

    async def ensure() -> tuple[str, str] | None:
        async with open_database(settings) as database:
            return await build_user_admin(database).ensure_first_admin()

    created = asyncio.run(ensure())
    if created is None:
        return []
    return [
        f"first administrator: {created[0]} / password {created[1]}",
        "  (shown once; change it with POST /api/v1/me/password)",
    ]


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
    try:  # before the password prompt; create_user checks both again
        normalise_username(args.username)
        normalise_email(args.email)
    except DomainError as error:
        print(f"openmailer users create: {error.detail}")
        return 1
    password = args.password or getpass.getpass("password: ")

    async def create() -> str:
        async with open_database(load_settings()) as database:
            user = await build_user_admin(database).create_user(
                args.username, args.email, password, admin=args.admin, plan=args.plan
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
            page = await build_user_admin(database).list_users(limit=100, offset=0)
            return [
                f"{user.id}\t{user.username}\t{user.email}\t{user.role}\t{user.account_status}"
                f"\t{user.subscription_plan}"
                for user in page.items
            ]

    print("\n".join(asyncio.run(listing())))
    return 0
