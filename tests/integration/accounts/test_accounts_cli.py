from __future__ import annotations

import asyncio

import pytest

from openmailer.adapters.bootstrap import build_accounts, open_resources
from openmailer.adapters.cli import main
from openmailer.adapters.cli.users import first_admin_step
from openmailer.adapters.crypto.secret_box import AesGcmSecretBox
from openmailer.adapters.settings import Settings

pytestmark = pytest.mark.integration

WHERE = {"table": "users", "column": "two_factor_secret"}


def test_users_create_makes_a_user_who_can_be_listed(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "users",
        "create",
        "--username",
        "cli_ann",
        "--email",
        "Ann@Example.com",
        "--password",
        "a long password",
        "--admin",
    ]
    assert main(argv) == 0
    assert "created user cli_ann" in capsys.readouterr().out
    assert main(argv) == 1  # taken: a clear message, no traceback
    assert "already taken" in capsys.readouterr().out
    assert main(["users", "list"]) == 0
    assert "cli_ann\tann@example.com\tADMIN" in capsys.readouterr().out


def test_first_admin_is_created_once(cli_env: Settings) -> None:
    async def has_admin() -> bool:
        async with open_resources(cli_env) as resources:
            return await build_accounts(resources, password_rounds=4).ports.users.any_admin()

    had_admin = asyncio.run(has_admin())
    first, second = first_admin_step(cli_env), first_admin_step(cli_env)
    assert second == []
    if not had_admin:  # other tests of this run may have made an admin already
        assert first[0].startswith("first administrator: admin / password ")
        assert len(first[0].rsplit(" ", 1)[1]) >= 20


def test_keys_rotate_re_encrypts_under_the_newest_key(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    old_key = cli_env.secret_keys[0]

    async def seal_under_old_key() -> int:
        async with open_resources(cli_env) as resources:
            accounts = build_accounts(resources, password_rounds=4).ports
            user = await accounts.users.find_by_login("cli_rotation")
            if user is None:
                from openmailer.core.accounts.services.users import create_user

                user = await create_user(
                    "cli_rotation",
                    "rot@example.com",
                    "a long password",
                    users=accounts.users,
                    hasher=accounts.hasher,
                )
            sealed = AesGcmSecretBox((old_key,)).seal(b"JBSWY3DPEHPK3PXP", row_id=user.id, **WHERE)
            await accounts.users.set_two_factor(user.id, enabled=True, secret=sealed)
            return user.id

    async def stored(user_id: int) -> str:
        async with open_resources(cli_env) as resources:
            user = await build_accounts(resources).ports.users.get(user_id)
            assert user is not None and user.two_factor_secret is not None
            return user.two_factor_secret

    user_id = asyncio.run(seal_under_old_key())
    assert asyncio.run(stored(user_id)).startswith(f"v1:{old_key.key_id}:")
    assert main(["keys", "rotate"]) == 0
    assert "re-encrypted" in capsys.readouterr().out
    rotated = asyncio.run(stored(user_id))
    newest = cli_env.current_secret_key
    assert rotated.startswith(f"v1:{newest.key_id}:")
    box = AesGcmSecretBox(cli_env.secret_keys)
    assert box.open(rotated, row_id=user_id, **WHERE) == b"JBSWY3DPEHPK3PXP"
