"""The reliability report: each scenario test records what it sent and what came of it, and the
session prints one table at its end (tests/reliability/conftest.py), for `make reliability` and CI.

A scenario records its figures before it asserts on them, so a failing run still shows them.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.database_choice import BACKEND


@dataclass
class ScenarioResult:
    scenario: str
    # The database the scenario ran on (make test runs the scenarios on SQLite, then on PostgreSQL).
    database: str = BACKEND
    # What the scenario sent: jobs, Slack events, generated requests.
    jobs: int = 0
    # Accepted work that never finished, or finished and never reached its Slack thread.
    lost: int = 0
    # Work stored or posted more than once.
    duplicated: int = 0
    # Server errors (5xx other than a deliberate 503 with Retry-After), failed jobs, refused good input.
    errors: int = 0
    seconds: float = 0.0
    # The figures behind the row, in a few words (what was broken, what was counted).
    detail: str = ""


@dataclass
class ReliabilityReport:
    results: list[ScenarioResult] = field(default_factory=list)

    @contextmanager
    def scenario(self, name: str) -> Iterator[ScenarioResult]:
        """Times the block and records its result, even when the block raises."""
        result = ScenarioResult(name)
        started = time.monotonic()
        try:
            yield result
        finally:
            result.seconds = time.monotonic() - started
            self.results.append(result)

    def table(self) -> str:
        header = ("scenario", "database", "jobs", "lost", "duplicated", "errors", "time")
        rows = [
            (
                r.scenario,
                r.database,
                str(r.jobs),
                str(r.lost),
                str(r.duplicated),
                str(r.errors),
                f"{r.seconds:.1f} s",
            )
            for r in self.results
        ]
        widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

        def line(cells: tuple[str, ...]) -> str:
            return (
                "| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)) + " |"
            )

        rule = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
        details = [f"- {r.scenario}: {r.detail}" for r in self.results if r.detail]
        return "\n".join([line(header), rule, *(line(row) for row in rows), "", *details])


@dataclass
class AnswerTally:
    """One report row that many small tests add their requests to: a request whose answer is not the
    expected one is an error (let in when it should be refused, refused when it should be let in, a
    server error). With ``follow_jobs``, an accepted job counts as lost until it is seen finished."""

    row: ScenarioResult
    follow_jobs: bool = False
    statuses: Counter[int] = field(default_factory=Counter)
    done: int = 0

    def answer(self, response: httpx.Response, expected: int) -> httpx.Response:
        self.row.jobs += 1
        self.statuses[response.status_code] += 1
        self.row.errors += response.status_code != expected
        if self.follow_jobs and expected == response.status_code == 202:
            self.row.lost += 1
        return response

    def finished(self, job: dict[str, Any]) -> dict[str, Any]:
        self.row.lost -= 1
        self.row.errors += job["status"] != "done"
        self.done += job["status"] == "done"
        return job


# One report per test session; the conftest prints it.
REPORT = ReliabilityReport()
