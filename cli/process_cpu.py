"""CPU time spent by the processes of a benchmark's stack, read from /proc: where a request's cost
goes, process by process."""

from __future__ import annotations

import os
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds spent by named processes since the meter was made."""

    def __init__(self, processes: dict[str, int]) -> None:
        self._processes = dict(processes)
        self._before = self._now()

    def spent(self) -> dict[str, float]:
        now = self._now()
        return {name: now[name] - self._before[name] for name in self._processes}

    def _now(self) -> dict[str, float]:
        return {name: cpu_seconds(pid) for name, pid in self._processes.items()}
