"""Where a benchmark's CPU went: a process's own, PostgreSQL's, and the whole machine's.

A rate alone does not tell a slow program from a busy machine. These read the kernel's
counters (proc(5)): a process's user + system time, the sum over PostgreSQL's server
processes, and how much of the machine's CPUs were busy between two readings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CpuReading", "cpu_seconds", "postgres_cpu_seconds"]

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (fields 14 and 15 of /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def postgres_cpu_seconds() -> float:
    """CPU time so far of every PostgreSQL server process of this machine."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # it ended meanwhile
            continue
        if "(postgres)" in stat:
            total += cpu_seconds(int(entry.name))
    return total


def _machine_ticks() -> tuple[int, int]:
    """All CPU ticks so far, and the idle ones (idle + iowait), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields), fields[3] + fields[4]


@dataclass(frozen=True)
class CpuReading:
    """The counters at one instant; ``since`` gives what was spent from an earlier one."""

    process: float
    postgres: float
    ticks: int
    idle: int

    @classmethod
    def now(cls, pid: int) -> CpuReading:
        ticks, idle = _machine_ticks()
        return cls(cpu_seconds(pid), postgres_cpu_seconds(), ticks, idle)

    def since(self, earlier: CpuReading, count: int) -> tuple[float, float, float]:
        """The process's and PostgreSQL's CPU µs per item, and the machine's busy CPUs
        (1.0 is one CPU fully busy), over ``count`` items."""
        busy = 1 - (self.idle - earlier.idle) / max(1, self.ticks - earlier.ticks)
        return (
            (self.process - earlier.process) / count * 1e6,
            (self.postgres - earlier.postgres) / count * 1e6,
            busy * (os.cpu_count() or 1),
        )
