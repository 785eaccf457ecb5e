"""CLI commands that touch only PostgreSQL run with only OPENMAILER_DATABASE_URL set."""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from openmailer.adapters.cli import main
from openmailer.adapters.db import migrate

pytestmark = pytest.mark.integration


@pytest.fixture
def database_only_env(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    temporary_databases: Callable[[str], AbstractContextManager[str]],
) -> Iterator[None]:
    # A database of its own: secrets other tests sealed under their keys would not rotate.
    with temporary_databases("cli") as database_url:
        migrate.upgrade(database_url, "head")
        for name in list(os.environ):
            if name.startswith("OPENMAILER_"):
                monkeypatch.delenv(name)
        monkeypatch.setenv("OPENMAILER_DATABASE_URL", database_url)
        # No `.env` and no running `openmailer up` nearby whose Redis could be adopted.
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("OPENMAILER_DATA_DIR", str(tmp_path / "data"))
        yield


def test_users_create_and_list_need_no_redis(
    database_only_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    username = f"dbonly_{secrets.token_hex(3)}"
    argv = ["users", "create", "--username", username, "--email", f"{username}@example.com"]
    assert main([*argv, "--password", "a long password"]) == 0
    assert f"created user {username}" in capsys.readouterr().out
    assert main(["users", "list"]) == 0
    assert f"{username}\t{username}@example.com\tUSER" in capsys.readouterr().out


def test_keys_rotate_needs_no_redis(
    database_only_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENMAILER_SECRET_KEYS", f"k1:{base64.b64encode(os.urandom(32)).decode()}")
    assert main(["keys", "rotate"]) == 0
    assert "re-encrypted 0 secret(s) under key 'k1'" in capsys.readouterr().out


def test_retention_run_and_list_need_no_redis(
    database_only_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["retention", "run", "--dry-run"]) == 0
    assert "email-logs: would remove email_logs 0 (" in capsys.readouterr().out
    assert main(["retention", "list"]) == 0
    assert "(dry run): email_logs 0 in " in capsys.readouterr().out
