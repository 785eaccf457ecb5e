"""`openmailer up` on a bare machine: embedded services, health, clean stop, restart, kill -9."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import psutil
import pytest
import redis

pytestmark = pytest.mark.e2e

START_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Platform:
    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.with_suffix(".log")

    def start(self, *, until_banner: bool = False) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMAILER_")}
        banners = self.banners()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "openmailer.adapters.cli",
                "up",
                "--data-dir",
                str(self.data_dir),
                "--port",
                str(self.port),
                "--worker-processes",
                "1",
                "--worker-threads",
                "2",
            ],
            cwd=self.data_dir.parent,
            env=env,
            stdout=self.log_path.open("ab"),
            stderr=subprocess.STDOUT,
        )
        if until_banner:
            self.wait_for_banner(banners + 1)
        else:
            self.wait_healthy()

    def banners(self) -> int:
        """Banners printed so far: the log is appended to across restarts."""
        if not self.log_path.exists():
            return 0
        return self.read_output().count("OpenMailer is up")

    def wait_for_banner(self, count: int) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while self.banners() < count:
            if self.process.poll() is not None:
                pytest.fail(f"up exited with {self.process.returncode}:\n{self.read_output()}")
            assert time.monotonic() < deadline, f"no banner in {START_TIMEOUT}s"
            time.sleep(0.1)

    def health(self) -> tuple[int, dict[str, object]]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=5) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def wait_healthy(self) -> dict[str, object]:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"up exited with {self.process.returncode}:\n{self.read_output()}")
            try:
                status, body = self.health()
                if status == 200:
                    return body
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        pytest.fail(f"platform not healthy in {START_TIMEOUT}s:\n{self.read_output()}")

    def tree(self) -> list[psutil.Process]:
        assert self.process is not None
        try:
            parent = psutil.Process(self.process.pid)
            return [parent, *parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def read_output(self) -> str:
        # Whole: the banner is at the start, and shutdown alone logs a few kilobytes now.
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: signal.Signals = signal.SIGINT) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        return self.process.wait(60)


def processes_using(data_dir: Path) -> list[psutil.Process]:
    marker = str(data_dir)
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(marker in part for part in proc.info["cmdline"] or []):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def wait_until_gone(processes: list[psutil.Process], timeout: float = 45.0) -> list[str]:
    """Descriptions of the processes still alive after `timeout` (none, when all went)."""
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    return [describe(proc) for proc in alive]


def describe(proc: psutil.Process) -> str:
    try:
        return f"{proc.pid} {proc.status()} {' '.join(proc.cmdline())[:200]}"
    except psutil.Error:
        return f"{proc.pid} (gone)"


def wait_for_heartbeats(platform: Platform, processes: set[str], timeout: float = 45.0) -> bool:
    """The scheduler enqueues a heartbeat job at once; a worker records it: the queue works."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        heartbeats = platform.health()[1]["heartbeats"]
        assert isinstance(heartbeats, dict)
        if processes <= heartbeats.keys():
            return True
        time.sleep(0.5)
    return False


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    data_dir = Path("/tmp") / f"om-up-{os.getpid()}-{tmp_path.name[-12:]}"
    instance = Platform(data_dir, free_port())
    yield instance
    leftovers = processes_using(data_dir)
    if instance.process is not None and instance.process.poll() is None:
        leftovers += instance.tree()
    for proc in leftovers:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    subprocess.run(["rm", "-rf", str(data_dir), str(instance.log_path)], check=False)


def test_up_serves_health_stops_cleanly_and_keeps_data(platform: Platform) -> None:
    platform.start()
    status, body = platform.health()
    assert status == 200
    assert body["database"] == {"ok": True}
    assert body["redis"] == {"ok": True}
    migrations = body["migrations"]
    assert isinstance(migrations, dict) and migrations["up_to_date"] is True
    assert migrations["current"] is not None
    assert wait_for_heartbeats(platform, {"worker", "scheduler"})
    assert_cli_works_beside_it(platform)
    tree = platform.tree()
    assert len(tree) >= 6  # up, postgres (+ its workers), redis, api, worker, scheduler

    assert platform.stop(signal.SIGINT) == 0
    assert wait_until_gone(tree) == []
    assert [describe(proc) for proc in processes_using(platform.data_dir)] == []
    assert "Press Ctrl-C to stop" in platform.read_output()
    assert "did not stop" not in platform.read_output()  # every child stopped gracefully

    secret_keys = (platform.data_dir / "secret_keys").read_text()
    platform.start()
    write_markers(platform.data_dir)
    assert platform.stop(signal.SIGTERM) == 0

    platform.start()
    assert (platform.data_dir / "secret_keys").read_text() == secret_keys
    assert read_markers(platform.data_dir) == ("kept in postgres", b"kept in redis")
    assert platform.stop(signal.SIGTERM) == 0


def assert_cli_works_beside_it(platform: Platform) -> None:
    """`openmailer users create` with no configuration finds the running platform."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMAILER_")}
    env["OPENMAILER_DATA_DIR"] = str(platform.data_dir)
    password = "a long enough password"
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "openmailer.adapters.cli",
            "users",
            "create",
            "--username",
            "cli-user",
            "--email",
            "cli-user@example.com",
            "--password",
            password,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    assert f"using the platform running from {platform.data_dir}" in created.stderr
    request = urllib.request.Request(
        f"http://127.0.0.1:{platform.port}/api/v1/auth/login",
        data=json.dumps({"identifier": "cli-user", "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.loads(response.read())["token"].startswith("om_sess_")


def write_markers(data_dir: Path) -> None:
    async def write() -> None:
        conn = await asyncpg.connect(f"postgresql://postgres@/openmailer?host={data_dir}/run")
        await conn.execute("CREATE TABLE e2e_marker (note text)")
        await conn.execute("INSERT INTO e2e_marker VALUES ($1)", "kept in postgres")
        await conn.close()

    asyncio.run(write())
    redis.Redis(unix_socket_path=str(data_dir / "run" / "redis.sock")).set("e2e", "kept in redis")


def read_markers(data_dir: Path) -> tuple[str, bytes | None]:
    async def read() -> str:
        conn = await asyncpg.connect(f"postgresql://postgres@/openmailer?host={data_dir}/run")
        note = await conn.fetchval("SELECT note FROM e2e_marker")
        await conn.close()
        return str(note)

    client = redis.Redis(unix_socket_path=str(data_dir / "run" / "redis.sock"))
    return asyncio.run(read()), client.get("e2e")


def test_a_killed_tree_restarts_cleanly(platform: Platform) -> None:
    platform.start()
    tree = platform.tree()
    for proc in tree:
        with contextlib.suppress(psutil.NoSuchProcess):  # children may go first, with their parent
            proc.kill()
    assert wait_until_gone(tree) == []
    assert (platform.data_dir / "postgres" / "postmaster.pid").exists()  # stale, left by the kill

    platform.start()
    assert platform.health()[0] == 200
    assert platform.stop() == 0


def test_children_die_with_a_killed_supervisor(platform: Platform) -> None:
    platform.start()
    tree = platform.tree()
    assert platform.process is not None
    os.kill(platform.process.pid, signal.SIGKILL)
    platform.process.wait(10)
    assert wait_until_gone(tree) == []
    assert [describe(proc) for proc in processes_using(platform.data_dir)] == []

    # the banner names the API only once it listens: /health answers at once (a 503 while the
    # worker's first heartbeat is on its way is still an answer; a refused connection is not)
    platform.start(until_banner=True)
    assert platform.health()[0] in (200, 503)
    platform.wait_healthy()
    assert platform.stop() == 0


def test_health_answers_503_when_redis_is_down(platform: Platform) -> None:
    platform.start()
    redis = next(p for p in platform.tree() if "redis" in p.name())
    redis.send_signal(signal.SIGSTOP)  # unreachable, not exited: the supervisor keeps running
    try:
        status, body = platform.health()
    finally:
        redis.send_signal(signal.SIGCONT)
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["database"] == {"ok": True}
    assert body["redis"]["ok"] is False  # type: ignore[index]
    assert platform.stop() == 0
