"""The workers' per-process event loop: one service per database, opened once on the loop, an
opening that failed tried again."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from openmailer.adapters.settings import Settings
from openmailer.adapters.workers.process_loop import ProcessLoop


class Opener:
    def __init__(self, failures: int = 0) -> None:
        self.opened: list[str | None] = []
        self.loop_threads: set[str] = set()
        self._failures = failures

    async def __call__(self, settings: Settings) -> str:
        self.loop_threads.add(threading.current_thread().name)
        self.opened.append(settings.database_url)
        await asyncio.sleep(0.05)  # calls arriving meanwhile wait for this opening
        if self._failures:
            self._failures -= 1
            raise ConnectionError("the database is down")
        return f"service of {settings.database_url}"


async def _echo(service: str) -> str:
    await asyncio.sleep(0)
    return service


def test_concurrent_calls_share_one_opening_on_the_loop_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENMAILER_DATABASE_URL", "postgresql://db-a/a")
    opener = Opener()
    loop = ProcessLoop("test-loop", opener)
    with ThreadPoolExecutor(4) as threads:  # as dramatiq's worker threads call it
        answers = list(threads.map(lambda _: loop.run(_echo, timeout=10), range(8)))
    assert answers == ["service of postgresql://db-a/a"] * 8
    assert opener.opened == ["postgresql://db-a/a"]
    assert opener.loop_threads == {"test-loop"}


def test_each_database_has_its_own_service(monkeypatch: pytest.MonkeyPatch) -> None:
    opener = Opener()
    loop = ProcessLoop("test-loop", opener)
    monkeypatch.setenv("OPENMAILER_DATABASE_URL", "postgresql://db-a/a")
    assert loop.run(_echo, timeout=10) == "service of postgresql://db-a/a"
    monkeypatch.setenv("OPENMAILER_DATABASE_URL", "postgresql://db-b/b")
    assert loop.run(_echo, timeout=10) == "service of postgresql://db-b/b"
    monkeypatch.setenv("OPENMAILER_DATABASE_URL", "postgresql://db-a/a")
    assert loop.run(_echo, timeout=10) == "service of postgresql://db-a/a"
    assert opener.opened == ["postgresql://db-a/a", "postgresql://db-b/b"]


def test_an_opening_that_failed_is_tried_again_by_the_next_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENMAILER_DATABASE_URL", "postgresql://db-a/a")
    opener = Opener(failures=1)
    loop = ProcessLoop("test-loop", opener)
    with pytest.raises(ConnectionError, match="down"):
        loop.run(_echo, timeout=10)
    assert loop.run(_echo, timeout=10) == "service of postgresql://db-a/a"
    assert len(opener.opened) == 2
