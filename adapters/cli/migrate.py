from __future__ import annotations

import argparse

from openmailer.adapters.bootstrap import require_database_url
from openmailer.adapters.settings import load_settings


class UnknownRevisionError(ValueError):
    pass


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
    try:
        direction = plan(before, args.to)
    except UnknownRevisionError as exc:
        print(f"openmailer migrate: {exc}")
        return 2
    try:
        if direction == "upgrade":
            migrate.upgrade(database_url, args.to)
        elif direction == "downgrade":
            migrate.downgrade(database_url, args.to)
    except migrate.MigrationError as exc:
        print(f"openmailer migrate: {exc}")
        print(f"schema revision: {migrate.current_revision(database_url) or 'base'}")
        return 1
    after = migrate.current_revision(database_url)
    print(f"schema revision: {before or 'base'} -> {after or 'base'}")
    return 0


def plan(current: str | None, target: str) -> str:
    """'upgrade', 'downgrade' or 'none': whether `target` lies ahead of or behind `current`."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from openmailer.adapters.db.migrate import alembic_config

    if target == "head":
        return "upgrade"
    if target == "base":
        return "none" if current is None else "downgrade"
    scripts = ScriptDirectory.from_config(alembic_config())
    try:
        revision = scripts.get_revision(target)
    except CommandError as exc:
        raise UnknownRevisionError(str(exc)) from None
    if revision is None:
        raise UnknownRevisionError(f"no revision {target!r}")
    if current == revision.revision:
        return "none"
    if current is None:
        return "upgrade"
    behind = {script.revision for script in scripts.iterate_revisions(current, "base")}
    return "downgrade" if revision.revision in behind else "upgrade"
