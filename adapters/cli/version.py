from __future__ import annotations

import argparse
from importlib.metadata import version as package_version


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("version", help="print the versions of OpenMailer and its core")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import sender_rs

    print(f"openmailer {package_version('openmailer')} (sender_rs {sender_rs.__version__})")
    return 0
