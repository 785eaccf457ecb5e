"""`openmailer keys rotate`: re-encrypt every secret at rest under the newest key.

Add the new key at the end of OPENMAILER_SECRET_KEYS (keeping the old ones), restart, run this,
then remove the old keys.
"""

from __future__ import annotations

import argparse
import asyncio

from openmailer.adapters.bootstrap import open_database
from openmailer.adapters.crypto.rotation import rotate_sealed_columns
from openmailer.adapters.crypto.secret_box import AesGcmSecretBox
from openmailer.adapters.settings import load_settings
from openmailer.core.errors import SecretUnavailable


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("keys", help="manage the encryption keys of secrets at rest")
    commands = parser.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    rotate = commands.add_parser(
        "rotate", help="re-encrypt every stored secret under the newest OPENMAILER_SECRET_KEYS key"
    )
    rotate.set_defaults(handler=run_rotate)


def run_rotate(args: argparse.Namespace) -> int:
    settings = load_settings()
    if not settings.secret_keys:
        print("openmailer keys rotate: OPENMAILER_SECRET_KEYS is not set")
        return 2

    async def rotate() -> int:
        async with open_database(settings) as database:
            box = AesGcmSecretBox(settings.secret_keys)
            return await rotate_sealed_columns(database.engine, box)

    try:
        count = asyncio.run(rotate())
    except SecretUnavailable as error:
        print(f"openmailer keys rotate: {error.detail}")
        return 1
    print(f"re-encrypted {count} secret(s) under key {settings.current_secret_key.key_id!r}")
    return 0
