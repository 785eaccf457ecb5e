from __future__ import annotations

import argparse

from openmailer.adapters.bootstrap import require_database_url
from openmailer.adapters.settings import load_settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "migrate",
        help="upgrade the database schema to the newest revision (or to/down to --to REV)",
        description="Upgrade to head by default. --to REV moves to that revision, upgrading or "
        "downgrading as needed; --to base removes every table.",
    )
    parser.add_argument(
        "--to", metavar="REV", default="head", help="target revision (default: head)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from openmailer.adapters.db import migrate

    database_url = require_database_url(load_settings())
    before = migrate.current_revision(database_url)
    migrate.move_to(database_url, args.to)
    after = migrate.current_revision(database_url)
    print(f"schema revision: {before or 'base'} -> {after or 'base'}")
    return 0
