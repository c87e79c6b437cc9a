"""`queuebot up` restarts a worker or beat that exits, but not one in a crash loop."""

from __future__ import annotations

import sys
from pathlib import Path

from cli.embedded import MAX_RESTARTS, _start


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
