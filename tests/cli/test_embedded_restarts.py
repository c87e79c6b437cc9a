"""`queuebot up` restarts a worker or beat that exits, but not one in a crash loop; the model build it runs
behind the product yields the CPU to everything else."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from cli.embedded import MAX_RESTARTS, _spawn, _start


def test_an_exited_child_is_restarted_until_it_exits_too_often(tmp_path: Path) -> None:
    log_file = tmp_path / "worker.log"
    child = _start("worker", [sys.executable, "-c", "print('started')"], log_file, {})
    child.process.wait(30)

    restarts = []
    for _ in range(MAX_RESTARTS + 1):
        restarts.append(child.restart_if_allowed())
        child.process.wait(30)

    assert restarts == [True] * MAX_RESTARTS + [False]
    assert log_file.read_text().count("started") == MAX_RESTARTS + 1


def test_the_model_build_behind_the_product_runs_at_the_lowest_cpu_priority(tmp_path: Path) -> None:
    log_file = tmp_path / "model-build.log"
    command = [sys.executable, "-c", "import os; print('niceness', os.nice(0))"]

    _spawn(command, log_file, {}, lowest_priority=True).wait(30)
    _spawn(command, log_file, {}).wait(30)

    assert log_file.read_text().split() == ["niceness", "19", "niceness", str(os.nice(0))]
