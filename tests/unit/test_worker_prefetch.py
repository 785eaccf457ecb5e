"""`openmailer worker --prefetch`: how many messages of a queue one process holds at once."""

from __future__ import annotations

import argparse

import pytest

from openmailer.adapters.cli import processes
from openmailer.adapters.cli.processes import worker_prefetch

pytestmark = pytest.mark.unit


def test_default_is_half_the_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("dramatiq_queue_prefetch", raising=False)
    assert worker_prefetch(None, 8) == 4
    assert worker_prefetch(None, 1) == 1


def test_the_option_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("dramatiq_queue_prefetch", "6")
    assert worker_prefetch(None, 8) == 6
    assert worker_prefetch(2, 8) == 2
    monkeypatch.setenv("dramatiq_queue_prefetch", "not a number")
    assert worker_prefetch(None, 8) == 4


def test_below_one_is_refused() -> None:
    with pytest.raises(SystemExit, match="at least 1"):
        worker_prefetch(0, 8)


class Executed(Exception):
    pass


def test_the_worker_processes_inherit_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENMAILER_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/x")
    monkeypatch.setenv("OPENMAILER_REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.delenv("OPENMAILER_WORKER_METRICS_PORT", raising=False)
    monkeypatch.delenv("dramatiq_queue_prefetch", raising=False)
    seen: list[list[str]] = []

    def execv(path: str, argv: list[str]) -> None:
        seen.append(argv)
        raise Executed

    monkeypatch.setattr(processes.os, "execv", execv)
    args = argparse.Namespace(processes=2, threads=6, shutdown_timeout=1.0, prefetch=None)
    with pytest.raises(Executed):
        processes.run_worker(args)
    assert processes.os.environ["dramatiq_queue_prefetch"] == "3"
    assert seen[0][seen[0].index("--threads") + 1] == "6"
