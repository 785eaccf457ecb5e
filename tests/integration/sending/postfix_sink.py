"""Postfix's `smtp-sink` on a free loopback port, started and stopped by the test or benchmark.

`smtp-sink` throws every message away unless it dumps them (`-d`: one file per transaction,
lines ending in LF, after a few headers of its own), and with `-c` it prints running counters
(`sess=<sessions ended> quit=<QUITs> mesg=<messages>`, separated by CR) that say how many
connections carried the mail. Readiness is read from the kernel's socket table rather than
probed with a connection, which smtp-sink would count as a session.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.integration.sending.smtp_sink import free_port

SMTP_SINK = "smtp-sink"
_COUNTERS = re.compile(rb"sess=(\d+) quit=(\d+) mesg=(\d+)")
_LISTEN = "0A"  # TCP state LISTEN in /proc/net/tcp
# smtp-sink refuses to run as root without dropping to a user (`-u`).
_UNPRIVILEGED_USER = "nobody"


@dataclass(frozen=True)
class SinkCounters:
    sessions: int  # connections that ended
    quits: int
    messages: int


@dataclass(frozen=True)
class DumpedMessage:
    sender: str
    recipients: list[str]
    data: bytes  # as the client sent it, CRLF line ends restored


class PostfixSink:
    """One `smtp-sink` process; `stop()` ends it (and is safe to call twice)."""

    def __init__(self, *, dump: bool = False, count: bool = True, cpu: int | None = None) -> None:
        if shutil.which(SMTP_SINK) is None:
            raise RuntimeError("smtp-sink is missing: Debian's postfix package (scripts/dev)")
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="smtp-sink-"))
        self.dump_folder = self.folder / "dump" if dump else None
        command = [SMTP_SINK]
        if os.geteuid() == 0:
            command += ["-u", _UNPRIVILEGED_USER]
        if count:
            command.append("-c")
        if self.dump_folder is not None:
            self.dump_folder.mkdir()
            if os.geteuid() == 0:  # the sink writes as that user: let it reach its folder
                self.folder.chmod(0o711)
                os.chown(self.dump_folder, pwd.getpwnam(_UNPRIVILEGED_USER).pw_uid, -1)
            command += ["-d", f"{self.dump_folder}/message."]
        # The backlog (256) lets a load generator open all its connections at once.
        command += [f"127.0.0.1:{self.port}", "256"]
        self._output = (self.folder / "counters").open("wb")
        self._errors = (self.folder / "errors").open("wb")
        self.process = subprocess.Popen(command, stdout=self._output, stderr=self._errors)
        if cpu is not None:
            os.sched_setaffinity(self.process.pid, {cpu})
        self._counters: SinkCounters | None = None
        try:
            self._wait_listening()
        except BaseException:
            self.stop()
            raise

    def _wait_listening(self, timeout: float = 10.0) -> None:
        wanted = f"0100007F:{self.port:04X}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"smtp-sink exited: {self._read_errors()}")
            with open("/proc/net/tcp") as table:
                for line in table.readlines()[1:]:
                    fields = line.split()
                    if fields[1] == wanted and fields[3] == _LISTEN:
                        return
            time.sleep(0.02)
        raise RuntimeError(f"smtp-sink did not listen on port {self.port} in {timeout}s")

    def _read_errors(self) -> str:
        self._errors.flush()
        return (self.folder / "errors").read_text(errors="replace").strip()

    def stop(self) -> SinkCounters:
        """Ends the process and answers its last counters (zeros without `-c`)."""
        if self._counters is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self._output.close()
            self._errors.close()
            found = _COUNTERS.findall((self.folder / "counters").read_bytes())
            sessions, quits, messages = (int(n) for n in found[-1]) if found else (0, 0, 0)
            self._counters = SinkCounters(sessions, quits, messages)
        return self._counters

    def messages(self) -> list[DumpedMessage]:
        """Every dumped transaction (the sink was started with `dump=True`)."""
        if self.dump_folder is None:
            raise RuntimeError("this sink was started without dump=True")
        return [_parse_dump(path.read_bytes()) for path in sorted(self.dump_folder.iterdir())]

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def _parse_dump(dump: bytes) -> DumpedMessage:
    """smtp-sink's own lines end with its three-line `Received:`; then the message follows, its
    CRLFs written as LF, and one empty line the sink appends."""
    lines = dump.split(b"\n")
    sender, recipients = "", []
    for index, line in enumerate(lines):
        if line.startswith(b"X-Mail-Args: "):
            sender = _address(line)
        elif line.startswith(b"X-Rcpt-Args: "):
            recipients.append(_address(line))
        elif line.startswith(b"Received: "):
            body = lines[index + 3 :]
            break
    else:
        raise ValueError("not an smtp-sink dump: no Received header")
    if body[-2:] != [b"", b""]:
        raise ValueError("an smtp-sink dump ends with an empty line")
    return DumpedMessage(sender, recipients, b"".join(line + b"\r\n" for line in body[:-2]))


def _address(line: bytes) -> str:
    argument = line.split(b": ", 1)[1].split(b" ", 1)[0]
    return argument.decode().removeprefix("FROM:").removeprefix("TO:").strip("<>")
