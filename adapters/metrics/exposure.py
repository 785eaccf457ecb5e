"""How the samples of many processes reach one scrape, and who may scrape.

Multi-process mode (prometheus-client's): a process started with PROMETHEUS_MULTIPROC_DIR in its
environment writes every sample to memory-mapped files of its own in that directory, and a scrape
sums the files of every process, dead ones included, so counters never go back when a process is
replaced. The variable must be set before prometheus_client is first imported, hence by the
command that starts the processes (`openmailer api --workers N`, `openmailer worker`), which
also empties the directory first: files of an earlier run would otherwise be summed in (a fresh
directory at start, as prometheus-client's documentation asks). A process that stops cleanly
calls `process_exited` (`mark_process_dead`), which drops its live gauges. Without the variable
(one API process, the tests) the samples stay in the process's own registry.

Access: with OPENMAILER_METRICS_TOKEN set, a scrape must send `Authorization: Bearer <token>`,
whatever its address; without one, only loopback clients may scrape. Everyone else gets the
same 404 as a path that does not exist.
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client import values as prometheus_values

from openmailer.adapters.http.client_address import is_loopback

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
# `*_created` series double every counter's output; multi-process mode never has them anyway.
disable_created_metrics()  # type: ignore[no-untyped-call]
CONTENT_TYPE = CONTENT_TYPE_LATEST

__all__ = [
    "CONTENT_TYPE",
    "MULTIPROC_DIR_ENV",
    "exposition",
    "multiprocess_mode",
    "process_exited",
    "scrape_allowed",
    "use_fresh_directory",
]


def multiprocess_mode() -> bool:
    """Whether this process's samples go to the shared directory (decided when
    prometheus_client was imported, from the environment it saw then)."""
    return prometheus_values.ValueClass is not prometheus_values.MutexValue


def use_fresh_directory(path: Path) -> Path:
    """Empties (or makes) `path` and names it in the environment the processes started from
    here inherit. Only the sample files (`*.db`) are removed: a directory set by mistake to
    somewhere else loses nothing else."""
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink(missing_ok=True)
    os.environ[MULTIPROC_DIR_ENV] = str(path)
    return path


def process_exited(pid: int | None = None) -> None:
    """The clean end of a process in multi-process mode: its live gauges stop counting."""
    if multiprocess_mode():
        prometheus_multiprocess.mark_process_dead(pid or os.getpid())  # type: ignore[no-untyped-call]


def exposition(*live: Any) -> bytes:
    """The text format: every process's samples (the shared directory's sum, or this
    process's registry) and what the `live` collectors read at scrape time."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_mode():
        prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(REGISTRY)  # a registry collects like any collector
    for collector in live:
        registry.register(collector)
    return generate_latest(registry)


def scrape_allowed(peer: str | None, authorization: str | None, token: str | None) -> bool:
    if token:
        scheme, _, supplied = (authorization or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            supplied.strip().encode(), token.encode()
        )
    return is_loopback(peer)
