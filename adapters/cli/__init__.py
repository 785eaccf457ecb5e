"""The `openmailer` command. Each subcommand lives in its own module with a `register` function."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from openmailer.adapters.bootstrap import ServicesNotConfiguredError
from openmailer.adapters.cli import keys, migrate, processes, up, users, version
from openmailer.adapters.embedded import EmbeddedServiceError
from openmailer.adapters.settings import SettingsError

COMMAND_MODULES = (up, migrate, processes, version, users, keys)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openmailer",
        description="OpenMailer: self-hosted email marketing. Settings come from OPENMAILER_* "
        "environment variables and a .env file (see README, Configuration).",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command != "up":
            local = up.adopt_running_platform(os.environ)
            if local is not None:
                print(f"openmailer: using the platform running from {local}", file=sys.stderr)
        return int(args.handler(args) or 0)
    except (SettingsError, ServicesNotConfiguredError) as exc:
        print(f"openmailer: {exc}", file=sys.stderr)
        return 2
    except EmbeddedServiceError as exc:
        print(f"openmailer: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
