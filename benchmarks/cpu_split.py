"""Where a benchmark's CPU goes on the whole machine, per role, from `/proc`.

`sample(roles)` reads the CPU time every process (and the threads a role names) has used so far
and the machine's idle time; the difference of two samples, divided by the messages sent between
them, is each role's CPU per message. A throughput target on a machine whose every core is busy
is a budget of CPU per message: this shows which part spends it.

Roles, first match wins:
- `render`: threads named `sender-rs-N` (sender_rs's render pool) of the process group named
  (the campaign's worker, the importing benchmark's own);
- `python`: the rest of that process group (around the render: the event loop, SMTP, SQL, the
  broker; the whole importer);
- `postgresql`, `smtp_sink`, `redis`: processes by name (`postgres`, `smtp-sink`,
  `redis-server`);
- `other`: every other busy tick the machine counted, including processes that ended between the
  two samples (their time is gone from `/proc`) and interrupts;
- `idle`: the machine's idle and I/O-wait time.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
ROLES_BY_NAME = {"postgres": "postgresql", "smtp-sink": "smtp_sink", "redis-server": "redis"}
RENDER_THREAD_PREFIX = "sender-rs-"
ORDER = ("render", "python", "postgresql", "smtp_sink", "redis", "other", "idle")


@dataclass(frozen=True)
class Sample:
    ticks: dict[tuple[str, str], int]  # (pid, role): ticks so far
    busy: int  # the machine's
    idle: int


def _stat_fields(path: str) -> tuple[str, list[str]]:
    """The name and the fields after it of a `stat` file (the name may hold spaces)."""
    with open(path) as stat:
        text = stat.read()
    name = text[text.index("(") + 1 : text.rindex(")")]
    return name, text[text.rindex(")") + 2 :].split()


def _ticks(fields: list[str]) -> int:
    return int(fields[11]) + int(fields[12])  # utime, stime


def _machine() -> tuple[int, int]:
    """Busy and idle ticks of every core together (`/proc/stat`'s first line)."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    busy = sum(values[:8]) - idle  # user nice system idle iowait irq softirq steal
    return busy, idle


def _render_ticks(pid: str) -> int:
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        name, fields = _stat_fields(f"/proc/{pid}/task/{tid}/stat")
        if name.startswith(RENDER_THREAD_PREFIX):
            total += _ticks(fields)
    return total


def sample(group: int) -> Sample:
    """Ticks so far per process and role; `group` is the id of the process group whose Python
    is measured."""
    ticks: dict[tuple[str, str], int] = {}
    busy, idle = _machine()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            name, fields = _stat_fields(f"/proc/{pid}/stat")
            total = _ticks(fields)
            if int(fields[2]) == group:  # fields[2]: the process group
                render = _render_ticks(pid)
                ticks[(pid, "render")] = render
                ticks[(pid, "python")] = total - render
            elif name in ROLES_BY_NAME:
                ticks[(pid, ROLES_BY_NAME[name])] = total
        except (OSError, ValueError, IndexError):
            continue  # ended while read
    return Sample(ticks, busy, idle)


def per_unit_us(before: Sample, after: Sample, units: int) -> dict[str, float]:
    """Each role's CPU microseconds per unit of work (a message, a row) between the two
    samples. A process that started between them counts whole; one that ended in between is
    gone from `/proc` with its time, which `other` then holds."""
    spent: Counter[str] = Counter()
    for (pid, role), ticks in after.ticks.items():
        spent[role] += ticks - before.ticks.get((pid, role), 0)
    spent["other"] = after.busy - before.busy - sum(spent.values())
    spent["idle"] = after.idle - before.idle
    return {role: round(spent[role] / TICKS_PER_SECOND / units * 1e6, 1) for role in ORDER}
