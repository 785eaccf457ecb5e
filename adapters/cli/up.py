"""`openmailer up`: the whole platform in one process tree on a bare machine.

Without database or Redis URLs it starts embedded PostgreSQL and Redis with their data under one
data directory, migrates, then runs the api, a worker and the scheduler as child processes. Ctrl-C
or SIGTERM stops the children first and the databases last. Children die with this process even
when it is killed (PR_SET_PDEATHSIG), so a killed tree leaves nothing running and nothing stale.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import MutableMapping
from pathlib import Path

from openmailer.adapters import embedded
from openmailer.adapters.settings import PREFIX, Settings, load_settings

STOP_TIMEOUT_SECONDS = 20.0
API_READY_SECONDS = 180.0  # a first start on a loaded 2-core machine has taken 50 s


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "up",
        help="run the whole platform: embedded services when none are configured, "
        "migrations, api, worker and scheduler",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="data directory (default OPENMAILER_DATA_DIR or ./.openmailer)",
    )
    parser.add_argument("--port", type=int, help="API port (default OPENMAILER_API_PORT or 8025)")
    parser.add_argument("--worker-processes", type=int, default=1)
    parser.add_argument("--worker-threads", type=int, default=8)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    overrides: dict[str, str] = {}
    if args.data_dir:
        overrides[PREFIX + "DATA_DIR"] = str(args.data_dir)
    if args.port:
        overrides[PREFIX + "API_PORT"] = str(args.port)
    settings = load_settings({**os.environ, **overrides})
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    stack = _Supervisor()
    signal.signal(signal.SIGTERM, stack.request_stop)
    signal.signal(signal.SIGINT, stack.request_stop)
    try:
        env = dict(os.environ) | overrides
        env.update(_service_urls(settings, stack))
        env.setdefault(PREFIX + "SECRET_KEYS", _local_secret_keys(settings.data_dir))
        settings = load_settings(env)
        assert settings.database_url is not None
        from openmailer.adapters.db import migrate

        try:
            migrate.upgrade(settings.database_url, "head")
        except migrate.MigrationError as exc:
            print(f"openmailer up: {exc}", file=sys.stderr)
            return 1
        notes = _run_startup_steps(settings)
        _start_processes(args, env, stack)
        if not stack.wait_for_api(settings):
            return 1
        _print_banner(settings)
        for line in notes:
            print(line)
        return stack.wait()
    except _StopRequested:
        return 0
    finally:
        stack.stop_all()


def _run_startup_steps(settings: Settings) -> list[str]:
    """Each area's start-up steps (accounts creates the first admin), in their order."""
    from openmailer.adapters.bootstrap import builtin_areas

    steps = sorted(builtin_areas().startup_steps.entries(), key=lambda entry: entry.value.order)
    return [line for entry in steps for line in entry.value.run(settings)]


class _StopRequested(Exception):
    pass


class _Supervisor:
    """Children in start order; stopped in reverse order so the databases stop last."""

    def __init__(self) -> None:
        self.services: list[embedded.EmbeddedProcess] = []
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.stopping = False

    def request_stop(self, signum: int, frame: object) -> None:
        if not self.stopping:
            self.stopping = True
            print(f"\nopenmailer: {signal.Signals(signum).name} received, stopping…", flush=True)
            raise _StopRequested

    def wait(self) -> int:
        while not self._a_child_exited():
            time.sleep(0.5)
        return 1

    def wait_for_api(self, settings: Settings) -> bool:
        """Until the API answers /health (any status: it listens), so the banner never names
        an address that refuses connections; False if a child exits first."""
        # a wildcard bind is reached on loopback
        host = "127.0.0.1" if settings.api_host in ("0.0.0.0", "::", "") else settings.api_host  # noqa: S104
        url = f"http://{host}:{settings.api_port}/health"
        deadline = time.monotonic() + API_READY_SECONDS
        warned = False
        while not self._a_child_exited():
            try:
                with urllib.request.urlopen(url, timeout=1.0):
                    return True
            except urllib.error.HTTPError:
                return True  # it answered: a 503 only says a dependency is not ready yet
            except OSError:
                pass
            if not warned and time.monotonic() > deadline:
                warned = True
                print(f"openmailer: still waiting for the API at {url}", flush=True)
            time.sleep(0.25)
        return False

    def _a_child_exited(self) -> bool:
        for name, child in self.children:
            code = child.poll()
            if code is not None:
                print(
                    f"openmailer: {name} exited with code {code}; stopping everything",
                    file=sys.stderr,
                    flush=True,
                )
                return True
        return False

    def stop_all(self) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for _, child in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for name, child in reversed(self.children):
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(
                    f"openmailer: {name} did not stop within {STOP_TIMEOUT_SECONDS:g}s; killed",
                    file=sys.stderr,
                    flush=True,
                )
                child.kill()
                child.wait()
        for service in reversed(self.services):
            service.stop()


def _service_urls(settings: Settings, stack: _Supervisor) -> dict[str, str]:
    urls: dict[str, str] = {}
    if settings.database_url is None:
        pg = embedded.start_postgres(settings.data_dir)
        stack.services.append(pg)
        urls[PREFIX + "DATABASE_URL"] = pg.url
    if settings.redis_url is None:
        redis = embedded.start_redis(settings.data_dir)
        stack.services.append(redis)
        urls[PREFIX + "REDIS_URL"] = redis.url
    return urls


def _secret_keys_file(data_dir: Path) -> Path:
    return data_dir / "secret_keys"


def adopt_running_platform(environ: MutableMapping[str, str]) -> Path | None:
    """Point unset service URLs and secret keys at the `openmailer up` running from the data
    directory, so `openmailer users create` and friends work beside it with no configuration.
    Returns that data directory when anything was adopted."""
    settings = load_settings(environ)
    database_url, redis_url = embedded.running_service_urls(settings.data_dir)
    adopted = {}
    if settings.database_url is None and database_url:
        adopted[PREFIX + "DATABASE_URL"] = database_url
    if settings.redis_url is None and redis_url:
        adopted[PREFIX + "REDIS_URL"] = redis_url
    keys_file = _secret_keys_file(settings.data_dir)
    if adopted and not settings.secret_keys and keys_file.exists():
        adopted[PREFIX + "SECRET_KEYS"] = keys_file.read_text().strip()
    environ.update(adopted)
    return settings.data_dir if adopted else None


def _local_secret_keys(data_dir: Path) -> str:
    """A key generated once per data directory, so local secrets survive restarts."""
    path = _secret_keys_file(data_dir)
    if not path.exists():
        key = base64.b64encode(secrets.token_bytes(32)).decode()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(f"local1:{key}\n")
    return path.read_text().strip()


def _start_processes(args: argparse.Namespace, env: dict[str, str], stack: _Supervisor) -> None:
    commands = {
        "api": ["api"],
        # A short shutdown: when this process is killed, Redis stops beside the worker, and a
        # worker still waiting to reconnect would otherwise hold on for dramatiq's 10 minutes.
        "worker": [
            "worker",
            "--processes",
            str(args.worker_processes),
            "--threads",
            str(args.worker_threads),
            "--shutdown-timeout",
            "10",
        ],
        "scheduler": ["scheduler"],
    }
    for name, command in commands.items():
        child = subprocess.Popen(
            [sys.executable, "-m", "openmailer.adapters.cli", *command],
            env=env,
            preexec_fn=lambda: embedded.die_with_parent(signal.SIGTERM),
        )
        stack.children.append((name, child))


def _print_banner(settings: Settings) -> None:
    base = f"http://{settings.api_host}:{settings.api_port}"
    print(
        "\nOpenMailer is up\n"
        f"  API          {base}/api/v1\n"
        f"  API docs     {base}/schema\n"
        f"  health       {base}/health\n"
        f"  metrics      {base}/metrics\n"
        f"  data         {settings.data_dir}\n"
        f"  database     {settings.database_url}\n"
        f"  redis        {settings.redis_url}\n"
        "Press Ctrl-C to stop.\n",
        flush=True,
    )
