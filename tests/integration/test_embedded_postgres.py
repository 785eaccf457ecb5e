"""The embedded PostgreSQL in a private directory (what `mktemp -d` makes), and its tools' errors.

As root, PostgreSQL runs as the `pgserver` user, which must be able to enter the data directory.
"""

from __future__ import annotations

import asyncio
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from openmailer.adapters import embedded

pytestmark = [pytest.mark.integration, pytest.mark.own_servers]


@pytest.fixture
def private_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="om-pg-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def _current_database(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        return str(await conn.fetchval("SELECT current_database()"))
    finally:
        await conn.close()


def test_postgres_starts_in_a_private_temporary_directory(private_dir: Path) -> None:
    assert stat.S_IMODE(private_dir.stat().st_mode) == 0o700
    server = embedded.start_postgres(private_dir, database="openmailer")
    try:
        assert asyncio.run(_current_database(server.url)) == "openmailer"
    finally:
        server.stop()
    # Whatever the PostgreSQL user needed, the directory stays closed to everyone else.
    assert stat.S_IMODE(private_dir.stat().st_mode) & 0o007 == 0


def test_a_failing_tool_shows_its_own_error_output(
    private_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_install = private_dir / "pginstall"
    (fake_install / "lib").mkdir(parents=True)
    (fake_install / "bin").mkdir()
    initdb = fake_install / "bin" / "initdb"
    initdb.write_text("#!/bin/sh\necho 'initdb: error: the test made this fail' >&2\nexit 1\n")
    initdb.chmod(0o755)
    monkeypatch.setattr("pgserver._commands.POSTGRES_BIN_PATH", fake_install / "bin")
    data_dir = private_dir / "data"
    data_dir.mkdir(mode=0o700)

    with pytest.raises(embedded.EmbeddedServiceError) as failure:
        embedded.start_postgres(data_dir)
    assert "initdb" in str(failure.value)
    assert "initdb: error: the test made this fail" in str(failure.value)
