"""Is a bot recorded in the store still alive? Process identity on this host, heartbeats elsewhere.

A bot records who it is when it starts (`ProcessIdentity`: host name, the host's boot id, pid and
the process's start time as the kernel counts it) and refreshes a wall-clock heartbeat every
`HEARTBEAT_S` while it runs. Another pmm process judges it:

- on the same host since the same boot (host name and boot id equal): alive iff a process with
  that pid exists, is not a zombie, and started at the recorded time (a pid reused by another
  program is not the bot). Where the OS does not tell a process's start time (not Linux), a live
  pid with a heartbeat younger than `STALE_AFTER_S` counts;
- on another host (a shared PostgreSQL store), or this host after a reboot: alive iff its
  heartbeat is younger than `STALE_AFTER_S`. The hosts' clocks must agree to a few seconds (NTP).

So a crashed bot (killed, its host gone) never holds its market for longer than `STALE_AFTER_S`,
and at once on its own host.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Final

HEARTBEAT_S: Final = 5.0
STALE_AFTER_S: Final = 30.0  # six heartbeats missed

_PROC = Path("/proc")


@dataclass(frozen=True, slots=True)
class ProcessIdentity:
    host: str
    boot_id: str  # "" where the OS does not say
    pid: int
    start: str  # the process's start time in clock ticks since boot; "" where the OS does not say

    def same_machine(self, other: ProcessIdentity) -> bool:
        return self.host == other.host and self.boot_id == other.boot_id


def _boot_id() -> str:
    try:
        return (_PROC / "sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def process_start(pid: int) -> str | None:
    """The start time of live process `pid` ("" where the OS does not say); None if there is none.

    A zombie (exited, not yet reaped by its parent) is not alive.
    """
    if not _PROC.is_dir():
        return _pid_exists(pid)
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return _pid_exists(pid)
    # The command name (field 2) may hold spaces and parentheses: the fields after it follow the last ')'.
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]  # field 22, starttime


def _pid_exists(pid: int) -> str | None:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return ""
    return ""


def this_process() -> ProcessIdentity:
    pid = os.getpid()
    return ProcessIdentity(host=socket.gethostname(), boot_id=_boot_id(), pid=pid, start=process_start(pid) or "")


def is_alive(bot: ProcessIdentity, heartbeat_ts: float, *, here: ProcessIdentity, now: float) -> bool:
    """The judgement of the module docstring. `now` is the wall clock of the judging host."""
    fresh = now - heartbeat_ts < STALE_AFTER_S
    if not bot.same_machine(here):
        return fresh
    if bot.pid == here.pid:
        return bot.start == here.start
    start = process_start(bot.pid)
    if start is None:
        return False
    if start and bot.start:
        return start == bot.start
    return fresh
