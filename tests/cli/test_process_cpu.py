"""The benchmarks' CPU accounting reads /proc: each process's CPU time, counted since the meter started."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from cli.process_cpu import CpuMeter


def _busy(seconds: float) -> None:
    until = time.process_time() + seconds
    while time.process_time() < until:
        pass


def test_the_meter_counts_what_each_process_spent_since_it_started() -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.5)  # its start-up, before the meter
        meter = CpuMeter({"this": os.getpid(), "sleeper": sleeper.pid})
        _busy(0.3)
        spent = meter.spent()
    finally:
        sleeper.kill()
        sleeper.wait()

    assert 0.25 <= spent["this"] < 2.0
    assert spent["sleeper"] < 0.05
