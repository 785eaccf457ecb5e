"""The `openmailer` command: the subcommands the areas registered (each module has a `register`)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from openmailer.adapters.bootstrap import ServicesNotConfiguredError, builtin_areas
from openmailer.adapters.embedded import EmbeddedServiceError
from openmailer.adapters.settings import SettingsError
from openmailer.core.areas import AreaRegistries


def build_parser(areas: AreaRegistries | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openmailer",
        description="OpenMailer: self-hosted email marketing. Settings come from OPENMAILER_* "
        "environment variables and a .env file (see README, Configuration).",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (areas or builtin_areas()).cli_commands.values():
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None, *, areas: AreaRegistries | None = None) -> int:
    from openmailer.adapters.cli.up import adopt_running_platform

    args = build_parser(areas).parse_args(argv)
    try:
        if args.command != "up":
            local = adopt_running_platform(os.environ)
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
