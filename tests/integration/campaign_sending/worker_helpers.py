"""Real `openmailer worker` processes for the send path's reliability tests, and an SMTP sink
that records every Message-ID it accepts (and can refuse a share of first attempts with 451)."""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

from openmailer.adapters.settings import Settings
from tests.integration.sending.smtp_sink import (
    CountingController,
    ScriptedHandler,
    authenticate,
    free_port,
)

_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>]+>)", re.IGNORECASE | re.MULTILINE)


@dataclass
class RecordingHandler(ScriptedHandler):
    """Accepts everything but, with `refuse_every` = n, answers 451 to the first RCPT TO of every
    n-th address it sees (its retry is accepted)."""

    refuse_every: int = 0
    seen: dict[str, int] = field(default_factory=dict)
    refused: int = 0
    accepted: int = 0
    message_ids: collections.Counter[str] = field(default_factory=collections.Counter)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # type: ignore[no-untyped-def]
        attempts = self.seen.get(address)
        if attempts is None:
            self.seen[address] = attempts = 0
            if self.refuse_every and len(self.seen) % self.refuse_every == 0:
                self.seen[address] = 1
                self.refused += 1
                return "451 4.7.1 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        found = _MESSAGE_ID.search(bytes(envelope.original_content))
        if found is not None:
            self.message_ids[found.group(1).decode()] += 1
        self.accepted += 1
        return f"250 2.0.0 Ok: queued as Q{self.accepted}"


def start_recording_sink(refuse_every: int = 0) -> tuple[CountingController, RecordingHandler]:
    handler = RecordingHandler(refuse_every=refuse_every)
    controller = CountingController(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=authenticate,
        auth_required=False,
        auth_require_tls=False,
    )
    controller.start()
    return controller, handler


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMAILER_")}
    keys = ",".join(
        f"{key.key_id}:{base64.b64encode(key.key).decode()}" for key in settings.secret_keys
    )
    env |= {
        "OPENMAILER_DATABASE_URL": settings.database_url or "",
        "OPENMAILER_REDIS_URL": settings.redis_url or "",
        "OPENMAILER_SECRET_KEYS": keys,
        "OPENMAILER_LOG_LEVEL": "WARNING",
        "OPENMAILER_ENV": "test",
        **extra,
    }
    return env


class Worker:
    """`openmailer worker` in a session of its own, so that a signal reaches dramatiq's
    supervisor and its forked worker processes alike."""

    def __init__(self, env: dict[str, str], *, threads: int = 4, processes: int = 1) -> None:
        # What the worker said, for a failing test's report (pytest shows it on failure).
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "openmailer.adapters.cli",
                "worker",
                "--processes",
                str(processes),
                "--threads",
                str(threads),
                "--shutdown-timeout",
                "60",
            ],
            env=env,
            stdout=self.log,
            stderr=self.log,
            start_new_session=True,
        )

    def send_signal(self, sig: signal.Signals) -> None:
        """SIGKILL to the whole group (a crash of everything); any other signal to dramatiq's
        supervisor only, as an operator sends it: it forwards it to its worker processes, and a
        worker process that receives a second SIGTERM kills itself at once."""
        with contextlib.suppress(ProcessLookupError):
            if sig is signal.SIGKILL:
                os.killpg(self.process.pid, sig)
            else:
                self.process.send_signal(sig)

    def _read_log(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 60) -> None:
        self.send_signal(sig)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.send_signal(signal.SIGKILL)
            self.process.wait()
        self.output = self._read_log()
        # forked children outlive a killed supervisor: wait until the whole group is gone
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


async def wait_until(predicate: Any, within: float, step: float = 0.2) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(step)
    raise AssertionError("timed out")
