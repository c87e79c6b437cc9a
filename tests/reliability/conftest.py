"""The reliability scenarios share one report, printed as a table when the session ends."""

from __future__ import annotations

import pytest

from tests.reliability.report import REPORT, ReliabilityReport


@pytest.fixture
def reliability_report() -> ReliabilityReport:
    return REPORT


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if REPORT.results:
        terminalreporter.section("reliability report")
        terminalreporter.write_line(REPORT.table())
